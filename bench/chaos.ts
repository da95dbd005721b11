// The `chaos` phase of make bench (issue 12): at least 100 faults, one after another, at random
// phases of the renew cycle, on one elected group on kind (3 replicas, readiness-gate routing,
// lease 6s / renew deadline 3s / retry 1s), with traffic to its ClusterIP, and for the middle
// third of the run a client-go elector contending on the same Lease with other timings
// (8s / 5s / 1.5s, ReleaseOnCancel).
//
// Faults, each on the current holder's pod (client-go's when it holds the Lease) unless it is
// a group fault: the agent paused (SIGSTOP) or the whole pod frozen (cgroup freezer) for
// 0.5 × renew deadline to 2 × lease duration; every agent pod of the group frozen as long (the
// way client-go gets the Lease: agents watch it and take a free one in milliseconds, client-go
// polls; the first fault of its part is this one, 10 s long); the agent or the app SIGKILLed; graceful and
// forced delete; the pod cut off from the API server for the same durations, or only the API
// server's answers to it dropped (a write lands, its answer is lost); a rollout; a
// scale to 2 and back; the webhook pod deleted.
//
// What it counts (bench/lib/chaos-analysis.ts): time with two ready endpoints; holder changes
// where the old holder may still have believed it led when the new one acquired (its last
// applied renew + its renew deadline, or its death, later than the new acquire), for agents and
// client-go alike; two pods serving in turns as the traffic client saw it; the longest time
// with no ready endpoint while the Lease was not held by client-go.
import {
  cutOffApiServer,
  apiServerAddresses,
  ElectedGroup,
  freezePod,
  healApiServer,
  KindCluster,
  kindDown,
  kindUp,
  killContainer,
  nodePod,
  otherKindClusters,
  signalContainer,
  thawPod,
  theNode,
  TIMINGS,
  type Raw,
} from '../local-cluster/index.ts';
import {
  episodes,
  handovers,
  heldByOthersMs,
  interleavedAnswers,
  type Death,
  type Episodes,
  type Handover,
  type LeaseVersion,
} from './lib/chaos-analysis.ts';
import { clientGoGroup, KIND_CLUSTER } from './kind.ts';
import { LeaseTap } from './lib/lease-tap.ts';
import { jitter, progress, sleep } from './lib/util.ts';

export const CHAOS_FAULTS = [
  'pause-agent',
  'freeze-pod',
  'freeze-group',
  'sigkill-agent',
  'sigkill-app',
  'delete',
  'force-delete',
  'cut-off',
  'lose-answers',
  'rollout',
  'scale',
  'webhook-restart',
] as const;
export type ChaosFault = (typeof CHAOS_FAULTS)[number];

/** How often each fault is drawn (the leader's own faults most). */
const WEIGHTS: Record<ChaosFault, number> = {
  'pause-agent': 3,
  'freeze-pod': 2,
  'freeze-group': 1,
  'sigkill-agent': 3,
  'sigkill-app': 2,
  delete: 2,
  'force-delete': 1,
  'cut-off': 2,
  'lose-answers': 1,
  rollout: 1,
  scale: 1,
  'webhook-restart': 1,
};

const AGENT = 'leader-election-agent';
const CG = 'cg';
const CG_TIMINGS = { lease: '8s', renew: '5s', retry: '1.5s' };
const RENEW_DEADLINE_MS = 3_000;
const CG_RENEW_DEADLINE_MS = 5_000;
/** Paused, frozen or cut off for 0.5 × renew deadline to 2 × lease duration. */
const HOLD_MS: [number, number] = [RENEW_DEADLINE_MS / 2, 2 * TIMINGS.leaseMs];

export interface ChaosFaultRecord {
  n: number;
  fault: ChaosFault;
  target: string;
  /** When it was injected (ms, host clock), after `phaseMs` past a renew of the Lease. */
  at: number;
  phaseMs: number;
  holdMs?: number;
  /** From the fault to one serving holder again (an agent's ready endpoint, or client-go holding). */
  recoveredMs?: number;
  error?: string;
}

export interface ChaosResult {
  cluster: string;
  timings: string;
  clientGoTimings: string;
  durationMs: number;
  faults: ChaosFaultRecord[];
  /** The stretch (ms since the start) during which the client-go elector ran. */
  clientGoPart: { from: number; to: number };
  twoReady: Episodes;
  /** Without a ready endpoint, leaving out the time client-go held the Lease. */
  noReady: Episodes;
  handovers: Handover[];
  overlaps: Handover[];
  interleavedAnswers: number;
  answers: number;
}

export interface ChaosContext {
  faults: number;
  kubeconfig?: string;
  context?: string;
}

function draw(): ChaosFault {
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  let r = Math.random() * total;
  for (const f of CHAOS_FAULTS) {
    r -= WEIGHTS[f];
    if (r < 0) return f;
  }
  return 'sigkill-agent';
}

export async function runChaos(ctx: ChaosContext): Promise<ChaosResult> {
  const own = !ctx.kubeconfig;
  if (own && otherKindClusters(KIND_CLUSTER).length > 0)
    progress('other kind clusters run on this host: their load shares the machine');
  const cluster = own ? kindUp(KIND_CLUSTER, progress) : new KindCluster(ctx.kubeconfig!, ctx.context ?? '');
  const client = cluster.client();
  const group = new ElectedGroup(cluster, 'bench-chaos', { routing: 'readiness-gate', graceSeconds: 10 });
  const deaths: Death[] = [];
  const records: ChaosFaultRecord[] = [];
  let stopTap: () => Promise<void> = async () => {};
  try {
    const node = await theNode(client);
    const info = (await client.get<Raw>(`/api/v1/nodes/${node}`)).status?.nodeInfo ?? {};
    await group.create();
    // Every version of the group's Lease, stamped on arrival (bench/lib/lease-tap.ts).
    const tap = new LeaseTap(client, { namespace: group.ns, own: () => true, history: true });
    await tap.start();
    stopTap = () => tap.stop();
    const versions = (): LeaseVersion[] => tap.versions.filter((v) => v.name === group.name);
    await group.stableLeader();
    const addrs = await apiServerAddresses(client);
    const start = Date.now();
    const cgFrom = Math.floor(ctx.faults / 3);
    const cgTo = Math.floor((2 * ctx.faults) / 3);
    const clientGoPart = { from: 0, to: 0 };
    const holder = () => tap.holder(group.ns, group.name);
    const isClientGo = (h: string) => h.startsWith(`${CG}-`);

    for (let n = 0; n < ctx.faults; n++) {
      if (n === cgFrom) {
        progress(`chaos: client-go elector joins Lease ${group.name} (${JSON.stringify(CG_TIMINGS)})`);
        await clientGoGroup(client, group.ns, {
          name: CG,
          lease: group.name,
          replicas: 1,
          timings: CG_TIMINGS,
        });
        clientGoPart.from = Date.now() - start;
      }
      if (n === cgTo) {
        progress('chaos: client-go elector leaves (scaled to 0, ReleaseOnCancel)');
        await client.request('PATCH', `/apis/apps/v1/namespaces/${group.ns}/deployments/${CG}`, {
          body: { spec: { replicas: 0 } },
          contentType: 'application/merge-patch+json',
        });
        clientGoPart.to = Date.now() - start;
      }
      // Client-go's first term: every agent frozen for longer than a lease (10 s).
      const record = n === cgFrom ? await oneFault(n, 'freeze-group', 10_000) : await oneFault(n);
      records.push(record);
      progress(`chaos #${n + 1}/${ctx.faults}: ${JSON.stringify(record)}`);
      await sleep(jitter(500, 2_000));
    }
    if (clientGoPart.to === 0) clientGoPart.to = Date.now() - start;
    await sleep(5_000);
    const end = Date.now();
    const answers = await group.answers(start);
    const changes = group.observer.endpointEvents(0);
    const ho = handovers(
      versions(),
      (h) => (isClientGo(h) ? CG_RENEW_DEADLINE_MS : RENEW_DEADLINE_MS),
      deaths,
    );
    return {
      cluster: `${own ? `kind cluster ${KIND_CLUSTER} (make kind-up)` : cluster.kubeconfig}, one node: kubelet ${info.kubeletVersion}, ${info.containerRuntimeVersion}`,
      timings: `${TIMINGS.lease}/${TIMINGS.renew}/${TIMINGS.retry}`,
      clientGoTimings: `${CG_TIMINGS.lease}/${CG_TIMINGS.renew}/${CG_TIMINGS.retry}`,
      durationMs: end - start,
      faults: records,
      clientGoPart,
      twoReady: episodes(
        changes.filter((c) => c.t >= start),
        end,
        (c) => c.ready.length > 1,
      ),
      noReady: episodes(
        changes.filter((c) => c.t >= start),
        end,
        (c) => c.ready.length === 0,
        (from, to) => heldByOthersMs(versions(), isClientGo, from, to),
      ),
      handovers: ho,
      overlaps: ho.filter((h) => h.how === 'takeover' && (h.marginMs ?? 0) < 0),
      interleavedAnswers: interleavedAnswers(
        answers,
        records.map((r) => r.at - 1_000),
      ),
      answers: answers.filter((a) => a.pod).length,
    };

    /** Waits for a renew, then a random phase of the renew cycle, then injects one fault. */
    async function oneFault(
      n: number,
      forced?: ChaosFault,
      forcedHoldMs?: number,
    ): Promise<ChaosFaultRecord> {
      const fault = forced ?? draw();
      const seen = versions().length;
      const renewWait = Date.now();
      while (versions().length === seen && Date.now() - renewWait < 2_000) await sleep(10);
      const h = holder();
      const retryMs = isClientGo(h) ? 1_500 : 1_000;
      const phaseMs = Math.round(jitter(0, retryMs));
      await sleep(phaseMs);
      const pods = (await group.pods()).filter((p) => !p.metadata.deletionTimestamp);
      const cgPods = isClientGo(h)
        ? ((await client.get<Raw>(`${group.api}/pods`, { query: { labelSelector: `app=${CG}` } }))
            .items as Raw[])
        : [];
      const targetPod =
        [...pods, ...cgPods].find((p) => p.metadata.name === h) ??
        pods[Math.floor(Math.random() * pods.length)];
      const target = targetPod?.metadata.name ?? '';
      const container = isClientGo(target) ? 'elector' : AGENT;
      const record: ChaosFaultRecord = { n, fault, target, at: Date.now(), phaseMs };
      const holdMs = forcedHoldMs ?? Math.round(jitter(...HOLD_MS));
      try {
        if (!targetPod) throw new Error('no pod to fault');
        const np = nodePod(targetPod);
        switch (fault) {
          case 'pause-agent':
            record.holdMs = holdMs;
            await signalContainer(np, container, 'STOP');
            await sleep(holdMs).finally(() => signalContainer(np, container, 'CONT'));
            break;
          case 'freeze-pod':
            record.holdMs = holdMs;
            await freezePod(np);
            await sleep(holdMs).finally(() => thawPod(np));
            break;
          case 'freeze-group': {
            record.holdMs = holdMs;
            record.target = group.name;
            const all = pods.map((p) => nodePod(p));
            await Promise.all(all.map((p) => freezePod(p)));
            await sleep(holdMs).finally(() => Promise.all(all.map((p) => thawPod(p))));
            break;
          }
          case 'cut-off':
          case 'lose-answers':
            record.holdMs = holdMs;
            await cutOffApiServer(np, addrs, { answersOnly: fault === 'lose-answers' });
            await sleep(holdMs).finally(() => healApiServer(np).catch(() => undefined));
            break;
          case 'sigkill-agent':
            deaths.push({ pod: target, at: await killContainer(np, container) });
            break;
          case 'sigkill-app':
            if (isClientGo(target)) deaths.push({ pod: target, at: await killContainer(np, container) });
            else await killContainer(np, 'app');
            break;
          case 'delete':
          case 'force-delete':
            await client.request('DELETE', `${group.api}/pods/${target}`, {
              ...(fault === 'force-delete' ? { query: { gracePeriodSeconds: '0' } } : {}),
            });
            break;
          case 'rollout':
            record.target = group.name;
            await client.request('PATCH', `/apis/apps/v1/namespaces/${group.ns}/deployments/${group.name}`, {
              body: {
                spec: { template: { metadata: { annotations: { 'bench/chaos-rollout': String(n) } } } },
              },
              contentType: 'application/merge-patch+json',
            });
            break;
          case 'scale': {
            record.target = group.name;
            const path = `/apis/apps/v1/namespaces/${group.ns}/deployments/${group.name}/scale`;
            const replicas = (await client.get<Raw>(path)).spec.replicas === 3 ? 2 : 3;
            await client.request('PATCH', path, {
              body: { spec: { replicas } },
              contentType: 'application/merge-patch+json',
            });
            if (replicas === 2) {
              await sleep(3_000);
              await client.request('PATCH', path, {
                body: { spec: { replicas: 3 } },
                contentType: 'application/merge-patch+json',
              });
            }
            break;
          }
          case 'webhook-restart': {
            const wh = await client.get<Raw>('/api/v1/namespaces/leader-election-system/pods', {
              query: { labelSelector: 'app.kubernetes.io/component=webhook' },
            });
            const victim = wh.items[Math.floor(Math.random() * wh.items.length)];
            record.target = victim?.metadata.name ?? '';
            if (victim)
              await client.request(
                'DELETE',
                `/api/v1/namespaces/leader-election-system/pods/${record.target}`,
              );
            break;
          }
        }
      } catch (err) {
        record.error = (err as Error).message.slice(0, 300);
      }
      record.recoveredMs = await recovered(
        record.at,
        fault === 'delete' || fault === 'force-delete' ? target : undefined,
      );
      if (fault === 'rollout') await rolledOut();
      return record;
    }

    /**
     * From `t0`: one serving holder again, other than `gone` (a deleted pod), and not before the
     * kubelet could have noticed the fault (1.5 s); bounded at 60 s (undefined when not).
     */
    async function recovered(t0: number, gone?: string): Promise<number | undefined> {
      await sleep(t0 + 1_500 - Date.now());
      for (;;) {
        const h = holder();
        const ready = group.observer.currentReady();
        if (h && h !== gone && (isClientGo(h) || (ready.length === 1 && ready[0] === h)))
          return Date.now() - t0;
        if (Date.now() - t0 > 60_000) return undefined;
        await sleep(50);
      }
    }

    /** Until the rollout has replaced every pod (hand-offs included), at most 90 s. */
    async function rolledOut(): Promise<void> {
      const path = `/apis/apps/v1/namespaces/${group.ns}/deployments/${group.name}`;
      const until = Date.now() + 90_000;
      while (Date.now() < until) {
        const d = await client.get<Raw>(path).catch(() => undefined);
        const st = d?.status ?? {};
        if (
          st.observedGeneration >= d?.metadata.generation &&
          st.updatedReplicas === d?.spec.replicas &&
          st.replicas === d?.spec.replicas
        )
          return;
        await sleep(250);
      }
    }
  } finally {
    await stopTap();
    await group.remove().catch(() => {});
    client.close();
    if (own && process.env.BENCH_KEEP_CLUSTER !== '1') kindDown(KIND_CLUSTER, progress);
  }
}
