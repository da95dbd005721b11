// The webhook's serving certificate, reloaded without a restart when it changes on disk
// (as controller-runtime's certwatcher does).
//
// cert-manager writes the pair into a Secret; the kubelet projects a Secret volume as
// symlinks (`tls.crt` → `..data/tls.crt`) and swaps the `..data` symlink atomically on
// every update. So we watch the DIRECTORY (the files themselves are never written in
// place), and poll as a fallback (fs.watch misses events on some filesystems and a
// watcher can die), comparing content hashes so that an unchanged pair costs nothing.
//
// A new pair is applied only if it is valid (tls.createSecureContext accepts it: PEM
// readable, key matches certificate); otherwise it is logged and the current pair is
// kept. Until a first pair has loaded, ready() is false.
import { createHash, X509Certificate } from 'node:crypto';
import { watch as fsWatch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from '../../common/logger.ts';

export interface CertPair {
  cert: Buffer;
  key: Buffer;
  /** Hex serial number of the (leaf) certificate. */
  serial: string;
  notAfter: Date;
  subject: string;
}

/** The file-system calls the reloader makes; injectable for tests. */
export interface ReloaderFs {
  readFile(path: string): Promise<Buffer>;
  /** Calls onChange on any change in dir; returns a handle to stop watching. */
  watch(dir: string, onChange: () => void, onError: (err: Error) => void): { close(): void };
}

/** Timers; injectable so tests need no real sleeps. */
export interface ReloaderTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The part of a tls.Server (https.Server) the reloader drives. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface CertReloaderOptions {
  certFile: string;
  keyFile: string;
  log: Logger;
  /** Poll interval of the fallback (default 10 s). */
  pollIntervalMs?: number;
  /** Events of one update (two files, a symlink swap) are coalesced over this window (default 100 ms). */
  debounceMs?: number;
  /** TLS options applied with every pair (minVersion...). */
  secureOptions?: SecureContextOptions;
  fs?: ReloaderFs;
  timers?: ReloaderTimers;
}

export const nodeFs: ReloaderFs = {
  readFile: (path) => readFile(path),
  watch(dir, onChange, onError) {
    const w = fsWatch(dir, { persistent: false }, () => onChange());
    w.on('error', onError);
    return w;
  },
};

export const nodeTimers: ReloaderTimers = {
  setInterval(fn, ms) {
    const h = setInterval(fn, ms);
    h.unref();
    return h;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    h.unref();
    return h;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Checks a pair as the TLS stack will use it; throws with OpenSSL's reason if it is unusable. */
export function validatePair(cert: Buffer, key: Buffer, secureOptions: SecureContextOptions = {}): CertPair {
  createSecureContext({ ...secureOptions, cert, key });
  const x509 = new X509Certificate(cert);
  return {
    cert,
    key,
    serial: x509.serialNumber,
    notAfter: new Date(x509.validTo),
    subject: x509.subject,
  };
}

export class CertReloader {
  private readonly opts: CertReloaderOptions;
  private readonly fs: ReloaderFs;
  private readonly timers: ReloaderTimers;
  private pair: CertPair | undefined;
  /** Hash of the content last tried (good or bad): the same bad pair is reported once. */
  private lastSeenHash: string | undefined;
  private lastReadError: string | undefined;
  private readonly targets = new Set<SecureContextTarget>();
  private readonly watchers: { close(): void }[] = [];
  private pollHandle: unknown;
  private debounceHandle: unknown;
  private running: Promise<boolean> | undefined;
  private rerun = false;
  private started = false;

  constructor(opts: CertReloaderOptions) {
    this.opts = opts;
    this.fs = opts.fs ?? nodeFs;
    this.timers = opts.timers ?? nodeTimers;
  }

  /** True once a valid pair has loaded. */
  ready(): boolean {
    return this.pair !== undefined;
  }

  current(): CertPair | undefined {
    return this.pair;
  }

  /** Applies the current pair to `server` now (if any) and every new pair from now on. */
  attach(server: SecureContextTarget): void {
    this.targets.add(server);
    if (this.pair) this.apply(server, this.pair);
  }

  /** Loads the pair once (not an error if it is not there yet), then watches and polls. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.check('start');
    for (const dir of new Set([dirname(this.opts.certFile), dirname(this.opts.keyFile)])) {
      try {
        this.watchers.push(
          this.fs.watch(
            dir,
            () => this.onEvent(),
            (err) =>
              this.opts.log.warn({ dir, err: err.message }, 'certificate directory watch failed; polling'),
          ),
        );
      } catch (err) {
        // The directory may not exist yet (volume not mounted): polling finds the files later.
        this.opts.log.warn(
          { dir, err: (err as Error).message },
          'cannot watch the certificate directory; polling',
        );
      }
    }
    // check never rejects: read and validation errors are logged in checkOnce.
    this.pollHandle = this.timers.setInterval(
      () => void this.check('poll'),
      this.opts.pollIntervalMs ?? 10_000,
    );
  }

  stop(): void {
    this.started = false;
    for (const w of this.watchers.splice(0)) w.close();
    if (this.pollHandle !== undefined) this.timers.clearInterval(this.pollHandle);
    if (this.debounceHandle !== undefined) this.timers.clearTimeout(this.debounceHandle);
    this.pollHandle = undefined;
    this.debounceHandle = undefined;
  }

  /** Resolves when no check is running (tests await it after firing a timer). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private onEvent(): void {
    if (this.debounceHandle !== undefined) this.timers.clearTimeout(this.debounceHandle);
    this.debounceHandle = this.timers.setTimeout(() => {
      this.debounceHandle = undefined;
      void this.check('watch'); // never rejects, see above
    }, this.opts.debounceMs ?? 100);
  }

  /**
   * Reads the pair and applies it if it changed and is valid. Checks never overlap: one asked
   * for while another runs is run once after it. Resolves true if a new pair was applied.
   */
  check(trigger: string): Promise<boolean> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    const run = async (): Promise<boolean> => {
      let applied = false;
      do {
        this.rerun = false;
        applied = (await this.checkOnce(trigger)) || applied;
      } while (this.rerun);
      return applied;
    };
    this.running = run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async checkOnce(trigger: string): Promise<boolean> {
    const { certFile, keyFile, log } = this.opts;
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([this.fs.readFile(certFile), this.fs.readFile(keyFile)]);
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastReadError) {
        this.lastReadError = message;
        if (this.pair)
          log.warn({ err: message, trigger }, 'cannot read the certificate; keeping the current one');
        else log.info({ err: message, trigger }, 'waiting for a certificate');
      }
      return false;
    }
    this.lastReadError = undefined;
    const hash = createHash('sha256').update(cert).update('\0').update(key).digest('hex');
    if (hash === this.lastSeenHash) return false;
    this.lastSeenHash = hash;
    let pair: CertPair;
    try {
      pair = validatePair(cert, key, this.opts.secureOptions);
    } catch (err) {
      // Often transient: a writer that replaces tls.crt and tls.key one after the other.
      // The next event or poll with different content tries again.
      log.error(
        { err: (err as Error).message, trigger, certFile, keyFile, serving: this.pair?.serial ?? null },
        this.pair
          ? 'the new certificate/key pair is invalid; keeping the current one'
          : 'the certificate/key pair is invalid; not serving until a valid one appears',
      );
      return false;
    }
    const previous = this.pair?.serial;
    this.pair = pair;
    for (const t of this.targets) this.apply(t, pair);
    if (pair.notAfter.getTime() < Date.now()) {
      log.warn({ serial: pair.serial, notAfter: pair.notAfter.toISOString() }, 'the certificate has expired');
    }
    log.info(
      {
        serial: pair.serial,
        previous: previous ?? null,
        subject: pair.subject,
        notAfter: pair.notAfter.toISOString(),
        trigger,
      },
      previous ? 'certificate reloaded' : 'certificate loaded',
    );
    return true;
  }

  private apply(target: SecureContextTarget, pair: CertPair): void {
    target.setSecureContext({ ...this.opts.secureOptions, cert: pair.cert, key: pair.key });
  }
}
