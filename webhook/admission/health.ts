// The webhook's health: readiness (a certificate is loaded, not shutting down) and
// liveness, served on a plain-HTTP port for the kubelet's probes and for scrapers.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Check } from '../../common/check.ts';
import { PROMETHEUS_CONTENT_TYPE, type Registry } from '../../common/metrics.ts';

/** Readiness and liveness of the webhook process; main flips it on SIGTERM. */
export class WebhookHealth {
  private stopping = false;
  private readonly certLoaded: () => boolean;

  constructor(certLoaded: () => boolean) {
    this.certLoaded = certLoaded;
  }

  /** /readyz fails from now on; requests are still served until the server closes. */
  beginShutdown(): void {
    this.stopping = true;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  readiness(): Check {
    if (this.stopping) return { ok: false, reason: 'shutting down' };
    if (!this.certLoaded()) return { ok: false, reason: 'no serving certificate loaded yet' };
    return { ok: true, reason: 'serving' };
  }

  liveness(): Check {
    return { ok: true, reason: 'alive' };
  }
}

export interface HealthServerOptions {
  health: WebhookHealth;
  registry?: Registry;
  metrics?: boolean;
}

/**
 * Plain HTTP /healthz, /readyz and /metrics for kubelet probes and scrapers. It answers before
 * any certificate is loaded, when the HTTPS port cannot complete a handshake yet.
 */
export function buildHealthServer(opts: HealthServerOptions): HttpServer {
  return createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    const check = (c: Check) =>
      send(c.ok ? 200 : 503, 'text/plain; charset=utf-8', `${c.ok ? 'ok' : 'not ok'}: ${c.reason}\n`);
    if (path === '/healthz') return check(opts.health.liveness());
    if (path === '/readyz') return check(opts.health.readiness());
    if (path === '/metrics' && opts.metrics !== false && opts.registry) {
      return send(200, PROMETHEUS_CONTENT_TYPE, opts.registry.render());
    }
    return send(404, 'text/plain; charset=utf-8', `no route ${path}; try /healthz, /readyz, /metrics\n`);
  });
}
