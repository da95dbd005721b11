// The webhook's HTTPS server (fastify), with an explicit lifecycle:
//   build → (certificate loads) → ready → serve → shutdown: /readyz fails first, then close (drain).
//
// Routes:
//   POST /mutate            AdmissionReview v1; pods opted in by annotation (the API server's
//                           matchConditions decide who gets here), Deployments and StatefulSets
//   POST /mutate-namespace  the same, for namespaces labelled leader-election/enabled=true
//   GET  /healthz           the process is alive
//   GET  /readyz            503 until a certificate is loaded, and while shutting down
//   GET  /metrics           Prometheus text
//
// Bad input gets a clear answer and nothing else: a body that is not JSON, or not an
// AdmissionReview v1 → 400 with a metav1.Status body; a content type other than
// application/json → 415; an object we do not handle → allowed unchanged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { SecureVersion } from 'node:tls';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Check } from '../../common/check.ts';
import { unredacted, type Logger } from '../../common/logger.ts';
import { PROMETHEUS_CONTENT_TYPE, Registry } from '../../common/metrics.ts';
import { handleAdmission, logDecision } from './handler.ts';
import { WebhookHealth } from './health.ts';
import { webhookMetrics } from './metrics.ts';
import { admissionResponse, clip } from './response.ts';
import { parseAdmissionReview } from './parse.ts';
import { readBodyText } from './body.ts';
import type { CertReloader } from '../tls/cert-reloader.ts';
import type { WebhookConfig } from '../injection/result.ts';

export const ADMISSION_ROUTES = [
  { path: '/mutate', namespaceOptIn: false },
  { path: '/mutate-namespace', namespaceOptIn: true },
] as const;

/** kube-apiserver accepts objects up to 3 MiB; an UPDATE review carries two of them, plus the envelope. */
export const BODY_LIMIT = 4 * 1024 * 1024;
export const TLS_MIN_VERSION: SecureVersion = 'TLSv1.2';
/** Namespaces tracked as metric labels; beyond this, `_other` (label cardinality stays bounded). */
export const MAX_NAMESPACE_LABELS = 1000;

export type WebhookApp = FastifyInstance<HttpsServer, IncomingMessage, ServerResponse, Logger>;

/** A fixed pair (tests, a laptop) or a reloader (production). */
export type CertSource = CertReloader | { cert: string | Buffer; key: string | Buffer };

export interface WebhookServerOptions {
  config: WebhookConfig;
  log: Logger;
  /** Without a source, TLS handshakes fail (fastify.inject still works) and /readyz says so. */
  certs?: CertSource;
  /** Created from `certs` when absent. */
  health?: WebhookHealth;
  registry?: Registry;
  /** Serve /metrics (default true). */
  metrics?: boolean;
  bodyLimit?: number;
}

interface StatusBody {
  apiVersion: 'v1';
  kind: 'Status';
  status: 'Failure';
  code: number;
  reason: string;
  message: string;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
};

/** Error bodies are metav1.Status, which kube-apiserver and kubectl know how to print. */
function statusBody(code: number, message: string): StatusBody {
  return {
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code,
    reason: REASONS[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest'),
    message: clip(message, 2000),
  };
}

function isJsonContentType(header: string | undefined): boolean {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json';
}

function unsupportedMediaType(header: string | undefined): StatusBody {
  return statusBody(415, `content-type must be application/json, not ${JSON.stringify(header ?? '')}`);
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The namespace as a metric label, with bounded cardinality. */
function namespaceLabeller(max: number): (ns: string) => string {
  const seen = new Set<string>();
  return (ns) => {
    if (ns === '') return '';
    if (!NAMESPACE.test(ns)) return '_invalid';
    if (seen.has(ns)) return ns;
    if (seen.size >= max) return '_other';
    seen.add(ns);
    return ns;
  };
}

function isFixedPair(c: CertSource): c is { cert: string | Buffer; key: string | Buffer } {
  return 'cert' in c && 'key' in c;
}

function certLoadedFn(certs: CertSource | undefined): () => boolean {
  if (!certs) return () => false;
  if (isFixedPair(certs)) return () => true;
  return () => certs.ready();
}

/** Builds the fastify instance (not listening yet: call `listen`). */
export function buildWebhookServer(opts: WebhookServerOptions): WebhookApp {
  const { config, log } = opts;
  const health = opts.health ?? new WebhookHealth(certLoadedFn(opts.certs));
  const registry = opts.registry ?? new Registry();
  const metrics = webhookMetrics(registry);
  const nsLabel = namespaceLabeller(MAX_NAMESPACE_LABELS);
  const decisionLog = unredacted(log);
  const bodyLimit = opts.bodyLimit ?? BODY_LIMIT;
  const fixed = opts.certs && isFixedPair(opts.certs) ? opts.certs : undefined;

  const app = Fastify({
    // Without a certificate the server still starts; the reloader sets one with setSecureContext.
    https: { minVersion: TLS_MIN_VERSION, ...(fixed ? { cert: fixed.cert, key: fixed.key } : {}) },
    loggerInstance: log,
    // One line per admission decision is ours to write (handler.ts logDecision).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // While closing, keep answering requests that arrive on open connections: a 503 would
    // fail the API server's request (failurePolicy Fail), it does not retry on 503.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Slow clients cannot hold a request open forever (the API server's timeout is ≤ 30 s).
    requestTimeout: 30_000,
  });

  const certs = opts.certs;
  if (certs && !isFixedPair(certs)) certs.attach(app.server);

  // Our own JSON parser. JSON.parse defines every member as an own property, so a key named
  // `__proto__` or `constructor` is just a key (the code reading objects never merges them
  // into prototypes). fastify's default would refuse such bodies as "not valid JSON", which
  // hides the real answer: kube-apiserver's validation names the bad key. The body is read by
  // readBodyText (body.ts: decoded chunk by chunk, with fastify's limits), parsed once here,
  // and never copied after: the injection reads the parsed object and builds its patch beside it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', (request, payload, done) => {
    readBodyText(payload, bodyLimit, request.headers['content-length']).then(
      (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (err) {
          const e = new Error(`the body is not valid JSON: ${(err as Error).message}`) as FastifyError;
          e.statusCode = 400;
          done(e, undefined);
          return;
        }
        done(null, body);
      },
      (err: FastifyError) => done(err, undefined),
    );
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const code =
      typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500
        ? err.statusCode
        : 500;
    if (code >= 500) request.log.error({ err, url: request.url }, 'request failed');
    else request.log.debug({ err: err.message, code, url: request.url }, 'bad request');
    if (code === 415) return reply.code(415).send(unsupportedMediaType(request.headers['content-type']));
    const message =
      code === 413 ? `the body exceeds ${bodyLimit} bytes` : code < 500 ? err.message : 'internal error';
    return reply.code(code).send(statusBody(code, message));
  });

  app.setNotFoundHandler((request, reply) => {
    // reply is a thenable (it settles when the response is sent): nothing to wait for here.
    void reply
      .code(404)
      .send(statusBody(404, `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`));
  });

  for (const { path, namespaceOptIn } of ADMISSION_ROUTES) {
    app.route({
      method: 'POST',
      url: path,
      onResponse: (_request, reply, done) => {
        metrics.requests.inc({ path, code: String(reply.statusCode) });
        metrics.duration.observe({ path }, reply.elapsedTime / 1000);
        done();
      },
      handler: (request: FastifyRequest, reply: FastifyReply) => {
        if (!isJsonContentType(request.headers['content-type'])) {
          return reply.code(415).send(unsupportedMediaType(request.headers['content-type']));
        }
        const parsed = parseAdmissionReview(request.body);
        if (!parsed.ok) {
          log.warn({ path, err: clip(parsed.error, 500) }, 'malformed AdmissionReview');
          return reply.code(400).send(statusBody(400, `malformed AdmissionReview: ${parsed.error}`));
        }
        const decision = handleAdmission(parsed.request, { config, namespaceOptIn });
        metrics.injections.inc({ namespace: nsLabel(parsed.request.namespace), result: decision.outcome });
        logDecision(decisionLog, parsed.request, decision, { path, ms: reply.elapsedTime });
        return reply.code(200).send(admissionResponse(parsed.request.uid, decision.result));
      },
    });
  }

  const sendCheck = (reply: FastifyReply, c: Check) =>
    reply
      .code(c.ok ? 200 : 503)
      .type('text/plain; charset=utf-8')
      .send(`${c.ok ? 'ok' : 'not ok'}: ${c.reason}\n`);
  app.get('/healthz', (_request, reply) => sendCheck(reply, health.liveness()));
  app.get('/readyz', (_request, reply) => sendCheck(reply, health.readiness()));
  if (opts.metrics !== false) {
    app.get('/metrics', (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(registry.render()));
  }
  return app;
}

/** Graceful shutdown: /readyz fails first, requests go on for `delayMs`, then close and drain. */
export async function closeGracefully(
  app: WebhookApp,
  health: WebhookHealth,
  delayMs: number,
): Promise<void> {
  health.beginShutdown();
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  await app.close();
}
