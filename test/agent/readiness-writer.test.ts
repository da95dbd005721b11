import { describe, expect, it } from 'vitest';
import type { V1PodCondition } from '@kubernetes/client-node';
import { conditionPatch, labelPatch, ReadinessWriter } from '../../agent/readiness-writer.ts';
import { ApiError, PATCH, type KubeClient, type RequestOptions } from '../../common/kube/kube-client.ts';
import { silentLogger } from '../../common/logger.ts';

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
});
