// End to end: an annotated Deployment behind a Service serves only from its
// leader, through failures and rollouts. The real parts: kube-apiserver, etcd,
// kube-controller-manager, the webhook process (registered by URL), agents as real
// processes with their pods' own tokens. A traffic checker sends requests like
// kube-proxy would, and an observer records every change throughout.
// Timings: lease 6s, renew deadline 3s, retry 1s — the fencing margins the
// webhook asks for (common/contract/timing-warnings.ts): a frozen leader is
// noticed by its probe timing out (~2 s) well before anyone may take over (≥ 5 s).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PATCH, type KubeClient } from '../../common/kube/kube-client.ts';
import {
  echoApp,
  leaseHolder,
  LocalSetup,
  Observer,
  restartApiserverOf,
  TrafficChecker,
} from '../../local-cluster/index.ts';
import {
  adminClient,
  adminConnection,
  createNamespace,
  deleteNamespace,
  sleep,
  waitUntil,
} from '../helpers/kube.ts';

const LEASE_MS = 6000;

let client: KubeClient;
let setup: LocalSetup;
let dir: string;

beforeAll(async () => {
  client = adminClient();
  dir = mkdtempSync(join(tmpdir(), 'le-e2e-'));
  setup = new LocalSetup({
    client,
    connection: adminConnection(),
    kubeconfig: inject('kubeconfig'),
    ca: { cert: inject('caCert'), key: inject('caKey') },
    dir,
    nodeName: `e2e-${process.pid}`,
  });
  await setup.start();
});

afterAll(async () => {
  await setup?.stop();
  client?.close();
  rmSync(dir, { recursive: true, force: true });
});

function deployment(routing: 'readiness-gate' | 'label', version = '1') {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      annotations: {
        'leader-election/enabled': 'true',
        'leader-election/routing': routing,
        'leader-election/lease-duration': '6s',
        'leader-election/renew-deadline': '3s',
        'leader-election/retry-period': '1s',
      },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [echoApp(version)],
        },
      },
    },
  };
}

describe.each(['readiness-gate', 'label'] as const)('an annotated Deployment, %s routing', (routing) => {
  let ns: string;
  let observer: Observer;
  let traffic: TrafficChecker;

  beforeAll(async () => {
    ns = await createNamespace(client, `e2e-${routing}`);
    const selector = routing === 'label' ? { app: 'web', 'leader-election/role': 'leader' } : { app: 'web' };
    await client.request('POST', `/api/v1/namespaces/${ns}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    observer = new Observer(client, ns, 'web', 'web');
    await observer.start();
    traffic = new TrafficChecker({ client, runner: setup.runner, namespace: ns, service: 'web' });
    traffic.start();
  });

  afterAll(async () => {
    traffic?.stop();
    observer?.stop();
    await deleteNamespace(client, ns);
  });

  const pods = async () =>
    (
      await client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: 'app=web' },
      })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);

  /** One leader: one ready endpoint, the Lease holder, answering the traffic. Returns its name. */
  async function oneLeader(what: string, timeoutMs: number, not?: string): Promise<string> {
    return waitUntil(
      what,
      timeoutMs,
      async () => {
        const ready = observer.currentReady();
        const holder = (await leaseHolder(client, ns, 'web'))?.holder;
        if (ready.length !== 1 || ready[0] !== holder || holder === not) return undefined;
        const recent = traffic.answeredBy(Date.now() - 300);
        return recent.length === 1 && recent[0] === holder ? holder : undefined;
      },
      50,
    );
  }

  const scale = (replicas: number) =>
    client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web/scale`, {
      contentType: PATCH.merge,
      body: { spec: { replicas } },
    });

  /** The safety property, over the whole test: never two ready endpoints at once. */
  function expectSafe(since: number): void {
    const max = observer.maxReadyEndpoints(since);
    if (max > 1) {
      // Say what happened: the timeline of endpoints, holders and pods of this test.
      const timeline = observer.events
        .filter((e) => e.t >= since)
        .map((e) => `${e.t - since} ${JSON.stringify(e)}`);
      expect.fail(`two ready endpoints at once:\n${timeline.join('\n')}`);
    }
    expect(max).toBeLessThanOrEqual(1);
    expect(traffic.interleavings(since)).toEqual([]);
  }

  it('gets exactly one ready endpoint, the Lease holder, and every pod injected', async () => {
    const t0 = Date.now();
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment(routing) });
    const leader = await oneLeader('the first leader', 60_000);
    for (const p of await pods()) {
      expect([...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name)).toContain(
        'leader-election-agent',
      );
    }
    await sleep(1000);
    expect(traffic.answeredBy(Date.now() - 900)).toEqual([leader]);
    expectSafe(t0);
  });

  it('fails over when the leader pod is deleted', async () => {
    const t0 = Date.now();
    const old = await oneLeader('a leader', 30_000);
    await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/${old}`);
    await oneLeader('a new leader', 20_000, old);
    expectSafe(t0);
  });

  it("fails over when the leader's agent is killed (SIGKILL)", async () => {
    const t0 = Date.now();
    const old = await oneLeader('a leader', 30_000);
    setup.runner.signalPod(ns, old, 'SIGKILL', 'leader-election-agent');
    await oneLeader('a new leader', LEASE_MS + 20_000, old);
    expectSafe(t0);
  });

  it('fails over when the leader pod is paused longer than the lease, and the old one stays a follower after SIGCONT', async () => {
    const t0 = Date.now();
    const old = await oneLeader('a leader', 30_000);
    setup.runner.signalPod(ns, old, 'SIGSTOP');
    const next = await oneLeader('a new leader', LEASE_MS + 20_000, old);
    await sleep(1000);
    setup.runner.signalPod(ns, old, 'SIGCONT');
    await sleep(3000);
    expect(await oneLeader('the same leader after SIGCONT', 10_000)).toBe(next);
    expectSafe(t0);
  });

  it("fails over when the leader's API relay is cut, and the old one is a follower after healing", async () => {
    const t0 = Date.now();
    const old = await oneLeader('a leader', 30_000);
    const relay = setup.runner.pod(ns, old)!.relay;
    relay.cutOff();
    const next = await oneLeader('a new leader', LEASE_MS + 20_000, old);
    relay.heal();
    await sleep(3000);
    expect(await oneLeader('the same leader after healing', 10_000)).toBe(next);
    expectSafe(t0);
  });

  it('keeps one leader through a kube-apiserver restart', async () => {
    const t0 = Date.now();
    await oneLeader('a leader', 30_000);
    await restartApiserverOf(inject('planeDir'));
    await oneLeader('one leader after the restart', 60_000);
    expectSafe(t0);
  });

  it('keeps one leader while scaling 3 → 5 → 1 → 3', async () => {
    const t0 = Date.now();
    for (const replicas of [5, 1, 3]) {
      await scale(replicas);
      await waitUntil(`${replicas} pods`, 60_000, async () => (await pods()).length === replicas);
      await oneLeader(`one leader at ${replicas} replicas`, 30_000);
    }
    expectSafe(t0);
  });

  it('completes a rolling update of the pod template with one leader throughout', async () => {
    const t0 = Date.now();
    const before = new Set((await pods()).map((p) => p.metadata!.name!));
    await client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web`, {
      contentType: PATCH.merge,
      body: { spec: { template: deployment(routing, '2').spec.template } },
    });
    await waitUntil('the rollout to complete', 120_000, async () => {
      const now = await pods();
      const d = await client.get<{ status?: { updatedReplicas?: number; replicas?: number } }>(
        `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      );
      return (
        now.length === 3 &&
        now.every((p) => !before.has(p.metadata!.name!)) &&
        d.status?.updatedReplicas === 3 &&
        d.status.replicas === 3
      );
    });
    const leader = await oneLeader('one leader of the new revision', 30_000);
    expect(before.has(leader)).toBe(false);
    expectSafe(t0);
  });

  it('no pod is created without its agent when the webhook restarts during a scale-up', async () => {
    const t0 = Date.now();
    await setup.stopWebhook();
    try {
      // The scale subresource: what kubectl scale and an HPA use (the workload webhook is not called).
      await scale(5);
      await sleep(1500);
    } finally {
      await setup.startWebhook();
    }
    await waitUntil('5 pods', 90_000, async () => (await pods()).length === 5);
    for (const p of await pods()) {
      const names = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name);
      expect(names).toContain('leader-election-agent');
    }
    await oneLeader('one leader at 5 replicas', 30_000);
    await scale(3);
    await waitUntil('3 pods', 60_000, async () => (await pods()).length === 3);
    expectSafe(t0);
  });

  it('evicting through a PodDisruptionBudget: followers always; the leader when the budget allows it', async () => {
    const t0 = Date.now();
    await client.request('POST', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
      body: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'web' },
        spec: {
          maxUnavailable: 1,
          selector: { matchLabels: { app: 'web' } },
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      },
    });
    const leader = await oneLeader('a leader', 30_000);
    const evict = (name: string) =>
      client.request('POST', `/api/v1/namespaces/${ns}/pods/${name}/eviction`, {
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } },
      });
    await waitUntil('the PDB to be observed', 30_000, async () => {
      const pdb = await client.get<{ status?: { observedGeneration?: number; expectedPods?: number } }>(
        `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/web`,
      );
      return pdb.status?.expectedPods === 3;
    });
    if (routing === 'readiness-gate') {
      // Only the leader is healthy: the budget protects it, and followers (unhealthy) can go.
      const refused = await evict(leader).then(
        () => undefined,
        (e: { status?: number }) => e.status,
      );
      expect(refused).toBe(429);
      const follower = (await pods()).map((p) => p.metadata!.name!).find((n) => n !== leader)!;
      await evict(follower);
      await oneLeader('the same leader', 30_000);
    } else {
      await waitUntil(
        'the leader to be evicted',
        30_000,
        async () =>
          evict(leader).then(
            () => true,
            () => false,
          ),
        500,
      );
      await oneLeader('a new leader after the eviction', 30_000, leader);
    }
    expectSafe(t0);
  });
});
