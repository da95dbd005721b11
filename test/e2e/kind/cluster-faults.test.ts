// End to end on kind: an elected Deployment through the faults and operations of a real
// cluster — kube-apiserver and kubelet restarts, scaling, a rolling update, the webhook
// lost during a scale-up, evictions through a PodDisruptionBudget — in both routings.
// The safety check throughout: the traffic client (requests to the ClusterIP through
// kube-proxy every 50 ms) never sees two pods serve in turns, and the Service never has
// two ready endpoints at once; after each scenario, one leader (the only ready endpoint,
// the Lease holder, the one pod answering).
//
// One group per routing, each in its own namespace, created once and reused: each
// scenario starts from a clean group (3 pods, none terminating, one leader). Scenarios run
// one after the other; within one, the two groups go through it at the same time
// (it.concurrent), and a cluster-wide fault (a restart, the webhook's loss) happens once,
// for both. Each test logs one `[kind] ...` line with its figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeClient, PATCH } from '../../../common/kube/kube-client.ts';
import {
  type Answer,
  apiServerAddresses,
  cutOffApiServer,
  ElectedGroup,
  longestGap,
  healApiServer,
  nodeExec,
  nodeNames,
  nodePod,
  type Raw,
  restartApiserver,
  restartKubelet,
  setUnschedulable,
  freezeApiserverFor,
  theNode,
  timeline,
  TIMINGS,
  waitUntil,
} from '../../../local-cluster/index.ts';
import { e2eClient, e2eCluster, expectOneServerAtATime } from './e2e.ts';

const GRACE_S = 10;
const REPLICAS = 3;
const AGENT = 'leader-election-agent';
const ROUTINGS = ['readiness-gate', 'label'] as const;
type Routing = (typeof ROUTINGS)[number];
const WEBHOOK_NS = 'leader-election-system';
const WEBHOOK_SELECTOR = 'app.kubernetes.io/name=leader-election,app.kubernetes.io/component=webhook';

let client: KubeClient;
let node: string;
const groups = {} as Record<Routing, ElectedGroup>;

beforeAll(async () => {
  client = e2eClient();
  node = await theNode(client);
  for (const routing of ROUTINGS) {
    groups[routing] = new ElectedGroup(e2eCluster(), `faults-${routing === 'label' ? 'label' : 'gate'}`, {
      routing,
      replicas: REPLICAS,
      graceSeconds: GRACE_S,
    });
  }
  await Promise.all(ROUTINGS.map((r) => groups[r].create()));
  await Promise.all(ROUTINGS.map((r) => stableLeader(groups[r])));
});

afterAll(async () => {
  await Promise.all(ROUTINGS.map((r) => groups[r]?.remove()));
  client?.close();
});

// ---- helpers ----

const condition = (p: Raw, type: string): string | undefined =>
  p.status?.conditions?.find((c: Raw) => c.type === type)?.status;
const injected = (p: Raw): boolean =>
  [...(p.spec.initContainers ?? []), ...p.spec.containers].some((c: Raw) => c.name === AGENT);
const hashOf = (p: Raw): string => p.metadata.labels['pod-template-hash'];
const since = (t0: number): number => Date.now() - t0;

/** Runs `fn` once, for whichever caller comes first (a fault shared by both groups). */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/**
 * Up: the agent running and the app ready. Not ContainersReady: in readiness-gate routing a
 * follower's agent is not ready (agent/fencing.ts).
 */
function up(p: Raw): boolean {
  const agent = (p.status?.initContainerStatuses ?? []).find((s: Raw) => s.name === AGENT);
  const apps: Raw[] = p.status?.containerStatuses ?? [];
  return !!agent?.state?.running && agent.started !== false && apps.length > 0 && apps.every((s) => s.ready);
}

/** `n` pods, none terminating, each up (followers included). */
async function settled(g: ElectedGroup, n: number, timeoutMs = 180_000): Promise<Raw[]> {
  return waitUntil(
    `${g.ns}: ${n} pods, none terminating, each up`,
    timeoutMs,
    async () => {
      const pods = await g.pods();
      const ok = pods.length === n && pods.every((p) => !p.metadata.deletionTimestamp && up(p));
      return ok ? pods : undefined;
    },
    250,
  );
}

/** A clean group: `n` settled pods and one leader. Returns the leader. */
async function stableLeader(g: ElectedGroup, n = REPLICAS): Promise<string> {
  return g.stableLeader(n);
}

async function stableLeaders(): Promise<Record<Routing, string>> {
  const names = await Promise.all(ROUTINGS.map((r) => stableLeader(groups[r])));
  return Object.fromEntries(ROUTINGS.map((r, i) => [r, names[i]])) as Record<Routing, string>;
}

/** Waits until the last second's requests were all answered, by `leader` only (kube-proxy caught up). */
async function servedBy(g: ElectedGroup, leader: string): Promise<void> {
  await waitUntil(
    `${g.ns}: only ${leader} answering`,
    60_000,
    async () => {
      const got = await g.answers(Date.now() - 1_000);
      return got.length > 5 && got.every((a) => a.pod === leader);
    },
    500,
  );
}

/** The safety check on everything since `t0`; prints the timeline when it fails. Returns the answers. */
async function expectSafe(g: ElectedGroup, t0: number): Promise<Answer[]> {
  const got = await g.answers(t0);
  try {
    expectOneServerAtATime(g, got, t0);
  } catch (err) {
    console.log(`[kind] ${g.opts.routing}: timeline of ${g.ns}:\n${timeline(g, got, t0)}`);
    throw err;
  }
  return got;
}

/**
 * Figures of a stretch: time without a ready endpoint, longest with no answer (and how many
 * requests failed: a long gap without failures is the client pod starved, not the Service),
 * holder changes.
 */
function figures(g: ElectedGroup, got: Answer[], t0: number): string {
  const holders = g.observer.events.filter((e) => e.kind === 'holder' && e.t >= t0 && e.holder !== '');
  return (
    `no ready endpoint for ${g.observer.leaderlessMs(t0, Date.now())} ms in all, ` +
    `longest with no answer ${longestGap(got)} ms ` +
    `(${got.filter((a) => !a.pod).length} of ${got.length} requests failed), ` +
    `${holders.length} new holder(s)`
  );
}

/** Pod creations of the group's ReplicaSets that the API server refused for the webhook. */
async function refusals(g: ElectedGroup): Promise<number> {
  const events = await client.get<Raw>(`${g.api}/events`, {
    query: { fieldSelector: 'reason=FailedCreate' },
  });
  return events.items
    .filter((e: Raw) => /webhook/.test(e.message))
    .reduce((n: number, e: Raw) => n + (e.count ?? 1), 0);
}

function scale(g: ElectedGroup, replicas: number): Promise<unknown> {
  return client.request('PATCH', `/apis/apps/v1/namespaces/${g.ns}/deployments/${g.name}/scale`, {
    contentType: PATCH.merge,
    body: { spec: { replicas } },
  });
}

// ---- the scenarios ----

describe('kube-apiserver restarted (its container stopped; the kubelet restarts the static pod)', () => {
  // How long the API is away depends on the kubelet's restart back-off: usually the new
  // container starts at once (the API answers again after 3–5 s here), but a restart soon
  // after the previous one waits the back-off (10 s, then doubling; seen: 15 s in all when
  // runs followed each other closely). An outage longer than the lease (6 s) lets a follower
  // win when the API is back, and one longer than kube-controller-manager's renew deadline
  // (10 s) restarts it, so the EndpointSlices move only after it re-acquired its own Lease.
  // Meanwhile kube-proxy's rules stay as they were: the old leader, fenced (its /readyz
  // fails) but still listed ready, goes on answering until the slice changes, and the new
  // leader gets traffic only from then on. The check stays the same: one server at a time.
  const fault = once(async () => {
    const before = await stableLeaders();
    const t0 = Date.now();
    const { downMs } = await restartApiserver(client, node);
    return { before, t0, downMs };
  });

  for (const routing of ROUTINGS) {
    it.concurrent(
      `${routing} routing: never two pods serving, one leader after`,
      { timeout: 600_000 },
      async () => {
        const g = groups[routing];
        const { before, t0, downMs } = await fault();
        const old = before[routing];
        const after = await g.leader(240_000);
        await servedBy(g, after);
        const got = await expectSafe(g, t0);
        let moved = 'kept';
        if (after !== old) {
          const holderAt = g.observer.events.find(
            (e) => e.kind === 'holder' && e.t >= t0 && e.holder === after,
          )?.t;
          const lastOld = got.filter((a) => a.pod === old).at(-1)?.t;
          const firstNew = got.find((a) => a.pod === after)?.t;
          const at = (t: number | undefined) => (t === undefined ? '?' : `+${t - t0}`);
          moved =
            `→ ${after} (the new holder seen at ${at(holderAt)} ms; the old leader answered until ` +
            `${at(lastOld)} ms, the new one from ${at(firstNew)} ms)`;
        }
        console.log(
          `[kind] ${routing}: kube-apiserver restart: API unavailable for ${downMs} ms; leader ${old} ` +
            `${moved}; one leader ${since(t0)} ms after the stop; ${figures(g, got, t0)}`,
        );
      },
    );
  }
});

// Issue 12, item 8: an API outage longer than the lease (6 s). The old leader fences itself (its
// /readyz fails) but its kubelet cannot report Ready=False; when the API is back, the followers'
// expiry timers fired long ago and one takes the Lease at once, while the old pod's kubelet
// reports Ready=False in the same instant: nothing orders the two. Break before make: the new
// holder shows itself as leader only once the old pod no longer shows Ready (agent/takeover.ts).
// The old leaders are also cut off from the API until 3 s after it is back, so that they cannot
// renew first (a holder's own record is renewed at once, like client-go's) and a follower wins.
describe('kube-apiserver frozen longer than the lease (9 s), the leaders cut off', () => {
  const fault = once(async () => {
    const before = await stableLeaders();
    const api = await apiServerAddresses(client);
    const leaders = await Promise.all(
      ROUTINGS.map(async (r) => nodePod(await client.get<Raw>(`${groups[r].api}/pods/${before[r]}`))),
    );
    for (const p of leaders) await cutOffApiServer(p, api);
    const t0 = Date.now();
    try {
      const { downMs } = await freezeApiserverFor(client, node, 9_000);
      await new Promise((r) => setTimeout(r, 3_000));
      return { before, t0, downMs };
    } finally {
      for (const p of leaders) await healApiServer(p).catch(() => undefined);
    }
  });

  for (const routing of ROUTINGS) {
    it.concurrent(
      `${routing} routing: a follower takes over, never two ready endpoints or two pods serving`,
      { timeout: 600_000 },
      async () => {
        const g = groups[routing];
        const { before, t0, downMs } = await fault();
        const old = before[routing];
        const after = await g.leader(120_000, old).catch(async (err: Error) => {
          // What the group looks like, to explain it.
          const pods = (await g.pods()).map((p: Raw) => ({
            pod: p.metadata.name,
            role: p.metadata.labels?.['leader-election/role'],
            ready: p.status?.conditions?.find((c: Raw) => c.type === 'Ready')?.status,
            containers: (p.status?.initContainerStatuses ?? [])
              .concat(p.status?.containerStatuses ?? [])
              .map((c: Raw) => `${c.name}:${c.ready}`),
          }));
          const logs = await e2eCluster()
            .kubectl('-n', g.ns, 'logs', '--tail=15', '-l', 'app=web', '-c', AGENT, '--prefix')
            .catch((e: Error) => e.message);
          console.log(
            `[kind] ${routing}: holder ${await g.holder()}; ready endpoints ${g.observer.currentReady()}\n` +
              `${JSON.stringify(pods, null, 1)}\n${logs}\n${timeline(g, await g.answers(t0), t0)}`,
          );
          throw err;
        });
        await servedBy(g, after);
        const got = await expectSafe(g, t0);
        // The new leader went the takeover path: it waited for the old pod to stop showing Ready.
        const log = await e2eCluster().kubectl('-n', g.ns, 'logs', after, '-c', AGENT);
        const waited = log
          .split('\n')
          .find((l) => l.includes('took the lease over') || l.includes('previous holder still shown Ready'));
        expect(waited, `${after}'s agent log:\n${log.split('\n').slice(-25).join('\n')}`).toBeDefined();
        console.log(
          `[kind] ${routing}: kube-apiserver frozen ${downMs} ms, leader ${old} cut off: ${after} leads; ` +
            `one leader ${since(t0)} ms after the stop; ${figures(g, got, t0)}; ${JSON.parse(waited!).msg} ` +
            `(${JSON.parse(waited!).seen ?? 'bound'}, waited ${JSON.parse(waited!).waitedMs} ms)`,
        );
      },
    );
  }
});

describe('the kubelet restarted (systemctl restart kubelet)', () => {
  const fault = once(async () => {
    const before = await stableLeaders();
    const t0 = Date.now();
    const { downMs } = await restartKubelet(node);
    return { before, t0, downMs };
  });

  for (const routing of ROUTINGS) {
    it.concurrent(`${routing} routing: the leader keeps the Lease, never two pods serving`, async () => {
      const g = groups[routing];
      const { before, t0, downMs } = await fault();
      // The API server stays up: nothing moves the Lease.
      const after = await g.leader(120_000);
      expect(after).toBe(before[routing]);
      await settled(g, REPLICAS);
      await servedBy(g, after);
      const got = await expectSafe(g, t0);
      console.log(
        `[kind] ${routing}: kubelet restart: healthy again after ${downMs} ms; leader ${after} kept; ` +
          `${figures(g, got, t0)}`,
      );
    });
  }
});

describe('scaled 3 → 5 → 1 → 3', () => {
  // Scaling to 1, the ReplicaSet deletes the pods it ranks lowest, not-Ready ones first: in
  // readiness-gate routing the leader (the only Ready pod) stays; in label routing every pod
  // is Ready and the leader may go. Then a pod that is being deleted too may take the Lease
  // first (its agent, a native sidecar, is stopped only after its app container) and hand it
  // on when it stops: two new holders and up to ~2 s with no answer (seen here).
  for (const routing of ROUTINGS) {
    it.concurrent(`${routing} routing: one leader at every size, never two pods serving`, async () => {
      const g = groups[routing];
      const first = await stableLeader(g);
      const t0 = Date.now();
      const steps: string[] = [];
      try {
        for (const replicas of [5, 1, 3]) {
          const t = Date.now();
          await scale(g, replicas);
          const pods = await settled(g, replicas);
          expect(pods.every(injected)).toBe(true);
          const leader = await g.leader();
          steps.push(`${replicas}: ${leader} after ${since(t)} ms`);
        }
      } finally {
        await scale(g, REPLICAS);
      }
      const last = await g.leader();
      await servedBy(g, last);
      const got = await expectSafe(g, t0);
      console.log(
        `[kind] ${routing}: scale 3 → 5 → 1 → 3 from leader ${first}: ${steps.join('; ')}; ` +
          `${figures(g, got, t0)}`,
      );
    });
  }
});

describe('a rolling update of the pod template', () => {
  for (const routing of ROUTINGS) {
    it.concurrent(
      `${routing} routing: the rollout completes and a pod of the new revision leads, one server at a time`,
      async () => {
        const g = groups[routing];
        const before = await stableLeader(g);
        const oldHash = hashOf((await g.pods()).find((p) => p.metadata.name === before));
        const t0 = Date.now();
        await client.request('PATCH', `/apis/apps/v1/namespaces/${g.ns}/deployments/${g.name}`, {
          contentType: PATCH.merge,
          body: {
            spec: { template: { metadata: { annotations: { 'e2e.leader-election/rollout': String(t0) } } } },
          },
        });
        // Complete: the new ReplicaSet has every replica and no pod of the old one is left
        // (terminating ones included); in label routing, every replica available too.
        // Readiness-gate routing keeps availableReplicas at 1 (only the leader is Ready): the
        // Deployment never counts as complete (Progressing stays ReplicaSetUpdated, then turns
        // ProgressDeadlineExceeded after progressDeadlineSeconds, seen on this cluster) and
        // `kubectl rollout status` does not return.
        const done = await waitUntil(
          `${g.ns}: the rollout to complete`,
          240_000,
          async () => {
            const d = await client.get<Raw>(`/apis/apps/v1/namespaces/${g.ns}/deployments/${g.name}`);
            const pods = await g.pods();
            const ok =
              d.status?.observedGeneration >= d.metadata.generation &&
              d.status.updatedReplicas === REPLICAS &&
              d.status.replicas === REPLICAS &&
              pods.length === REPLICAS &&
              pods.every((p) => hashOf(p) !== oldHash && !p.metadata.deletionTimestamp) &&
              (routing === 'readiness-gate' || d.status.availableReplicas === REPLICAS);
            return ok ? { d, pods, t: Date.now() } : undefined;
          },
          250,
        );
        const newHash = hashOf(done.pods[0]);
        const after = await g.leader(60_000);
        const holderPod = (await g.pods()).find((p) => p.metadata.name === after);
        expect(hashOf(holderPod), `the Lease holder ${after}`).toBe(newHash);
        await servedBy(g, after);
        const got = await expectSafe(g, t0);
        const firstNew = got.find((a) => a.pod?.includes(`-${newHash}-`));
        const progressing = done.d.status.conditions?.find((c: Raw) => c.type === 'Progressing')?.reason;
        console.log(
          `[kind] ${routing}: rolling update: complete after ${done.t - t0} ms ` +
            `(available ${done.d.status.availableReplicas ?? 0}/${REPLICAS}, Progressing ${progressing}); ` +
            `leader ${before} → ${after}, first answer from the new revision after ` +
            `${firstNew ? firstNew.t - t0 : '?'} ms; ${figures(g, got, t0)}`,
        );
      },
    );
  }
});

describe('the webhook pod lost during a scale-up', () => {
  // Only deleting the pod (gracefully, or even with grace period 0) leaves its process to
  // stop on its own, and it goes on answering through its shutdown delay (5 s) while the new
  // pod starts: tried by hand, no pod creation was refused (all injected, over 25 s). So here
  // the webhook is lost at once, as on a node crash: its container killed and the pod
  // force-deleted, and both groups scaled up at that instant. The new webhook pod is Ready
  // 1.5–6.5 s later, and whether a group's first pod creations fall in that window is a race
  // (seen: some runs with none refused in one group), so the node is cordoned meanwhile: the
  // new webhook pod stays Pending until every group had a creation refused (failurePolicy
  // Fail), then the node is uncordoned and the ReplicaSets' retries go through.
  const fault = once(async () => {
    const before = await stableLeaders();
    const list = await client.get<Raw>(`/api/v1/namespaces/${WEBHOOK_NS}/pods`, {
      query: { labelSelector: WEBHOOK_SELECTOR },
    });
    const webhooks = list.items.filter((p: Raw) => !p.metadata.deletionTimestamp);
    expect(webhooks).toHaveLength(1);
    const old: string = webhooks[0].metadata.name;
    const webhookNode: string = webhooks[0].spec.nodeName;
    const allNodes = await nodeNames(client);
    const container = (
      await nodeExec(webhookNode, [
        'crictl',
        'ps',
        '-q',
        '--name',
        '^webhook$',
        '--label',
        `io.kubernetes.pod.name=${old}`,
      ])
    ).trim();
    expect(container, `the container of ${old}`).toMatch(/^[0-9a-f]+$/);
    for (const n of allNodes) await setUnschedulable(client, n, true);
    const t0 = Date.now();
    let uncordoned: number;
    try {
      // Killed first (nothing answers from here on), then at once the pod deleted (the
      // ReplicaSet creates the new webhook pod, which cannot be scheduled yet) and both
      // groups scaled up.
      await nodeExec(webhookNode, ['crictl', 'stop', '--timeout', '0', container]);
      await Promise.all([
        client.request('DELETE', `/api/v1/namespaces/${WEBHOOK_NS}/pods/${old}`, {
          query: { gracePeriodSeconds: 0 },
        }),
        ...ROUTINGS.map((r) => scale(groups[r], 5)),
      ]);
      await waitUntil(
        'a pod creation refused in each group',
        60_000,
        async () => (await Promise.all(ROUTINGS.map((r) => refusals(groups[r])))).every((n) => n > 0),
        250,
      );
    } finally {
      for (const n of allNodes) await setUnschedulable(client, n, false);
      uncordoned = Date.now();
    }
    const back = await waitUntil(
      'a new webhook pod Ready',
      120_000,
      async () => {
        const now = await client.get<Raw>(`/api/v1/namespaces/${WEBHOOK_NS}/pods`, {
          query: { labelSelector: WEBHOOK_SELECTOR },
        });
        return now.items.some((p: Raw) => p.metadata.name !== old && condition(p, 'Ready') === 'True')
          ? Date.now()
          : undefined;
      },
      250,
    );
    return { before, t0, awayMs: back - t0, uncordonedMs: uncordoned - t0 };
  });

  for (const routing of ROUTINGS) {
    it.concurrent(
      `${routing} routing: the new pods are refused, then injected once the webhook is back; one leader`,
      async () => {
        const g = groups[routing];
        try {
          const { before, t0, awayMs, uncordonedMs } = await fault();
          const pods = await settled(g, 5);
          const at5 = since(t0);
          expect(pods.filter((p) => !injected(p)).map((p) => p.metadata.name)).toEqual([]);
          const refused = await refusals(g);
          const leader = await g.leader();
          await scale(g, REPLICAS);
          await settled(g, REPLICAS);
          const after = await g.leader();
          await servedBy(g, after);
          const got = await expectSafe(g, t0);
          console.log(
            `[kind] ${routing}: webhook lost during a scale-up to 5: node uncordoned after ${uncordonedMs} ms, ` +
              `webhook Ready again after ${awayMs} ms; ${refused} pod creation(s) refused meanwhile; 5 pods injected and ` +
              `running after ${at5} ms; leader ${before[routing]} → ${leader} (at 5) → ${after} (back at 3); ` +
              `${figures(g, got, t0)}`,
          );
        } finally {
          // Back to 3 replicas whatever happened, for the scenarios after this one.
          await scale(g, REPLICAS);
        }
      },
    );
  }
});

describe('evictions through a PodDisruptionBudget (maxUnavailable 1, unhealthy pods always evictable)', () => {
  for (const routing of ROUTINGS) {
    it.concurrent(
      `${routing} routing: ${routing === 'label' ? 'the leader is evicted and a standby takes over' : 'followers are evicted, the leader is protected'}`,
      async () => {
        const g = groups[routing];
        const leader = await stableLeader(g);
        const pdbPath = `/apis/policy/v1/namespaces/${g.ns}/poddisruptionbudgets`;
        await client.request('POST', pdbPath, {
          body: {
            apiVersion: 'policy/v1',
            kind: 'PodDisruptionBudget',
            metadata: { name: g.name },
            spec: {
              maxUnavailable: 1,
              selector: { matchLabels: { app: g.name } },
              unhealthyPodEvictionPolicy: 'AlwaysAllow',
            },
          },
        });
        const pdb = await waitUntil(
          `${g.ns}: the PodDisruptionBudget observed`,
          60_000,
          async () => {
            const p = await client.get<Raw>(`${pdbPath}/${g.name}`);
            return p.status?.observedGeneration === p.metadata.generation &&
              p.status?.expectedPods === REPLICAS
              ? p
              : undefined;
          },
          250,
        );
        const evict = (name: string) =>
          client.request('POST', `${g.api}/pods/${name}/eviction`, {
            body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: g.ns } },
          });
        const t0 = Date.now();
        try {
          if (routing === 'readiness-gate') {
            // Only the leader is Ready (healthy, to the budget): 1 healthy of 3 expected, 2
            // desired, no disruption allowed. The leader is refused (429); followers are
            // unhealthy (gate False), which AlwaysAllow lets go whatever the budget.
            expect(pdb.status.currentHealthy).toBe(1);
            expect(pdb.status.disruptionsAllowed).toBe(0);
            const refused = await evict(leader).then(
              () => 'evicted',
              (e: { status?: number }) => e.status,
            );
            expect(refused).toBe(429);
            const follower = (await g.pods())
              .map((p) => p.metadata.name as string)
              .find((n) => n !== leader)!;
            await evict(follower);
            await settled(g, REPLICAS);
            expect(await g.leader()).toBe(leader);
            await servedBy(g, leader);
            const got = await expectSafe(g, t0);
            console.log(
              `[kind] ${routing}: PDB: evicting the leader refused (429, ${pdb.status.currentHealthy} healthy, ` +
                `${pdb.status.disruptionsAllowed} disruptions allowed); follower ${follower} evicted and ` +
                `replaced after ${since(t0)} ms; leader ${leader} kept; ${figures(g, got, t0)}`,
            );
          } else {
            // Every pod is Ready (the role label routes): 3 healthy, one disruption allowed.
            expect(pdb.status.currentHealthy).toBe(REPLICAS);
            expect(pdb.status.disruptionsAllowed).toBe(1);
            await evict(leader);
            const te = Date.now();
            const next = await g.nextAnswerer(te, leader, (GRACE_S + 30) * 1000 + TIMINGS.leaseMs);
            const after = await g.leader(60_000, leader);
            expect(after).toBe(next);
            await servedBy(g, after);
            const got = await expectSafe(g, t0);
            const firstNew = got.find((a) => a.pod === next)!.t;
            await settled(g, REPLICAS);
            console.log(
              `[kind] ${routing}: PDB: leader ${leader} evicted; ${next} answered after ${firstNew - te} ms; ` +
                `${figures(g, got, t0)}`,
            );
          }
        } finally {
          await client.request('DELETE', `${pdbPath}/${g.name}`);
        }
      },
    );
  }
});
