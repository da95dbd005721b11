import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { groupPod, handoffTarget, type GroupPod } from '../../agent/handoff.ts';

const pod = (name: string, revision: string, created: number, extra: Partial<GroupPod> = {}): GroupPod => ({
  name,
  leaseName: 'web',
  revision,
  created,
  terminating: false,
  candidate: true,
  ...extra,
});

describe('handoffTarget', () => {
  it('hands over to the oldest ready pod of the newest revision', () => {
    const pods = [
      pod('old-a', 'r1', 1),
      pod('old-b', 'r1', 2),
      pod('new-b', 'r2', 11),
      pod('new-a', 'r2', 10),
    ];
    expect(handoffTarget('old-a', 'web', pods)).toBe('new-a');
  });

  it('waits until a pod of the new revision is a candidate', () => {
    const pods = [pod('old-a', 'r1', 1), pod('new-a', 'r2', 10, { candidate: false })];
    expect(handoffTarget('old-a', 'web', pods)).toBeUndefined();
  });

  it('does nothing when the leader is of the newest revision', () => {
    const pods = [pod('old-a', 'r1', 1), pod('new-a', 'r2', 10), pod('new-b', 'r2', 11)];
    expect(handoffTarget('new-a', 'web', pods)).toBeUndefined();
  });

  it('ignores pods of other groups, terminating pods and pods without a revision', () => {
    const pods = [
      pod('old-a', 'r1', 1),
      pod('other', 'r9', 20, { leaseName: 'db' }),
      pod('dying', 'r2', 21, { terminating: true }),
      pod('bare', '', 22),
    ];
    expect(handoffTarget('old-a', 'web', pods)).toBeUndefined();
  });

  it('never hands over from a pod that has no revision (bare pods)', () => {
    expect(handoffTarget('bare', 'web', [pod('bare', '', 1), pod('new', 'r2', 5)])).toBeUndefined();
  });
});

describe('groupPod', () => {
  const base = (status: V1Pod['status']): V1Pod => ({
    metadata: {
      name: 'web-1',
      creationTimestamp: new Date('2026-11-22T00:00:01Z'),
      labels: { 'controller-revision-hash': 'web-5c9' },
      annotations: { 'leader-election/lease-name': 'web' },
    },
    status,
  });
  // A follower in readiness-gate routing: its agent runs but is not ready (agent/fencing.ts).
  const agent = (running: boolean) =>
    ({
      name: 'leader-election-agent',
      ready: false,
      started: running,
      state: running ? { running: {} } : { waiting: {} },
    }) as never;
  const app = (ready: boolean) => ({ name: 'app', ready, state: { running: {} } }) as never;

  it('reads the revision and lease name; a pod whose agent runs and whose app is ready is a candidate', () => {
    expect(
      groupPod(
        base({ initContainerStatuses: [agent(true)], containerStatuses: [app(true)] }),
        'leader-election-agent',
      ),
    ).toEqual({
      name: 'web-1',
      leaseName: 'web',
      revision: 'web-5c9',
      created: Date.parse('2026-11-22T00:00:01Z'),
      terminating: false,
      candidate: true,
    });
  });

  it('is not a candidate while its app is not ready, or its agent is not running', () => {
    const candidate = (status: V1Pod['status']) => groupPod(base(status), 'leader-election-agent').candidate;
    expect(candidate({ initContainerStatuses: [agent(true)], containerStatuses: [app(false)] })).toBe(false);
    expect(candidate({ initContainerStatuses: [agent(false)], containerStatuses: [app(true)] })).toBe(false);
    expect(candidate({ containerStatuses: [app(true)] })).toBe(false);
  });
});
