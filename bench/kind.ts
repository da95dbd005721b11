// The `kind` phase of make bench: failovers end to end on a real cluster (kind: a real kubelet,
// containerd, kube-proxy; the product's own images), measured the way a client sees them:
// a pod requesting the Service's ClusterIP every 50 ms through kube-proxy, logging who answered.
//
// Scenarios, in both routings, each trial from a stable leader:
//   delete-exits       the leader pod deleted; its app exits on SIGTERM
//   delete-ignores     the same with an app that ignores SIGTERM (30 s grace period)
//   agent-sigkill      the leader's agent SIGKILLed inside the node, 5 times in a row
//   app-sigkill        the leader's app container SIGKILLed inside the node
// For each: from the fault to the first answer after it (by a new leader, or by the same pod
// once it serves again), the longest time with no answer, the answers by a pod that was not
// the Lease holder at that moment, and the breakdown Lease → gate True → Ready → ready
// endpoint → first answer (kube-proxy). Then client-go's elector (its own image, 3 pods,
// ReleaseOnCancel, the same timings) on a Lease of its own, side by side on what applies
// (the Lease moving after a delete and after a SIGKILL); the agent's memory as its
// container's cgroup working set (crictl stats); the pod-create latency the in-cluster
// webhook adds (server-side dry-run creates, opted in or not, alternated).
import {
  answerAfterGap,
  ElectedGroup,
  longestGap,
  KindCluster,
  kindDown,
  kindUp,
  killContainer,
  nodeExec,
  nodePod,
  Observer,
  otherKindClusters,
  theNode,
  TIMINGS,
  type Raw,
} from '../local-cluster/index.ts';
import type { KubeClient } from '../common/kube/kube-client.ts';
import { progress, sleep, summarize, waitFor, type Summary } from './lib/util.ts';

export const KIND_CLUSTER = 'le-bench';
const GRACE_S = 30;
const AGENT = 'leader-election-agent';
const CLIENTGO_IMAGE = 'ghcr.io/leader-election/clientgo-elector:dev';

export type Routing = 'readiness-gate' | 'label';
export type Scenario = 'delete-exits' | 'delete-ignores' | 'agent-sigkill' | 'app-sigkill';

export interface KindTrial {
  /** From the fault to the first answer after it (new leader, or the same pod serving again). */
  answeredMs: number | undefined;
  /** Who answered first after the fault: another pod, or the same one. */
  samePod: boolean;
  longestGapMs: number;
  /** Answers by a pod that was not the Lease holder when it answered, and the latest of them after the holder changed. */
  nonLeaderAnswers: number;
  nonLeaderLateMs: number;
  /**
   * Answers by a pod after another pod had answered since its own last answer: two pods
   * serving in turns, the safety violation clients can see (must be 0).
   */
  interleavedAnswers: number;
  /** Two ready endpoints at once, as the observer saw the EndpointSlices. */
  maxReadyEndpoints: number;
  /** SIGKILLs: from the kill to the Lease renewed by a live process (the restarted agent or another pod's). */
  leaseRenewedMs?: number;
  breakdown: { leaseMs?: number; gateMs?: number; readyMs?: number; endpointMs?: number };
}

export interface ClientGoSide {
  /** From the DELETE (or SIGKILL) to the Lease naming another holder (or the same one again). */
  deleteLeaseMs: number[];
  sigkillLeaseMs: number[];
}

export interface KindResult {
  cluster: string;
  trials: Record<Routing, Partial<Record<Scenario, KindTrial[]>>>;
  /** The same Lease-moving figures for our agent, for the side-by-side. */
  ours: ClientGoSide;
  clientgo: ClientGoSide;
  /** Working set of each agent container (bytes), idle, leader and followers. */
  agentMemory: { leader: number[]; follower: number[] };
  /** Pod-create latency (ms) by server-side dry run: opted in (the webhook called) and not. */
  podCreate: { optedIn: Summary; plain: Summary };
}

export interface KindContext {
  trials: number;
  /** A cluster to use as it is (with leader-election installed); else kind-up's le-bench, deleted after. */
  kubeconfig?: string;
  context?: string;
}

/** The holder at time t, from the observer's events ('' when released). */
function holderAt(events: Observer['events'], t: number): string | undefined {
  let h: string | undefined;
  for (const e of events) {
    if (e.t > t) break;
    if (e.kind === 'holder') h = e.holder;
  }
  return h;
}

/**
 * From `t0` (a SIGKILL just done) to the Lease renewed by a live process: its renewTime
 * changes (polled every 50 ms; the killed process can no longer write it) to a holder.
 */
async function leaseRenewed(client: KubeClient, ns: string, name: string, t0: number): Promise<number> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`;
  const before = (await client.get<Raw>(path)).spec?.renewTime;
  return waitFor(
    `Lease ${name} renewed after the kill`,
    120_000,
    async () => {
      const spec = (await client.get<Raw>(path)).spec;
      return spec?.renewTime !== before && spec?.holderIdentity ? Date.now() - t0 : undefined;
    },
    50,
  );
}

/** Measures one fault on a stable group. */
async function trial(group: ElectedGroup, scenario: Scenario): Promise<KindTrial> {
  const old = await group.stableLeader();
  const pod = nodePod(await group.client.get<Raw>(`${group.api}/pods/${old}`));
  const t0 = Date.now();
  if (scenario === 'delete-exits' || scenario === 'delete-ignores') {
    await group.client.request('DELETE', `${group.api}/pods/${old}`);
  } else {
    await killContainer(pod, scenario === 'agent-sigkill' ? AGENT : 'app');
  }
  const renewed =
    scenario === 'agent-sigkill' ? leaseRenewed(group.client, group.ns, group.name, t0) : undefined;
  const moves = scenario.startsWith('delete');
  // A delete: the first answer by another pod. A SIGKILL: the pod may lead again once the
  // kubelet restarted its container, so the first answer after an outage of ≥ 300 ms.
  const first = await waitFor(
    'an answer after the fault',
    120_000,
    async () => {
      const got = await group.answers(t0);
      return moves ? got.find((a) => a.pod && a.pod !== old) : answerAfterGap(got, t0, 300);
    },
    250,
  );
  await sleep(2_000);
  const got = await group.answers(t0 - 1_000);
  const ev = group.observer.events;
  const next = first.pod!;
  const after = (f: (e: (typeof ev)[number]) => boolean) => ev.find((e) => e.t >= t0 && f(e))?.t;
  const rel = (t: number | undefined) => (t === undefined ? undefined : t - t0);
  let nonLeaderAnswers = 0;
  let nonLeaderLateMs = 0;
  for (const a of got) {
    if (!a.pod || a.t < t0) continue;
    const h = holderAt(ev, a.t);
    if (h !== undefined && h !== a.pod) {
      nonLeaderAnswers++;
      const changed = [...ev].reverse().find((e) => e.kind === 'holder' && e.t <= a.t);
      if (changed) nonLeaderLateMs = Math.max(nonLeaderLateMs, a.t - changed.t);
    }
  }
  let interleavedAnswers = 0;
  const lastAt = new Map<string, number>();
  let prev: string | undefined;
  for (const a of got) {
    if (!a.pod) continue;
    if (a.pod !== prev && lastAt.has(a.pod)) interleavedAnswers++;
    lastAt.set(a.pod, a.t);
    prev = a.pod;
  }
  return {
    ...(renewed ? { leaseRenewedMs: await renewed } : {}),
    interleavedAnswers,
    answeredMs: first.t - t0,
    samePod: next === old,
    longestGapMs: longestGap(got),
    nonLeaderAnswers,
    nonLeaderLateMs,
    maxReadyEndpoints: group.observer.maxReadyEndpoints(t0),
    breakdown: {
      leaseMs: rel(after((e) => e.kind === 'holder' && e.holder === next)),
      gateMs: rel(after((e) => e.kind === 'pod' && e.pod === next && e.gate === 'True')),
      readyMs: rel(after((e) => e.kind === 'pod' && e.pod === next && e.ready === 'True')),
      endpointMs: rel(after((e) => e.kind === 'endpoints' && e.ready.includes(next))),
    },
  };
}

/** From t0 to the first holder event after it naming someone (other than `not`, when given). */
async function leaseMoved(observer: Observer, t0: number, not?: string): Promise<number> {
  const e = await waitFor(
    'the Lease taken',
    120_000,
    () =>
      observer.events.find((e) => e.t >= t0 && e.kind === 'holder' && e.holder !== '' && e.holder !== not),
    50,
  );
  return e.t - t0;
}

/** The agents' memory: the working set of each agent container, from crictl stats in the node. */
async function agentMemory(
  group: ElectedGroup,
  node: string,
): Promise<{ leader: number[]; follower: number[] }> {
  const holder = await group.holder();
  const out = { leader: [] as number[], follower: [] as number[] };
  for (const p of await group.pods()) {
    const json = await nodeExec(p.spec?.nodeName ?? node, [
      'sh',
      '-c',
      `id=$(crictl ps -q --state running --label io.kubernetes.pod.uid=${p.metadata.uid} --label io.kubernetes.container.name=${AGENT}); crictl stats -o json --id "$id"`,
    ]);
    const stats = JSON.parse(json) as Raw;
    const bytes = Number(stats.stats?.[0]?.memory?.workingSetBytes?.value);
    if (Number.isFinite(bytes)) (p.metadata.name === holder ? out.leader : out.follower).push(bytes);
  }
  return out;
}

export interface ClientGoOptions {
  /** The Deployment's name and its pods' label `app` (default cg). */
  name?: string;
  lease?: string;
  replicas?: number;
  timings?: { lease: string; renew: string; retry: string };
}

/**
 * The client-go elector as a Deployment (default: 3 pods on Lease `cg`, our timings), with
 * ReleaseOnCancel; its Role lets it use the namespace's Leases.
 */
export async function clientGoGroup(
  client: KubeClient,
  ns: string,
  opts: ClientGoOptions = {},
): Promise<void> {
  const name = opts.name ?? 'cg';
  const timings = opts.timings ?? TIMINGS;
  const rbac = 'rbac.authorization.k8s.io/v1';
  await client.request('POST', `/apis/${rbac}/namespaces/${ns}/roles`, {
    body: {
      apiVersion: rbac,
      kind: 'Role',
      metadata: { name: 'clientgo-elector' },
      rules: [
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          verbs: ['get', 'list', 'watch', 'create', 'update'],
        },
      ],
    },
  });
  await client.request('POST', `/apis/${rbac}/namespaces/${ns}/rolebindings`, {
    body: {
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: 'clientgo-elector' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'clientgo-elector' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
    },
  });
  await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: opts.replicas ?? 3,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: 'elector',
                image: CLIENTGO_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                args: [
                  `--namespace=${ns}`,
                  `--lease=${opts.lease ?? 'cg'}`,
                  '--identity=$(POD_NAME)',
                  `--lease-duration=${timings.lease}`,
                  `--renew-deadline=${timings.renew}`,
                  `--retry-period=${timings.retry}`,
                  '--release-on-cancel',
                ],
              },
            ],
          },
        },
      },
    },
  });
}

/** A clean client-go group: 3 pods running and ready, one holder among them; returns it. */
async function clientGoStable(client: KubeClient, ns: string): Promise<string> {
  return waitFor(
    'the client-go group stable',
    180_000,
    async () => {
      const pods = (
        await client.get<Raw>(`/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'app=cg' } })
      ).items as Raw[];
      const live = pods.filter((p) => !p.metadata.deletionTimestamp);
      if (live.length !== 3 || !live.every((p) => p.status?.containerStatuses?.[0]?.ready)) return undefined;
      const lease = await client
        .get<Raw>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/cg`)
        .catch(() => undefined);
      const h = lease?.spec?.holderIdentity;
      return h && live.some((p) => p.metadata.name === h) ? (h as string) : undefined;
    },
    250,
  );
}

/** Pod-create latency by server-side dry run, opted in (the webhook is called) or not, alternated. */
async function podCreates(client: KubeClient, ns: string, n: number): Promise<KindResult['podCreate']> {
  const pod = (optedIn: boolean) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'dry-',
      labels: { app: 'dry' },
      annotations: optedIn ? { 'leader-election/enabled': 'true', 'leader-election/lease-name': 'dry' } : {},
    },
    spec: { containers: [{ name: 'app', image: 'ghcr.io/leader-election/testapp:dev' }] },
  });
  const times = { optedIn: [] as number[], plain: [] as number[] };
  for (let i = 0; i < 2 * n + 20; i++) {
    const optedIn = i % 2 === 0;
    const t = performance.now();
    const made = await client.request<Raw>('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: pod(optedIn),
      query: { dryRun: 'All' },
    });
    const ms = performance.now() - t;
    if (optedIn && !made.spec.initContainers?.some((c: Raw) => c.name === AGENT))
      throw new Error('a dry-run create of an opted-in pod was not injected: is the webhook installed?');
    if (i >= 20) (optedIn ? times.optedIn : times.plain).push(ms); // the first 20 warm connections up
  }
  return { optedIn: summarize(times.optedIn), plain: summarize(times.plain) };
}

export async function runKind(ctx: KindContext): Promise<KindResult> {
  const own = !ctx.kubeconfig;
  if (own && otherKindClusters(KIND_CLUSTER).length > 0)
    progress('other kind clusters run on this host: their load shares the machine');
  const cluster = own ? kindUp(KIND_CLUSTER, progress) : new KindCluster(ctx.kubeconfig!, ctx.context ?? '');
  const client = cluster.client();
  const groups: ElectedGroup[] = [];
  try {
    const node = await theNode(client);
    const info = (await client.get<Raw>(`/api/v1/nodes/${node}`)).status?.nodeInfo ?? {};
    const result: KindResult = {
      cluster:
        `${own ? `kind cluster ${KIND_CLUSTER} (make kind-up)` : cluster.kubeconfig}, one node: ` +
        `kubelet ${info.kubeletVersion}, ${info.containerRuntimeVersion}, kube-proxy iptables mode`,
      trials: { 'readiness-gate': {}, label: {} },
      ours: { deleteLeaseMs: [], sigkillLeaseMs: [] },
      clientgo: { deleteLeaseMs: [], sigkillLeaseMs: [] },
      agentMemory: { leader: [], follower: [] },
      podCreate: { optedIn: summarize([]), plain: summarize([]) },
    };
    for (const routing of ['readiness-gate', 'label'] as const) {
      for (const [scenario, appEnv] of [
        ['delete-exits', {}],
        ['delete-ignores', { IGNORE_SIGTERM: 'true' }],
      ] as const) {
        const group = new ElectedGroup(
          cluster,
          `bench-${scenario}-${routing === 'label' ? 'label' : 'gate'}`,
          {
            routing,
            graceSeconds: GRACE_S,
            appEnv,
          },
        );
        groups.push(group);
        await group.create();
        const list: KindTrial[] = [];
        for (let i = 0; i < ctx.trials; i++) {
          const t = await trial(group, scenario);
          list.push(t);
          if (
            routing === 'readiness-gate' &&
            scenario === 'delete-exits' &&
            t.breakdown.leaseMs !== undefined
          )
            result.ours.deleteLeaseMs.push(t.breakdown.leaseMs);
          progress(`${routing} ${scenario} #${i + 1}: ${JSON.stringify(t)}`);
        }
        result.trials[routing][scenario] = list;
        if (scenario === 'delete-exits' && routing === 'readiness-gate') {
          await group.stableLeader();
          await sleep(5_000);
          result.agentMemory = await agentMemory(group, node);
          progress(`agent memory: ${JSON.stringify(result.agentMemory)}`);
        }
        // The SIGKILL scenarios on the group whose app exits at once.
        if (scenario === 'delete-exits') {
          for (const kill of ['agent-sigkill', 'app-sigkill'] as const) {
            const rounds = kill === 'agent-sigkill' ? Math.max(5, ctx.trials) : ctx.trials;
            const kills: KindTrial[] = [];
            for (let i = 0; i < rounds; i++) {
              const t = await trial(group, kill);
              kills.push(t);
              if (routing === 'readiness-gate' && t.leaseRenewedMs !== undefined)
                result.ours.sigkillLeaseMs.push(t.leaseRenewedMs);
              progress(`${routing} ${kill} #${i + 1}: ${JSON.stringify(t)}`);
            }
            result.trials[routing][kill] = kills;
          }
        }
        await group.remove();
      }
    }

    // client-go, side by side on the Lease.
    const cg = new ElectedGroup(cluster, 'bench-clientgo', { replicas: 1 });
    groups.push(cg);
    await cg.create(); // a namespace, a traffic pod; the client-go pods beside them
    await clientGoGroup(cg.client, cg.ns);
    const cgObserver = new Observer(cg.client, cg.ns, 'none', 'cg');
    await cgObserver.start();
    try {
      for (const fault of ['delete', 'sigkill'] as const) {
        for (let i = 0; i < ctx.trials; i++) {
          const old = await clientGoStable(cg.client, cg.ns);
          await sleep(1_000);
          const t0 = Date.now();
          if (fault === 'delete') {
            await cg.client.request('DELETE', `${cg.api}/pods/${old}`);
            result.clientgo.deleteLeaseMs.push(await leaseMoved(cgObserver, t0, old));
          } else {
            const p = nodePod(await cg.client.get<Raw>(`${cg.api}/pods/${old}`));
            await killContainer(p, 'elector');
            // client-go's restarted elector has the same identity and renews its own Lease
            // if nobody took it first.
            result.clientgo.sigkillLeaseMs.push(await leaseRenewed(cg.client, cg.ns, 'cg', t0));
          }
          progress(`client-go ${fault} #${i + 1}: ${JSON.stringify(result.clientgo)}`);
        }
      }
    } finally {
      cgObserver.stop();
    }
    result.podCreate = await podCreates(cg.client, cg.ns, ctx.trials >= 5 ? 200 : 50);
    progress(`pod creates: ${JSON.stringify(result.podCreate)}`);
    await cg.remove();
    return result;
  } finally {
    for (const g of groups) await g.remove().catch(() => {});
    client.close();
    if (own && process.env.BENCH_KEEP_CLUSTER !== '1') kindDown(KIND_CLUSTER, progress);
  }
}
