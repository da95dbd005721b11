// Unit tests of the fencing rule: when the agent's pod may be Ready (its /readyz).
import { describe, expect, it } from 'vitest';
import { FOLLOWER_HOLD_MS, fencingCheck } from '../../agent/fencing.ts';

describe('fencingCheck', () => {
  it('readiness-gate routing: ready only while leading, whatever the pod shows', () => {
    // A follower's agent is never ready: the kubelet would compute Ready from a stale cached
    // gate when the agent's readiness flips (see agent/fencing.ts).
    for (const podMayShowLeader of [true, false]) {
      expect(
        fencingCheck(
          { routing: 'readiness-gate', leading: true, podMayShowLeader, followerSince: undefined },
          0,
        ),
      ).toEqual({ ok: true, reason: 'holds the lease' });
      expect(
        fencingCheck(
          { routing: 'readiness-gate', leading: false, podMayShowLeader, followerSince: undefined },
          0,
        ),
      ).toEqual({ ok: false, reason: 'a follower: in readiness-gate routing only the leader is ready' });
    }
  });

  it('passes while the lease is valid, whatever the pod shows', () => {
    for (const podMayShowLeader of [true, false]) {
      expect(
        fencingCheck({ routing: 'label', leading: true, podMayShowLeader, followerSince: undefined }, 0),
      ).toEqual({
        ok: true,
        reason: 'holds the lease',
      });
    }
  });

  it('fails without a valid lease while the pod may still show the leader', () => {
    const c = fencingCheck(
      { routing: 'label', leading: false, podMayShowLeader: true, followerSince: undefined },
      10_000,
    );
    expect(c.ok).toBe(false);
    expect(c.reason).toMatch(/may still show it as leader/);
  });

  it('passes for a follower whose pod shows False', () => {
    expect(
      fencingCheck(
        { routing: 'label', leading: false, podMayShowLeader: false, followerSince: undefined },
        0,
      ),
    ).toEqual({
      ok: true,
      reason: 'follower; the pod shows it',
    });
  });

  it('keeps a pod that just stopped leading unready for the hold, on the monotonic clock', () => {
    const since = 5_000;
    const input = {
      routing: 'label' as const,
      leading: false,
      podMayShowLeader: false,
      followerSince: since,
    };
    expect(fencingCheck(input, since).ok).toBe(false);
    expect(fencingCheck(input, since + FOLLOWER_HOLD_MS - 1)).toEqual({
      ok: false,
      reason: 'stopped leading moments ago',
    });
    expect(fencingCheck(input, since + FOLLOWER_HOLD_MS).ok).toBe(true);
  });
});
