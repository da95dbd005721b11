// make demo: the product on a local control plane. The webhook runs as a
// process registered by URL; examples/deployment.yaml (3 replicas, one
// annotation) and its Service are applied with kubectl; a compact live view shows
// who leads, each pod's gate and Ready, the Service's ready endpoints and who
// answers requests; then the leader pod is deleted, the leader's agent killed,
// and a new revision rolled out, each with its failover time. Cleans up after.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { PATCH, type KubeClient } from '../common/kube/kube-client.ts';
import { Observer } from './observe/observer.ts';
import { TrafficChecker } from './observe/traffic-checker.ts';
import { buildBinaries, ControlPlane, repoRoot } from './control-plane/control-plane.ts';
import { LocalSetup } from './product/local-setup.ts';

const NS = 'demo';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const short = (name: string) => name.replace(/^web-[a-z0-9]+-/, '');

async function line(client: KubeClient, observer: Observer, traffic: TrafficChecker): Promise<string> {
  const pods = (
    await client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${NS}/pods`, {
      query: { labelSelector: 'app=web' },
    })
  ).items;
  const holder = observer.events.filter((e) => e.kind === 'holder').at(-1);
  const cells = pods.map((p) => {
    const cond = (t: string) => p.status?.conditions?.find((c) => c.type === t)?.status?.[0] ?? '-';
    const dying = p.metadata?.deletionTimestamp ? '✝' : '';
    return `${short(p.metadata!.name!)}${dying} gate=${cond('leader-election/leader')} ready=${cond('Ready')}`;
  });
  const answered = traffic.answeredBy(Date.now() - 500).map(short);
  const leader = holder?.kind === 'holder' && holder.holder ? short(holder.holder) : '(none)';
  return `${clock()}  leader ${leader.padEnd(6)} endpoints ${String(observer.currentReady().length)}  answered by ${(answered.join(',') || '-').padEnd(6)} │ ${cells.join(' │ ')}`;
}

async function show(
  client: KubeClient,
  observer: Observer,
  traffic: TrafficChecker,
  ms: number,
): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    console.log(await line(client, observer, traffic));
    await sleep(500);
  }
}

interface Step {
  what: string;
  gateMs?: number;
  noEndpointMs: number;
  maxReady: number;
}

async function measure(
  what: string,
  observer: Observer,
  old: string | undefined,
  act: () => Promise<void>,
  boundMs: number,
): Promise<Step> {
  const start = Date.now();
  await act();
  const deadline = start + boundMs;
  while (Date.now() < deadline && !observer.readyEndpointAfter(start, old)) await sleep(20);
  const gate = observer.gateTrueAfter(start, old);
  const ready = observer.readyEndpointAfter(start, old);
  const step: Step = {
    what,
    gateMs: gate ? gate.t - start : undefined,
    noEndpointMs: observer.leaderlessMs(start, ready?.t ?? Date.now()),
    maxReady: observer.maxReadyEndpoints(start),
  };
  console.log(
    `  → new leader ${ready ? short(ready.pod) : '(none yet)'}: gate True after ${step.gateMs ?? '?'} ms, ` +
      `no ready endpoint for ${step.noEndpointMs} ms, at most ${step.maxReady} ready endpoint at once`,
  );
  return step;
}

async function main(): Promise<void> {
  console.log(
    'Starting a local control plane (etcd, kube-apiserver, kube-controller-manager), the webhook and the pod runner…',
  );
  const dir = mkdtempSync(join(tmpdir(), 'le-demo-'));
  const plane = await ControlPlane.start({ log: (m) => console.log(`  ${m}`) });
  const client = plane.client();
  const setup = new LocalSetup({
    client,
    connection: plane.connection(),
    kubeconfig: plane.kubeconfig,
    ca: plane.pki.ca,
    dir,
    nodeName: 'demo-node',
    log: (m) => console.log(`  ${m}`),
  });
  const steps: Step[] = [];
  let observer: Observer | undefined;
  let traffic: TrafficChecker | undefined;
  try {
    await setup.start();
    await client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    });
    while (
      !(await client.get(`/api/v1/namespaces/${NS}/serviceaccounts/default`).then(
        () => true,
        () => false,
      ))
    )
      await sleep(100);
    observer = new Observer(client, NS, 'web', 'web');
    await observer.start();
    traffic = new TrafficChecker({ client, runner: setup.runner, namespace: NS, service: 'web' });
    traffic.start();

    const kubectl = join(buildBinaries(), 'kubectl');
    console.log(
      `\n$ kubectl apply -n ${NS} -f examples/deployment.yaml   # 3 replicas, leader-election/enabled: "true"`,
    );
    execFileSync(
      kubectl,
      ['--kubeconfig', plane.kubeconfig, 'apply', '-n', NS, '-f', join(repoRoot, 'examples/deployment.yaml')],
      { stdio: 'inherit' },
    );
    steps.push(
      await measure(
        'first leader after the Deployment is created',
        observer,
        undefined,
        async () => {},
        60_000,
      ),
    );
    await show(client, observer, traffic, 2500);

    const leader1 = observer.currentReady()[0]!;
    console.log(
      `\n▶ kubectl delete pod ${leader1}   (graceful: its agent writes its gate False, then releases the Lease)`,
    );
    steps.push(
      await measure(
        'leader pod deleted',
        observer,
        leader1,
        () => client.request('DELETE', `/api/v1/namespaces/${NS}/pods/${leader1}`),
        30_000,
      ),
    );
    await show(client, observer, traffic, 2500);

    const leader2 = observer.currentReady()[0]!;
    console.log(
      `\n▶ SIGKILL to the agent of ${leader2}   (no release: the others wait for the lease to expire, 6 s)`,
    );
    steps.push(
      await measure(
        "leader's agent killed (SIGKILL)",
        observer,
        leader2,
        async () => void setup.runner.signalPod(NS, leader2, 'SIGKILL', 'leader-election-agent'),
        30_000,
      ),
    );
    await show(client, observer, traffic, 2500);

    const leader3 = observer.currentReady()[0]!;
    console.log(
      '\n▶ kubectl set env deployment/web VERSION=2   (a rollout: the leader hands the Lease to the new revision)',
    );
    const start = Date.now();
    await client.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/web`, {
      contentType: PATCH.strategicMerge,
      body: {
        spec: {
          template: { spec: { containers: [{ name: 'app', env: [{ name: 'VERSION', value: '2' }] }] } },
        },
      },
    });
    steps.push(
      await measure('rollout of a new revision (hand-off)', observer, leader3, async () => {}, 60_000),
    );
    for (;;) {
      const d = await client.get<{ status?: { updatedReplicas?: number; replicas?: number } }>(
        `/apis/apps/v1/namespaces/${NS}/deployments/web`,
      );
      if (d.status?.updatedReplicas === 3 && d.status.replicas === 3) break;
      if (Date.now() - start > 90_000) throw new Error('the rollout did not complete in 90 s');
      await sleep(200);
    }
    console.log(`  rollout complete after ${Date.now() - start} ms`);
    await show(client, observer, traffic, 2000);

    console.log(`\nSummary (${((Date.now() - t0) / 1000).toFixed(1)} s in all):`);
    for (const s of steps) {
      console.log(
        `  • ${s.what.padEnd(46)} gate True after ${String(s.gateMs ?? '?').padStart(5)} ms; no ready endpoint for ${String(s.noEndpointMs).padStart(5)} ms`,
      );
    }
    const overlaps =
      observer.maxReadyEndpoints(0) > 1
        ? 'TWO READY ENDPOINTS WERE SEEN'
        : 'never more than one ready endpoint';
    console.log(`  • safety: ${overlaps}; ${traffic.answers.filter((a) => a.pod).length} requests answered`);
  } finally {
    console.log('\nCleaning up…');
    traffic?.stop();
    observer?.stop();
    await setup.stop();
    client.close();
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
