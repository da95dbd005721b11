// Unit tests of the thin Kubernetes client against in-process fake API servers (HTTP and HTTPS on 127.0.0.1).
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  KubeClient,
  PATCH,
  TransportError,
  warningMessages,
  type WatchEvent,
} from '../../../common/kube/kube-client.ts';
import { inClusterConnection, type KubeConnection } from '../../../common/kube/kubeconfig.ts';
import { createCa, issueCert } from '../../../local-cluster/index.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A fake API server: records every request and answers with the current handler. */
class FakeApi {
  readonly seen: Seen[] = [];
  readonly sockets = new Set<Socket>();
  connections = 0;
  handler: Handler = (_req, res) => reply(res, 200, {});
  url = '';
  private readonly server: http.Server;
  private readonly scheme: string;

  constructor(tls?: https.ServerOptions) {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          socket: req.socket,
        });
        this.handler(req, res, body);
      });
    };
    this.scheme = tls ? 'https' : 'http';
    this.server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
    this.server.on('connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `${this.scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Polls (a few ms at a time, bounded) until cond holds. */
async function until(cond: () => boolean, what: string, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const PENDING = 'still pending';

/** p's outcome (its value, or what it rejected with), or PENDING if it has not settled within ms. */
async function within(p: Promise<unknown>, ms: number): Promise<unknown> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise((r) => (t = setTimeout(() => r(PENDING), ms)));
  try {
    return await Promise.race([p.catch((e: unknown) => e), late]);
  } finally {
    clearTimeout(t);
  }
}

const toClose: { close(): void | Promise<void> }[] = [];
afterEach(async () => {
  for (const c of toClose.splice(0).reverse()) await c.close();
});

async function fake(tls?: https.ServerOptions): Promise<FakeApi> {
  const api = await new FakeApi(tls).start();
  toClose.push({ close: () => api.stop() });
  return api;
}

/** A pod's service-account mount whose token file is missing (ca.crt alone). */
function saDirWithoutToken(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kube-client-sa-'));
  writeFileSync(join(dir, 'ca.crt'), 'not used over http');
  toClose.push({ close: () => rmSync(dir, { recursive: true, force: true }) });
  return dir;
}

/** Enough of a pod's environment for inClusterConnection (the server is then replaced). */
const KUBE_ENV = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' };

function client(conn: KubeConnection, opts?: { defaultTimeoutMs?: number; maxSockets?: number }): KubeClient {
  const c = new KubeClient(conn, opts);
  toClose.push(c);
  return c;
}

describe('KubeClient.request', () => {
  it('builds the GET: base path, query without undefined values, accept header, no body headers', async () => {
    const api = await fake();
    api.handler = (_req, res) => reply(res, 200, { kind: 'PodList', items: [{ metadata: { name: 'p' } }] });
    const c = client({ server: `${api.url}/prefix/` });
    const out = await c.get<{ kind: string; items: unknown[] }>('/api/v1/namespaces/ns/pods', {
      query: { labelSelector: 'app=x,tier in (a b)', limit: 5, watch: false, continue: undefined },
    });
    expect(out).toEqual({ kind: 'PodList', items: [{ metadata: { name: 'p' } }] });
    expect(api.seen).toHaveLength(1);
    const r = api.seen[0]!;
    expect(r.method).toBe('GET');
    const url = new URL(r.url, 'http://x');
    expect(url.pathname).toBe('/prefix/api/v1/namespaces/ns/pods');
    expect([...url.searchParams.entries()]).toEqual([
      ['labelSelector', 'app=x,tier in (a b)'],
      ['limit', '5'],
      ['watch', 'false'],
    ]);
    expect(r.headers.accept).toBe('application/json');
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.headers.authorization).toBeUndefined();
    expect(r.body).toBe('');
  });

  it('sends no "?" when every query value is undefined', async () => {
    const api = await fake();
    const c = client({ server: api.url });
    await c.get('/version', { query: { a: undefined } });
    expect(api.seen[0]!.url).toBe('/version');
  });

  it('encodes an object body as JSON with its content type and length', async () => {
    const api = await fake();
    api.handler = (_req, res, body) => reply(res, 201, { ...JSON.parse(body), created: true });
    const c = client({ server: api.url });
    const body = { metadata: { name: 'é-ü' }, spec: { n: 1 } };
    const out = await c.request<Record<string, unknown>>('POST', '/api/v1/things', { body });
    expect(out).toEqual({ ...body, created: true });
    const r = api.seen[0]!;
    expect(r.method).toBe('POST');
    expect(JSON.parse(r.body)).toEqual(body);
    expect(r.headers['content-type']).toBe('application/json');
    // Bytes, not characters: the name has two-byte characters.
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(body))));
    expect(Number(r.headers['content-length'])).toBeGreaterThan(JSON.stringify(body).length);
  });

  it('sends a string body as it is, under the patch content type asked for', async () => {
    const api = await fake();
    const c = client({ server: api.url });
    const patch = '[{"op":"remove","path":"/metadata/labels/x"}]';
    await c.request('PATCH', '/api/v1/namespaces/ns/pods/p', { body: patch, contentType: PATCH.json });
    await c.request('PATCH', '/api/v1/namespaces/ns/pods/p/status', {
      body: { status: {} },
      contentType: PATCH.strategicMerge,
    });
    expect(api.seen.map((r) => [r.method, r.headers['content-type'], r.body])).toEqual([
      ['PATCH', 'application/json-patch+json', patch],
      ['PATCH', 'application/strategic-merge-patch+json', '{"status":{}}'],
    ]);
  });

  it('frames a DELETE body with an explicit content-length', async () => {
    const api = await fake();
    const c = client({ server: api.url });
    await c.request('DELETE', '/api/v1/namespaces/ns/pods/p', { body: { propagationPolicy: 'Background' } });
    const r = api.seen[0]!;
    expect(r.method).toBe('DELETE');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expect(JSON.parse(r.body)).toEqual({ propagationPolicy: 'Background' });
  });

  it('sends the bearer token, read anew for every request, and none when it is empty', async () => {
    const api = await fake();
    const tokens = ['first', 'second', ''];
    const c = client({ server: api.url, token: () => tokens.shift()! });
    await c.get('/a');
    await c.get('/b');
    await c.get('/c');
    expect(api.seen.map((r) => r.headers.authorization)).toEqual([
      'Bearer first',
      'Bearer second',
      undefined,
    ]);
  });

  it('resolves with undefined for an empty 2xx body', async () => {
    const api = await fake();
    api.handler = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    const c = client({ server: api.url });
    await expect(c.request('DELETE', '/x')).resolves.toBeUndefined();
  });

  it('rejects a non-2xx answer with an ApiError carrying the Status reason, code and message', async () => {
    const api = await fake();
    api.handler = (_req, res) =>
      reply(res, 404, {
        kind: 'Status',
        status: 'Failure',
        message: 'pods "p" not found',
        reason: 'NotFound',
        code: 404,
      });
    const c = client({ server: api.url });
    const err = await c.get('/api/v1/namespaces/ns/pods/p').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).not.toBeInstanceOf(TransportError);
    const e = err as ApiError;
    expect(e.name).toBe('ApiError');
    expect(e.status).toBe(404);
    expect(e.reason).toBe('NotFound');
    expect(e.message).toBe('GET /api/v1/namespaces/ns/pods/p: 404 pods "p" not found');
    expect(ApiError.isNotFound(e)).toBe(true);
    expect(ApiError.isConflict(e)).toBe(false);
    expect(ApiError.isAlreadyExists(e)).toBe(false);
  });

  it('tells a 409 Conflict from a 409 AlreadyExists and from a 404', async () => {
    const api = await fake();
    const answers = [
      { code: 409, reason: 'Conflict', message: 'the object has been modified' },
      { code: 409, reason: 'AlreadyExists', message: 'leases "l" already exists' },
    ];
    api.handler = (_req, res) => {
      const a = answers.shift()!;
      reply(res, a.code, { kind: 'Status', status: 'Failure', ...a });
    };
    const c = client({ server: api.url });
    const conflict = await c.request('PUT', '/x', { body: {} }).catch((e: unknown) => e);
    const exists = await c.request('POST', '/x', { body: {} }).catch((e: unknown) => e);
    expect([(conflict as ApiError).status, (conflict as ApiError).reason]).toEqual([409, 'Conflict']);
    expect(ApiError.isConflict(conflict)).toBe(true);
    expect(ApiError.isAlreadyExists(conflict)).toBe(false);
    expect(ApiError.isNotFound(conflict)).toBe(false);
    expect([(exists as ApiError).status, (exists as ApiError).reason]).toEqual([409, 'AlreadyExists']);
    expect(ApiError.isAlreadyExists(exists)).toBe(true);
    expect(ApiError.isConflict(exists)).toBe(false);
    // Only ApiErrors count.
    expect(ApiError.isNotFound(Object.assign(new Error('x'), { status: 404 }))).toBe(false);
    expect(ApiError.isConflict(undefined)).toBe(false);
  });

  it('reports a non-JSON error page with an HTTP<status> reason and the start of its text', async () => {
    const api = await fake();
    const page = `<html>Bad Gateway${'.'.repeat(400)}</html>`;
    api.handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(page);
    };
    const c = client({ server: api.url });
    const err = (await c.get('/x').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(502);
    expect(err.reason).toBe('HTTP502');
    expect(err.message).toBe(`GET /x: 502 ${page.slice(0, 300)}`);
  });

  it('rejects with a TransportError when the connection is refused', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = client({ server: `http://127.0.0.1:${port}` });
    const err = (await c.get('/x').catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.name).toBe('TransportError');
    expect(err.status).toBe(0);
    expect(err.reason).toBe('Transport');
    expect(err.message).toMatch(/^GET \/x: .*ECONNREFUSED/);
    expect(ApiError.isNotFound(err)).toBe(false);
  });

  it('gives up on a server that never answers within the per-request timeout', async () => {
    const api = await fake();
    api.handler = () => {}; // never answers
    const c = client({ server: api.url });
    const started = Date.now();
    const err = (await c.get('/slow', { timeoutMs: 50 }).catch((e: unknown) => e)) as TransportError;
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.reason).toBe('Timeout');
    expect(err.message).toBe('GET /slow: no answer within 50 ms');
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(2_000);
    expect(api.seen).toHaveLength(1);
  });

  it('uses the default timeout given to the constructor', async () => {
    const api = await fake();
    api.handler = () => {};
    const c = client({ server: api.url }, { defaultTimeoutMs: 30 });
    const err = (await c.request('PUT', '/slow', { body: {} }).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.reason).toBe('Timeout');
    expect(err.message).toBe('PUT /slow: no answer within 30 ms');
  });

  it('bounds the whole exchange by the timeout: a server trickling its body cannot stretch it', async () => {
    const api = await fake();
    api.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
      // A byte every 20 ms: never silent for as long as the timeout, never done.
      const drip = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(drip));
    };
    const c = client({ server: api.url });
    const started = Date.now();
    const err = await within(c.get('/trickle', { timeoutMs: 200 }), 4_000);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).reason).toBe('Timeout');
    expect((err as TransportError).message).toBe('GET /trickle: no answer within 200 ms');
    expect(elapsed).toBeGreaterThanOrEqual(190);
    // The connection is dropped, not left dripping.
    await until(() => api.sockets.size === 0, 'the connection to close');
  });

  it('clears its deadline timer on every outcome (no timer left to keep the process alive)', async () => {
    const api = await fake();
    let arrived: () => void = () => {};
    api.handler = (req, res) => {
      arrived();
      if (req.url === '/ok') reply(res, 200, { ok: true });
      else if (req.url === '/missing') reply(res, 404, { kind: 'Status', reason: 'NotFound', code: 404 });
      else if (req.url === '/cut') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"kind":', () => req.socket.destroy());
      } // anything else: never answers
    };
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const refusedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    // Only the global setTimeout/clearTimeout are faked: the sockets' own timers are node-internal.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const c = client({ server: api.url });
      const outcome = async (p: Promise<unknown>, settle?: () => void) => {
        const out = p.catch((e: unknown) => e);
        expect(vi.getTimerCount()).toBe(1); // the deadline is armed while the request runs
        settle?.();
        await out;
        expect(vi.getTimerCount()).toBe(0);
        return out;
      };
      expect(await outcome(c.get('/ok', { timeoutMs: 60_000 }))).toEqual({ ok: true });
      expect(ApiError.isNotFound(await outcome(c.get('/missing', { timeoutMs: 60_000 })))).toBe(true);
      expect(await outcome(c.get('/cut', { timeoutMs: 60_000 }))).toBeInstanceOf(TransportError);

      const refused = client({ server: `http://127.0.0.1:${refusedPort}` });
      expect(await outcome(refused.get('/x', { timeoutMs: 60_000 }))).toBeInstanceOf(TransportError);

      const ac = new AbortController();
      let seen = new Promise<void>((r) => (arrived = r));
      const aborted = c.get('/silent', { timeoutMs: 60_000, signal: ac.signal });
      await seen;
      expect(await outcome(aborted, () => ac.abort())).toBeInstanceOf(TransportError);

      seen = new Promise<void>((r) => (arrived = r));
      const timedOut = c.get('/silent', { timeoutMs: 60_000 });
      await seen;
      const err = (await outcome(timedOut, () => vi.advanceTimersByTime(60_000))) as TransportError;
      expect([err.reason, err.message]).toEqual(['Timeout', 'GET /silent: no answer within 60000 ms']);

      const noToken = client({ ...inClusterConnection(KUBE_ENV, saDirWithoutToken()), server: api.url });
      await expect(noToken.get('/x', { timeoutMs: 60_000 })).rejects.toBeInstanceOf(TransportError);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects with a TransportError, sending nothing, when the bearer token cannot be read', async () => {
    const api = await fake();
    const c = client({ ...inClusterConnection(KUBE_ENV, saDirWithoutToken()), server: api.url });
    const err = (await c.request('PUT', '/x', { body: {} }).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.reason).toBe('Transport');
    expect(err.message).toMatch(/^PUT \/x: could not read the bearer token: ENOENT: .*\/token/);
    expect(api.seen).toHaveLength(0);
  });

  it('rejects with a TransportError when the caller aborts', async () => {
    const api = await fake();
    api.handler = () => {};
    const c = client({ server: api.url });
    const ac = new AbortController();
    const p = c.get('/x', { signal: ac.signal }).catch((e: unknown) => e);
    await until(() => api.seen.length === 1, 'the request');
    ac.abort();
    const err = (await p) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.reason).toBe('Transport');
    expect(err.message).toMatch(/^GET \/x: .*abort/i);
  });

  it('rejects with a TransportError when the connection drops in the middle of the body', async () => {
    const api = await fake();
    api.handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"kind":"Pod",', () => setTimeout(() => req.socket.destroy(), 5));
    };
    const c = client({ server: api.url });
    const err = await c.get('/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).message).toMatch(/^GET \/x: /);
  });

  it('keeps the connection alive between requests and closes it on close()', async () => {
    const api = await fake();
    const c = client({ server: api.url });
    await c.get('/a');
    await c.get('/b');
    await c.request('POST', '/c', { body: {} });
    expect(api.connections).toBe(1);
    expect(new Set(api.seen.map((r) => r.socket)).size).toBe(1);
    const socket = api.seen[0]!.socket;
    expect(socket.destroyed).toBe(false);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    c.close();
    await closed;
    expect(api.sockets.size).toBe(0);
  });

  it('opens no more than maxSockets connections for concurrent requests', async () => {
    const api = await fake();
    // Answers after a few ms, so that concurrent requests overlap.
    api.handler = (_req, res) => void setTimeout(() => reply(res, 200, { ok: true }), 10);
    const one = client({ server: api.url }, { maxSockets: 1 });
    await Promise.all([one.get('/a'), one.get('/b'), one.get('/c')]);
    expect(api.connections).toBe(1);
    const many = client({ server: api.url });
    const out = await Promise.all([many.get('/a'), many.get('/b'), many.get('/c')]);
    expect(out).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(api.connections).toBe(4);
  });
});

describe('KubeClient.watch', () => {
  const ev = (type: string, name: string, rv: string) =>
    JSON.stringify({ type, object: { metadata: { name, resourceVersion: rv } } });

  /** A watch endpoint the test writes to, chunk by chunk. */
  async function streaming() {
    const api = await fake();
    let stream: ServerResponse | undefined;
    api.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      stream = res;
    };
    const write = (chunk: string | Buffer) =>
      new Promise<void>((r) => stream!.write(chunk, () => setTimeout(r, 5)));
    return { api, write, stream: () => stream, opened: () => until(() => stream !== undefined, 'the watch') };
  }

  it('asks for watch=true with the query and decodes newline-delimited events split across chunks', async () => {
    const { api, write, stream, opened } = await streaming();
    const c = client({ server: api.url });
    const events: WatchEvent<{ metadata: { name: string; resourceVersion: string } }>[] = [];
    const done = c.watch(
      '/apis/coordination.k8s.io/v1/namespaces/ns/leases',
      { fieldSelector: 'metadata.name=l', resourceVersion: '7', timeoutSeconds: 300, skip: undefined },
      (e) => events.push(e as (typeof events)[number]),
    );
    await opened();
    const url = new URL(api.seen[0]!.url, 'http://x');
    expect(url.pathname).toBe('/apis/coordination.k8s.io/v1/namespaces/ns/leases');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      fieldSelector: 'metadata.name=l',
      resourceVersion: '7',
      timeoutSeconds: '300',
      watch: 'true',
    });

    const a = ev('ADDED', 'a', '8');
    await write(a.slice(0, 10));
    expect(events).toEqual([]); // half a line is no event
    // The rest of a, a blank line, all of b, and half of c, whose name has a two-byte character
    // cut between its bytes.
    const cBytes = Buffer.from(ev('MODIFIED', 'café', '10') + '\n');
    const cut = cBytes.indexOf(Buffer.from('é')) + 1;
    await write(`${a.slice(10)}\n\n${ev('MODIFIED', 'b', '9')}\n`);
    await write(cBytes.subarray(0, cut));
    await until(() => events.length === 2, 'two events');
    await write(cBytes.subarray(cut));
    await until(() => events.length === 3, 'three events');
    stream()!.end();
    await expect(done).resolves.toBeUndefined();
    expect(events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion])).toEqual([
      ['ADDED', 'a', '8'],
      ['MODIFIED', 'b', '9'],
      ['MODIFIED', 'café', '10'],
    ]);
  });

  it('is not cut by the default request timeout while the stream is quiet', async () => {
    const { api, write, stream, opened } = await streaming();
    const c = client({ server: api.url }, { defaultTimeoutMs: 20 });
    const events: WatchEvent<unknown>[] = [];
    const done = c.watch('/x', {}, (e) => events.push(e));
    await opened();
    await new Promise((r) => setTimeout(r, 80)); // four default timeouts of silence
    await write(ev('ADDED', 'a', '1') + '\n');
    stream()!.end();
    await done;
    expect(events).toHaveLength(1);
  });

  it('sends the bearer token on the watch request', async () => {
    const { api, stream, opened } = await streaming();
    const c = client({ server: api.url, token: () => 'tok' });
    const done = c.watch('/x', undefined, () => {});
    await opened();
    stream()!.end();
    await done;
    expect(api.seen[0]!.headers.authorization).toBe('Bearer tok');
    expect(api.seen[0]!.url).toBe('/x?watch=true');
  });

  it('rejects with an ApiError for a non-2xx answer, with the Status reason or HTTP<status>', async () => {
    const api = await fake();
    const answers: [number, string][] = [
      [
        410,
        JSON.stringify({ kind: 'Status', reason: 'Expired', message: 'too old resource version', code: 410 }),
      ],
      [403, 'forbidden, not JSON'],
    ];
    api.handler = (_req, res) => {
      const [status, text] = answers.shift()!;
      res.writeHead(status);
      res.end(text);
    };
    const c = client({ server: api.url });
    const gone = (await c.watch('/x', {}, () => {}).catch((e: unknown) => e)) as ApiError;
    expect(gone).toBeInstanceOf(ApiError);
    expect([gone.status, gone.reason, gone.message]).toEqual([
      410,
      'Expired',
      'watch /x: too old resource version',
    ]);
    const forbidden = (await c.watch('/x', {}, () => {}).catch((e: unknown) => e)) as ApiError;
    expect([forbidden.status, forbidden.reason, forbidden.message]).toEqual([
      403,
      'HTTP403',
      'watch /x: 403',
    ]);
  });

  it('settles a non-2xx answer whose connection drops before its body ends, keeping the status', async () => {
    const api = await fake();
    api.handler = (req, res) => {
      res.writeHead(410, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"kind":"Status","reason":"Exp', () => req.socket.destroy());
    };
    const c = client({ server: api.url });
    const ac = new AbortController();
    const done = c.watch('/x', {}, () => {}, ac.signal).catch((e: unknown) => e);
    await until(() => api.seen.length === 1 && api.sockets.size === 0, 'the dropped connection');
    const err = await within(done, 3_000);
    ac.abort(); // what list-watch's watchdog would do: too late to change the outcome
    expect(err).toBeInstanceOf(ApiError);
    // The status stands (a 410 makes list-watch list again); the cut body tells nothing more.
    expect([(err as ApiError).status, (err as ApiError).reason]).toEqual([410, 'HTTP410']);
    expect((err as ApiError).message).toMatch(/^watch \/x: 410 \(.*\)$/);
  });

  it('resolves when the caller aborts while a non-2xx body is still coming', async () => {
    const api = await fake();
    api.handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"kind":"Status",');
    };
    const c = client({ server: api.url });
    const ac = new AbortController();
    const done = c.watch('/x', {}, () => {}, ac.signal);
    await until(() => api.seen.length === 1, 'the watch');
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    expect(await within(done, 3_000)).toBeUndefined();
  });

  it('resolves at once, asking nothing, when the signal has already aborted', async () => {
    const api = await fake();
    const c = client({ server: api.url });
    const ac = new AbortController();
    ac.abort();
    expect(
      await within(
        c.watch('/x', {}, () => {}, ac.signal),
        3_000,
      ),
    ).toBeUndefined();
    expect(api.seen).toHaveLength(0);
  });

  it('rejects with a TransportError, sending nothing, when the bearer token cannot be read', async () => {
    const api = await fake();
    const c = client({ ...inClusterConnection(KUBE_ENV, saDirWithoutToken()), server: api.url });
    const err = (await c.watch('/x', {}, () => {}).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toMatch(/^watch \/x: could not read the bearer token: ENOENT: .*\/token/);
    expect(api.seen).toHaveLength(0);
  });

  it('resolves when the caller aborts, after delivering what came before', async () => {
    const { api, write, opened } = await streaming();
    const c = client({ server: api.url });
    const ac = new AbortController();
    const events: WatchEvent<unknown>[] = [];
    const done = c.watch('/x', {}, (e) => events.push(e), ac.signal);
    await opened();
    await write(ev('ADDED', 'a', '1') + '\n');
    await until(() => events.length === 1, 'one event');
    ac.abort();
    await expect(done).resolves.toBeUndefined();
    expect(events).toHaveLength(1);
  });

  it('rejects with a TransportError when the server drops the stream', async () => {
    const { api, write, stream, opened } = await streaming();
    const c = client({ server: api.url });
    const events: WatchEvent<unknown>[] = [];
    const done = c.watch('/x', {}, (e) => events.push(e)).catch((e: unknown) => e);
    await opened();
    await write(ev('ADDED', 'a', '1') + '\n');
    stream()!.socket!.destroy();
    const err = (await done) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toMatch(/^watch \/x: /);
    expect(events).toHaveLength(1);
  });

  it('stops at a line that is not JSON and rejects with a TransportError', async () => {
    const { api, write, opened } = await streaming();
    const c = client({ server: api.url });
    const events: WatchEvent<unknown>[] = [];
    const done = c.watch('/x', {}, (e) => events.push(e)).catch((e: unknown) => e);
    await opened();
    await write(`${ev('ADDED', 'a', '1')}\n{"type":"ADDED"\n${ev('ADDED', 'b', '2')}\n`);
    const err = (await done) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toMatch(/^watch \/x: .*JSON/);
    expect(events).toHaveLength(1);
  });

  it('rejects with the very error the event handler throws (list-watch throws 410 on an ERROR event)', async () => {
    const { api, write, opened } = await streaming();
    const c = client({ server: api.url });
    const thrown = new ApiError(410, 'WatchError', 'gone');
    const done = c
      .watch('/x', {}, (e) => {
        if (e.type === 'ERROR') throw thrown;
      })
      .catch((e: unknown) => e);
    await opened();
    await write(
      JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }) + '\n',
    );
    expect(await done).toBe(thrown);
  });
});

describe('KubeClient over TLS', () => {
  let dir: string;
  let caPem: Buffer;
  let serving: { cert: Buffer; key: Buffer };
  let servingByName: { cert: Buffer; key: Buffer };
  let clientCert: { cert: Buffer; key: Buffer };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-client-test-'));
    const ca = createCa(dir);
    const read = (f: { cert: string; key: string }) => ({
      cert: readFileSync(f.cert),
      key: readFileSync(f.key),
    });
    caPem = readFileSync(ca.cert);
    serving = read(issueCert(dir, ca, 'server', { cn: 'fake-apiserver', sans: ['IP:127.0.0.1'] }));
    servingByName = read(issueCert(dir, ca, 'named', { cn: 'fake-apiserver', sans: ['DNS:api.fake.test'] }));
    clientCert = read(issueCert(dir, ca, 'alice', { cn: 'alice', org: 'team' }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsServer = (s: { cert: Buffer; key: Buffer }) =>
    fake({ ...s, ca: caPem, requestCert: true, rejectUnauthorized: false });

  it('verifies the server against the CA and presents the client certificate', async () => {
    const api = await tlsServer(serving);
    api.handler = (req, res) => {
      const sock = req.socket as TLSSocket;
      reply(res, 200, { authorized: sock.authorized, cn: sock.getPeerCertificate().subject?.CN });
    };
    const c = client({ server: api.url, ca: caPem, ...clientCert, token: () => 't' });
    expect(await c.get('/whoami')).toEqual({ authorized: true, cn: 'alice' });
    expect(api.seen[0]!.headers.authorization).toBe('Bearer t');
  });

  it('refuses a server its CA did not sign, unless told to skip verification', async () => {
    const api = await tlsServer(serving);
    const strict = client({ server: api.url });
    const err = await strict.get('/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).message).toMatch(/^GET \/x: .*certificate/);
    expect(api.seen).toHaveLength(0);
    const lax = client({ server: api.url, insecureSkipTLSVerify: true });
    await expect(lax.get('/x')).resolves.toEqual({});
  });

  it('checks the certificate against tlsServerName, sent as SNI, instead of the host', async () => {
    const api = await tlsServer(servingByName);
    api.handler = (req, res) => reply(res, 200, { sni: (req.socket as TLSSocket).servername });
    const byHost = client({ server: api.url, ca: caPem });
    const err = await byHost.get('/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).message).toMatch(/127\.0\.0\.1/);
    const byName = client({ server: api.url, ca: caPem, tlsServerName: 'api.fake.test' });
    expect(await byName.get('/x')).toEqual({ sni: 'api.fake.test' });
  });
});

describe('warningMessages', () => {
  it('reads the texts of Warning headers, one or many, with escaped quotes', () => {
    expect(warningMessages(undefined)).toEqual([]);
    expect(warningMessages('299 - "Deployment web: maxUnavailable 1 stalls"')).toEqual([
      'Deployment web: maxUnavailable 1 stalls',
    ]);
    expect(warningMessages(['299 - "a, b"', '299 - "say \\"hi\\"", 299 - "second"'])).toEqual([
      'a, b',
      'say "hi"',
      'second',
    ]);
  });
});
