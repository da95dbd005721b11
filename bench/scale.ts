// Scale: G election groups of 3 electors each against one kube-apiserver, ours
// (bench/many-electors.ts: Elector + LeaseClient, one KubeClient) and client-go
// (bench/clientgo-many: LeaderElector + LeaseLock, one clientset), each side one
// process, one after the other on fresh namespaces, client-go's defaults.
//
// - time until every group has a leader: from spawning the process to the last
//   Lease getting a holder, seen through a watch of the namespace's Leases;
// - steady state (after a settle period): kube-apiserver CPU from /proc/<pid>/stat
//   (utime+stime) and its request rate from apiserver_request_total, over a window;
//   plus the electors' own process CPU and memory.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiError, type KubeClient } from '../common/kube/kube-client.ts';
import type { KubeConnection } from '../common/kube/kubeconfig.ts';
import { repoRoot } from '../local-cluster/index.ts';
import { diff, openWatches, requestsByVerb, scrape } from './lib/apiserver-metrics.ts';
import { createNamespace, deleteNamespace, DEFAULTS, timingsLabel } from './lib/groups.ts';
import { LeaseTap } from './lib/lease-tap.ts';
import { cpuMs, memory, progress, sleep, waitFor, type MemSample } from './lib/util.ts';

export async function buildManyClientGo(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'bench/clientgo-many/build.sh')], {
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim().split('\n').pop() ?? '';
}

export interface ScaleSide {
  side: 'ours' | 'client-go';
  groups: number;
  perGroup: number;
  timings: string;
  /** Spawn → every group's Lease has a holder (ms). */
  allLeadersMs: number;
  /** Spawn → half the groups have one (ms). */
  halfLeadersMs: number;
  windowS: number;
  /** kube-apiserver CPU over the window, in cores (1 = one core busy). */
  apiserverCores: number;
  /** Electors' process CPU over the window, in cores. */
  electorsCores: number;
  electorsMem: MemSample | undefined;
  /** apiserver_request_total for leases over the window, per second, by verb. */
  leaseRequestsPerSecond: Record<string, number>;
  /** All of them, per second. */
  requestsPerSecond: number;
  openLeaseWatches: number;
  /** Groups with a holder at the end of the window (a lost lease shows here). */
  heldAtEnd: number;
  /** Lease holder changes during the window (should be 0 at steady state). */
  transitionsInWindow: number;
}

export interface ScaleResult {
  sides: ScaleSide[];
  note: string;
}

export interface ScaleContext {
  client: KubeClient;
  connection: KubeConnection;
  kubeconfig: string;
  apiserverPid: number;
  goBinary: string;
  groups: number;
  perGroup: number;
  windowS: number;
  /** Wait after every group has a leader, before the window. */
  settleS: number;
  logDir: string;
}

async function runSide(ctx: ScaleContext, side: 'ours' | 'client-go'): Promise<ScaleSide> {
  const ns = `scale-${side === 'ours' ? 'ours' : 'go'}`;
  await createNamespace(ctx.client, ns);
  const tap = new LeaseTap(ctx.client, { namespace: ns, own: () => true, history: false });
  await tap.start();
  const args = [
    `--kubeconfig=${ctx.kubeconfig}`,
    `--namespace=${ns}`,
    `--groups=${ctx.groups}`,
    `--per-group=${ctx.perGroup}`,
    `--lease-duration=${DEFAULTS.lease}`,
    `--renew-deadline=${DEFAULTS.renew}`,
    `--retry-period=${DEFAULTS.retry}`,
  ];
  const watches0 = openWatches(await scrape(ctx.connection), 'leases');
  const logPath = join(ctx.logDir, `${ns}.log`);
  const log = createWriteStream(logPath);
  const t0 = Date.now();
  const child =
    side === 'ours'
      ? spawn(process.execPath, [join(repoRoot, 'bench/many-electors.ts'), ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(ctx.goBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    progress(`scale: ${side}: ${ctx.groups}×${ctx.perGroup} electors in one process (pid ${child.pid})`);
    let halfAt = 0;
    let lastReport = 0;
    const allAt = await waitFor(
      `${side}: every group has a leader`,
      180_000,
      () => {
        if (child.exitCode !== null)
          throw new Error(`the electors' process exited (${child.exitCode}); see ${logPath}`);
        const held = tap.heldIn(ns);
        if (!halfAt && held * 2 >= ctx.groups) halfAt = Date.now();
        if (Date.now() - lastReport > 5_000) {
          lastReport = Date.now();
          progress(`scale: ${side}: ${held}/${ctx.groups} groups have a leader`);
        }
        return held >= ctx.groups ? Date.now() : undefined;
      },
      20,
    );
    progress(`scale: ${side}: every group has a leader after ${allAt - t0} ms; settling ${ctx.settleS} s`);
    await sleep(ctx.settleS * 1000);
    const transitions0 = transitionsOf(tap, ns);
    const before = await scrape(ctx.connection);
    const api0 = cpuMs(ctx.apiserverPid);
    const el0 = cpuMs(child.pid!);
    const w0 = Date.now();
    progress(`scale: ${side}: ${ctx.windowS} s window`);
    await sleep(ctx.windowS * 1000);
    const after = await scrape(ctx.connection);
    const api1 = cpuMs(ctx.apiserverPid);
    const el1 = cpuMs(child.pid!);
    const windowS = (Date.now() - w0) / 1000;
    const mem = memory(child.pid!);
    const leases = diff(requestsByVerb(after, 'leases'), requestsByVerb(before, 'leases'));
    const perS = Object.fromEntries(Object.entries(leases).map(([k, v]) => [k, v / windowS]));
    const result: ScaleSide = {
      side,
      groups: ctx.groups,
      perGroup: ctx.perGroup,
      timings: timingsLabel(DEFAULTS),
      allLeadersMs: allAt - t0,
      halfLeadersMs: halfAt - t0,
      windowS,
      apiserverCores: ((api1 ?? 0) - (api0 ?? 0)) / 1000 / windowS,
      electorsCores: ((el1 ?? 0) - (el0 ?? 0)) / 1000 / windowS,
      electorsMem: mem,
      leaseRequestsPerSecond: perS,
      requestsPerSecond: Object.values(perS).reduce((a, b) => a + b, 0),
      openLeaseWatches: openWatches(after, 'leases') - watches0,
      heldAtEnd: tap.heldIn(ns),
      transitionsInWindow: transitionsOf(tap, ns) - transitions0,
    };
    progress(
      `scale: ${side}: apiserver ${(result.apiserverCores * 100).toFixed(0)}% of a core, ` +
        `${result.requestsPerSecond.toFixed(0)} lease req/s ${JSON.stringify(leases)}, electors ${(result.electorsCores * 100).toFixed(0)}% ` +
        `${mem ? `${(mem.rss / 2 ** 20).toFixed(0)} MB RSS` : ''}, ${result.openLeaseWatches} open lease watches`,
    );
    return result;
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
    log.end();
    await tap.stop();
    await deleteNamespace(ctx.client, ns);
    // The namespace controller's clean-up (list + delete of the Leases) must not fall in the next side's window.
    await waitFor(
      `namespace ${ns} gone`,
      120_000,
      () =>
        ctx.client.get(`/api/v1/namespaces/${ns}`).then(
          () => false,
          (err: unknown) => ApiError.isNotFound(err),
        ),
      250,
    );
  }
}

const transitionsOf = (tap: LeaseTap, ns: string): number => tap.sumTransitions(ns);

export async function runScale(ctx: ScaleContext): Promise<ScaleResult> {
  const sides: ScaleSide[] = [];
  for (const side of ['ours', 'client-go'] as const) sides.push(await runSide(ctx, side));
  return {
    sides,
    note:
      `${ctx.groups} groups × ${ctx.perGroup} electors = ${ctx.groups * ctx.perGroup} electors per side, one process per side, ` +
      `one shared client (ours: one KubeClient with its socket cap lifted, see bench/many-electors.ts; client-go: one clientset, ` +
      `QPS limit off), ${timingsLabel(DEFAULTS)}, settle ${ctx.settleS} s, window ${ctx.windowS} s.`,
  };
}
