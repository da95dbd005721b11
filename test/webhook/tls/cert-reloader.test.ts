// Unit tests of the certificate reloader, with real certificates (openssl, from the test
// PKI helpers) in a temporary directory, and fake timers and a fake directory watch so
// that nothing sleeps: each test fires the poll or the watch event itself.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCa, issueCert, type CertFiles } from '../../../local-cluster/index.ts';
import {
  CertReloader,
  nodeFs,
  type ReloaderFs,
  type ReloaderTimers,
} from '../../../webhook/tls/cert-reloader.ts';

class FakeTimers implements ReloaderTimers {
  private next = 1;
  readonly intervals = new Map<number, { fn: () => void; ms: number }>();
  readonly timeouts = new Map<number, { fn: () => void; ms: number }>();
  setInterval(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.intervals.set(id, { fn, ms });
    return id;
  }
  clearInterval(h: unknown): void {
    this.intervals.delete(h as number);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timeouts.set(id, { fn, ms });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timeouts.delete(h as number);
  }
  /** One poll tick. */
  tick(): void {
    for (const { fn } of [...this.intervals.values()]) fn();
  }
  /** Runs the pending timeouts (the watch debounce). */
  flushTimeouts(): void {
    const pending = [...this.timeouts.values()];
    this.timeouts.clear();
    for (const { fn } of pending) fn();
  }
}

/** Real reads, fake watch: the test fires the directory events. */
class FakeWatchFs implements ReloaderFs {
  readonly watched: { dir: string; onChange: () => void; closed: boolean }[] = [];
  readFile(path: string): Promise<Buffer> {
    return nodeFs.readFile(path);
  }
  watch(dir: string, onChange: () => void): { close(): void } {
    const w = { dir, onChange, closed: false };
    this.watched.push(w);
    return { close: () => void (w.closed = true) };
  }
  fire(): void {
    for (const w of this.watched) if (!w.closed) w.onChange();
  }
}

class FakeServer {
  readonly applied: SecureContextOptions[] = [];
  setSecureContext(o: SecureContextOptions): void {
    this.applied.push(o);
  }
  servedSerial(): string | undefined {
    const last = this.applied.at(-1);
    return last ? new X509Certificate(last.cert as Buffer).serialNumber : undefined;
  }
}

function captureLog() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

const serial = (f: CertFiles) => new X509Certificate(readFileSync(f.cert)).serialNumber;

let pkiDir: string;
let pairA: CertFiles;
let pairB: CertFiles;

beforeAll(() => {
  pkiDir = mkdtempSync(join(tmpdir(), 'le-reloader-pki-'));
  const ca = createCa(pkiDir);
  pairA = issueCert(pkiDir, ca, 'a', { cn: 'webhook-a', sans: ['IP:127.0.0.1'] });
  pairB = issueCert(pkiDir, ca, 'b', { cn: 'webhook-b', sans: ['IP:127.0.0.1'] });
});
afterAll(() => rmSync(pkiDir, { recursive: true, force: true }));

describe('CertReloader', () => {
  let dir: string;
  let timers: FakeTimers;
  let fs: FakeWatchFs;
  let reloader: CertReloader | undefined;

  const put = (pair: { cert: string; key: string }) => {
    copyFileSync(pair.cert, join(dir, 'tls.crt'));
    copyFileSync(pair.key, join(dir, 'tls.key'));
  };
  const make = (log = captureLog().log) => {
    reloader = new CertReloader({
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      log,
      fs,
      timers,
      pollIntervalMs: 10_000,
      secureOptions: { minVersion: 'TLSv1.2' },
    });
    return reloader;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'le-reloader-'));
    timers = new FakeTimers();
    fs = new FakeWatchFs();
  });
  afterEach(() => {
    reloader?.stop();
    reloader = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the pair at start, applies it to an attached server, and is ready', async () => {
    put(pairA);
    const r = make();
    expect(r.ready()).toBe(false);
    await r.start();
    expect(r.ready()).toBe(true);
    expect(r.current()?.serial).toBe(serial(pairA));
    const server = new FakeServer();
    r.attach(server);
    expect(server.servedSerial()).toBe(serial(pairA));
    expect(server.applied[0]?.minVersion).toBe('TLSv1.2');
    // It watches the directory and polls every 10 s.
    expect(fs.watched.map((w) => w.dir)).toEqual([dir]);
    expect([...timers.intervals.values()].map((i) => i.ms)).toEqual([10_000]);
  });

  it('is not ready until a certificate appears, then loads it on the next poll', async () => {
    const { log, lines } = captureLog();
    const r = make(log);
    const server = new FakeServer();
    r.attach(server);
    await r.start();
    expect(r.ready()).toBe(false);
    expect(server.applied).toHaveLength(0);
    expect(lines.some((l) => l.msg === 'waiting for a certificate')).toBe(true);

    put(pairA);
    timers.tick();
    await r.idle();
    expect(r.ready()).toBe(true);
    expect(server.servedSerial()).toBe(serial(pairA));
  });

  it('picks up a change signalled by the directory watch (after the debounce)', async () => {
    put(pairA);
    const r = make();
    const server = new FakeServer();
    r.attach(server);
    await r.start();

    put(pairB);
    fs.fire();
    fs.fire(); // two events of one update are coalesced
    expect(timers.timeouts.size).toBe(1);
    expect(server.applied).toHaveLength(1); // nothing before the debounce fires
    timers.flushTimeouts();
    await r.idle();
    expect(server.servedSerial()).toBe(serial(pairB));
    expect(server.applied).toHaveLength(2);
  });

  it('picks up a change by polling when no watch event comes, and only when the content changed', async () => {
    put(pairA);
    const r = make();
    const server = new FakeServer();
    r.attach(server);
    await r.start();

    timers.tick();
    await r.idle();
    expect(server.applied).toHaveLength(1); // unchanged content: nothing applied again

    put(pairB);
    timers.tick();
    await r.idle();
    expect(server.servedSerial()).toBe(serial(pairB));
    expect(r.current()?.serial).toBe(serial(pairB));
  });

  it('follows a Secret volume update (the ..data symlink swapped atomically)', async () => {
    // The kubelet's layout: tls.crt → ..data/tls.crt, ..data → ..<timestamp>/
    const v1 = join(dir, '..2026_01_01_00_00_00.000000001');
    const v2 = join(dir, '..2026_02_01_00_00_00.000000002');
    for (const [v, pair] of [
      [v1, pairA],
      [v2, pairB],
    ] as const) {
      mkdirSync(v);
      copyFileSync(pair.cert, join(v, 'tls.crt'));
      copyFileSync(pair.key, join(v, 'tls.key'));
    }
    symlinkSync(v1, join(dir, '..data'));
    symlinkSync(join('..data', 'tls.crt'), join(dir, 'tls.crt'));
    symlinkSync(join('..data', 'tls.key'), join(dir, 'tls.key'));
    const r = make();
    await r.start();
    expect(r.current()?.serial).toBe(serial(pairA));

    symlinkSync(v2, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    timers.tick();
    await r.idle();
    expect(r.current()?.serial).toBe(serial(pairB));
  });

  it('keeps the current pair when the new one is invalid, logs it once, and recovers', async () => {
    put(pairA);
    const { log, lines } = captureLog();
    const r = make(log);
    const server = new FakeServer();
    r.attach(server);
    await r.start();

    // B's certificate with A's key: a mismatched pair.
    copyFileSync(pairB.cert, join(dir, 'tls.crt'));
    timers.tick();
    await r.idle();
    expect(r.ready()).toBe(true);
    expect(r.current()?.serial).toBe(serial(pairA));
    expect(server.applied).toHaveLength(1);
    const bad = lines.filter(
      (l) => l.msg === 'the new certificate/key pair is invalid; keeping the current one',
    );
    expect(bad).toHaveLength(1);
    expect(String(bad[0]?.err)).toMatch(/mismatch/i);

    // The same bad content again: not reported again.
    timers.tick();
    await r.idle();
    expect(lines.filter((l) => l.msg.includes('invalid'))).toHaveLength(1);

    // Garbage: still A.
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    timers.tick();
    await r.idle();
    expect(r.current()?.serial).toBe(serial(pairA));

    // A missing file: still A, still ready.
    rmSync(join(dir, 'tls.crt'));
    timers.tick();
    await r.idle();
    expect(r.ready()).toBe(true);
    expect(r.current()?.serial).toBe(serial(pairA));

    // The key catches up: B is served.
    put(pairB);
    timers.tick();
    await r.idle();
    expect(server.servedSerial()).toBe(serial(pairB));
  });

  it('does not become ready on an invalid first pair', async () => {
    copyFileSync(pairA.cert, join(dir, 'tls.crt'));
    copyFileSync(pairB.key, join(dir, 'tls.key'));
    const r = make();
    await r.start();
    expect(r.ready()).toBe(false);
    expect(r.current()).toBeUndefined();
  });

  it('stops watching and polling on stop', async () => {
    put(pairA);
    const r = make();
    await r.start();
    r.stop();
    expect(timers.intervals.size).toBe(0);
    expect(fs.watched.every((w) => w.closed)).toBe(true);
  });

  it('serves the new certificate on a real TLS server without restarting it', async () => {
    put(pairA);
    const r = make();
    await r.start();
    const server: Server = createServer({ minVersion: 'TLSv1.2' }, (_req, res) => res.end('ok'));
    r.attach(server);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const port = (server.address() as { port: number }).port;
    const served = () =>
      new Promise<string>((res, rej) => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          res(s.getPeerX509Certificate()?.serialNumber ?? '');
          s.end();
        });
        s.on('error', rej);
      });
    try {
      expect(await served()).toBe(serial(pairA));
      put(pairB);
      timers.tick();
      await r.idle();
      expect(await served()).toBe(serial(pairB));
    } finally {
      server.close();
    }
  });
});
