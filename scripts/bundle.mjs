// Production bundles: one minified ESM file per program (dist/agent.mjs,
// dist/webhook.mjs), so an image needs only Node and this file; and the kubectl plugin as an
// npm package of one file (dist/kubectl-leader_election/: its package.json, with the
// product's version, the bundle as its bin, README and LICENSE), also as the archive and
// manifest of a krew plugin (dist/kubectl-leader_election-<version>.tar.gz, dist/krew/).
import { build } from 'esbuild';
import { existsSync, mkdirSync, statSync } from 'node:fs';

const entries = {
  agent: 'agent/main.ts',
  webhook: 'webhook/main.ts',
};
mkdirSync('dist', { recursive: true });
/** What every bundle shares: one minified ESM file for Node 24. */
const shared = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};
// Some dependencies (pino) use require(); give the ESM bundle one.
const requireBanner =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";
for (const [name, entry] of Object.entries(entries)) {
  if (!existsSync(entry)) continue;
  const outfile = `dist/${name}.mjs`;
  await build({
    ...shared,
    entryPoints: [entry],
    outfile,
    sourcemap: false,
    banner: { js: requireBanner },
  });
  console.log(`${outfile} ${(statSync(outfile).size / 1024).toFixed(0)} KiB`);
}

// The kubectl plugin: its modules' own `import.meta.main` blocks must not run inside the bundle
// (they would all see the bundle as "main"); the bundle calls the plugin's main() itself.
const pluginDir = 'dist/kubectl-leader_election';
// Only from a whole checkout: the images' build stages copy just the sources of their bundle.
if (existsSync('webhook/cli/kubectl-plugin.ts') && existsSync('LICENSE')) {
  const { readFileSync, writeFileSync, copyFileSync, chmodSync } = await import('node:fs');
  mkdirSync(pluginDir, { recursive: true });
  const outfile = `${pluginDir}/kubectl-leader_election.mjs`;
  await build({
    stdin: {
      contents: "import { main } from './webhook/cli/kubectl-plugin.ts'; main();",
      resolveDir: '.',
      sourcefile: 'kubectl-leader_election.ts',
      loader: 'ts',
    },
    ...shared,
    outfile,
    define: { 'import.meta.main': 'false' },
    banner: { js: `#!/usr/bin/env node\n${requireBanner}` },
  });
  chmodSync(outfile, 0o755);
  const root = JSON.parse(readFileSync('package.json', 'utf8'));
  const pkg = {
    name: 'kubectl-leader-election',
    version: root.version,
    description: 'kubectl leader-election: status and inject for leader-election (a kubectl plugin).',
    license: root.license,
    type: 'module',
    engines: { node: '>=24' },
    bin: { 'kubectl-leader_election': 'kubectl-leader_election.mjs' },
    files: ['kubectl-leader_election.mjs', 'README.md', 'LICENSE'],
  };
  writeFileSync(`${pluginDir}/package.json`, JSON.stringify(pkg, null, 2) + '\n');
  copyFileSync('LICENSE', `${pluginDir}/LICENSE`);
  writeFileSync(
    `${pluginDir}/README.md`,
    '# kubectl leader-election\n\nThe CLI of [leader-election](../../README.md): `kubectl leader-election status|inject|version`.\n' +
      'Install: `npm install -g kubectl-leader-election-' +
      root.version +
      '.tgz` (Node 24 or later), then `kubectl leader-election status -A`.\n',
  );
  console.log(`${outfile} ${(statSync(outfile).size / 1024).toFixed(0)} KiB`);

  // The krew archive: the same files, reproducible (sorted, owner 0, mtime 0, gzip without a
  // timestamp), so its sha256 in the manifest changes only when the plugin does.
  const { execFileSync } = await import('node:child_process');
  const { createHash } = await import('node:crypto');
  const { krewArchiveName, krewManifest } = await import('./krew-manifest.mjs');
  const archive = `dist/${krewArchiveName(root.version)}`;
  const tar = execFileSync(
    'tar',
    [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-C',
      pluginDir,
      '-cf',
      '-',
      'kubectl-leader_election.mjs',
      'README.md',
      'LICENSE',
    ],
    { maxBuffer: 64 << 20 },
  );
  writeFileSync(archive, execFileSync('gzip', ['-n', '-9'], { input: tar, maxBuffer: 64 << 20 }));
  const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
  mkdirSync('dist/krew', { recursive: true });
  writeFileSync('dist/krew/leader-election.yaml', krewManifest(root.version, sha256));
  console.log(`${archive} sha256 ${sha256.slice(0, 12)}…, dist/krew/leader-election.yaml`);
}
