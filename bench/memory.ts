// The `memory` phase of make bench (issue 16, item 4): the agent's private (anonymous) memory
// under each V8/Node setting tried, with what each costs: CPU at idle, and a graceful failover's
// time. For each setting, two agents (the production bundle, the same flags) elect on one Lease
// of the local control plane (timings 6s/3s/1s); after a settling window their anonymous memory
// (Anonymous of /proc/PID/smaps_rollup, what process_anonymous_memory_bytes exports) is sampled
// every second, the max kept; then the leader gets SIGTERM and the time until the other leads
// (its "started leading" log line, from the SIGTERM) is the failover. Settings run one after the
// other, on the same idle machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { KubeClient } from '../common/kube/kube-client.ts';
import { freePort } from '../local-cluster/index.ts';
import { createNamespace, deleteNamespace } from './lib/groups.ts';
import { cpuMs, progress, sleep, waitFor } from './lib/util.ts';

export interface MemorySetting {
  name: string;
  flags: string[];
  env?: Record<string, string>;
}

/** The settings tried; the first is Node's defaults, the second what the image runs today. */
export const SETTINGS: MemorySetting[] = [
  { name: 'defaults', flags: [] },
  { name: 'semi-space 1 MiB (the image)', flags: ['--max-semi-space-size=1'] },
  { name: '+ single-threaded', flags: ['--max-semi-space-size=1', '--single-threaded'] },
  { name: '+ lite mode', flags: ['--max-semi-space-size=1', '--lite-mode'] },
  {
    name: '+ single-threaded + lite mode',
    flags: ['--max-semi-space-size=1', '--single-threaded', '--lite-mode'],
  },
  { name: '+ jitless', flags: ['--max-semi-space-size=1', '--jitless'] },
  // Node's own V8 platform threads (4 by default) are not removed by V8's --single-threaded.
  { name: '+ v8-pool-size 0', flags: ['--max-semi-space-size=1', '--v8-pool-size=0'] },
  {
    name: '+ v8-pool-size 0 + single-threaded + lite mode',
    flags: ['--max-semi-space-size=1', '--v8-pool-size=0', '--single-threaded', '--lite-mode'],
  },
  {
    name: '+ single-threaded + lite + UV_THREADPOOL_SIZE=1',
    flags: ['--max-semi-space-size=1', '--single-threaded', '--lite-mode'],
    env: { UV_THREADPOOL_SIZE: '1' },
  },
];

export interface MemoryRow {
  setting: string;
  flags: string;
  /** Max anonymous memory over the window (bytes): the leader's and the follower's. */
  leaderAnonMax: number;
  followerAnonMax: number;
  rssMax: number;
  /** CPU over the window, as a percentage of one core: leader and follower. */
  leaderCpuPct: number;
  followerCpuPct: number;
  /** SIGTERM of the leader → the other agent's "started leading" (ms). */
  failoverMs: number | undefined;
  /**
   * The new leader's CPU time (ms) over the FAILOVER_WINDOW_MS after the SIGTERM (taking the
   * Lease, its readiness, its pod watch) and its anonymous memory's max meanwhile (absent in
   * older results).
   */
  failoverCpuMs?: number;
  failoverAnonMax?: number;
  threads: number;
}

/** How long after the leader's SIGTERM the new leader's CPU and memory are followed. */
const FAILOVER_WINDOW_MS = 5_000;

export interface MemoryResult {
  windowS: number;
  rows: MemoryRow[];
}

function anon(pid: number): { anon: number; rss: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    return { anon: kb('Anonymous'), rss: kb('Rss') };
  } catch {
    return undefined;
  }
}

function threads(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

interface Running {
  child: ChildProcess;
  name: string;
  lines: { t: number; msg: string }[];
}

function startAgent(
  bundle: string,
  kubeconfig: string,
  ns: string,
  name: string,
  s: MemorySetting,
  port: number,
): Running {
  const child = spawn(process.execPath, [...s.flags, bundle], {
    env: {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: kubeconfig,
      POD_NAME: name,
      POD_NAMESPACE: ns,
      LEASE_NAME: 'mem',
      LEASE_DURATION: '6s',
      RENEW_DEADLINE: '3s',
      RETRY_PERIOD: '1s',
      AGENT_PORT: String(port),
      BIND_ADDRESS: '127.0.0.1',
      ...s.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r: Running = { child, name, lines: [] };
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        r.lines.push({ t: Date.now(), msg: (JSON.parse(line) as { msg: string }).msg });
      } catch {
        // not a log line
      }
    }
  });
  child.stderr!.resume();
  return r;
}

const led = (r: Running, since = 0) => r.lines.find((l) => l.t >= since && l.msg === 'started leading');

export async function runMemory(ctx: {
  client: KubeClient;
  kubeconfig: string;
  bundle: string;
  windowS: number;
}): Promise<MemoryResult> {
  const rows: MemoryRow[] = [];
  for (const [i, s] of SETTINGS.entries()) {
    const ns = `bench-memory-${i}`;
    await createNamespace(ctx.client, ns);
    const ports = [await freePort(), await freePort()];
    const agents = [0, 1].map((n) => startAgent(ctx.bundle, ctx.kubeconfig, ns, `agent-${n}`, s, ports[n]!));
    try {
      const leader = await waitFor('a leader', 60_000, () => agents.find((a) => led(a)), 100);
      const follower = agents.find((a) => a !== leader)!;
      await sleep(10_000); // settle: start-up garbage collected, renews under way
      const pids = [leader.child.pid!, follower.child.pid!];
      const cpu0 = pids.map((p) => cpuMs(p) ?? NaN);
      const t0 = Date.now();
      const max = { leader: 0, follower: 0, rss: 0 };
      while (Date.now() - t0 < ctx.windowS * 1000) {
        const [l, f] = pids.map(anon);
        if (l) max.leader = Math.max(max.leader, l.anon);
        if (f) max.follower = Math.max(max.follower, f.anon);
        max.rss = Math.max(max.rss, l?.rss ?? 0, f?.rss ?? 0);
        await sleep(1_000);
      }
      const elapsed = Date.now() - t0;
      const cpuPct = pids.map((p, j) => (((cpuMs(p) ?? NaN) - cpu0[j]!) / elapsed) * 100);
      const nThreads = threads(leader.child.pid!);
      const followerCpu0 = cpuMs(pids[1]!) ?? NaN;
      const term = Date.now();
      leader.child.kill('SIGTERM');
      // Sample the new leader's memory through the takeover while waiting for its log line.
      let failoverAnonMax = 0;
      const sampling = (async () => {
        while (Date.now() - term < FAILOVER_WINDOW_MS) {
          failoverAnonMax = Math.max(failoverAnonMax, anon(pids[1]!)?.anon ?? 0);
          await sleep(100);
        }
      })();
      const took = await waitFor('the follower leading', 30_000, () => led(follower, term), 5).catch(
        () => undefined,
      );
      await sampling;
      const failoverCpuMs = (cpuMs(pids[1]!) ?? NaN) - followerCpu0;
      const row: MemoryRow = {
        setting: s.name,
        flags:
          [...s.flags, ...Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v}`)].join(' ') || '(none)',
        leaderAnonMax: max.leader,
        followerAnonMax: max.follower,
        rssMax: max.rss,
        leaderCpuPct: cpuPct[0]!,
        followerCpuPct: cpuPct[1]!,
        failoverMs: took ? took.t - term : undefined,
        failoverCpuMs,
        failoverAnonMax,
        threads: nThreads,
      };
      rows.push(row);
      progress(`memory: ${JSON.stringify(row)}`);
    } finally {
      for (const a of agents) a.child.kill('SIGKILL');
      await deleteNamespace(ctx.client, ns).catch(() => {});
    }
  }
  return { windowS: ctx.windowS, rows };
}
