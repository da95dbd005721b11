// Failover, ours against client-go, on the same plane in the same run.
//
// Common clock for both sides: the instant the leader was stopped (signal sent,
// or DELETE sent for our pod) → the first Lease version naming another holder,
// as the bench's own Lease watch received it (LeaseTap). For ours also: the new
// leader's gate True and its ready endpoint (Observer); for client-go also its
// "started leading" log line.
//
// graceful (client-go defaults 15s/10s/2s): ours = the leader pod is deleted
//   (the pod runner SIGTERMs the agent, which writes gate False and releases);
//   client-go = SIGTERM with ReleaseOnCancel. Trials alternate ours, client-go,
//   ours, … (each side's replacement starts while the other side's trial runs).
//   client-go without ReleaseOnCancel takes ~a lease duration per trial, so it
//   gets fewer trials, run beside the crash loops below.
// crash (shorter timings, same both sides): SIGKILL of the leader's agent /
//   the client-go process. The ours and client-go loops run side by side on
//   their own Leases (each trial is seconds of waiting on timers), so both
//   sample the same period of machine load.
import type { KubeClient } from '../common/kube/kube-client.ts';
import type { PodRunner } from '../local-cluster/index.ts';
import { AGENT, DEFAULTS, GoGroup, OurGroup, leaseMs, timingsLabel, type Timings } from './lib/groups.ts';
import type { LeaseTap } from './lib/lease-tap.ts';
import { cpuMs, jitter, progress, sleep, summarize, waitFor, type Summary } from './lib/util.ts';

export const CRASH_TIMINGS: Timings = { lease: '4s', renew: '3s', retry: '1s' };

export interface FailoverSample {
  side: 'ours' | 'client-go';
  scenario: 'graceful' | 'graceful-no-release' | 'crash';
  trial: number;
  /** Wall-clock ms of the stop (signal or DELETE sent). */
  at: number;
  from: string;
  to: string;
  /** stop → Lease names the new holder (the common clock). */
  holderMs: number;
  /** ours: SIGTERM to the agent → new holder (graceful, pod deletion: the runner's SIGTERM). */
  sigtermToHolderMs?: number;
  /** ours: stop → new leader's gate True (design figure). */
  gateMs?: number;
  /** ours: stop → new leader is the only ready endpoint. */
  endpointMs?: number;
  /** client-go: stop → "started leading" in the new leader's log. */
  startedLeadingMs?: number;
  /** crash: the old leader's last renew as seen by the watch → new holder, minus the lease duration. */
  afterExpiryMs?: number;
  /** ours: CPU ms the winning agent used from stop to gate True. */
  winnerCpuMs?: number;
}

export interface FailoverResult {
  gracefulTimings: string;
  crashTimings: string;
  samples: FailoverSample[];
  errors: string[];
  summaries: Record<string, Summary>;
}

export interface FailoverContext {
  client: KubeClient;
  runner: PodRunner;
  tap: LeaseTap;
  goBinary: string;
  kubeconfig: string;
  logDir: string;
  trials: number;
  /** Trials of client-go graceful without ReleaseOnCancel (each ~a lease duration). */
  noReleaseTrials: number;
}

/** Captures when the pod runner sends SIGTERM to a pod's agent (a probe on the harness's process handle). */
function watchSigterm(runner: PodRunner, ns: string, pod: string): () => number | undefined {
  let at: number | undefined;
  const proc = runner.pod(ns, pod)?.containers.get(AGENT)?.proc;
  if (proc) {
    const kill = proc.kill.bind(proc);
    proc.kill = (signal?: NodeJS.Signals | number) => {
      if (signal === 'SIGTERM' && at === undefined) at = Date.now();
      return kill(signal);
    };
  }
  return () => at;
}

function followerCpu(group: OurGroup, leader: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of group.pods()) {
    if (p.name === leader) continue;
    const pid = group.agentPid(p.name);
    const c = pid === undefined ? undefined : cpuMs(pid);
    if (c !== undefined) out.set(p.name, c);
  }
  return out;
}

async function ourTrial(
  group: OurGroup,
  ctx: FailoverContext,
  scenario: 'graceful' | 'crash',
  trial: number,
  leaseDurationMs: number,
): Promise<FailoverSample> {
  const { tap, runner } = ctx;
  const from = group.holder();
  const before = followerCpu(group, from);
  const sigterm = scenario === 'graceful' ? watchSigterm(runner, group.ns, from) : () => undefined;
  const at = Date.now();
  if (scenario === 'graceful') await group.deletePod(from);
  else runner.signalPod(group.ns, from, 'SIGKILL', AGENT);
  const limit = leaseDurationMs * 3 + 10_000;
  const holder = await waitFor(`new holder of ${group.ns}/${group.lease}`, limit, () =>
    tap.newHolderAfter(group.ns, group.lease, at, [from]),
  );
  const obs = group.observer!;
  const gate = await waitFor('new leader gate True', limit, () => obs.gateTrueAfter(at, from));
  const endpoint = await waitFor('new ready endpoint', limit, () => obs.readyEndpointAfter(at, from));
  const winnerPid = group.agentPid(gate.pod);
  const cpuAfter = winnerPid === undefined ? undefined : cpuMs(winnerPid);
  const cpuBefore = before.get(gate.pod);
  const sample: FailoverSample = {
    side: 'ours',
    scenario,
    trial,
    at,
    from,
    to: holder.holder,
    holderMs: holder.t - at,
    gateMs: gate.t - at,
    endpointMs: endpoint.t - at,
    ...(cpuAfter !== undefined && cpuBefore !== undefined ? { winnerCpuMs: cpuAfter - cpuBefore } : {}),
  };
  const sig = sigterm();
  if (sig !== undefined) sample.sigtermToHolderMs = holder.t - sig;
  if (scenario === 'crash') {
    const last = tap.lastRenewBefore(group.ns, group.lease, from, at);
    if (last) sample.afterExpiryMs = holder.t - last.t - leaseDurationMs;
    // The killed agent would come back with the same identity; replace the pod instead.
    await group.deletePod(from, 0);
  }
  return sample;
}

async function goTrial(
  group: GoGroup,
  ctx: FailoverContext,
  scenario: FailoverSample['scenario'],
  trial: number,
  leaseDurationMs: number,
): Promise<FailoverSample> {
  const { tap } = ctx;
  const from = group.holder();
  const e = group.electors.get(from);
  if (!e) throw new Error(`no client-go elector named ${from}`);
  const at = Date.now();
  e.signal(scenario === 'crash' ? 'SIGKILL' : 'SIGTERM');
  const holder = await waitFor(`new holder of ${group.ns}/${group.lease}`, leaseDurationMs * 3 + 10_000, () =>
    tap.newHolderAfter(group.ns, group.lease, at, [from]),
  );
  const started = await waitFor('started leading in the log', 5_000, () =>
    group.startedLeadingAfter(holder.holder, at),
  ).catch(() => undefined);
  const sample: FailoverSample = {
    side: 'client-go',
    scenario,
    trial,
    at,
    from,
    to: holder.holder,
    holderMs: holder.t - at,
    ...(started !== undefined ? { startedLeadingMs: started - at } : {}),
  };
  if (scenario === 'crash') {
    const last = tap.lastRenewBefore(group.ns, group.lease, from, at);
    if (last) sample.afterExpiryMs = holder.t - last.t - leaseDurationMs;
  }
  await group.replace(from);
  return sample;
}

function describe(s: FailoverSample): string {
  const extra = [
    s.gateMs !== undefined ? `gate ${s.gateMs} ms` : '',
    s.startedLeadingMs !== undefined ? `started-leading ${Math.round(s.startedLeadingMs)} ms` : '',
    s.afterExpiryMs !== undefined ? `expiry+${s.afterExpiryMs} ms` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${s.scenario} ${s.side} #${s.trial + 1}: holder ${s.holderMs} ms${extra ? ` (${extra})` : ''}`;
}

/** Runs `n` trials in a loop, never letting one failed trial stop the benchmark. */
async function loop(
  n: number,
  name: string,
  errors: string[],
  trial: (i: number) => Promise<FailoverSample>,
  samples: FailoverSample[],
): Promise<void> {
  for (let i = 0; i < n; i++) {
    try {
      const s = await trial(i);
      samples.push(s);
      progress(`  ${describe(s)}`);
    } catch (err) {
      errors.push(`${name} #${i + 1}: ${(err as Error).message}`);
      progress(`  ${name} #${i + 1} FAILED: ${(err as Error).message}`);
    }
  }
}

export async function runFailover(ctx: FailoverContext): Promise<FailoverResult> {
  const { client, runner, tap } = ctx;
  const samples: FailoverSample[] = [];
  const errors: string[] = [];
  const common = { client, runner, tap, replicas: 3, observe: true };
  const goCommon = { binary: ctx.goBinary, kubeconfig: ctx.kubeconfig, tap, size: 3, logDir: ctx.logDir };

  // --- graceful, client-go defaults, strictly alternating ------------------------------------
  progress(`failover/graceful: ${ctx.trials} trials per side, ${timingsLabel(DEFAULTS)}, alternating`);
  const oursG = new OurGroup({ ...common, ns: 'bench-failover', name: 'graceful', timings: DEFAULTS });
  const goG = new GoGroup({
    ...goCommon,
    ns: 'bench-failover',
    lease: 'go-graceful',
    timings: DEFAULTS,
    releaseOnCancel: true,
  });
  await Promise.all([oursG.create(), goG.fill()]);
  const defMs = leaseMs(DEFAULTS);
  for (let i = 0; i < ctx.trials; i++) {
    for (const side of ['ours', 'client-go'] as const) {
      try {
        if (side === 'ours') await oursG.settled();
        else await goG.settled();
        await sleep(jitter(200, 1200)); // a random phase against the renew ticks
        const s =
          side === 'ours'
            ? await ourTrial(oursG, ctx, 'graceful', i, defMs)
            : await goTrial(goG, ctx, 'graceful', i, defMs);
        samples.push(s);
        progress(`  ${describe(s)}`);
      } catch (err) {
        errors.push(`graceful ${side} #${i + 1}: ${(err as Error).message}`);
        progress(`  graceful ${side} #${i + 1} FAILED: ${(err as Error).message}`);
      }
    }
  }
  await Promise.all([oursG.destroy(), goG.destroy()]);

  // --- crash (shorter timings) side by side, and client-go graceful without release -----------
  const crashMs = leaseMs(CRASH_TIMINGS);
  progress(
    `failover/crash: ${ctx.trials} trials per side at ${timingsLabel(CRASH_TIMINGS)} (ours and client-go loops side by side); ` +
      `client-go graceful without ReleaseOnCancel: ${ctx.noReleaseTrials} trials at ${timingsLabel(DEFAULTS)} alongside`,
  );
  const oursC = new OurGroup({ ...common, ns: 'bench-failover', name: 'crash', timings: CRASH_TIMINGS });
  const goC = new GoGroup({
    ...goCommon,
    ns: 'bench-failover',
    lease: 'go-crash',
    timings: CRASH_TIMINGS,
    releaseOnCancel: true,
  });
  const goN = new GoGroup({
    ...goCommon,
    ns: 'bench-failover',
    lease: 'go-norelease',
    timings: DEFAULTS,
    releaseOnCancel: false,
  });
  await Promise.all([oursC.create(), goC.fill(), ctx.noReleaseTrials > 0 ? goN.fill() : undefined]);
  const phase = (min: number, max: number) => sleep(jitter(min, max));
  await Promise.all([
    loop(
      ctx.trials,
      'crash ours',
      errors,
      async (i) => {
        await oursC.settled();
        await phase(200, 1200);
        return ourTrial(oursC, ctx, 'crash', i, crashMs);
      },
      samples,
    ),
    loop(
      ctx.trials,
      'crash client-go',
      errors,
      async (i) => {
        await goC.settled();
        await phase(200, 1200);
        return goTrial(goC, ctx, 'crash', i, crashMs);
      },
      samples,
    ),
    loop(
      ctx.noReleaseTrials,
      'graceful-no-release client-go',
      errors,
      async (i) => {
        await goN.settled();
        await phase(200, 2200);
        return goTrial(goN, ctx, 'graceful-no-release', i, defMs);
      },
      samples,
    ),
  ]);
  await Promise.all([oursC.destroy(), goC.destroy(), goN.destroy()]);

  const summaries: Record<string, Summary> = {};
  const put = (key: string, values: (number | undefined)[]) => {
    const v = values.filter((x): x is number => x !== undefined);
    if (v.length) summaries[key] = summarize(v);
  };
  for (const scenario of ['graceful', 'graceful-no-release', 'crash'] as const) {
    for (const side of ['ours', 'client-go'] as const) {
      const ss = samples.filter((s) => s.scenario === scenario && s.side === side);
      if (!ss.length) continue;
      const k = `${scenario}/${side}`;
      put(
        `${k}/holder`,
        ss.map((s) => s.holderMs),
      );
      put(
        `${k}/gate`,
        ss.map((s) => s.gateMs),
      );
      put(
        `${k}/endpoint`,
        ss.map((s) => s.endpointMs),
      );
      put(
        `${k}/sigterm-holder`,
        ss.map((s) => s.sigtermToHolderMs),
      );
      put(
        `${k}/started-leading`,
        ss.map((s) => s.startedLeadingMs),
      );
      put(
        `${k}/after-expiry`,
        ss.map((s) => s.afterExpiryMs),
      );
      put(
        `${k}/winner-cpu`,
        ss.map((s) => s.winnerCpuMs),
      );
    }
  }
  return {
    gracefulTimings: timingsLabel(DEFAULTS),
    crashTimings: timingsLabel(CRASH_TIMINGS),
    samples,
    errors,
    summaries,
  };
}
