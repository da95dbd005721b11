// docs/reference.md is generated (node scripts/gen-reference.ts, make docs): it must be
// exactly what the generator writes from the code today, and the endpoints it lists by
// hand must be the ones the servers really serve.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createAgentServer, type AgentView } from '../../agent/server.ts';
import { AGENT_ENV } from '../../agent/config.ts';
import { ANNOTATIONS } from '../../common/contract/annotation-docs.ts';
import { silentLogger } from '../../common/logger.ts';
import { Registry } from '../../common/metrics.ts';
import { WEBHOOK_FLAGS } from '../../webhook/config.ts';
import { buildHealthServer, WebhookHealth } from '../../webhook/admission/health.ts';
import { buildWebhookServer } from '../../webhook/admission/server.ts';
import {
  AGENT_ENDPOINTS,
  REFERENCE_PATH,
  WEBHOOK_ENDPOINTS,
  agentMetrics,
  renderReference,
  webhookMetricFamilies,
} from '../../scripts/gen-reference.ts';

const view: AgentView = {
  snapshot: () => ({
    leader: null,
    self: 'a',
    isLeader: false,
    leaseName: 'web',
    leaseTransitions: 0,
    since: null,
    stepDown: null,
  }),
  subscribe: () => () => {},
  readiness: () => ({ ok: true, reason: 'follower' }),
  liveness: () => ({ ok: true, reason: 'fine' }),
};

/** GET and keep only the status and the first chunk of the body (an SSE stream never ends). */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      res.once('data', (c: Buffer) => {
        resolve({ status: res.statusCode ?? 0, body: c.toString() });
        req.destroy();
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: '' }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('docs/reference.md', () => {
  it('is what scripts/gen-reference.ts generates from the code (run make docs after a change)', async () => {
    const generated = await renderReference();
    const onDisk = readFileSync(REFERENCE_PATH, 'utf8');
    expect(onDisk, 'docs/reference.md is out of date: run `make docs`').toBe(generated);
  });

  it('lists every annotation, agent variable, webhook flag and metric', async () => {
    const page = await renderReference();
    for (const a of ANNOTATIONS) expect(page).toContain(`\`${a.key}\``);
    for (const e of AGENT_ENV) expect(page).toContain(`\`${e.name}\``);
    for (const f of WEBHOOK_FLAGS) expect(page).toContain(`\`--${f.name}\``);
    const metrics = [...agentMetrics(), ...webhookMetricFamilies()].map((m) => m.name);
    expect(metrics).toContain('leader_election_master_status');
    expect(metrics).toContain('webhook_admission_requests_total');
    for (const m of metrics) expect(page).toContain(`\`${m}\``);
  });

  it('documents exactly the agent’s HTTP endpoints', async () => {
    const server = createAgentServer(view, new Registry());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      for (const e of AGENT_ENDPOINTS) {
        expect((await get(port, e.path)).status, `${e.method} ${e.path}`).toBe(200);
      }
      const notFound = await get(port, '/nope');
      expect(notFound.status).toBe(404);
      const listed = /try (.*)"/.exec(notFound.body)?.[1]?.split(', ');
      expect(listed?.sort()).toEqual(AGENT_ENDPOINTS.map((e) => e.path).sort());
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('documents exactly the webhook’s HTTP endpoints', async () => {
    const health = new WebhookHealth(() => true);
    const app = buildWebhookServer({ config: { agentImage: 'a:1' }, log: silentLogger(), health });
    await app.ready();
    try {
      for (const e of WEBHOOK_ENDPOINTS) {
        expect(
          app.hasRoute({ method: e.method as 'GET' | 'POST', url: e.path }),
          `${e.method} ${e.path}`,
        ).toBe(true);
      }
      // printRoutes draws a tree of path segments: rebuild the full paths from the indentation.
      const routes: string[] = [];
      const stack: string[] = [];
      for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
        const m = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
        if (!m) continue;
        const depth = (m[1] ?? '').length / 4;
        stack.length = depth;
        const path = (stack[depth - 1] ?? '') + (m[2] ?? '');
        stack.push(path);
        for (const method of (m[3] ?? '').split(', '))
          if (method !== 'HEAD') routes.push(`${method} ${path}`);
      }
      expect(routes.sort()).toEqual(WEBHOOK_ENDPOINTS.map((e) => `${e.method} ${e.path}`).sort());
    } finally {
      await app.close();
    }
    // The plain-HTTP health port serves the GET endpoints.
    const hs = buildHealthServer({ health, registry: new Registry() });
    await new Promise<void>((r) => hs.listen(0, '127.0.0.1', r));
    const { port } = hs.address() as AddressInfo;
    try {
      for (const e of WEBHOOK_ENDPOINTS.filter((x) => x.method === 'GET')) {
        expect((await get(port, e.path)).status, `health port ${e.path}`).toBe(200);
      }
    } finally {
      hs.closeAllConnections();
      await new Promise((r) => hs.close(r));
    }
  });
});
