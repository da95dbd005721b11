// API load of one election group at steady state, from kube-apiserver's own
// apiserver_request_total (by resource and verb), for 3 and 10 replicas, ours
// and client-go with client-go's defaults (15s/10s/2s). Windows run one after
// the other (the counters carry no client label), alternating sides.
//
// Background: kube-apiserver renews its own identity Lease (kube-system) every
// 10 s; those writes are counted by a cluster-wide Lease watch during the window
// and subtracted. A WATCH is counted by apiserver_request_total when it ENDS, so
// long-running watches are reported as open watches (apiserver_longrunning_requests)
// and amortized over their server-side timeout (our agents ask for 300 s).
//
// The same windows give the agents' idle footprint (CPU over the window,
// anonymous memory and RSS at its end), and the client-go processes' for comparison.
import type { KubeClient } from '../common/kube/kube-client.ts';
import type { KubeConnection } from '../common/kube/kubeconfig.ts';
import type { PodRunner } from '../local-cluster/index.ts';
import { diff, openWatches, requestsByVerb, scrape, type Sample } from './lib/apiserver-metrics.ts';
import { DEFAULTS, GoGroup, OurGroup, timingsLabel } from './lib/groups.ts';
import { LeaseTap } from './lib/lease-tap.ts';
import { cpuMs, memory, progress, sleep, type MemSample } from './lib/util.ts';

/** Our agents' watch timeout (common/election/lease-client.ts, agent/handoff.ts use listWatch's 300 s). */
export const WATCH_TIMEOUT_S = 300;

export interface ProcessFootprint {
  role: 'leader' | 'follower';
  cpuMs: number;
  windowS: number;
  mem: MemSample;
}

export interface LoadWindow {
  side: 'ours' | 'client-go';
  replicas: number;
  windowS: number;
  timings: string;
  /** Request counts over the window (not per minute), background lease writes already subtracted. */
  leases: Record<string, number>;
  pods: Record<string, number>;
  podStatus: Record<string, number>;
  events: Record<string, number>;
  backgroundLeaseWrites: number;
  /** Watches held open by the group at the end of the window. */
  openLeaseWatches: number;
  openPodWatches: number;
  /**
   * Measured requests per minute, every verb but WATCH. WATCH is counted by
   * apiserver_request_total when a watch ENDS, and other clients' watches (the
   * controller manager's informers, the pod runner, the bench's own Lease watch)
   * end in any window; the group's own watches are the open-watch gauge's delta.
   */
  perMinute: number;
  /** perMinute plus the group's open watches amortized over their timeout (ours: 300 s; client-go opens none). */
  perMinuteWithWatches: number;
  processes: ProcessFootprint[];
}

export interface ApiLoadResult {
  windows: LoadWindow[];
}

export interface ApiLoadContext {
  client: KubeClient;
  runner: PodRunner;
  connection: KubeConnection;
  goBinary: string;
  kubeconfig: string;
  logDir: string;
  windowS: number;
  /** Wait after the group settled, before the window (start-up traffic). */
  settleS: number;
}

/** Requests of every verb but WATCH (see LoadWindow.perMinute). */
export const nonWatch = (r: Record<string, number>) =>
  Object.entries(r).reduce((a, [verb, n]) => (verb === 'WATCH' ? a : a + n), 0);

function counts(s: Sample[]) {
  return {
    leases: requestsByVerb(s, 'leases'),
    pods: requestsByVerb(s, 'pods'),
    podStatus: requestsByVerb(s, 'pods', 'status'),
    events: requestsByVerb(s, 'events'),
    leaseWatches: openWatches(s, 'leases'),
    podWatches: openWatches(s, 'pods'),
  };
}

export async function runApiLoad(ctx: ApiLoadContext): Promise<ApiLoadResult> {
  const { client, runner } = ctx;
  const tap = new LeaseTap(client, { own: (ns) => ns === 'bench-api', history: false });
  await tap.start();
  const windows: LoadWindow[] = [];
  try {
    const configs = [
      { side: 'ours', replicas: 3 },
      { side: 'client-go', replicas: 3 },
      { side: 'ours', replicas: 10 },
      { side: 'client-go', replicas: 10 },
    ] as const;
    for (const cfg of configs) {
      const name = `load-${cfg.side === 'ours' ? 'ours' : 'go'}-${cfg.replicas}`;
      progress(`api-load: ${cfg.side}, ${cfg.replicas} replicas, ${timingsLabel(DEFAULTS)}: starting`);
      const baseline = counts(await scrape(ctx.connection));
      let pids: () => { pid: number; role: 'leader' | 'follower' }[];
      let destroy: () => Promise<void>;
      if (cfg.side === 'ours') {
        const g = new OurGroup({
          client,
          runner,
          tap,
          ns: 'bench-api',
          name,
          replicas: cfg.replicas,
          timings: DEFAULTS,
          observe: false,
        });
        await g.create();
        await g.settled(120_000);
        pids = () =>
          g.pods().flatMap((p) => {
            const pid = g.agentPid(p.name);
            return pid === undefined ? [] : [{ pid, role: p.name === g.holder() ? 'leader' : 'follower' }];
          });
        destroy = () => g.destroy();
      } else {
        const g = new GoGroup({
          binary: ctx.goBinary,
          kubeconfig: ctx.kubeconfig,
          tap,
          ns: 'bench-api',
          lease: name,
          size: cfg.replicas,
          timings: DEFAULTS,
          releaseOnCancel: true,
          logDir: ctx.logDir,
        });
        await g.fill();
        await g.settled(120_000);
        pids = () =>
          g
            .alive()
            .flatMap((e) =>
              e.pid === undefined
                ? []
                : [{ pid: e.pid, role: e.identity === g.holder() ? 'leader' : 'follower' }],
            );
        destroy = () => g.destroy();
      }
      // Start-up traffic (first reads, list+watch, the gate write, the leader's pod watch) is over.
      await sleep(ctx.settleS * 1000);
      const procs = pids();
      const cpu0 = procs.map((p) => cpuMs(p.pid));
      const foreign0 = tap.foreignWrites;
      const before = counts(await scrape(ctx.connection));
      const t0 = Date.now();
      progress(`api-load: ${name}: ${ctx.windowS} s window`);
      await sleep(ctx.windowS * 1000);
      const after = counts(await scrape(ctx.connection));
      const windowS = (Date.now() - t0) / 1000;
      const background = tap.foreignWrites - foreign0;
      const processes: ProcessFootprint[] = procs.flatMap((p, i) => {
        const c1 = cpuMs(p.pid);
        const c0 = cpu0[i];
        const mem = memory(p.pid);
        return c1 === undefined || c0 === undefined || !mem
          ? []
          : [{ role: p.role, cpuMs: c1 - c0, windowS, mem }];
      });
      await destroy();

      const leases = diff(after.leases, before.leases);
      // Background writes are PUTs of kube-apiserver's identity Lease.
      if (background > 0) leases.PUT = (leases.PUT ?? 0) - background;
      const pods = diff(after.pods, before.pods);
      const podStatus = diff(after.podStatus, before.podStatus);
      const events = diff(after.events, before.events);
      const measured = nonWatch(leases) + nonWatch(pods) + nonWatch(podStatus) + nonWatch(events);
      const openLeaseWatches = after.leaseWatches - baseline.leaseWatches;
      const openPodWatches = after.podWatches - baseline.podWatches;
      const perMinute = (measured * 60) / windowS;
      const w: LoadWindow = {
        side: cfg.side,
        replicas: cfg.replicas,
        windowS,
        timings: timingsLabel(DEFAULTS),
        leases,
        pods,
        podStatus,
        events,
        backgroundLeaseWrites: background,
        openLeaseWatches,
        openPodWatches,
        perMinute,
        perMinuteWithWatches: perMinute + ((openLeaseWatches + openPodWatches) * 60) / WATCH_TIMEOUT_S,
        processes,
      };
      windows.push(w);
      progress(
        `api-load: ${name}: ${perMinute.toFixed(1)} req/min measured without WATCH (${JSON.stringify({ leases, pods, podStatus, events })}), ` +
          `open watches leases ${openLeaseWatches} pods ${openPodWatches} → ${w.perMinuteWithWatches.toFixed(1)}/min with watches amortized`,
      );
    }
  } finally {
    await tap.stop();
  }
  return { windows };
}
