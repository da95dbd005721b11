import { describe, expect, it } from 'vitest';
import type { V1PodCondition } from '@kubernetes/client-node';
import { conditionPatch, labelPatch, ReadinessWriter } from '../../agent/readiness-writer.ts';
import { ApiError, PATCH, type KubeClient, type RequestOptions } from '../../common/kube/kube-client.ts';
import { silentLogger } from '../../common/logger.ts';
import { fencingCheck } from '../../agent/fencing.ts';
import { TransportError } from '../../common/kube/kube-client.ts';

const now = new Date('2026-11-22T10:00:00Z');

describe('conditionPatch', () => {
  it('writes the leader condition with a new lastTransitionTime when it flips', () => {
    const patch = conditionPatch(undefined, true, now) as { status: { conditions: V1PodCondition[] } };
    expect(patch.status.conditions).toEqual([
      expect.objectContaining({
        type: 'leader-election/leader',
        status: 'True',
        reason: 'LeaseHeld',
        lastTransitionTime: now.toISOString(),
      }),
    ]);
    // Only our condition: a strategic merge keyed by type leaves the kubelet's alone.
    expect(patch.status.conditions).toHaveLength(1);
  });

  it('writes nothing when the pod already shows it', () => {
    const current = {
      type: 'leader-election/leader',
      status: 'False',
      reason: 'LeaseNotHeld',
    } as V1PodCondition;
    expect(conditionPatch(current, false, now)).toBeUndefined();
  });

  it('keeps lastTransitionTime when only the reason changes', () => {
    const earlier = new Date('2026-11-22T09:00:00Z');
    const current = {
      type: 'leader-election/leader',
      status: 'False',
      reason: 'Other',
      lastTransitionTime: earlier,
    } as V1PodCondition;
    const patch = conditionPatch(current, false, now) as { status: { conditions: V1PodCondition[] } };
    expect(patch.status.conditions[0]!.lastTransitionTime).toBe(earlier);
  });
});

describe('labelPatch', () => {
  it('sets the role label, and nothing when it is already right', () => {
    expect(labelPatch({ app: 'x' }, true)).toEqual({
      metadata: { labels: { 'leader-election/role': 'leader' } },
    });
    expect(labelPatch({ 'leader-election/role': 'follower' }, false)).toBeUndefined();
  });
});

describe('ReadinessWriter', () => {
  function fakeClient(failFirst: number) {
    const writes: { path: string; contentType?: string; body: unknown }[] = [];
    let failures = failFirst;
    const client = {
      async get() {
        return { metadata: { labels: {} }, status: { conditions: [] } };
      },
      async request(_method: string, path: string, opts: RequestOptions) {
        if (failures-- > 0) throw new ApiError(500, 'InternalError', 'boom');
        writes.push({ path, contentType: opts.contentType, body: opts.body });
        const cond = (opts.body as { status: { conditions: V1PodCondition[] } }).status.conditions[0];
        return { metadata: {}, status: { conditions: [cond] } };
      },
    };
    // Only get and request are used by the writer.
    return { client: client as unknown as KubeClient, writes };
  }

  it('retries a failed write, patches pods/status by strategic merge, and latest intent wins', async () => {
    const { client, writes } = fakeClient(2);
    const w = new ReadinessWriter(client, {
      namespace: 'ns',
      podName: 'p',
      routing: 'readiness-gate',
      timeoutMs: 100,
      log: silentLogger(),
      backoff: { initialMs: 1, maxMs: 2 },
    });
    const first = w.set(true);
    void w.set(false); // the same loop as `first`, awaited below; set never rejects
    await first;
    expect(w.written).toBe(false);
    expect(
      writes.every(
        (x) => x.path === '/api/v1/namespaces/ns/pods/p/status' && x.contentType === PATCH.strategicMerge,
      ),
    ).toBe(true);
    const statuses = writes.map(
      (x) => (x.body as { status: { conditions: V1PodCondition[] } }).status.conditions[0]!.status,
    );
    expect(statuses.at(-1)).toBe('False');
    // Writing the same value again costs nothing.
    const n = writes.length;
    await w.set(false);
    expect(writes.length).toBe(n);
  });

  // Issue 12, item 1: the API server applies the gate-True patch but its answer is lost (a
  // timeout). Before the fix the agent's fencing read `written` (still false: the last
  // ACKNOWLEDGED value), so /readyz passed as "a follower whose pod shows False" while the
  // pod showed True: with another leader elected, two Ready pods. Seen end to end when the
  // leader pod was frozen right after its True landed.
  it('counts a leader write whose answer is lost, or still in flight, as possibly shown', async () => {
    const applied: string[] = [];
    let answerTrue: 'lose' | 'hang' = 'lose';
    let release: (() => void) | undefined;
    const client = {
      async get() {
        return { metadata: { labels: {} }, status: { conditions: [] } };
      },
      async request(_method: string, _path: string, opts: RequestOptions) {
        const cond = (opts.body as { status: { conditions: V1PodCondition[] } }).status.conditions[0]!;
        applied.push(cond.status); // the API server has it
        if (cond.status === 'True') {
          if (answerTrue === 'hang') await new Promise<void>((r) => (release = r));
          throw new TransportError('request timed out after 100 ms');
        }
        return { metadata: {}, status: { conditions: [cond] } };
      },
    } as unknown as KubeClient;
    const w = new ReadinessWriter(client, {
      namespace: 'ns',
      podName: 'p',
      routing: 'readiness-gate',
      timeoutMs: 100,
      log: silentLogger(),
      backoff: { initialMs: 1, maxMs: 2 },
    });
    const fenced = () =>
      fencingCheck(
        { routing: 'label', leading: false, podMayShowLeader: w.mayShowLeader, followerSince: undefined },
        0,
      );

    await w.set(false);
    expect(w.mayShowLeader).toBe(false);
    expect(fenced().ok).toBe(true);

    // Lost answer: the writer retries; meanwhile leadership ends, and False is acknowledged.
    const leading = w.set(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(applied).toContain('True');
    expect(w.written).toBe(false); // what the old fencing read: it would have passed
    expect(w.mayShowLeader).toBe(true);
    expect(fenced()).toEqual({
      ok: false,
      reason: 'does not hold a valid lease and the pod may still show it as leader',
    });
    void w.set(false); // the same loop as `leading`, awaited below; set never rejects
    await leading;
    expect(applied.at(-1)).toBe('False');
    expect(w.mayShowLeader).toBe(false);
    expect(fenced().ok).toBe(true);

    // In flight: no answer yet.
    answerTrue = 'hang';
    const again = w.set(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(w.written).toBe(false);
    expect(w.mayShowLeader).toBe(true);
    void w.set(false);
    release?.();
    await again;
    expect(w.mayShowLeader).toBe(false);
  });
});
