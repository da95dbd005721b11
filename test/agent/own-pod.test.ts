import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podDeletion } from '../../agent/own-pod.ts';

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
