import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { GroupPod } from '../../agent/handoff.ts';
import { appReady, leaderHealthDecision, type LeaderHealth } from '../../agent/health.ts';

const AGENT = 'leader-election-agent';

const member = (name: string, created: number, extra: Partial<GroupPod> = {}): GroupPod => ({
  name,
  leaseName: 'web',
  revision: 'r1',
  created,
  terminating: false,
  candidate: true,
  ...extra,
});

const base: LeaderHealth = {
  graceMs: 10_000,
  unreadySince: undefined,
  now: 100_000,
  self: 'a',
  leaseName: 'web',
  pods: [member('a', 1), member('c', 3), member('b', 2)],
};

describe('appReady: the app containers, as the kubelet reports them', () => {
  const pod = (statuses: { name: string; ready: boolean }[]): V1Pod => ({
    status: { containerStatuses: statuses.map((s) => ({ ...s, image: 'x', imageID: '', restartCount: 0 })) },
  });
  it('is true only when every container but the agent is ready', () => {
    expect(appReady(pod([{ name: 'app', ready: true }]), AGENT)).toBe(true);
    expect(
      appReady(
        pod([
          { name: 'app', ready: true },
          { name: 'side', ready: false },
        ]),
        AGENT,
      ),
    ).toBe(false);
    // The agent's own readiness (a follower's is false) does not count.
    expect(
      appReady(
        pod([
          { name: 'app', ready: true },
          { name: AGENT, ready: false },
        ]),
        AGENT,
      ),
    ).toBe(true);
    expect(appReady(pod([]), AGENT)).toBe(false);
    expect(appReady(undefined, AGENT)).toBe(false);
  });
});

describe('leaderHealthDecision', () => {
  it('stays while the app is ready, or when health-awareness is off', () => {
    expect(leaderHealthDecision(base)).toEqual({ kind: 'stay' });
    expect(leaderHealthDecision({ ...base, graceMs: 0, unreadySince: 0 })).toEqual({ kind: 'stay' });
  });

  it('waits out the grace, then hands over to the oldest healthy follower', () => {
    expect(leaderHealthDecision({ ...base, unreadySince: 95_000 })).toEqual({ kind: 'recheck', at: 105_000 });
    expect(leaderHealthDecision({ ...base, unreadySince: 90_000 })).toEqual({
      kind: 'hand-over',
      target: 'b',
      reason: 'its app has not been ready for 10s',
    });
  });

  it('never hands over to a follower whose app is not ready, that is terminating, or of another Lease', () => {
    const pods = [
      member('a', 1),
      member('b', 2, { candidate: false }),
      member('c', 3, { terminating: true }),
      member('d', 4, { leaseName: 'other' }),
    ];
    // No healthy follower: the unready leader stays (no flapping between sick pods).
    expect(leaderHealthDecision({ ...base, unreadySince: 0, pods })).toEqual({ kind: 'stay' });
    const healthy = [...pods, member('e', 5)];
    expect(leaderHealthDecision({ ...base, unreadySince: 0, pods: healthy })).toMatchObject({ target: 'e' });
  });
});
