// make demo: the product on a kind cluster (make kind-up runs first: the cluster
// `leader-election`, the product installed from its images). Applies
// examples/deployment.yaml (3 replicas, one annotation) in namespace `demo`, starts a
// client pod that requests the Service's ClusterIP every 50 ms through kube-proxy (and the
// host too, where it can route to the ClusterIP through the node: host-traffic.ts), and
// shows live who holds the Lease, each pod's gate and Ready, the Service's ready
// endpoints and who answered; then deletes the leader pod, SIGKILLs the leader's agent
// and rolls out a new revision, each with the time until the new leader answered. The
// cluster and the demo are left running to explore; `make kind-down` deletes them.
//   node local-cluster/demo.ts   (KIND_CLUSTER names another kind-up cluster)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATCH } from '../common/kube/kube-client.ts';
import { repoRoot } from './control-plane/control-plane.ts';
import {
  answerAfterGap,
  ElectedGroup,
  longestGap,
  oneServerAtATime,
  type Answer,
  type Raw,
} from './kind/elected-group.ts';
import { KindCluster } from './kind/kind-cluster.ts';
import { killContainer, nodePod } from './kind/node-faults.ts';
import { sleep, waitUntil } from './wait.ts';

const CLUSTER = process.env.KIND_CLUSTER ?? 'leader-election';
const NS = 'demo';
const AGENT = 'leader-election-agent';
const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const short = (name: string) => name.replace(/^web-[a-z0-9]+-/, '');

/** One line of the live view. */
async function line(group: ElectedGroup, answers: Answer[]): Promise<string> {
  const pods: Raw[] = await group.pods();
  const holder = await group.holder();
  const cells = pods.map((p: Raw) => {
    const cond = (t: string): string =>
      p.status?.conditions?.find((c: Raw) => c.type === t)?.status?.[0] ?? '-';
    const dying = p.metadata?.deletionTimestamp ? '✝' : '';
    return `${short(p.metadata.name)}${dying} gate=${cond('leader-election/leader')} ready=${cond('Ready')}`;
  });
  const recent = (list: Answer[]) =>
    [...new Set(list.filter((a) => a.pod && a.t > Date.now() - 1_000).map((a) => short(a.pod!)))].join(',') ||
    '-';
  const host = group.host ? ` host ${recent(group.host.since(Date.now() - 2_000)).padEnd(6)}` : '';
  return (
    `${clock()}  leader ${(holder ? short(holder) : '(none)').padEnd(6)} ` +
    `endpoints ${group.observer.currentReady().length}  answered by ${recent(answers).padEnd(6)}${host} │ ` +
    cells.join(' │ ')
  );
}

/** The live view for `ms`, one line every ~0.5 s. */
async function show(group: ElectedGroup, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    console.log(await line(group, await group.answers(Date.now() - 2_000)));
    await sleep(500);
  }
}

interface Step {
  what: string;
  answeredMs?: number;
  longestGapMs: number;
}

/**
 * Acts, then waits until a pod other than `old` answers, or with `old` '' (the same pod
 * may lead again) until a pod answers after an outage of at least 300 ms; prints and
 * returns the times.
 */
async function step(
  group: ElectedGroup,
  what: string,
  old: string,
  act: () => Promise<unknown>,
): Promise<Step> {
  const start = Date.now();
  await act();
  const first = old
    ? await group
        .nextAnswerer(start, old, 90_000)
        .then(async (next) => (await group.answers(start)).find((a) => a.pod === next))
    : await waitUntil(
        'a pod answering after an outage',
        90_000,
        async () => answerAfterGap(await group.answers(start), start, 300),
        250,
      );
  const got = await group.answers(start - 1_000);
  const result: Step = {
    what,
    answeredMs: first ? first.t - start : undefined,
    longestGapMs: longestGap(got),
  };
  console.log(
    `  → ${short(first?.pod ?? '?')} answered ${result.answeredMs ?? '?'} ms after it; ` +
      `longest time without an answer ${result.longestGapMs} ms`,
  );
  return result;
}

async function main(): Promise<void> {
  const cluster = KindCluster.named(CLUSTER);
  const manifest = readFileSync(join(repoRoot, 'examples/deployment.yaml'), 'utf8');
  const group = new ElectedGroup(cluster, NS, { namespace: NS, manifest });
  console.log(`$ kubectl create namespace ${NS}; kubectl apply -n ${NS} -f examples/deployment.yaml`);
  console.log('  (3 replicas, leader-election/enabled: "true"; the test app answers with its pod name)');
  await group.create();
  await group.startHostTraffic().then(
    () => console.log('  and requests from this host to the ClusterIP, routed through the node'),
    (err: Error) => console.log(`  (no requests from this host: ${err.message})`),
  );
  const steps: Step[] = [];
  try {
    const first = await group.leader();
    console.log(`  ${short(first)} leads; only it is Ready (READINESS GATES 1/1), so only it gets requests`);
    await show(group, 3_000);

    const leader1 = await group.leader();
    console.log(
      `\n▶ kubectl delete pod ${leader1}   (graceful: its agent hands the Lease to a ready follower)`,
    );
    steps.push(
      await step(group, 'leader pod deleted', leader1, () =>
        group.client.request('DELETE', `${group.api}/pods/${leader1}`),
      ),
    );
    await show(group, 3_000);

    const leader2 = await group.leader();
    console.log(
      `\n▶ SIGKILL to the agent of ${leader2}, inside the node   (no release: when its kubelet reports it dead, another pod takes the Lease at once; else the restarted agent takes it back)`,
    );
    const pod = nodePod(await group.client.get<Raw>(`${group.api}/pods/${leader2}`));
    steps.push(await step(group, "leader's agent killed (SIGKILL)", '', () => killContainer(pod, AGENT)));
    await show(group, 3_000);

    const leader3 = await group.leader();
    console.log(
      '\n▶ kubectl set env deployment/web VERSION=2   (a rollout: the leader hands the Lease to the new revision)',
    );
    const rollout = Date.now();
    steps.push(
      await step(group, 'rollout of a new revision (hand-off)', leader3, () =>
        group.client.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/web`, {
          contentType: PATCH.strategicMerge,
          body: {
            spec: {
              template: { spec: { containers: [{ name: 'app', env: [{ name: 'VERSION', value: '2' }] }] } },
            },
          },
        }),
      ),
    );
    await waitUntil('the rollout complete', 120_000, async () => {
      const d = await group.client.get<Raw>(`/apis/apps/v1/namespaces/${NS}/deployments/web`);
      return d.status?.updatedReplicas === 3 && d.status.replicas === 3;
    });
    console.log(`  rollout complete after ${Date.now() - rollout} ms`);
    await show(group, 2_000);

    const all = await group.answers(0);
    const broken = oneServerAtATime(group, all, 0);
    if (group.host) broken.push(...oneServerAtATime(group, group.host.since(0), 0).map((b) => `host: ${b}`));
    console.log(
      `\nSummary (${((Date.now() - t0) / 1000).toFixed(1)} s in all, requests through the ClusterIP):`,
    );
    for (const s of steps) {
      console.log(
        `  • ${s.what.padEnd(40)} the next pod answered after ${String(s.answeredMs ?? '?').padStart(5)} ms; ` +
          `longest gap ${String(s.longestGapMs).padStart(5)} ms`,
      );
    }
    console.log(
      `  • safety: ${broken.length === 0 ? 'one pod answered at a time, never two ready endpoints' : broken.join('; ')}; ` +
        `${all.filter((a) => a.pod).length} requests answered` +
        (group.host ? `, and ${group.host.since(0).filter((a) => a.pod).length} from the host` : ''),
    );
    console.log(`
The demo keeps running. Try:
  export KUBECONFIG=${cluster.kubeconfig}
  kubectl -n ${NS} get pods -o wide          # 1/1 READINESS GATES on the leader only
  kubectl -n ${NS} get lease web
  kubectl -n ${NS} logs traffic -f           # who answers each request
  kubectl -n ${NS} delete pod <the leader>
Delete the cluster with: make kind-down`);
    group.observer.stop();
    await group.host?.stop(); // the host route goes; the in-cluster client pod keeps running
    group.client.close();
  } catch (err) {
    await group.remove();
    throw err;
  }
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
