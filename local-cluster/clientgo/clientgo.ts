// Helpers for running client-go electors (local-cluster/clientgo/main.go) next to our
// agents: build the binary once, run it as a plain child process, read its
// /leader, and turn both programs' logs into leadership intervals on the
// machine's wall clock.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../control-plane/control-plane.ts';
import { intervalsFromLog, jsonLines, type Interval, type LogLine } from '../observe/leadership.ts';

/** Builds local-cluster/clientgo once (cached by a hash of its sources) and returns the binary's path. */
export async function buildClientGoElector(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(
      'bash',
      [join(repoRoot, 'local-cluster/clientgo/build.sh')],
      {
        maxBuffer: 16 * 1024 * 1024,
        timeout: 170_000,
      },
    );
    const bin = stdout.trim().split('\n').pop() ?? '';
    if (!existsSync(bin)) throw new Error(`build.sh printed "${bin}", which does not exist`);
    return bin;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(
      `could not build the client-go elector (local-cluster/clientgo/build.sh): ${e.message}\n${e.stderr ?? ''}`,
      { cause: err },
    );
  }
}

export interface GoLeaderView {
  /** le.IsLeader(): the last record this elector observed names it. */
  isLeader: boolean;
  /** le.GetLeader(): the holder of the last record it observed ('' if released or none yet). */
  leader: string;
  self: string;
  /** Between its OnStartedLeading and its OnStoppedLeading (or SIGTERM). */
  leading: boolean;
}

export interface GoElectorOptions {
  binary: string;
  kubeconfig: string;
  namespace: string;
  lease: string;
  identity: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  releaseOnCancel: boolean;
  logDir: string;
}

/** One client-go elector as a child process: stdout (JSON lines) to `<identity>.log`, klog to `<identity>.stderr.log`. */
export class GoElector {
  readonly identity: string;
  readonly logPath: string;
  readonly kills: number[] = [];
  private readonly proc: ChildProcess;
  private addr: string | undefined;
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(opts: GoElectorOptions) {
    this.identity = opts.identity;
    this.logPath = join(opts.logDir, `${opts.identity}.log`);
    this.proc = spawn(
      opts.binary,
      [
        `--kubeconfig=${opts.kubeconfig}`,
        `--namespace=${opts.namespace}`,
        `--lease=${opts.lease}`,
        `--identity=${opts.identity}`,
        `--lease-duration=${opts.leaseDuration}`,
        `--renew-deadline=${opts.renewDeadline}`,
        `--retry-period=${opts.retryPeriod}`,
        `--release-on-cancel=${opts.releaseOnCancel}`,
        '--http=127.0.0.1:0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out = createWriteStream(this.logPath, { flags: 'a' });
    const err = createWriteStream(join(opts.logDir, `${opts.identity}.stderr.log`), { flags: 'a' });
    this.proc.stdout!.pipe(out);
    this.proc.stderr!.pipe(err);
    let pending = '';
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const m = /"msg":"http listening"/.test(line) ? /"addr":"([^"]+)"/.exec(line) : null;
        if (m) this.addr = m[1];
      }
    });
    this.exit = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(opts: GoElectorOptions, timeoutMs = 10_000): Promise<GoElector> {
    const e = new GoElector(opts);
    const deadline = Date.now() + timeoutMs;
    while (!e.addr) {
      if (!e.alive) throw new Error(`client-go elector ${opts.identity} exited: ${e.stderrTail()}`);
      if (Date.now() > deadline)
        throw new Error(`client-go elector ${opts.identity} did not start listening`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return e;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** GET /leader, or undefined if it does not answer in time. */
  async leader(timeoutMs = 1000): Promise<GoLeaderView | undefined> {
    if (!this.addr || !this.alive) return undefined;
    try {
      const res = await fetch(`http://${this.addr}/leader`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as GoLeaderView;
    } catch {
      return undefined;
    }
  }

  /** Sends a signal; a SIGKILL is recorded as the end of any leadership it had. */
  signal(sig: NodeJS.Signals): void {
    if (sig === 'SIGKILL') this.kills.push(Date.now());
    this.proc.kill(sig);
  }

  async waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`client-go elector ${this.identity} did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  log(): LogLine[] {
    return existsSync(this.logPath) ? jsonLines(readFileSync(this.logPath, 'utf8')) : [];
  }

  intervals(): Interval[] {
    const text = existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
    return intervalsFromLog(this.identity, text, this.kills, 'elector started');
  }

  /** klog's output (client-go's own log). */
  stderr(): string {
    try {
      return readFileSync(this.logPath.replace(/\.log$/, '.stderr.log'), 'utf8');
    } catch {
      return '';
    }
  }

  stderrTail(): string {
    return this.stderr().slice(-2000);
  }

  /** SIGKILL if still running (cleanup). */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGKILL');
    await this.exit;
  }
}
