// Process and runtime metrics for /metrics, under the names Prometheus' client libraries use
// (process_*, nodejs_*), read when scraped: memory (resident and, on Linux, anonymous: what the
// agent's memory budget counts), CPU, start time, and the event loop's delay since the last
// scrape (a stalled loop delays renewals).
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Registry } from './metrics.ts';

/** `Anonymous:` of /proc/self/smaps_rollup in bytes; undefined where there is none (not Linux). */
export function anonymousBytes(smapsRollup: string): number | undefined {
  const kb = /^Anonymous:\s+(\d+) kB$/m.exec(smapsRollup)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

function readAnonymous(): number | undefined {
  try {
    return anonymousBytes(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Registers the process metrics; returns a stop function (the event-loop monitor's timer). */
export function registerProcessMetrics(registry: Registry): () => void {
  const startedAt = Date.now() / 1000 - process.uptime();
  // 50 ms resolution: a coarse timer, cheap enough for every pod, fine enough for renewals.
  const loop = monitorEventLoopDelay({ resolution: 50 });
  loop.enable();
  // Read and reset at each scrape: the delay since the last one.
  let lastMax: number | undefined;
  registry.collected('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', () =>
    process.memoryUsage.rss(),
  );
  registry.collected(
    'process_anonymous_memory_bytes',
    'Private anonymous memory in bytes (Anonymous of /proc/self/smaps_rollup): what the agent memory budget counts.',
    'gauge',
    readAnonymous,
  );
  registry.collected(
    'nodejs_heap_used_bytes',
    'V8 heap used in bytes.',
    'gauge',
    () => process.memoryUsage().heapUsed,
  );
  registry.collected('process_cpu_seconds_total', 'User and system CPU time in seconds.', 'counter', () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  });
  registry.collected(
    'process_start_time_seconds',
    'Start time of the process, in seconds since the epoch.',
    'gauge',
    () => startedAt,
  );
  registry.collected(
    'nodejs_eventloop_delay_max_seconds',
    'Longest event-loop delay since the previous scrape, in seconds.',
    'gauge',
    () => {
      lastMax = loop.max / 1e9;
      loop.reset();
      return lastMax;
    },
  );
  return () => loop.disable();
}
