// A thin typed client for the few Kubernetes API calls the agent, the webhook's
// reconciler and the test harness make. It is deliberately small: the agent runs
// in every opted-in pod, and @kubernetes/client-node bundled costs ~35 MB of
// private memory per pod against our 20 MB budget (docs/architecture.md). We
// keep that library's model types (type-only imports, free at run time).
import https from 'node:https';
import http from 'node:http';
import type { KubeConnection } from './kubeconfig.ts';

export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** An API error, told apart by `reason` (Conflict, NotFound, AlreadyExists, ...) and HTTP status. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
  static isConflict(err: unknown): boolean {
    return err instanceof ApiError && err.status === 409 && err.reason !== 'AlreadyExists';
  }
  static isAlreadyExists(err: unknown): boolean {
    return err instanceof ApiError && err.reason === 'AlreadyExists';
  }
  static isNotFound(err: unknown): boolean {
    return err instanceof ApiError && err.status === 404;
  }
}

/** Thrown for a request that got no answer in time, could not connect, or could not be sent. */
export class TransportError extends ApiError {
  override name = 'TransportError';
  constructor(message: string, reason = 'Transport') {
    super(0, reason, message);
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Content type of the body; JSON by default. Patches name their strategy here. */
  contentType?: string;
  /** Bounds the whole request, from connect to the body's last byte. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Each warning of the answer (admission warnings, deprecations), as kubectl prints them. */
  onWarning?: (message: string) => void;
}

/** The messages of `Warning` headers (RFC 7234: `299 - "text"`), as the API server sends them. */
export function warningMessages(header: string | string[] | undefined): string[] {
  const all = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return all.flatMap((h) =>
    [...h.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1')),
  );
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export const PATCH = {
  strategicMerge: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

function queryString(q: RequestOptions['query']): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export class KubeClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly defaultTimeoutMs: number;
  private readonly conn: KubeConnection;

  /**
   * maxSockets bounds the connections kept to the API server. Every open watch
   * holds one: a process running many electors on one client (each watching its
   * Lease) needs more than the agent's default of 8.
   */
  constructor(conn: KubeConnection, opts: { defaultTimeoutMs?: number; maxSockets?: number } = {}) {
    this.conn = conn;
    this.base = new URL(conn.server);
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 10_000;
    const agentOpts: https.AgentOptions = {
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 8,
      ca: conn.ca,
      cert: conn.cert,
      key: conn.key,
      rejectUnauthorized: !conn.insecureSkipTLSVerify,
    };
    if (conn.tlsServerName) agentOpts.servername = conn.tlsServerName;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent(agentOpts)
        : new http.Agent({ keepAlive: true, maxSockets: agentOpts.maxSockets });
  }

  /** Closes pooled connections (they would keep a process alive). */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Starts a request; `what` ("GET /path", "watch /path") prefixes its errors. Sets
   * no timeout: request() bounds the whole exchange, watch() only silence.
   */
  private open(
    what: string,
    method: string,
    path: string,
    opts: RequestOptions,
    body?: string,
  ): http.ClientRequest {
    const headers: Record<string, string> = { accept: 'application/json' };
    let token: string | undefined;
    try {
      token = this.conn.token?.();
    } catch (err) {
      // A missing or unreadable token file: callers only handle ApiErrors.
      const e = new TransportError(`${what}: could not read the bearer token: ${(err as Error).message}`);
      e.cause = err;
      throw e;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      // Explicit length: node sends no body framing for DELETE otherwise.
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const mod = this.base.protocol === 'https:' ? https : http;
    try {
      return mod.request({
        host: this.base.hostname.replace(/^\[|\]$/g, ''),
        port: this.base.port || (this.base.protocol === 'https:' ? 443 : 80),
        path: this.base.pathname.replace(/\/$/, '') + path + queryString(opts.query),
        method,
        headers,
        agent: this.agent,
        signal: opts.signal,
      });
    } catch (err) {
      // Thrown at once, e.g. a token with a character a header cannot carry.
      throw new TransportError(`${what}: ${(err as Error).message}`);
    }
  }

  /** One API call; resolves with the decoded JSON body, rejects with ApiError. */
  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const what = `${method} ${path}`;
    const body =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body);
    return new Promise<T>((resolvePromise, reject) => {
      const req = this.open(what, method, path, opts, body);
      // One deadline for the whole exchange (connect, send, headers, body), not an
      // inactivity timeout: a server trickling bytes must not stretch a Lease request
      // past its bound (at most half the renew deadline).
      const timer = setTimeout(() => {
        const err = new TransportError(`${what}: no answer within ${timeoutMs} ms`, 'Timeout');
        fail(err);
        req.destroy(err);
      }, timeoutMs);
      // Every outcome goes through one of these two, so the timer never outlives the request.
      const succeed = (value: T) => {
        clearTimeout(timer);
        resolvePromise(value);
      };
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err instanceof ApiError ? err : new TransportError(`${what}: ${err.message}`));
      };
      req.on('error', fail);
      req.on('response', (res) => {
        if (opts.onWarning) for (const w of warningMessages(res.headers.warning)) opts.onWarning(w);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        // Node reports a cut body as an 'error' first; this is the backstop.
        res.on('close', () => {
          if (!res.complete) fail(new Error('connection closed before the answer ended'));
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON (a proxy's error page): reported with the text below
          }
          if (status >= 200 && status < 300) {
            succeed(body as T);
            return;
          }
          const st = (body ?? {}) as KubeStatus;
          fail(
            new ApiError(
              status,
              st.reason ?? `HTTP${status}`,
              `${what}: ${status} ${st.message ?? text.slice(0, 300)}`,
            ),
          );
        });
      });
      req.end(body);
    });
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  /**
   * Streams a watch. Calls onEvent for each event until the server ends the
   * stream, the signal aborts, or an error occurs; resolves when the stream ends
   * cleanly and rejects otherwise. `timeoutSeconds` in the query bounds it on the
   * server side; callers add their own watchdog for a stream that goes silent.
   */
  watch<T>(
    path: string,
    query: RequestOptions['query'],
    onEvent: (ev: WatchEvent<T>) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolvePromise, reject) => {
      const what = `watch ${path}`;
      let settled = false;
      // Every path ends here, once: an end, an error, a premature close or an abort.
      // An aborted watch (caller or watchdog) ends cleanly: the caller decides what next.
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (!err || signal?.aborted) resolvePromise();
        else reject(err instanceof ApiError ? err : new TransportError(`${what}: ${err.message}`));
      };
      // Our own listener, not only node's: node's abort destroys the request, a no-op
      // once the connection is gone, and then no event would ever settle the watch.
      const onAbort = () => {
        settle();
        req.destroy();
      };
      if (signal?.aborted) {
        resolvePromise();
        return;
      }
      const req = this.open(what, 'GET', path, { query: { ...query, watch: true }, signal });
      signal?.addEventListener('abort', onAbort, { once: true });
      // Long-lived by design: only a day of silence counts as no answer. The server's
      // timeoutSeconds and the caller's watchdog bound it in practice.
      const silenceMs = 24 * 3600_000;
      req.setTimeout(silenceMs, () =>
        req.destroy(new TransportError(`${what}: no answer within ${silenceMs} ms`, 'Timeout')),
      );
      req.on('error', settle);
      // Before an answer node reports a lost connection as an 'error'; this is the backstop.
      let answered = false;
      req.on('close', () => {
        if (!answered) settle(new Error('connection closed before an answer'));
      });
      req.on('response', (res) => {
        answered = true;
        const status = res.statusCode ?? 0;
        if (status >= 300) {
          const chunks: Buffer[] = [];
          // The status stands even if the body is cut (a 410 still means list again).
          const reportStatus = (cut?: string) => {
            let st: KubeStatus = {};
            if (!cut) {
              try {
                st = JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeStatus;
              } catch {
                /* not a Status */
              }
            }
            const detail = cut ? `${status} (${cut})` : (st.message ?? status);
            settle(new ApiError(status, st.reason ?? `HTTP${status}`, `${what}: ${detail}`));
          };
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reportStatus());
          res.on('error', (err) => reportStatus(`body cut: ${err.message}`));
          res.on('close', () =>
            reportStatus(res.complete ? undefined : 'connection closed before the body ended'),
          );
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              settle(err as Error);
              req.destroy();
              return;
            }
          }
        });
        res.on('end', () => settle());
        res.on('error', settle);
        res.on('close', () => {
          if (!res.complete) settle(new Error('connection closed before the stream ended'));
        });
      });
      req.end();
    });
  }
}
