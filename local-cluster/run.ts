// Child processes for the local cluster, its tests and the bench: one `run` that never
// rejects on a non-zero exit, and the kubectl of the cluster's minor version.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildBinaries } from './control-plane/control-plane.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, feeding `input` on stdin; never rejects on a non-zero exit (see `code`). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\n(killed by ${signal})` : ''),
      }),
    );
    // A child that exits without reading its stdin (most do) must not fail the run with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

let kubectlBin: string | undefined;

/** The kubectl built with the control plane (build-binaries.sh; cached after the first call). */
export function kubectlPath(): string {
  kubectlBin ??= join(buildBinaries(), 'kubectl');
  return kubectlBin;
}
