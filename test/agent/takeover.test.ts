import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { previousHolderState, waitPreviousHolderUnready } from '../../agent/takeover.ts';
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';

const pod = (ready: boolean): V1Pod => ({
  metadata: { name: 'web-a' },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

/** A client whose GETs answer from a script, one entry per call (the last one repeats). */
function scripted(answers: (V1Pod | Error)[]): { client: KubeClient; calls: string[] } {
  const calls: string[] = [];
  const client = {
    get: async (path: string) => {
      calls.push(path);
      const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as KubeClient; // only get() is used
  return { client, calls };
}

/** A fake clock: sleep advances it. */
function fakeTime() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe('previousHolderState', () => {
  it('tells a pod still Ready from one that is not, or gone', () => {
    expect(previousHolderState(pod(true))).toBe('still ready');
    expect(previousHolderState(pod(false))).toBe('not ready');
    expect(previousHolderState(undefined)).toBe('gone');
  });

  it('in label routing, counts a Ready pod as serving only with the leader role label', () => {
    const labelled = (role: string | undefined): V1Pod => ({
      ...pod(true),
      metadata: { name: 'web-a', labels: role ? { 'leader-election/role': role } : {} },
    });
    expect(previousHolderState(labelled('leader'), 'label')).toBe('still ready');
    expect(previousHolderState(labelled('follower'), 'label')).toBe('not ready');
    expect(previousHolderState(labelled(undefined), 'label')).toBe('not ready');
    expect(previousHolderState(labelled('follower'), 'readiness-gate')).toBe('still ready');
  });

  it('counts a terminating pod as not serving (the EndpointSlice drops it), whatever its Ready says', () => {
    const terminating: V1Pod = { ...pod(true), metadata: { name: 'web-a', deletionTimestamp: new Date() } };
    expect(previousHolderState(terminating)).toBe('not ready');
  });
});

describe('waitPreviousHolderUnready (break before make after a takeover by expiry)', () => {
  it('returns as soon as the previous holder’s pod is not Ready', async () => {
    const { client, calls } = scripted([pod(true), pod(true), pod(false)]);
    const time = fakeTime();
    expect(await waitPreviousHolderUnready(client, 'shop', 'web-a', 6_000, time)).toBe('not ready');
    expect(calls).toEqual(Array(3).fill('/api/v1/namespaces/shop/pods/web-a'));
    expect(time.now()).toBe(400);
  });

  it('returns at once when the pod is gone (404)', async () => {
    const { client } = scripted([new ApiError(404, 'NotFound', 'pods "web-a" not found')]);
    expect(await waitPreviousHolderUnready(client, 'shop', 'web-a', 6_000, fakeTime())).toBe('gone');
  });

  it('gives up at the bound (a dead node reports nothing), and does not end early on read errors', async () => {
    const { client, calls } = scripted([new ApiError(0, 'Timeout', 'no answer'), pod(true)]);
    const time = fakeTime();
    expect(await waitPreviousHolderUnready(client, 'shop', 'web-a', 1_000, time)).toBe('still ready');
    expect(time.now()).toBe(1_000);
    expect(calls.length).toBe(6);
  });
});
