// The pod runner against the real control plane: Deployments become Running
// pods, Ready follows the kubelet's rules (readiness gates included), Services get
// EndpointSlices, and a pod's relay can be cut and healed.
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { PATCH } from '../../common/kube/kube-client.ts';
import { type ImageMap, PodRunner, repoRoot } from '../../local-cluster/index.ts';
import {
  adminClient,
  adminConnection,
  createNamespace,
  deleteNamespace,
  waitUntil,
} from '../helpers/kube.ts';

const ECHO = 'test.local/echo:1';
const images: ImageMap = {
  [ECHO]: ({ listenAddress, env }) => ({
    command: process.execPath,
    args: [join(repoRoot, 'local-cluster/node/echo-server.ts')],
    env: { HOST: listenAddress, PORT: '8080', POD_NAME: env.POD_NAME ?? '' },
  }),
};

interface EndpointSlice {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
}

async function readyAddresses(client: KubeClient, ns: string, service: string): Promise<string[]> {
  const list = await client.get<{ items: EndpointSlice[] }>(
    `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
    {
      query: { labelSelector: `kubernetes.io/service-name=${service}` },
    },
  );
  return list.items
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready)
    .flatMap((e) => e.addresses)
    .sort();
}

const podEnv = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
];
const echoContainer = {
  name: 'app',
  image: ECHO,
  env: podEnv,
  ports: [{ name: 'http', containerPort: 8080 }],
  readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
};

describe('pod runner', () => {
  let client: KubeClient;
  let runner: PodRunner;
  let ns: string;

  beforeAll(async () => {
    client = adminClient();
    runner = new PodRunner({
      connection: adminConnection(),
      images,
      nodeName: `runner-${process.pid}`,
      log: (m) => console.log(`[pod-runner] ${m}`),
    });
    await runner.start();
    ns = await createNamespace(client, 'runner');
  });

  afterAll(async () => {
    await runner?.stop();
    await deleteNamespace(client, ns);
    client?.close();
  });

  it('runs a Deployment of 3 replicas through kube-controller-manager, and its Service gets 3 ready endpoints', async () => {
    const labels = { app: 'web' };
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [echoContainer] } },
        },
      },
    });
    await client.request('POST', `/api/v1/namespaces/${ns}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const pods = await waitUntil('3 Running and Ready pods', 60_000, async () => {
      const list = await client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: 'app=web' },
      });
      const ok = list.items.filter(
        (p) =>
          p.spec?.nodeName === runner.nodeName &&
          p.status?.phase === 'Running' &&
          p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ok.length === 3 ? ok : undefined;
    });
    // Made by the ReplicaSet controller, not by us.
    for (const p of pods) expect(p.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
    const ips = pods.map((p) => p.status!.podIP!).sort();
    for (const ip of ips) expect(ip).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(new Set(ips).size).toBe(3);
    const addresses = await waitUntil('3 ready endpoints', 30_000, async () => {
      const a = await readyAddresses(client, ns, 'web');
      return a.length === 3 ? a : undefined;
    });
    expect(addresses).toEqual(ips);
    // Each pod's process really answers, on its own loopback address, with its own name.
    for (const p of pods) {
      const running = runner.pod(ns, p.metadata!.name!);
      expect(running).toBeDefined();
      const res = await fetch(`http://${running!.listenAddress}:8080/`);
      expect(await res.text()).toBe(p.metadata!.name);
    }
  });

  it('keeps a pod with an unmet readiness gate NotReady with the kubelet reason, and follows the gate condition', async () => {
    const gate = 'example.com/gate';
    await client.request('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'gated', labels: { app: 'gated' } },
        spec: { readinessGates: [{ conditionType: gate }], containers: [echoContainer] },
      },
    });
    await client.request('POST', `/api/v1/namespaces/${ns}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'gated' },
        spec: { selector: { app: 'gated' }, ports: [{ port: 80 }] },
      },
    });
    const readyOf = async () => {
      const pod = await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/gated`);
      return pod.status?.conditions?.find((c) => c.type === 'Ready');
    };
    const notReady = await waitUntil('Ready=False with ReadinessGatesNotReady', 30_000, async () => {
      const c = await readyOf();
      return c?.reason === 'ReadinessGatesNotReady' ? c : undefined;
    });
    expect(notReady.status).toBe('False');
    expect(notReady.message).toBe(`corresponding condition of pod readiness gate "${gate}" does not exist.`);
    const pod = await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/gated`);
    expect(pod.status?.conditions?.find((c) => c.type === 'ContainersReady')?.status).toBe('True');
    // The pod has an IP and is serving-but-not-ready: not a ready endpoint.
    await waitUntil('an endpoint for the gated pod', 30_000, async () => {
      const list = await client.get<{ items: EndpointSlice[] }>(
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        {
          query: { labelSelector: 'kubernetes.io/service-name=gated' },
        },
      );
      return list.items.flatMap((s) => s.endpoints ?? []).length === 1;
    });
    expect(await readyAddresses(client, ns, 'gated')).toEqual([]);

    const setGate = (status: 'True' | 'False') =>
      client.request('PATCH', `/api/v1/namespaces/${ns}/pods/gated/status`, {
        contentType: PATCH.strategicMerge,
        body: {
          status: { conditions: [{ type: gate, status, lastTransitionTime: new Date().toISOString() }] },
        },
      });
    await setGate('True');
    await waitUntil('Ready=True', 30_000, async () => (await readyOf())?.status === 'True');
    await waitUntil(
      'a ready endpoint',
      30_000,
      async () => (await readyAddresses(client, ns, 'gated')).length === 1,
    );
    // The runner never removed the condition it does not own.
    const after = await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/gated`);
    expect(after.status?.conditions?.find((c) => c.type === gate)?.status).toBe('True');

    await setGate('False');
    const falseReady = await waitUntil('Ready=False again', 30_000, async () => {
      const c = await readyOf();
      return c?.status === 'False' ? c : undefined;
    });
    expect(falseReady.message).toBe(`the status of pod readiness gate "${gate}" is not "True", but False`);
    await waitUntil(
      'no ready endpoint',
      30_000,
      async () => (await readyAddresses(client, ns, 'gated')).length === 0,
    );
  });

  it("cuts a pod's relay so its process cannot reach the API server, and heals it", async () => {
    await client.request('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'partitioned' },
        spec: { containers: [echoContainer] },
      },
    });
    const running = await waitUntil('the pod to run', 30_000, async () => runner.pod(ns, 'partitioned'));
    const check = async () => {
      const res = await fetch(`http://${running.listenAddress}:8080/api-check`, {
        signal: AbortSignal.timeout(5000),
      });
      return res.status;
    };
    await waitUntil('the process reaches the API server', 30_000, async () => (await check()) === 200);
    running.relay.cutOff();
    expect(await check()).toBe(503);
    running.relay.heal();
    await waitUntil('reachable again after healing', 30_000, async () => (await check()) === 200);
  });

  it('finishes a graceful deletion: stops the processes and removes the pod', async () => {
    await client.request('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'deleted' },
        spec: { terminationGracePeriodSeconds: 5, containers: [echoContainer] },
      },
    });
    const running = await waitUntil('the pod to run', 30_000, async () => runner.pod(ns, 'deleted'));
    const proc = running.containers.get('app')?.proc;
    expect(proc?.pid).toBeGreaterThan(0);
    await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/deleted`);
    await waitUntil('the pod object to be gone', 30_000, async () => {
      try {
        await client.get(`/api/v1/namespaces/${ns}/pods/deleted`);
        return false;
      } catch (err) {
        return (err as { status?: number }).status === 404;
      }
    });
    expect(proc?.exitCode !== null || proc?.signalCode !== null).toBe(true);
  });

  // A forced delete reached stopPod twice (the terminate path and the DELETED event), and
  // each call gave the pod's address back: the next two pods got the same IP.
  it('gives a force-deleted pod its address back once: later pods get distinct addresses', async () => {
    const pod = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { terminationGracePeriodSeconds: 5, containers: [echoContainer] },
    });
    await client.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('forced') });
    await waitUntil('the pod to run', 30_000, async () => runner.pod(ns, 'forced'));
    await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/forced`, {
      query: { gracePeriodSeconds: 0 },
    });
    await waitUntil('the pod to stop', 30_000, async () => !runner.pod(ns, 'forced'));
    await new Promise((r) => setTimeout(r, 500)); // the DELETED event's own stop, if any
    for (const name of ['after-1', 'after-2']) {
      await client.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod(name) });
    }
    const ips = await waitUntil('both pods to have an IP', 30_000, async () => {
      const a = runner.pod(ns, 'after-1')?.podIP;
      const b = runner.pod(ns, 'after-2')?.podIP;
      return a && b ? [a, b] : undefined;
    });
    expect(ips[0]).not.toBe(ips[1]);
  });
});
