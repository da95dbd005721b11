// `node scripts/lint-dockerfiles.ts [FILE...]` (make lint-docker): lints the project's
// Dockerfiles without Docker. Two passes:
//   1. dockerfile-utils' validator (the one behind VS Code's Dockerfile support): syntax,
//      instruction and flag names, JSON forms, duplicate ENTRYPOINT/CMD, relative WORKDIR...;
//   2. the project's rules, in hadolint's spirit (its rule ids where one matches): pinned
//      base images, exec-form ENTRYPOINT/CMD, a numeric non-root USER in the final stage, no
//      RUN in the final stage (the run-time base has no shell), COPY rather than ADD,
//      `npm ci` rather than `npm install`, no `cd` in RUN, COPY --from naming a stage.
// Without arguments it lints every *Dockerfile at the top level and under examples/.
// Any finding, warning or error, makes the exit code 1.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import {
  execForm,
  finalStage,
  lastOf,
  parseDockerfile,
  splitFlags,
  type Dockerfile,
  type Instruction,
} from './dockerfile.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface Finding {
  line: number;
  severity: 'error' | 'warning';
  rule: string;
  message: string;
}

const isDockerfileName = (name: string) => name === 'Dockerfile' || /(^|[.-])Dockerfile$/.test(name);

/** The project's Dockerfiles: top level, and anywhere under examples/. */
export function projectDockerfiles(dir: string = root): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    if (isDockerfileName(name) && statSync(join(dir, name)).isFile()) found.push(join(dir, name));
  }
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== 'node_modules') walk(join(d, e.name));
      else if (e.isFile() && isDockerfileName(e.name)) found.push(join(d, e.name));
    }
  };
  try {
    walk(join(dir, 'examples'));
  } catch {
    /* no examples/ */
  }
  return found.sort();
}

/** Replaces ${NAME} and $NAME with the global ARG defaults (as `docker build` does in FROM). */
function expandArgs(s: string, args: Map<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a, b) => {
    const v = args.get(String(a ?? b));
    return v ?? m;
  });
}

/** The project's rules (pass 2). */
export function projectRules(df: Dockerfile): Finding[] {
  const out: Finding[] = [];
  const err = (line: number, rule: string, message: string) =>
    out.push({ line, severity: 'error', rule, message });
  const args = new Map<string, string>();
  for (const a of df.globalArgs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(a.args);
    if (m?.[2] !== undefined) args.set(m[1] ?? '', m[2].replace(/^"(.*)"$/, '$1'));
  }
  const stageNames = new Set<string>();
  df.stages.forEach((stage, index) => {
    const from = expandArgs(stage.from, args);
    if (stageNames.has(from) || from === 'scratch') {
      // an earlier stage, or nothing
    } else if (from.includes('$')) {
      err(stage.line, 'DL3006', `FROM ${stage.from}: a variable without a default in a global ARG`);
    } else {
      const withoutDigest = from.split('@')[0] ?? from;
      const lastPart = withoutDigest.split('/').pop() ?? '';
      const tag = lastPart.includes(':') ? lastPart.split(':').pop() : undefined;
      if (!from.includes('@') && tag === undefined) {
        err(stage.line, 'DL3006', `FROM ${from}: pin the base image with a tag or a digest`);
      } else if (tag === 'latest') {
        err(stage.line, 'DL3007', `FROM ${from}: do not use the latest tag; pin a version`);
      }
    }
    if (stage.name) stageNames.add(stage.name);
    stageNames.add(String(index));
    for (const ins of stage.instructions) checkInstruction(ins, stageNames, err);
  });

  const last = df.stages.length ? finalStage(df) : undefined;
  if (!last) {
    err(1, 'DL3061', 'no FROM instruction');
    return out;
  }
  const entrypoint = lastOf(last, 'ENTRYPOINT');
  if (!entrypoint) err(last.line, 'LE001', 'the final stage must set ENTRYPOINT (exec form)');
  const user = lastOf(last, 'USER');
  if (!user) {
    err(last.line, 'DL3002', 'the final stage must set USER to a numeric non-root UID (e.g. 65532:65532)');
  } else {
    const m = /^(\d+)(?::(\d+))?$/.exec(user.args);
    if (!m) {
      err(user.line, 'LE002', `USER ${user.args}: use a numeric UID[:GID] so runAsNonRoot can verify it`);
    } else if (m[1] === '0') {
      err(user.line, 'DL3002', 'the final USER must not be root');
    }
  }
  for (const ins of last.instructions) {
    if (ins.keyword === 'RUN') {
      err(
        ins.line,
        'LE003',
        'no RUN in the final stage: its base has no shell; do the work in a build stage',
      );
    }
  }
  return out;
}

function checkInstruction(
  ins: Instruction,
  stageNames: Set<string>,
  err: (line: number, rule: string, message: string) => void,
): void {
  switch (ins.keyword) {
    case 'ENTRYPOINT':
    case 'CMD':
      if (!execForm(ins.args)) {
        err(ins.line, 'DL3025', `${ins.keyword}: use the JSON (exec) form, so signals reach the process`);
      }
      break;
    case 'ADD':
      if (!/https?:\/\//.test(ins.args))
        err(ins.line, 'DL3020', 'use COPY instead of ADD for files and folders');
      break;
    case 'COPY': {
      const from = splitFlags(ins.args).flags.from;
      if (from !== undefined && !stageNames.has(from) && !/[/:]/.test(from)) {
        err(ins.line, 'DL3022', `COPY --from=${from}: no earlier stage has that name`);
      }
      break;
    }
    case 'RUN': {
      const cmd = splitFlags(ins.args).rest;
      if (/(^|[;&|]\s*)cd\s/.test(cmd)) err(ins.line, 'DL3003', 'use WORKDIR to change directory, not cd');
      if (/\bnpm\s+(install|i)\b/.test(cmd)) {
        err(ins.line, 'LE004', 'use `npm ci` (the lock file decides the versions), not `npm install`');
      }
      break;
    }
    case 'WORKDIR':
      if (!ins.args.startsWith('/') && !ins.args.startsWith('$')) {
        err(ins.line, 'DL3000', `WORKDIR ${ins.args}: use an absolute path`);
      }
      break;
  }
}

/** Both passes on one file's text. */
export function lintDockerfile(text: string): Finding[] {
  const findings: Finding[] = validate(text).map((d) => ({
    line: d.range.start.line + 1,
    // LSP DiagnosticSeverity: 1 is Error, 2 Warning.
    severity: d.severity === 1 ? 'error' : 'warning',
    rule: `dockerfile-utils${d.code !== undefined ? `:${String(d.code)}` : ''}`,
    message: typeof d.message === 'string' ? d.message : d.message.value,
  }));
  try {
    findings.push(...projectRules(parseDockerfile(text)));
  } catch (e) {
    findings.push({ line: 1, severity: 'error', rule: 'parse', message: (e as Error).message });
  }
  return findings.sort((a, b) => a.line - b.line);
}

function main(argv: string[]): number {
  const files = argv.length ? argv.map((f) => resolve(f)) : projectDockerfiles();
  if (files.length === 0) {
    console.error('lint-dockerfiles: no Dockerfile found');
    return 1;
  }
  let problems = 0;
  for (const file of files) {
    const findings = lintDockerfile(readFileSync(file, 'utf8'));
    const name = relative(process.cwd(), file) || file;
    for (const f of findings) console.log(`${name}:${f.line} ${f.severity} ${f.rule}: ${f.message}`);
    problems += findings.length;
    if (findings.length === 0) console.log(`${name}: ok`);
  }
  if (problems) console.error(`lint-dockerfiles: ${problems} problem(s)`);
  return problems ? 1 : 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
