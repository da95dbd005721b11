// Footprint of the agent that does not need a cluster: the bundle's size, and
// whether it is self-contained (needs no node_modules at run time). The idle
// footprint (CPU, anonymous memory, RSS) comes from the API-load windows, and the
// CPU of a failover from the failover trials; the report combines them.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { repoRoot } from '../local-cluster/index.ts';

export interface FootprintResult {
  bundleBytes: number;
  webhookBundleBytes: number | undefined;
  /** Module specifiers the bundle imports or requires that are not Node built-ins. */
  externalImports: string[];
  /** node_modules directories on the resolution path of the isolated copy (must be none). */
  nodeModulesOnPath: string[];
  /** `node agent.mjs` from the isolated directory with no configuration: exit code and first line. */
  isolatedRun: { code: number | null; firstLine: string };
  selfContained: boolean;
  runtimeNodeModulesBytes: number;
}

function isBuiltin(s: string): boolean {
  return s.startsWith('node:') || builtinModules.includes(s) || builtinModules.includes(s.split('/')[0]!);
}

/**
 * Module specifiers the bundle needs that are not Node built-ins: esbuild bundles
 * the bundle again from its isolated directory with only built-ins external, so any
 * other import or require() of a literal name would have to be resolved (and fails).
 */
async function externalSpecifiers(bundle: string): Promise<string[]> {
  const { build } = await import('esbuild');
  try {
    const r = await build({
      entryPoints: [bundle],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: dirname(bundle),
    });
    const imports = Object.values(r.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    return [...new Set(imports.filter((s) => !isBuiltin(s)))];
  } catch (err) {
    const e = err as { errors?: { text: string }[] };
    return (e.errors ?? [{ text: String(err) }]).map((x) => x.text);
  }
}

export async function runFootprint(opts: {
  isolatedBundle: string;
  bundle: string;
}): Promise<FootprintResult> {
  const externalImports = await externalSpecifiers(opts.isolatedBundle);
  const nodeModulesOnPath: string[] = [];
  for (let dir = dirname(opts.isolatedBundle); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) nodeModulesOnPath.push(join(dir, 'node_modules'));
    if (dir === parse(dir).root) break;
  }
  let isolatedRun: FootprintResult['isolatedRun'];
  try {
    const out = execFileSync(process.execPath, [opts.isolatedBundle], {
      env: { PATH: process.env.PATH ?? '' },
      cwd: dirname(opts.isolatedBundle),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    });
    isolatedRun = { code: 0, firstLine: out.split('\n')[0] ?? '' };
  } catch (err) {
    const e = err as { status: number | null; stderr?: string };
    isolatedRun = { code: e.status, firstLine: (e.stderr ?? '').split('\n')[0] ?? '' };
  }
  // Exit 2 with "invalid agent configuration" means every module loaded and main() ran.
  const selfContained =
    externalImports.length === 0 &&
    nodeModulesOnPath.length === 0 &&
    isolatedRun.code === 2 &&
    /invalid agent configuration/.test(isolatedRun.firstLine);
  const webhook = join(repoRoot, 'dist/webhook.mjs');
  return {
    bundleBytes: statSync(opts.bundle).size,
    webhookBundleBytes: existsSync(webhook) ? statSync(webhook).size : undefined,
    externalImports,
    nodeModulesOnPath,
    isolatedRun,
    selfContained,
    runtimeNodeModulesBytes: selfContained ? 0 : Number.NaN,
  };
}
