// Production bundles: one minified ESM file per program (dist/agent.mjs,
// dist/webhook.mjs), so an image needs only Node and this file.
import { build } from 'esbuild';
import { existsSync, mkdirSync, statSync } from 'node:fs';

const entries = {
  agent: 'agent/main.ts',
  webhook: 'webhook/main.ts',
};
mkdirSync('dist', { recursive: true });
for (const [name, entry] of Object.entries(entries)) {
  if (!existsSync(entry)) continue;
  const outfile = `dist/${name}.mjs`;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    // Some dependencies (pino) use require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
  console.log(`${outfile} ${(statSync(outfile).size / 1024).toFixed(0)} KiB`);
}
