// A small Dockerfile reader, enough for our own checks: parser directives, comments,
// line continuations, build stages and their instructions, and the exec form of
// ENTRYPOINT/CMD. Used by scripts/lint-dockerfiles.ts (the project's rules) and by
// test/integration/images.int.test.ts (which runs the final stage's ENTRYPOINT + CMD on the bundle).
// Dockerfile syntax: https://docs.docker.com/reference/dockerfile/

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ENTRYPOINT, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined (without the escape character). */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** The image (or earlier stage) it starts from, as written (ARGs not expanded). */
  from: string;
  /** The name after `AS`, if any. */
  name?: string;
  platform?: string;
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Record<string, string>;
  /** ARG instructions before the first FROM (usable in FROM lines). */
  globalArgs: Instruction[];
  stages: Stage[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$/;

/** Parses a Dockerfile. Throws on an instruction before the first FROM other than ARG. */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split(/\r?\n/);
  const directives: Record<string, string> = {};
  let i = 0;
  // Parser directives: only at the very top, before any other line (blank lines end them too).
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i] ?? '');
    if (!m) break;
    directives[(m[1] ?? '').toLowerCase()] = m[2] ?? '';
  }
  const escape = directives.escape === '`' ? '`' : '\\';

  const instructions: Instruction[] = [];
  let current: { line: number; parts: string[] } | undefined;
  for (; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    // Comment lines are removed wherever they are, even inside a continued instruction.
    if (trimmed.startsWith('#')) continue;
    if (!current) {
      if (trimmed === '') continue;
      current = { line: i + 1, parts: [] };
    }
    const continued = trimmed.endsWith(escape) && !trimmed.endsWith(escape + escape);
    current.parts.push(continued ? trimmed.slice(0, -1) : trimmed);
    if (!continued || i === lines.length - 1) {
      const joined = current.parts.join(' ').trim();
      const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
      if (m)
        instructions.push({
          keyword: (m[1] ?? '').toUpperCase(),
          args: (m[2] ?? '').trim(),
          line: current.line,
        });
      current = undefined;
    }
  }

  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => w !== '');
      let platform: string | undefined;
      while (words[0]?.startsWith('--')) {
        const flag = words.shift() ?? '';
        const pm = /^--platform=(.*)$/.exec(flag);
        if (pm) platform = pm[1];
      }
      const from = words[0] ?? '';
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({
        from,
        ...(name ? { name } : {}),
        ...(platform ? { platform } : {}),
        line: ins.line,
        instructions: [],
      });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage) stage.instructions.push(ins);
    else if (ins.keyword === 'ARG') globalArgs.push(ins);
    else throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
  }
  return { directives, globalArgs, stages };
}

/** The instruction's flags (`--from=build`, `--mount=...`) and the rest of its arguments. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!m) break;
    flags[m[1] ?? ''] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** The JSON array of an exec-form instruction (`["a", "b"]`), or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  } catch {
    /* not JSON: the shell form */
  }
  return undefined;
}

/** What a container runtime runs for an exec- or shell-form ENTRYPOINT/CMD. */
export function commandOf(ins: Instruction): string[] {
  return execForm(ins.args) ?? ['/bin/sh', '-c', ins.args];
}

export function finalStage(df: Dockerfile): Stage {
  const last = df.stages[df.stages.length - 1];
  if (!last) throw new Error('no FROM: the Dockerfile has no stage');
  return last;
}

/** The last instruction of a kind in a stage. */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).pop();
}

/**
 * What the image runs: the final stage's ENTRYPOINT followed by its CMD (or by the
 * container's `args`, which replace CMD, as in a Kubernetes container spec). A stage that
 * sets ENTRYPOINT without CMD has no CMD: Docker resets an inherited CMD then.
 */
export function imageCommand(df: Dockerfile, args?: string[]): { argv: string[]; user?: string } {
  const stage = finalStage(df);
  const entrypoint = lastOf(stage, 'ENTRYPOINT');
  const cmd = lastOf(stage, 'CMD');
  if (!entrypoint && !cmd)
    throw new Error(`the final stage (line ${stage.line}) sets neither ENTRYPOINT nor CMD`);
  const argv = [...(entrypoint ? commandOf(entrypoint) : []), ...(args ?? (cmd ? commandOf(cmd) : []))];
  const user = lastOf(stage, 'USER')?.args;
  return { argv, ...(user ? { user } : {}) };
}
