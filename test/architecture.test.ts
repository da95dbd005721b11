// The layout's rules, checked on every import of the product and the local cluster
// (docs/architecture.md draws them): imports run one way, the two programs never import
// each other, the local cluster is reached only through its index, and the pure
// decisions import no I/O.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../local-cluster/index.ts';

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) return files(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Whether `stem` names a non-TypeScript file of the repository (`stem.yaml`, `stem.json`, …). */
function testsAFile(stem: string): boolean {
  const dir = join(repoRoot, dirname(stem));
  return (
    existsSync(dir) && readdirSync(dir).some((n) => n.startsWith(`${basename(stem)}.`) && !n.endsWith('.ts'))
  );
}

/** Every static import and re-export of a file, relative ones resolved to repo paths. */
function importsOf(file: string): Import[] {
  const src = readFileSync(join(repoRoot, file), 'utf8');
  const out: Import[] = [];
  for (const m of src.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s*from\s*'([^']+)'/gms)) {
    const spec = m[4] ?? '';
    const names = m[3] ?? '';
    const typeOnly = m[2] !== undefined || /^\{\s*(type\s+\w+(\s+as\s+\w+)?\s*,?\s*)+\}$/.test(names.trim());
    const to = spec.startsWith('.') ? normalize(join(dirname(file), spec)) : spec;
    out.push({ from: file, to, typeOnly });
  }
  return out;
}

const PRODUCT = ['common', 'agent', 'webhook'];
const all = [...PRODUCT, 'local-cluster', 'test', 'bench', 'scripts'].flatMap(files);
const imports = all.flatMap(importsOf);
const top = (p: string) => p.split('/')[0] ?? '';
const show = (list: Import[]) => list.map((i) => `${i.from} → ${i.to}`);

/** Rank of a folder within a program: a file may import only its own rank or lower. */
const RANKS: Record<string, Record<string, number>> = {
  common: { units: 0, '': 0, contract: 1, kube: 1, election: 2 },
  webhook: { injection: 0, tls: 0, rbac: 0, migration: 0, admission: 1, cli: 1, '': 2 },
};
function rankOf(path: string): { program: string; rank: number } | undefined {
  const [program = '', sub = ''] = path.split('/');
  const ranks = RANKS[program];
  if (!ranks) return undefined;
  const folder = path.split('/').length > 2 ? sub : '';
  const rank = ranks[folder];
  if (rank === undefined) throw new Error(`${path}: folder ${folder} has no rank in RANKS`);
  return { program, rank };
}

/** The pure decisions: no I/O, no clock, no package at run time. */
const PURE = [
  'common/units/',
  'common/contract/',
  'common/election/election.ts',
  'common/json.ts',
  'common/check.ts',
  'agent/fencing.ts',
  'agent/attestation.ts',
  'webhook/injection/',
  'webhook/rbac/role-binding.ts',
  'webhook/migration/opt-in-plan.ts',
  'webhook/admission/handler.ts',
  'webhook/admission/parse.ts',
  'webhook/admission/response.ts',
  'webhook/admission/review.ts',
  'webhook/cli/status-table.ts',
];
const isPure = (f: string) => PURE.some((p) => (p.endsWith('/') ? f.startsWith(p) : f === p));

describe('the layout', () => {
  it('finds the files and their imports', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(imports.filter((i) => i.from.startsWith('webhook/')).length).toBeGreaterThan(50);
  });

  it('common/ imports nothing above it', () => {
    const above = ['agent', 'webhook', 'local-cluster', 'test', 'bench', 'scripts'];
    const bad = imports.filter((i) => top(i.from) === 'common' && above.includes(top(i.to)));
    expect(show(bad)).toEqual([]);
  });

  it('the agent and the webhook never import each other', () => {
    const bad = imports.filter(
      (i) =>
        (top(i.from) === 'agent' && top(i.to) === 'webhook') ||
        (top(i.from) === 'webhook' && top(i.to) === 'agent'),
    );
    expect(show(bad)).toEqual([]);
  });

  it('product code never imports the local cluster, tests, benchmarks or scripts', () => {
    const bad = imports.filter(
      (i) =>
        PRODUCT.includes(top(i.from)) && ['local-cluster', 'test', 'bench', 'scripts'].includes(top(i.to)),
    );
    expect(show(bad)).toEqual([]);
  });

  it('within common/ and webhook/, imports run down the ranks', () => {
    const bad = imports.filter((i) => {
      const a = rankOf(i.from);
      const b = i.to.startsWith(`${a?.program}/`) ? rankOf(i.to) : undefined;
      return a !== undefined && b !== undefined && b.rank > a.rank;
    });
    expect(show(bad)).toEqual([]);
  });

  it('tests and benchmarks reach the local cluster only through its index', () => {
    const bad = imports.filter(
      (i) =>
        ['test', 'bench'].includes(top(i.from)) &&
        top(i.to) === 'local-cluster' &&
        i.to !== 'local-cluster/index.ts',
    );
    expect(show(bad)).toEqual([]);
  });

  it('the pure decisions import no I/O: only other pure modules, or types', () => {
    const pure = all.filter(isPure);
    expect(pure.length).toBeGreaterThan(20);
    const bad = imports.filter((i) => isPure(i.from) && !i.typeOnly && !isPure(i.to));
    expect(show(bad)).toEqual([]);
  });

  it('unit tests sit at the path of what they test', () => {
    const units = all.filter(
      (f) => f.startsWith('test/') && f.endsWith('.test.ts') && !f.endsWith('.int.test.ts'),
    );
    const orphans = units
      .filter((f) => f !== 'test/architecture.test.ts' && !f.startsWith('test/e2e/'))
      .filter((f) => {
        const source = relative('test', f).replace(/\.test\.ts$/, '.ts');
        const tested = imports.filter((i) => i.from === f).map((i) => i.to);
        // A test named after its file, or after a concept whose file it imports from that folder,
        // or after a file that is not TypeScript (examples/gitops/argocd-cm-health.yaml).
        return (
          !tested.some((t) => dirname(t) === dirname(source)) && !testsAFile(source.replace(/\.ts$/, ''))
        );
      });
    expect(orphans).toEqual([]);
  });
});
