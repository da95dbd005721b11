// The Dockerfiles, checked without a container engine: they pass the linter (make
// lint-docker), the parser reads them as Docker does, every file they COPY from the build
// context exists and is let through by .dockerignore, and each image's build stage has
// every source its bundle needs (the bundle of agent/main.ts must need nothing from
// webhook/, and the other way round), so `docker build` cannot miss a file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS, repoRoot } from '../../local-cluster/index.ts';
import { imageCommand, parseDockerfile, splitFlags } from '../../scripts/dockerfile.ts';
import { lintDockerfile, projectDockerfiles } from '../../scripts/lint-dockerfiles.ts';

const IMAGES = [
  // The agent runs with Node's flags for its memory budget (agent.Dockerfile), the same as the
  // local images' (AGENT_NODE_FLAGS).
  {
    dockerfile: 'agent.Dockerfile',
    entry: 'agent/main.ts',
    bundle: '/app/agent.mjs',
    nodeFlags: AGENT_NODE_FLAGS,
  },
  { dockerfile: 'webhook.Dockerfile', entry: 'webhook/main.ts', bundle: '/app/webhook.mjs', nodeFlags: [] },
];

const read = (f: string) => readFileSync(join(repoRoot, f), 'utf8');

/** The build-context paths COPY takes (not --from another stage). */
function copiedPaths(dockerfile: string): string[] {
  const df = parseDockerfile(read(dockerfile));
  return df.stages
    .flatMap((s) => s.instructions)
    .filter((i) => i.keyword === 'COPY')
    .map((i) => splitFlags(i.args))
    .filter((c) => c.flags.from === undefined)
    .flatMap((c) => c.rest.split(/\s+/).slice(0, -1));
}

/** .dockerignore as an allowlist: `*` then `!path` lines (the only form this project uses). */
function allowedByDockerignore(path: string): boolean {
  const lines = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  expect(lines[0], '.dockerignore starts by excluding everything').toBe('*');
  const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  const p = path.replace(/\/$/, '');
  return allowed.some((a) => p === a || p.startsWith(`${a}/`));
}

describe('Dockerfiles', () => {
  it('are found and pass the linter (dockerfile-utils + the project rules)', () => {
    const files = projectDockerfiles().map((f) => f.slice(repoRoot.length + 1));
    expect(files).toEqual(['agent.Dockerfile', 'examples/echo/Dockerfile', 'webhook.Dockerfile']);
    for (const f of files) expect(lintDockerfile(read(f)), f).toEqual([]);
  });

  it('the linter catches what the rules are for', () => {
    const bad = [
      'FROM node AS build',
      'RUN cd /src && npm install',
      'FROM debian:latest',
      'ADD app.js /app/app.js',
      'COPY --from=bild /a /b',
      'USER app',
      'RUN echo run-time',
      'CMD node app.js',
    ].join('\n');
    const rules = lintDockerfile(bad).map((f) => f.rule);
    for (const r of [
      'DL3006',
      'DL3003',
      'LE004',
      'DL3007',
      'DL3020',
      'DL3022',
      'LE002',
      'LE003',
      'DL3025',
      'LE001',
    ]) {
      expect(rules, r).toContain(r);
    }
    expect(lintDockerfile('FROM x:1\nFOO bar\n').some((f) => f.rule.startsWith('dockerfile-utils'))).toBe(
      true,
    );
  });

  it('the parser handles directives, comments inside continuations, stages and both forms of ENTRYPOINT', () => {
    const df = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG V=1',
        'FROM --platform=$BUILDPLATFORM base:${V} AS build',
        'RUN a \\',
        '  # a comment line inside the instruction',
        '  b',
        'FROM run:2',
        'ENTRYPOINT ["/bin/app", "--flag"]',
        'CMD ["x"]',
      ].join('\n'),
    );
    expect(df.directives).toEqual({ syntax: 'docker/dockerfile:1' });
    expect(df.globalArgs.map((a) => a.args)).toEqual(['V=1']);
    expect(df.stages.map((s) => [s.from, s.name, s.platform])).toEqual([
      ['base:${V}', 'build', '$BUILDPLATFORM'],
      ['run:2', undefined, undefined],
    ]);
    expect(df.stages[0]!.instructions[0]).toMatchObject({
      keyword: 'RUN',
      args: expect.stringMatching(/^a\s+b$/),
      line: 4,
    });
    expect(imageCommand(df).argv).toEqual(['/bin/app', '--flag', 'x']);
    // A container's args replace CMD; a shell-form CMD runs through /bin/sh -c.
    expect(imageCommand(df, ['--other']).argv).toEqual(['/bin/app', '--flag', '--other']);
    expect(imageCommand(parseDockerfile('FROM a:1\nCMD run it')).argv).toEqual(['/bin/sh', '-c', 'run it']);
  });

  for (const { dockerfile, entry, bundle, nodeFlags } of IMAGES) {
    describe(dockerfile, () => {
      it('runs the bundle with the base image’s node, as 65532, from a distroless Node 24 base', () => {
        const df = parseDockerfile(read(dockerfile));
        const final = df.stages[df.stages.length - 1]!;
        expect(final.from).toBe('gcr.io/distroless/nodejs24-debian12:nonroot');
        expect(df.stages[0]!.from).toMatch(/^node:\$\{NODE_VERSION\}-alpine$/);
        expect(imageCommand(df)).toEqual({
          argv: ['/nodejs/bin/node', ...nodeFlags, bundle],
          user: '65532:65532',
        });
        // The build stage installs from the lock file and runs the project's bundler.
        const runs = df.stages[0]!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
        expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
        expect(runs.some((r) => r.includes('node scripts/bundle.mjs'))).toBe(true);
        // The bundle is Node's version line: the same as the Makefile's.
        const nodeVersion = /^NODE_VERSION \?= (\S+)$/m.exec(read('Makefile'))?.[1];
        expect(df.globalArgs.map((a) => a.args)).toContain(`NODE_VERSION=${nodeVersion}`);
      });

      it('copies only files that exist and that .dockerignore lets through', () => {
        const paths = copiedPaths(dockerfile);
        expect(paths).toContain('package-lock.json');
        for (const p of paths) {
          expect(existsSync(join(repoRoot, p)), `${p} exists`).toBe(true);
          expect(allowedByDockerignore(p), `${p} is not excluded by .dockerignore`).toBe(true);
        }
      });

      it(`copies every source the bundle of ${entry} needs`, async () => {
        const result = await build({
          entryPoints: [join(repoRoot, entry)],
          bundle: true,
          write: false,
          metafile: true,
          platform: 'node',
          format: 'esm',
          target: 'node24',
          logLevel: 'silent',
          absWorkingDir: repoRoot,
        });
        const sources = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
        const copied = copiedPaths(dockerfile).map((p) => p.replace(/\/$/, ''));
        for (const s of sources) {
          expect(
            copied.some((c) => s === c || s.startsWith(`${c}/`)),
            `${s} is copied into the build stage`,
          ).toBe(true);
        }
      });
    });
  }
});
