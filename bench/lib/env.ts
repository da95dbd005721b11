// What the benchmarks run on (machine, versions) and where their results go.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../local-cluster/index.ts';

export const DATA_DIR = join(repoRoot, 'docs/bench-data');
export const BENCH_DOC = join(repoRoot, 'docs/benchmarks.md');

export interface RunMeta {
  date: string;
  command: string;
  quick: boolean;
  trials: number;
  machine: string;
  versions: string;
  /** Load average when the phase started: the machine is shared. */
  loadavg: string;
  seconds?: number;
}

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machine(): string {
  const model = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  let os = 'Linux';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    /* not Linux? */
  }
  return `${cpus().length} cores (${model}), ${Math.round(totalmem() / 1024 ** 3)} GiB, ${os}`;
}

export function versions(kubeBin: string): string {
  const go = tryRun('/usr/local/go/bin/go', ['env', 'GOVERSION']) || tryRun('go', ['env', 'GOVERSION']);
  const kube = tryRun(join(kubeBin, 'kube-apiserver'), ['--version']).replace('Kubernetes ', '');
  const etcd = /etcd Version: (\S+)/.exec(tryRun(join(kubeBin, 'etcd'), ['--version']))?.[1] ?? '?';
  return `Node ${process.version}, ${go || 'go ?'}, kube-apiserver ${kube || '?'}, etcd ${etcd}, client-go v0.36.3`;
}

export function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

export function writeData(name: string, meta: RunMeta, result: unknown): string {
  mkdirSync(DATA_DIR, { recursive: true });
  const path = join(DATA_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify({ meta, result }, null, 1)}\n`);
  return path;
}

export interface Stored<T> {
  meta: RunMeta;
  result: T;
}

/** Every result file present (this run's and earlier --only runs'). */
export function readAllData(): Record<string, Stored<unknown>> {
  const out: Record<string, Stored<unknown>> = {};
  let files: string[];
  try {
    files = readdirSync(DATA_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return out;
  }
  for (const f of files) {
    try {
      out[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(DATA_DIR, f), 'utf8')) as Stored<unknown>;
    } catch {
      /* a broken file is skipped; the table says what is missing */
    }
  }
  return out;
}
