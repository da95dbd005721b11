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

/** Thrown for a request that got no answer in time or could not connect. */
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
  timeoutMs?: number;
  signal?: AbortSignal;
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

  private open(
    method: string,
    path: string,
    opts: RequestOptions,
    timeoutMs: number,
    body?: string,
  ): http.ClientRequest {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.conn.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      // Explicit length: node sends no body framing for DELETE otherwise.
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const mod = this.base.protocol === 'https:' ? https : http;
    const req = mod.request({
      host: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || (this.base.protocol === 'https:' ? 443 : 80),
      path: this.base.pathname.replace(/\/$/, '') + path + queryString(opts.query),
      method,
      headers,
      agent: this.agent,
      signal: opts.signal,
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new TransportError(`${method} ${path}: no answer within ${timeoutMs} ms`, 'Timeout')),
    );
    return req;
  }

  /** One API call; resolves with the decoded JSON body, rejects with ApiError. */
  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const body =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body);
    return new Promise<T>((resolvePromise, reject) => {
      const req = this.open(method, path, opts, timeoutMs, body);
      req.on('error', (err) =>
        reject(err instanceof ApiError ? err : new TransportError(`${method} ${path}: ${err.message}`)),
      );
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new TransportError(`${method} ${path}: ${err.message}`)));
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
            resolvePromise(body as T);
            return;
          }
          const st = (body ?? {}) as KubeStatus;
          reject(
            new ApiError(
              status,
              st.reason ?? `HTTP${status}`,
              `${method} ${path}: ${status} ${st.message ?? text.slice(0, 300)}`,
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
      const req = this.open('GET', path, { query: { ...query, watch: true }, signal }, 24 * 3600_000);
      // An aborted watch (caller or watchdog) ends cleanly: the caller decides what next.
      const fail = (err: Error) =>
        signal?.aborted
          ? resolvePromise()
          : reject(err instanceof ApiError ? err : new TransportError(`watch ${path}: ${err.message}`));
      req.on('error', fail);
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let st: KubeStatus = {};
            try {
              st = JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeStatus;
            } catch {
              /* not a Status */
            }
            reject(
              new ApiError(
                res.statusCode ?? 0,
                st.reason ?? `HTTP${res.statusCode}`,
                `watch ${path}: ${st.message ?? res.statusCode}`,
              ),
            );
          });
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
              req.destroy(err as Error);
              return;
            }
          }
        });
        res.on('end', () => resolvePromise());
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('aborted')));
      });
      req.end();
    });
  }
}
