import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { missingInjectionMarks, OwnPodWatcher, podDeletion } from '../../agent/own-pod.ts';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { silentLogger } from '../../common/logger.ts';

const pod = (meta: V1Pod['metadata']): V1Pod => ({ metadata: { name: 'web-0', uid: 'u1', ...meta } });

describe('podDeletion: is this pod going away?', () => {
  it('no, while the pod is there without a deletionTimestamp', () => {
    expect(podDeletion(pod({}), 'u1')).toBeUndefined();
    expect(podDeletion(pod({}), undefined)).toBeUndefined();
  });

  it('yes, once it has a deletionTimestamp, naming the grace period', () => {
    const deleting = pod({ deletionTimestamp: new Date(), deletionGracePeriodSeconds: 30 });
    expect(podDeletion(deleting, 'u1')).toBe('the pod is being deleted (grace period 30s)');
  });

  it('yes, once it is gone', () => {
    expect(podDeletion(undefined, 'u1')).toBe('the pod was deleted');
  });

  it('yes, when the pod of that name is another one (a StatefulSet recreated it)', () => {
    expect(podDeletion(pod({ uid: 'u2' }), 'u1')).toBe('the pod was replaced (another UID)');
    // Without its own UID the agent cannot tell: not a deletion.
    expect(podDeletion(pod({ uid: 'u2' }), undefined)).toBeUndefined();
  });
});

describe('OwnPodWatcher.whenNotReady (the hand-off waits for it before releasing)', () => {
  const readyPod = (ready: boolean): V1Pod => ({
    metadata: { name: 'web-0', uid: 'u1', resourceVersion: '1' },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });

  /** A watcher fed by hand: its list-watch is replaced by the test's pod versions. */
  function fed(): { watcher: OwnPodWatcher; see: (p: V1Pod) => void } {
    const watcher = new OwnPodWatcher({
      client: undefined as unknown as KubeClient, // never used: the test feeds the pod versions
      namespace: 'shop',
      podName: 'web-0',
      podUID: 'u1',
      log: silentLogger(),
      onDeletion: () => {},
    });
    return { watcher, see: (p: V1Pod) => watcher.see(p) };
  }

  it('resolves at once when the pod is not Ready, when it turns not Ready, or at the bound', async () => {
    vi.useFakeTimers();
    try {
      const { watcher, see } = fed();
      expect(await watcher.whenNotReady(3_000)).toBe(true); // never seen: nothing to wait for
      see(readyPod(true));
      const waiting = watcher.whenNotReady(3_000);
      await vi.advanceTimersByTimeAsync(500);
      see(readyPod(false));
      expect(await waiting).toBe(true);
      see(readyPod(true));
      const bounded = watcher.whenNotReady(3_000);
      await vi.advanceTimersByTimeAsync(3_000);
      expect(await bounded).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('missingInjectionMarks (a kubectl debug copy must not campaign)', () => {
  const marked = (): V1Pod => ({
    metadata: {
      name: 'web-0',
      labels: { 'leader-election/injected': 'true' },
      annotations: { 'leader-election/status': 'injected' },
    },
  });
  it('is satisfied by the webhook’s label and annotation, and names what is missing', () => {
    expect(missingInjectionMarks(marked())).toBeUndefined();
    const copy: V1Pod = { metadata: { name: 'web-0-debug' } };
    expect(missingInjectionMarks(copy)).toBe(
      "the pod lacks the injection's label leader-election/injected=true and annotation leader-election/status: injected (a copy, e.g. kubectl debug --copy-to?): not campaigning",
    );
    const noLabel = marked();
    delete noLabel.metadata!.labels;
    expect(missingInjectionMarks(noLabel)).toMatch(
      /lacks the injection's label leader-election\/injected=true \(/,
    );
  });
});
