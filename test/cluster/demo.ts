// make demo: an elected Deployment of 3 replicas behind a Service on a local
// control plane, shown live through a leader deletion and a crash of the
// leader's agent, with the failover time of each. Cleans up after itself.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../../common/kube-client.ts';
import { injectedTemplate } from '../helpers/election-pods.ts';
import { ControlPlane } from './control-plane.ts';
import { ECHO_IMAGE, localImages } from './images.ts';
import { PodRunner } from './pod-runner.ts';
import { grantAgentRole } from './agent-rbac.ts';

const NS = 'demo';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;

interface Row {
  name: string;
  gate: string;
  ready: string;
  ip: string;
}

async function view(client: KubeClient, runner: PodRunner) {
  const pods = await client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${NS}/pods`, {
    query: { labelSelector: 'app=web' },
  });
  const lease = await client
    .get<{ spec?: { holderIdentity?: string; leaseTransitions?: number } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/web`,
    )
    .catch(() => undefined);
  const slices = await client.get<{
    items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
  }>(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
    query: { labelSelector: 'kubernetes.io/service-name=web' },
  });
  const ready = slices.items
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready)
    .flatMap((e) => e.addresses);
  const rows: Row[] = pods.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({
      name: p.metadata!.name!,
      gate: p.status?.conditions?.find((c) => c.type === 'leader-election/leader')?.status ?? '-',
      ready: p.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '-',
      ip: p.status?.podIP ?? '',
    }));
  // Like kube-proxy: send a request to a ready endpoint (through the runner's address map).
  let answer = '-';
  const target = runner.runningPods().find((r) => ready.includes(r.podIP));
  if (target) {
    answer = await fetch(`http://${target.listenAddress}:8080/`, { signal: AbortSignal.timeout(500) })
      .then((r) => r.text())
      .catch(() => 'no answer');
  }
  return {
    holder: lease?.spec?.holderIdentity ?? '',
    transitions: lease?.spec?.leaseTransitions ?? 0,
    rows,
    ready,
    answer,
  };
}

function print(v: Awaited<ReturnType<typeof view>>): void {
  const pods = v.rows
    .map((r) => `${r.name.slice(-5)} gate=${r.gate.padEnd(5)} ready=${r.ready.padEnd(5)}`)
    .join(' | ');
  console.log(
    `${stamp()}  lease holder=${(v.holder || '(none)').padEnd(22)} endpoints=${String(v.ready.length)}  answered by ${v.answer}\n         ${pods}`,
  );
}

/** Waits until a pod other than `old` is the leader with its gate True and the only ready endpoint; returns ms. */
async function waitFailover(
  client: KubeClient,
  runner: PodRunner,
  old: string,
  since: number,
): Promise<{ ms: number; leader: string }> {
  for (;;) {
    const v = await view(client, runner);
    const leaderRow = v.rows.find((r) => r.name === v.holder);
    if (v.holder && v.holder !== old && leaderRow?.gate === 'True') {
      const ms = Date.now() - since;
      print(v);
      return { ms, leader: v.holder };
    }
    await sleep(20);
  }
}

async function main(): Promise<void> {
  console.log(
    'Starting a local control plane (etcd, kube-apiserver, kube-controller-manager) and the pod runner…',
  );
  const plane = await ControlPlane.start({ log: (m) => console.log(`  ${m}`) });
  const runner = new PodRunner({
    connection: plane.connection(),
    images: localImages,
    nodeName: 'demo-node',
    restartBackoffMs: 10_000,
  });
  const client = plane.client();
  const results: string[] = [];
  try {
    await runner.start();
    await client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    });
    for (let i = 0; i < 100; i++) {
      if (
        await client.get(`/api/v1/namespaces/${NS}/serviceaccounts/default`).then(
          () => true,
          () => false,
        )
      )
        break;
      await sleep(100);
    }
    await grantAgentRole(client, NS);

    // The pod template as the webhook injects it (examples/deployment.yaml carries only the annotations).
    const template = {
      metadata: {
        labels: { app: 'web' },
        annotations: {
          'leader-election/enabled': 'true',
          'leader-election/lease-name': 'web',
          'leader-election/lease-duration': '4s',
          'leader-election/renew-deadline': '3s',
          'leader-election/retry-period': '1s',
        },
      },
      spec: {
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'app',
            image: ECHO_IMAGE,
            env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            ports: [{ containerPort: 8080 }],
          },
        ],
      },
    };
    const podTemplate = injectedTemplate(template);
    console.log('\nCreating Deployment web (3 replicas, leader-election/enabled: "true") and Service web…');
    await client.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', annotations: { 'leader-election/enabled': 'true' } },
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: podTemplate },
      },
    });
    await client.request('POST', `/api/v1/namespaces/${NS}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const first = await waitFailover(client, runner, '', Date.now());
    results.push(`first leader ${first.leader}: gate True ${first.ms} ms after the Deployment was created`);
    for (let i = 0; i < 4; i++) {
      print(await view(client, runner));
      await sleep(500);
    }

    console.log(`\n▶ Deleting the leader pod ${first.leader} (graceful: its agent releases the Lease)…`);
    let since = Date.now();
    await client.request('DELETE', `/api/v1/namespaces/${NS}/pods/${first.leader}`);
    const second = await waitFailover(client, runner, first.leader, since);
    results.push(`leader pod deleted → new leader ${second.leader}, gate True after ${second.ms} ms`);
    console.log(`  failover: ${second.ms} ms`);
    for (let i = 0; i < 4; i++) {
      print(await view(client, runner));
      await sleep(500);
    }

    console.log(
      `\n▶ Killing the agent of ${second.leader} with SIGKILL (no release: the others wait for the lease to expire, 4 s)…`,
    );
    since = Date.now();
    runner.signalPod(NS, second.leader, 'SIGKILL', 'leader-election-agent');
    const third = await waitFailover(client, runner, second.leader, since);
    results.push(
      `leader's agent killed → new leader ${third.leader}, gate True after ${third.ms} ms (lease duration 4 s)`,
    );
    console.log(`  failover: ${third.ms} ms`);
    for (let i = 0; i < 4; i++) {
      print(await view(client, runner));
      await sleep(500);
    }

    console.log(`\nSummary (${stamp().trim()}):`);
    for (const r of results) console.log(`  • ${r}`);
  } finally {
    console.log('\nCleaning up…');
    await runner.stop();
    client.close();
    await plane.stop();
  }
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
