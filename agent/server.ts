// The agent's HTTP endpoints (the contract in docs/reference.md):
//   GET /leader        {leader, self, isLeader, leaseName, leaseTransitions, since, stepDown}
//   GET /leader/watch  server-sent events, one `leader` event per change
//   GET /readyz        the fencing probe (see agent/fencing.ts)
//   GET /healthz       fails only if the election loop is wedged
//   GET /metrics       Prometheus text
// node:http rather than a framework: five read-only routes in every pod.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Check } from '../common/check.ts';
import { PROMETHEUS_CONTENT_TYPE, type Registry } from '../common/metrics.ts';

export interface LeaderSnapshot {
  leader: string | null;
  self: string;
  isLeader: boolean;
  leaseName: string;
  leaseTransitions: number;
  since: string | null;
  /**
   * Why this agent left the election for good and no longer takes the Lease (its pod is
   * being deleted); null while it campaigns.
   */
  stepDown: string | null;
}

export interface AgentView {
  snapshot(): LeaderSnapshot;
  /** Calls fn on every change of the snapshot; returns an unsubscribe function. */
  subscribe(fn: (s: LeaderSnapshot) => void): () => void;
  readiness(): Check;
  liveness(): Check;
}

const HEARTBEAT_MS = 15_000;

export function createAgentServer(view: AgentView, registry: Registry): Server {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body) + '\n');
  };
  const check = (res: ServerResponse, c: Check) => {
    res.writeHead(c.ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(`${c.ok ? 'ok' : 'not ok'}: ${c.reason}\n`);
  };
  const watch = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const send = (s: LeaderSnapshot) => res.write(`event: leader\ndata: ${JSON.stringify(s)}\n\n`);
    send(view.snapshot());
    const unsubscribe = view.subscribe(send);
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    req.on('close', () => {
      clearInterval(beat);
      unsubscribe();
    });
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    switch (path) {
      case '/leader':
        return json(res, 200, view.snapshot());
      case '/leader/watch':
        return watch(req, res);
      case '/readyz':
        return check(res, view.readiness());
      case '/healthz':
        return check(res, view.liveness());
      case '/metrics':
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        res.end(registry.render());
        return;
      default:
        json(res, 404, {
          error: `no route ${path}; try /leader, /leader/watch, /readyz, /healthz, /metrics`,
        });
    }
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  return server;
}
