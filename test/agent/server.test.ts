import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentServer, type AgentView, type LeaderSnapshot } from '../../agent/server.ts';
import type { Check } from '../../common/check.ts';
import { Registry } from '../../common/metrics.ts';

function fakeView() {
  let snap: LeaderSnapshot = {
    leader: null,
    self: 'a',
    isLeader: false,
    leaseName: 'web',
    leaseTransitions: 0,
    since: null,
    stepDown: null,
  };
  const listeners = new Set<(s: LeaderSnapshot) => void>();
  const state = {
    ready: { ok: false, reason: 'follower' } as Check,
    live: { ok: true, reason: 'fine' } as Check,
  };
  const view: AgentView = {
    snapshot: () => snap,
    subscribe: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    readiness: () => state.ready,
    liveness: () => state.live,
  };
  const change = (s: Partial<LeaderSnapshot>) => {
    snap = { ...snap, ...s };
    for (const fn of listeners) fn(snap);
  };
  return { view, state, change, listeners };
}

describe('agent HTTP endpoints', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  async function serve(view: AgentView, registry = new Registry()) {
    const server = createAgentServer(view, registry);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    close = () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('serves /leader as JSON and probes with 200/503', async () => {
    const f = fakeView();
    const url = await serve(f.view);
    expect(await (await fetch(`${url}/leader`)).json()).toEqual(f.view.snapshot());
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    f.state.ready = { ok: true, reason: 'holds the lease' };
    const ok = await fetch(`${url}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('holds the lease');
    f.state.live = { ok: false, reason: 'wedged' };
    expect((await fetch(`${url}/healthz`)).status).toBe(503);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/leader`, { method: 'POST' })).status).toBe(405);
  });

  it('streams every change on /leader/watch as server-sent events', async () => {
    const f = fakeView();
    const url = await serve(f.view);
    const res = await fetch(`${url}/leader/watch`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const events: LeaderSnapshot[] = [];
    let buf = '';
    const readEvent = async () => {
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) return JSON.parse(data.slice(6)) as LeaderSnapshot;
          continue;
        }
        const { value } = await reader.read();
        buf += new TextDecoder().decode(value);
      }
    };
    events.push(await readEvent());
    f.change({ isLeader: true, leader: 'a', leaseTransitions: 1 });
    events.push(await readEvent());
    expect(events.map((e) => e.isLeader)).toEqual([false, true]);
    expect(events[1]!.leaseTransitions).toBe(1);
    await reader.cancel();
    // The subscription ends with the connection.
    for (let i = 0; i < 50 && f.listeners.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(f.listeners.size).toBe(0);
  });

  it('serves Prometheus text on /metrics', async () => {
    const registry = new Registry();
    registry.gauge('leader_election_master_status', 'x').set({ name: 'web' }, 1);
    const url = await serve(fakeView().view, registry);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await res.text()).toContain('leader_election_master_status{name="web"} 1');
  });
});
