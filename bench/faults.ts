// The fault matrix: N faults in random order at random moments on one group of
// 3 replicas (our agents, a Deployment behind a Service) with an Observer on
// its ready endpoints, Lease holder and gates:
//   delete-pod     DELETE the leader pod (graceful: the agent releases)
//   kill-agent     SIGKILL the leader's agent (the pod runner restarts it after 10 s)
//   stop-pod       SIGSTOP every process of the leader pod for lease duration + 1–3 s, then SIGCONT
//   cut-relay      cut the leader pod's link to the API server for lease duration + 1–3 s, then heal
// Reported: faults injected, any moment with two ready endpoints (must be none),
// and the time with no ready endpoint after each fault.
//
// Timings 5s/2s/1s: the fencing margin (lease duration − renew deadline = 3 s)
// exceeds the agent's readiness probe period plus timeout (1 s + 1 s), so a leader
// that is paused or cut off is out of the endpoints before anyone can take over.
import type { KubeClient } from '../common/kube/kube-client.ts';
import type { PodRunner } from '../local-cluster/index.ts';
import { AGENT, OurGroup, leaseMs, timingsLabel, type Timings } from './lib/groups.ts';
import type { LeaseTap } from './lib/lease-tap.ts';
import { jitter, progress, shuffle, sleep, waitFor } from './lib/util.ts';

export const FAULT_TIMINGS: Timings = { lease: '5s', renew: '2s', retry: '1s' };
export const PROBE = { periodS: 1, timeoutS: 1 };
const KINDS = ['delete-pod', 'kill-agent', 'stop-pod', 'cut-relay'] as const;
type Kind = (typeof KINDS)[number];

export interface FaultRecord {
  kind: Kind;
  at: number;
  leader: string;
  /** How long the fault was held (stop-pod, cut-relay), ms. */
  heldMs: number;
  /** Time with no ready endpoint from the fault to recovery, ms. */
  leaderlessMs: number;
  /** Fault → a ready endpoint again (a new leader, or the same after a short fault), ms. */
  recoveredMs: number;
  newLeader: string;
  /** Most ready endpoints at once during this fault's window. */
  maxReady: number;
}

export interface FaultsResult {
  timings: string;
  fencingMarginMs: number;
  probe: typeof PROBE;
  faults: FaultRecord[];
  errors: string[];
  /** Endpoint states with two or more ready endpoints, over the whole run. */
  overlaps: { t: number; ready: string[]; ms: number }[];
  overlapMs: number;
  worstLeaderlessMs: number;
  observedMs: number;
}

export interface FaultsContext {
  client: KubeClient;
  runner: PodRunner;
  tap: LeaseTap;
  faults: number;
}

export async function runFaults(ctx: FaultsContext): Promise<FaultsResult> {
  const lease = leaseMs(FAULT_TIMINGS);
  const group = new OurGroup({
    client: ctx.client,
    runner: ctx.runner,
    tap: ctx.tap,
    ns: 'bench-faults',
    name: 'faults',
    replicas: 3,
    timings: FAULT_TIMINGS,
    observe: true,
  });
  // Every kind equally often, in random order.
  const kinds: Kind[] = shuffle(Array.from({ length: ctx.faults }, (_, i) => KINDS[i % KINDS.length]!));
  progress(
    `faults: ${kinds.length} faults on 3 replicas at ${timingsLabel(FAULT_TIMINGS)}: ${kinds.join(', ')}`,
  );
  await group.create();
  const observer = group.observer!;
  const started = Date.now();
  const records: FaultRecord[] = [];
  const errors: string[] = [];
  try {
    for (const [i, kind] of kinds.entries()) {
      try {
        const leader = await group.settled(120_000);
        await sleep(jitter(0, 3_000)); // random moment against the renew ticks
        const at = Date.now();
        let heldMs = 0;
        if (kind === 'delete-pod') {
          await group.deletePod(leader);
        } else if (kind === 'kill-agent') {
          ctx.runner.signalPod(group.ns, leader, 'SIGKILL', AGENT);
        } else if (kind === 'stop-pod') {
          heldMs = lease + jitter(1_000, 3_000);
          ctx.runner.signalPod(group.ns, leader, 'SIGSTOP');
          await sleep(heldMs);
          ctx.runner.signalPod(group.ns, leader, 'SIGCONT');
        } else {
          const relay = ctx.runner.pod(group.ns, leader)?.relay;
          if (!relay) throw new Error(`no relay for ${leader}`);
          heldMs = lease + jitter(1_000, 3_000);
          relay.cutOff();
          await sleep(heldMs);
          relay.heal();
        }
        // Every kind outlasts the lease, so leadership must move to another pod.
        const ep = await waitFor('another pod as the only ready endpoint', 60_000, () =>
          observer.readyEndpointAfter(at, leader),
        );
        // Recovery in full (replacement pod, restarted agent) before the next fault.
        await group.settled(120_000);
        const end = Date.now();
        const maxReady = observer.maxReadyEndpoints(at);
        const rec: FaultRecord = {
          kind,
          at,
          leader,
          heldMs: Math.round(heldMs),
          leaderlessMs: observer.leaderlessMs(at, end),
          recoveredMs: ep.t - at,
          newLeader: group.holder(),
          maxReady,
        };
        records.push(rec);
        progress(
          `  fault ${i + 1}/${kinds.length} ${kind} of ${leader}${heldMs ? ` held ${Math.round(heldMs)} ms` : ''}: ` +
            `no ready endpoint for ${rec.leaderlessMs} ms, leader now ${rec.newLeader}, max ready endpoints ${maxReady}`,
        );
      } catch (err) {
        errors.push(`fault ${i + 1} ${kind}: ${(err as Error).message}`);
        progress(`  fault ${i + 1} ${kind} FAILED: ${(err as Error).message}`);
      }
    }
  } finally {
    await group.destroy();
  }
  const end = Date.now();
  const evs = observer.endpointEvents(started);
  const overlaps: FaultsResult['overlaps'] = [];
  evs.forEach((e, i) => {
    if (e.ready.length >= 2) overlaps.push({ t: e.t, ready: e.ready, ms: (evs[i + 1]?.t ?? end) - e.t });
  });
  return {
    timings: timingsLabel(FAULT_TIMINGS),
    fencingMarginMs: lease - Number(FAULT_TIMINGS.renew.replace(/s$/, '')) * 1000,
    probe: PROBE,
    faults: records,
    errors,
    overlaps,
    overlapMs: overlaps.reduce((a, o) => a + o.ms, 0),
    worstLeaderlessMs: Math.max(0, ...records.map((r) => r.leaderlessMs)),
    observedMs: end - started,
  };
}
