// Small helpers shared by the benchmarks: sleeping, waiting, statistics,
// progress lines, and per-process CPU and memory read from /proc.
import { readFileSync } from 'node:fs';
import { sleep, waitUntil } from '../../local-cluster/index.ts';

export { sleep };

/** A uniformly random duration in [min, max) ms (trial start phases). */
export const jitter = (min: number, max: number) => min + Math.random() * (max - min);

const started = Date.now();

/** One progress line on stderr, stamped with the time since the run started. */
export function progress(msg: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

export function elapsedS(): number {
  return (Date.now() - started) / 1000;
}

/** Polls `check` every `intervalMs` (25 ms: benchmarks time things) until it is truthy; throws after `timeoutMs`. */
export function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  intervalMs = 25,
): Promise<T> {
  return waitUntil(what, timeoutMs, check, intervalMs);
}

/** Percentile by linear interpolation between closest ranks (p in [0, 100]). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(idx);
  const hi = Math.ceil(idx);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (idx - lo);
}

export interface Summary {
  n: number;
  min: number;
  p25: number;
  median: number;
  mean: number;
  p75: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    p25: percentile(s, 25),
    median: percentile(s, 50),
    mean,
    p75: percentile(s, 75),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
  };
}

const CLK_TCK = 100; // USER_HZ on Linux x86-64

/** utime + stime of a process, in ms of CPU, or undefined if it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return ((utime + stime) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export interface MemSample {
  /** VmRSS, bytes. */
  rss: number;
  /** `Anonymous` of smaps_rollup: private memory not backed by a file, bytes. */
  anonymous: number;
  /** Pss of smaps_rollup, bytes. */
  pss: number;
}

export function memory(pid: number): MemSample | undefined {
  try {
    const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(roll)?.[1] ?? 0) * 1024;
    return { rss: kb('Rss'), anonymous: kb('Anonymous'), pss: kb('Pss') };
  } catch {
    return undefined;
  }
}

/** Rounds for tables: 3 significant digits at most, no trailing noise. */
export function fmt(v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function mb(bytes: number | undefined, digits = 1): string {
  return bytes === undefined ? '—' : `${fmt(bytes / 1024 / 1024, digits)} MB`;
}

/** Shuffles in place (Fisher–Yates). */
export function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
