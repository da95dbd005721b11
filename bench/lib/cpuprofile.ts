// Reading a V8 CPU profile (`node --cpu-prof`, a .cpuprofile file) without DevTools: the
// functions that took the most samples, on their own (self) and with what they called
// (inclusive), and the same by package (fastify, pino, node internals, ours). Issue 16 asks
// where the webhook's milliseconds go; this prints the answer under the bench's load.
//
//   node bench/lib/cpuprofile.ts FILE.cpuprofile [--top N]

/** The parts of the Chrome DevTools Protocol's Profile that are read here. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  /** `function (file:line)`, or a V8 pseudo-frame such as `(garbage collector)`. */
  name: string;
  /** Share of every sample, 0..1. */
  self: number;
  inclusive: number;
}

export interface ProfileSummary {
  /** Sampled wall time, ms. */
  ms: number;
  samples: number;
  /** Share of samples that were not `(idle)`: the CPU the process used. */
  busy: number;
  functions: Entry[];
  packages: Entry[];
}

type Frame = CpuProfile['nodes'][number]['callFrame'];

/** `node:internal/...` → `node:internal`; `.../node_modules/fastify/lib/x.js` → `fastify`. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url.split('/')[0]!;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const file = url.split('/').pop()!;
  return file;
}

function frameName(f: Frame): string {
  if (f.url === '') return f.functionName || '(anonymous)';
  const file = f.url.split('/').pop();
  return `${f.functionName || '(anonymous)'} (${file}:${f.lineNumber + 1})`;
}

function ranked(counts: Map<string, { self: number; inclusive: number }>, total: number): Entry[] {
  return [...counts.entries()]
    .map(([name, c]) => ({ name, self: c.self / total, inclusive: c.inclusive / total }))
    .sort((a, b) => b.self - a.self || b.inclusive - a.inclusive);
}

/**
 * Counts samples per function and per package: self where the sample's leaf frame is, inclusive
 * for every distinct function (package) on its stack (recursion is counted once).
 */
export function summarizeProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fns = new Map<string, { self: number; inclusive: number }>();
  const pkgs = new Map<string, { self: number; inclusive: number }>();
  const bump = (m: typeof fns, key: string, self: boolean, seen: Set<string>) => {
    let c = m.get(key);
    if (!c) m.set(key, (c = { self: 0, inclusive: 0 }));
    if (self) c.self++;
    if (!seen.has(key)) {
      seen.add(key);
      c.inclusive++;
    }
  };
  let idle = 0;
  for (const id of p.samples) {
    const leaf = byId.get(id);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === '(idle)') idle++;
    const seenFn = new Set<string>();
    const seenPkg = new Set<string>();
    for (let cur: number | undefined = id, first = true; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.functionName === '(root)') break;
      bump(fns, frameName(f), first, seenFn);
      bump(pkgs, packageOf(f.url, f.functionName), first, seenPkg);
      first = false;
    }
  }
  const total = Math.max(1, p.samples.length);
  return {
    ms: (p.endTime - p.startTime) / 1000,
    samples: p.samples.length,
    busy: 1 - idle / total,
    functions: ranked(fns, total),
    packages: ranked(pkgs, total),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;

/** The summary as text: the top `n` by self, the top `n` by inclusive, every package. */
export function formatSummary(s: ProfileSummary, n = 25): string {
  const lines = [
    `${s.samples} samples over ${(s.ms / 1000).toFixed(1)} s; busy ${pct(s.busy)}`,
    '',
    `top ${n} by self time (self, inclusive):`,
    ...s.functions.slice(0, n).map((e) => `  ${pct(e.self)} ${pct(e.inclusive)}  ${e.name}`),
    '',
    `top ${n} by inclusive time (self, inclusive):`,
    ...[...s.functions]
      .sort((a, b) => b.inclusive - a.inclusive)
      .slice(0, n)
      .map((e) => `  ${pct(e.self)} ${pct(e.inclusive)}  ${e.name}`),
    '',
    'by package (self, inclusive):',
    ...s.packages
      .filter((e) => e.self >= 0.001)
      .map((e) => `  ${pct(e.self)} ${pct(e.inclusive)}  ${e.name}`),
  ];
  return lines.join('\n') + '\n';
}

if (import.meta.main) {
  const { readFileSync } = await import('node:fs');
  const { parseArgs } = await import('node:util');
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '25' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: node bench/lib/cpuprofile.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile;
  process.stdout.write(formatSummary(summarizeProfile(profile), Number(values.top)));
}
