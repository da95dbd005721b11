// Unit tests of the pure election state machine. Time is injected: `now` is a
// fake monotonic clock in ms, `wall` a Date used only for the record's stamps.
import { describe, expect, it } from 'vitest';
import {
  formatMicroTime,
  initialState,
  isLeader,
  leaderIdentity,
  leaseValidUntil,
  nextAction,
  nextRenewDue,
  observe,
  onHolderAttestedGone,
  RENEW_PHASE,
  onReadFailed,
  onWriteConflict,
  onWriteFailed,
  onWriteSucceeded,
  releaseRecord,
  sameTerm,
  validateTimings,
  type Action,
  type ElectionState,
  type LeaseRecord,
  type Timings,
  type Written,
} from '../../../common/election/election.ts';

// client-go's defaults.
const T: Timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const WALL = new Date('2026-11-22T01:02:03.123Z');
const STAMP = '2026-11-22T01:02:03.123000Z';

function other(patch: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    holderIdentity: 'other',
    leaseDurationSeconds: 15,
    acquireTime: '2026-11-22T00:00:00.000000Z',
    renewTime: '2026-11-22T00:59:00.000000Z',
    leaseTransitions: 4,
    ...patch,
  };
}

function expectKind<K extends Action['kind']>(a: Action, kind: K): Extract<Action, { kind: K }> {
  expect(a.kind).toBe(kind);
  return a as Extract<Action, { kind: K }>;
}

/** Performs the action's write as if the server applied it, with resourceVersion `rv`. */
function succeed(s: ElectionState, a: Action, sentAt: number, rv: string): ElectionState {
  if (a.kind !== 'create' && a.kind !== 'acquire' && a.kind !== 'renew')
    throw new Error(`not a write: ${a.kind}`);
  return onWriteSucceeded(s, sentAt, { record: a.record, resourceVersion: rv });
}

/** A state that leads since `sentAt` (created the Lease then). */
function leaderSince(sentAt: number): ElectionState {
  let s = observe(initialState('me', T), 'absent', sentAt);
  s = succeed(s, nextAction(s, sentAt, WALL), sentAt, '10');
  return s;
}

describe('formatMicroTime', () => {
  it('writes UTC with exactly 6 fractional digits', () => {
    expect(formatMicroTime(WALL)).toBe(STAMP);
    expect(formatMicroTime(new Date('2026-11-22T03:02:03.007+02:00'))).toBe('2026-11-22T01:02:03.007000Z');
  });

  it('keeps 6 digits for a date with 0 ms', () => {
    expect(formatMicroTime(new Date(0))).toBe('1970-01-01T00:00:00.000000Z');
    expect(formatMicroTime(new Date('2026-01-01T00:00:00Z'))).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
    );
  });
});

describe('validateTimings', () => {
  it('accepts client-go defaults', () => {
    expect(validateTimings(T)).toBeUndefined();
    expect(
      validateTimings({ leaseDurationMs: 2_000, renewDeadlineMs: 1_201, retryPeriodMs: 1_000 }),
    ).toBeUndefined();
  });

  it.each([
    [{ ...T, retryPeriodMs: 999 }, 'retryPeriodMs must be at least 1000 ms (got 999)'],
    [{ ...T, renewDeadlineMs: 0 }, 'renewDeadlineMs must be at least 1000 ms (got 0)'],
    [{ ...T, leaseDurationMs: Number.NaN }, 'leaseDurationMs must be at least 1000 ms (got NaN)'],
    [{ ...T, renewDeadlineMs: 2 ** 31 }, `renewDeadlineMs must be at most 24h (got ${2 ** 31} ms)`],
    [{ ...T, leaseDurationMs: 15_500 }, 'leaseDurationMs must be a whole number of seconds'],
    [
      { ...T, leaseDurationMs: 10_000 },
      'leaseDurationMs (10000) must be greater than renewDeadlineMs (10000)',
    ],
    [{ ...T, leaseDurationMs: 9_000 }, 'leaseDurationMs (9000) must be greater than renewDeadlineMs (10000)'],
    // Exactly 1.2 × is not enough; 1.2 × 3000 must not suffer from 3599.999….
    [
      { ...T, renewDeadlineMs: 3_600, retryPeriodMs: 3_000 },
      'renewDeadlineMs (3600) must be greater than 1.2 × retryPeriodMs (3000 × 1.2 = 3600)',
    ],
    [
      { ...T, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 },
      'renewDeadlineMs (2000) must be greater than 1.2',
    ],
  ])('rejects %o', (t, message) => {
    expect(validateTimings(t)).toContain(message);
  });

  it('accepts a renew deadline just above 1.2 × retry period', () => {
    expect(validateTimings({ ...T, renewDeadlineMs: 3_601, retryPeriodMs: 3_000 })).toBeUndefined();
  });

  it('makes initialState throw, and refuses an empty identity', () => {
    expect(() => initialState('me', { ...T, leaseDurationMs: 5_000 })).toThrow(
      'leaseDurationMs (5000) must be greater than renewDeadlineMs (10000)',
    );
    expect(() => initialState('', T)).toThrow(/identity/);
  });
});

describe('getting and creating', () => {
  it('starts by reading the Lease, and is not leader', () => {
    const s = initialState('me', T);
    expect(nextAction(s, 0, WALL)).toEqual({ kind: 'get' });
    expect(isLeader(s, 0)).toBe(false);
    expect(leaderIdentity(s, 0)).toBeUndefined();
    expect(releaseRecord(s, WALL)).toBeUndefined();
  });

  it('creates the Lease when absent, then leads', () => {
    let s = observe(initialState('me', T), 'absent', 100);
    const a = nextAction(s, 100, WALL);
    expect(a).toEqual({
      kind: 'create',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTime: STAMP,
        renewTime: STAMP,
        leaseTransitions: 0,
      },
    });
    expect(isLeader(s, 100)).toBe(false);
    s = succeed(s, a, 100, '1');
    expect(isLeader(s, 100)).toBe(true);
    expect(leaderIdentity(s, 100)).toBe('me');
    expect(leaseValidUntil(s)).toBe(10_100);
  });

  it('retries a failed GET after a retry period', () => {
    const s = onReadFailed(initialState('me', T), 500);
    expect(nextAction(s, 500, WALL)).toEqual({ kind: 'wait', untilMonotonic: 2_500 });
    expect(nextAction(s, 2_499, WALL).kind).toBe('wait');
    expect(nextAction(s, 2_500, WALL)).toEqual({ kind: 'get' });
  });

  it('retries a failed create (5xx) after a retry period', () => {
    let s = observe(initialState('me', T), 'absent', 0);
    s = onWriteFailed(s, 0);
    expect(isLeader(s, 0)).toBe(false);
    expect(nextAction(s, 1_999, WALL)).toEqual({ kind: 'wait', untilMonotonic: 2_000 });
    expect(nextAction(s, 2_000, WALL).kind).toBe('create');
  });

  it('on 409 to a create: not leader, reads again at once, writes no sooner than a retry period', () => {
    let s = observe(initialState('me', T), 'absent', 0);
    s = onWriteConflict(s, 0);
    expect(isLeader(s, 0)).toBe(false);
    expect(nextAction(s, 0, WALL)).toEqual({ kind: 'get' });
    // Someone else created it and released it at once: acquirable, but not in a tight loop.
    s = observe(
      s,
      { record: other({ holderIdentity: '', leaseDurationSeconds: 1 }), resourceVersion: '7' },
      5,
    );
    expect(nextAction(s, 5, WALL)).toEqual({ kind: 'wait', untilMonotonic: 2_000 });
    expect(nextAction(s, 2_000, WALL).kind).toBe('acquire');
  });
});

describe('following', () => {
  it('waits exactly a full lease duration from its first observation', () => {
    const s = observe(initialState('me', T), { record: other(), resourceVersion: '5' }, 1_000);
    expect(nextAction(s, 1_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 16_000 });
    expect(nextAction(s, 15_999, WALL).kind).toBe('wait');
    expect(leaderIdentity(s, 15_999)).toBe('other');
    expect(isLeader(s, 15_999)).toBe(false);
    expect(nextAction(s, 16_000, WALL).kind).toBe('acquire');
    expect(leaderIdentity(s, 16_000)).toBeUndefined();
  });

  it.each([
    ['far-future', '2999-01-01T00:00:00.000000Z'],
    ['far-past', '1970-01-01T00:00:00.000000Z'],
    ['missing', undefined],
  ])('ignores the value of a %s renewTime', (_name, renewTime) => {
    const s = observe(initialState('me', T), { record: other({ renewTime }), resourceVersion: '5' }, 1_000);
    expect(nextAction(s, 1_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 16_000 });
    expect(nextAction(s, 16_000, WALL).kind).toBe('acquire');
  });

  it("counts the RECORD's leaseDurationSeconds, not ours", () => {
    const s = observe(
      initialState('me', T),
      { record: other({ leaseDurationSeconds: 60 }), resourceVersion: '5' },
      0,
    );
    expect(nextAction(s, 0, WALL)).toEqual({ kind: 'wait', untilMonotonic: 60_000 });
  });

  it.each<[string, Partial<LeaseRecord>]>([
    ['holderIdentity', { holderIdentity: 'third' }],
    ['leaseDurationSeconds', { leaseDurationSeconds: 20 }],
    ['acquireTime', { acquireTime: '2026-11-22T00:00:01.000000Z' }],
    ['renewTime', { renewTime: '2026-11-22T00:59:02.000000Z' }],
    ['leaseTransitions', { leaseTransitions: 5 }],
  ])('restarts the countdown when %s changes', (_field, patch) => {
    let s = observe(initialState('me', T), { record: other(), resourceVersion: '5' }, 0);
    s = observe(s, { record: other(patch), resourceVersion: '6' }, 9_000);
    const seconds = patch.leaseDurationSeconds ?? 15;
    expect(nextAction(s, 9_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 9_000 + seconds * 1000 });
  });

  it('keeps the countdown for an identical record, but takes its newer resourceVersion', () => {
    let s = observe(initialState('me', T), { record: other(), resourceVersion: '5' }, 0);
    s = observe(s, { record: other(), resourceVersion: '6' }, 9_000); // e.g. a label edit
    expect(nextAction(s, 9_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 15_000 });
    expect(expectKind(nextAction(s, 15_000, WALL), 'acquire').resourceVersion).toBe('6');
  });

  it('ignores a late watch event with an older resourceVersion', () => {
    let s = observe(
      initialState('me', T),
      { record: other({ renewTime: 'new' }), resourceVersion: '12' },
      5_000,
    );
    s = observe(s, { record: other({ renewTime: 'old' }), resourceVersion: '9' }, 6_000);
    expect(nextAction(s, 6_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 20_000 });
    expect(expectKind(nextAction(s, 20_000, WALL), 'acquire').resourceVersion).toBe('12');
  });

  it('acquires an expired lease: transitions + 1, fresh acquireTime, our duration', () => {
    const s = observe(
      initialState('me', T),
      { record: other({ leaseDurationSeconds: 30 }), resourceVersion: '5' },
      0,
    );
    expect(nextAction(s, 30_000, WALL)).toEqual({
      kind: 'acquire',
      resourceVersion: '5',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTime: STAMP,
        renewTime: STAMP,
        leaseTransitions: 5,
      },
    });
  });

  it('acquires a released lease at once, still counting a transition', () => {
    const released = other({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 7 });
    let s = observe(initialState('me', T), { record: released, resourceVersion: '8' }, 500);
    expect(leaderIdentity(s, 500)).toBeUndefined();
    const a = expectKind(nextAction(s, 500, WALL), 'acquire');
    expect(a.record).toMatchObject({ holderIdentity: 'me', leaseTransitions: 8, acquireTime: STAMP });
    expect(a.resourceVersion).toBe('8');
    s = succeed(s, a, 500, '9');
    expect(isLeader(s, 500)).toBe(true);
  });

  it('loses the race for an expired lease on 409, and reads again', () => {
    let s = observe(initialState('me', T), { record: other(), resourceVersion: '5' }, 0);
    const a = nextAction(s, 15_000, WALL);
    expect(a.kind).toBe('acquire');
    s = onWriteConflict(s, 15_000);
    expect(isLeader(s, 15_000)).toBe(false);
    expect(nextAction(s, 15_000, WALL)).toEqual({ kind: 'get' });
    s = observe(
      s,
      { record: other({ holderIdentity: 'winner', leaseTransitions: 5 }), resourceVersion: '6' },
      15_010,
    );
    expect(leaderIdentity(s, 15_010)).toBe('winner');
    expect(nextAction(s, 15_010, WALL)).toEqual({ kind: 'wait', untilMonotonic: 30_010 });
  });
});

// Issue 13, item 4: a restarted agent, and another pod of the same name. client-go takes any
// record naming its identity as its own; two pods may share a name (a StatefulSet pod recreated
// while the old one still runs after a forced deletion, a kubectl debug copy), and would then both
// lead. The record carries the writer's instance, `<pod UID>/<process token>`.
describe('records naming our identity, by instance', () => {
  const mine = (holderInstance?: string): LeaseRecord =>
    other({ holderIdentity: 'me', ...(holderInstance ? { holderInstance } : {}) });
  const fresh = (record: LeaseRecord) =>
    observe(initialState('me', T, 'pod-1/new'), { record, resourceVersion: '5' }, 1_000);

  it('takes back at once a record of an earlier run of this pod (its process is gone)', () => {
    const a = expectKind(nextAction(fresh(mine('pod-1/old')), 1_000, WALL), 'renew');
    expect(a.record).toMatchObject({
      holderIdentity: 'me',
      holderInstance: 'pod-1/new',
      leaseTransitions: 4,
    });
  });

  it("waits a full lease duration for another pod's record of our name, then takes it over", () => {
    for (const s of [fresh(mine('pod-2/x')), fresh(mine(undefined))]) {
      expect(nextAction(s, 1_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 16_000 });
      expect(isLeader(s, 1_000)).toBe(false);
      expect(releaseRecord(s, WALL)).toBeUndefined(); // not ours to release either
      const a = expectKind(nextAction(s, 16_000, WALL), 'acquire');
      expect(a.record).toMatchObject({
        holderIdentity: 'me',
        holderInstance: 'pod-1/new',
        leaseTransitions: 5,
      });
    }
  });

  it('stops leading when another pod of our name writes the Lease', () => {
    let s = observe(initialState('me', T, 'pod-1/a'), 'absent', 0);
    s = succeed(s, nextAction(s, 0, WALL), 0, '10');
    expect(isLeader(s, 100)).toBe(true);
    s = observe(s, { record: mine('pod-2/b'), resourceVersion: '11' }, 200);
    expect(isLeader(s, 200)).toBe(false);
  });

  it("without an instance of its own, client-go's rule: every record naming us is ours", () => {
    const s = observe(initialState('me', T), { record: mine('pod-2/x'), resourceVersion: '5' }, 1_000);
    expect(nextAction(s, 1_000, WALL).kind).toBe('renew');
  });
});

// Issue 13, item 3: kubelet attestation. The holder's kubelet proved the writer of one record
// dead (agent/attestation.ts): that exact record may be taken before it expires; a newer one
// (a restarted agent's renew) may not.
describe('kubelet attestation', () => {
  const held = observe(initialState('me', T, 'pod-1/a'), { record: other(), resourceVersion: '5' }, 1_000);

  it('takes the attested record at once, with its resourceVersion', () => {
    expect(nextAction(held, 2_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 16_000 });
    const s = onHolderAttestedGone(held, '5');
    const a = expectKind(nextAction(s, 2_000, WALL), 'acquire');
    expect(a.resourceVersion).toBe('5');
    expect(a.record).toMatchObject({ holderIdentity: 'me', leaseTransitions: 5 });
  });

  it('lapses when a newer record arrives (the writer restarted and renewed), and ignores older ones', () => {
    const s = observe(
      onHolderAttestedGone(held, '5'),
      { record: other({ renewTime: 'later' }), resourceVersion: '6' },
      2_000,
    );
    expect(nextAction(s, 2_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 17_000 });
    // An attestation about a record we no longer hold as current changes nothing.
    expect(onHolderAttestedGone(s, '5')).toBe(s);
  });

  it('never applies to our own record, a released one, or an unknown Lease', () => {
    const own = observe(
      initialState('me', T, 'pod-1/a'),
      { record: other({ holderIdentity: 'me', holderInstance: 'pod-1/old' }), resourceVersion: '7' },
      0,
    );
    expect(onHolderAttestedGone(own, '7')).toBe(own);
    const released = observe(
      initialState('me', T),
      { record: other({ holderIdentity: '', preferredHolder: 'x' }), resourceVersion: '8' },
      0,
    );
    expect(onHolderAttestedGone(released, '8')).toBe(released);
    const unknown = initialState('me', T);
    expect(onHolderAttestedGone(unknown, '8')).toBe(unknown);
  });

  it('still waits a retry period after its last write', () => {
    let s = onWriteConflict(held, 1_500);
    s = observe(s, { record: other(), resourceVersion: '5' }, 1_600);
    s = onHolderAttestedGone(s, '5');
    expect(nextAction(s, 1_600, WALL)).toEqual({ kind: 'wait', untilMonotonic: 3_500 });
    expect(nextAction(s, 3_500, WALL).kind).toBe('acquire');
  });
});

// Kubelet attestation proves a crash only in a later whole second than the last renew
// (agent/attestation.ts): agents send renews late in a wall-clock second.
describe('renews aligned to the wall-clock second (alignRenews)', () => {
  /** The wall clock running with the monotonic one, from 01:02:03.123 at now = 0. */
  const wallAt = (now: number) => new Date(WALL.getTime() + now);
  const leading = (timings: Timings, align = true) => {
    let s = observe(initialState('me', timings, 'pod-1/a', { alignRenews: align }), 'absent', 0);
    s = succeed(s, nextAction(s, 0, wallAt(0)), 0, '1');
    return s;
  };

  it('delays a renew due early in a second to the phase, and renews there', () => {
    const s = leading(T);
    // Due at 2000 (wall .123): moved to wall .900.
    expect(nextAction(s, 2_000, wallAt(2_000))).toEqual({ kind: 'wait', untilMonotonic: 2_777 });
    expect(nextAction(s, 2_777, wallAt(2_777)).kind).toBe('renew');
    expect((2_777 + 123) % 1000).toBe(RENEW_PHASE.targetMs);
    // Once aligned, renews are due in the phase: no further delay, the cadence is the retry period.
    const next = succeed(s, nextAction(s, 2_777, wallAt(2_777)), 2_777, '2');
    expect(nextAction(next, 4_000, wallAt(4_000))).toEqual({ kind: 'wait', untilMonotonic: 4_777 });
    expect(nextAction(next, 4_777, wallAt(4_777)).kind).toBe('renew');
  });

  it('renews as due when unaligned (client-go), when a retry period would no longer fit, or after a failed write', () => {
    expect(nextAction(leading(T, false), 2_000, wallAt(2_000)).kind).toBe('renew');
    // 4s/3s/2s: delayed past 2000 it would leave less than a retry period before the deadline.
    expect(
      nextAction(
        leading({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 2_000 }),
        2_000,
        wallAt(2_000),
      ).kind,
    ).toBe('renew');
    // A renew failed at 2500: the retry goes out at 4500 (wall .623), not at the phase (4777).
    const failed = onWriteFailed(leading(T), 2_500);
    expect(nextAction(failed, 4_500, wallAt(4_500)).kind).toBe('renew');
  });

  it('never delays an acquire', () => {
    const s = observe(
      initialState('me', T, 'pod-1/a', { alignRenews: true }),
      { record: other({ holderIdentity: '' }), resourceVersion: '5' },
      0,
    );
    expect(nextAction(s, 0, wallAt(0)).kind).toBe('acquire');
  });
});

describe('leading', () => {
  it('renews every retry period after the last renew started, keeping acquireTime and transitions', () => {
    // We held it before (e.g. acquired as transition 4) with another duration.
    const held: LeaseRecord = { ...other({ holderIdentity: 'me', leaseDurationSeconds: 30 }) };
    let s = observe(initialState('me', T), { record: held, resourceVersion: '5' }, 0);
    let a = expectKind(nextAction(s, 0, WALL), 'renew');
    s = succeed(s, a, 0, '6');
    expect(nextRenewDue(s)).toBe(2_000);
    expect(nextAction(s, 1_999, WALL)).toEqual({ kind: 'wait', untilMonotonic: 2_000 });

    const later = new Date(WALL.getTime() + 2_000);
    a = expectKind(nextAction(s, 2_000, later), 'renew');
    expect(a).toEqual({
      kind: 'renew',
      resourceVersion: '6',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTime: held.acquireTime,
        renewTime: '2026-11-22T01:02:05.123000Z',
        leaseTransitions: 4,
      },
    });
    s = succeed(s, a, 2_000, '7');
    expect(leaseValidUntil(s)).toBe(12_000);
    expect(nextRenewDue(s)).toBe(4_000);
  });

  it('is not leader on a self-held record until its own renew succeeds (restart)', () => {
    const s = observe(
      initialState('me', T),
      { record: other({ holderIdentity: 'me' }), resourceVersion: '5' },
      0,
    );
    expect(isLeader(s, 0)).toBe(false);
    expect(leaderIdentity(s, 0)).toBeUndefined();
    expect(leaseValidUntil(s)).toBeUndefined();
    expect(nextRenewDue(s)).toBeUndefined();
    expect(nextAction(s, 0, WALL).kind).toBe('renew');
  });

  it('stays leader when the watch echoes its own write', () => {
    let s = leaderSince(0);
    const echo = s.observed as { record: LeaseRecord; resourceVersion: string };
    s = observe(s, { record: echo.record, resourceVersion: echo.resourceVersion }, 50);
    expect(isLeader(s, 50)).toBe(true);
    expect(leaseValidUntil(s)).toBe(10_000);
    expect(nextRenewDue(s)).toBe(2_000);
  });

  it('on 409 to a renew: not leader at once, next action is a GET', () => {
    let s = leaderSince(0);
    expect(nextAction(s, 2_000, WALL).kind).toBe('renew');
    s = onWriteConflict(s, 2_000);
    expect(isLeader(s, 2_000)).toBe(false);
    expect(leaseValidUntil(s)).toBeUndefined();
    expect(nextAction(s, 2_000, WALL)).toEqual({ kind: 'get' });
    s = observe(s, { record: other(), resourceVersion: '20' }, 2_010);
    expect(leaderIdentity(s, 2_010)).toBe('other');
    expect(nextAction(s, 2_010, WALL)).toEqual({ kind: 'wait', untilMonotonic: 17_010 });
  });

  it('stays leader through failed renews until the renew deadline, not a moment longer', () => {
    let s = leaderSince(0);
    // A follower that saw our create at once could take over at 15_000 at the earliest.
    const follower = observe(
      initialState('other', T),
      { record: (s.observed as Written).record, resourceVersion: '10' },
      0,
    );
    for (const t of [2_000, 4_000, 6_000, 8_000]) {
      expect(nextAction(s, t - 1, WALL)).toEqual({ kind: 'wait', untilMonotonic: t });
      expect(nextAction(s, t, WALL).kind).toBe('renew');
      s = onWriteFailed(s, t);
      expect(isLeader(s, t)).toBe(true);
    }
    expect(leaseValidUntil(s)).toBe(10_000);
    expect(isLeader(s, 9_999)).toBe(true);
    expect(isLeader(s, 10_000)).toBe(false);
    expect(isLeader(s, 10_001)).toBe(false);
    expect(leaderIdentity(s, 10_000)).toBeUndefined();
    expect(nextAction(follower, 10_000, WALL).kind).toBe('wait');
    expect(nextAction(follower, 15_000, WALL).kind).toBe('acquire');
    // Retries go on; one that succeeds makes us leader again.
    const a = nextAction(s, 10_000, WALL);
    expect(a.kind).toBe('renew');
    s = succeed(s, a, 10_000, '11');
    expect(isLeader(s, 10_000)).toBe(true);
    expect(leaseValidUntil(s)).toBe(20_000);
  });

  it('counts leadership from when a renew was SENT, not when it answered', () => {
    let s = leaderSince(0);
    const a = nextAction(s, 2_000, WALL);
    s = succeed(s, a, 2_000, '11'); // answered at, say, 7_000
    expect(isLeader(s, 11_999)).toBe(true);
    expect(isLeader(s, 12_000)).toBe(false);
  });

  it('a renew applied but unanswered (timeout) then 409 leads back through GET and renew', () => {
    let s = leaderSince(0);
    const lost = expectKind(nextAction(s, 2_000, WALL), 'renew');
    s = onWriteFailed(s, 2_000); // the server applied it as resourceVersion 11
    expect(expectKind(nextAction(s, 4_000, WALL), 'renew').resourceVersion).toBe('10');
    s = onWriteConflict(s, 4_000);
    expect(isLeader(s, 4_000)).toBe(false);
    expect(nextAction(s, 4_000, WALL)).toEqual({ kind: 'get' });
    s = observe(s, { record: lost.record, resourceVersion: '11' }, 4_010);
    expect(isLeader(s, 4_010)).toBe(false); // the 409 ended it; only a renew brings it back
    const again = expectKind(nextAction(s, 6_000, WALL), 'renew');
    expect(again.resourceVersion).toBe('11');
    expect(again.record.leaseTransitions).toBe(0);
    s = succeed(s, again, 6_000, '12');
    expect(isLeader(s, 6_000)).toBe(true);
  });

  it('after a pause longer than the lease duration, is not leader until a renew succeeds', () => {
    let s = leaderSince(0);
    s = succeed(s, nextAction(s, 2_000, WALL), 2_000, '11');
    // SIGSTOP at 2_001, SIGCONT at 40_000: only `now` shows it.
    expect(isLeader(s, 40_000)).toBe(false);
    expect(leaderIdentity(s, 40_000)).toBeUndefined();
    const a = nextAction(s, 40_000, WALL);
    expect(a.kind).toBe('renew');

    // Either someone took over (409 → follower)…
    const lost = onWriteConflict(s, 40_000);
    expect(isLeader(lost, 40_010)).toBe(false);
    expect(nextAction(lost, 40_000, WALL)).toEqual({ kind: 'get' });
    // …or nobody did, and the renew makes us leader again.
    const kept = succeed(s, a, 40_000, '12');
    expect(isLeader(kept, 40_000)).toBe(true);
    expect(leaseValidUntil(kept)).toBe(50_000);
  });

  it('stops leading at once on seeing another holder, or the Lease deleted', () => {
    const s = leaderSince(0);
    const taken = observe(s, { record: other(), resourceVersion: '30' }, 1_000);
    expect(isLeader(taken, 1_000)).toBe(false);
    expect(leaseValidUntil(taken)).toBeUndefined();
    expect(leaderIdentity(taken, 1_000)).toBe('other');
    expect(nextAction(taken, 1_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 16_000 });

    const deleted = observe(s, 'absent', 1_000);
    expect(isLeader(deleted, 1_000)).toBe(false);
    expect(nextAction(deleted, 1_000, WALL)).toEqual({ kind: 'wait', untilMonotonic: 2_000 });
    expect(nextAction(deleted, 2_000, WALL).kind).toBe('create');
  });
});

describe('hand-off (release reserved for a preferred holder)', () => {
  const released = (preferredHolder: string): LeaseRecord =>
    other({ holderIdentity: '', leaseDurationSeconds: 1, preferredHolder });

  it('the preferred holder acquires at once; the transitions count goes up', () => {
    const s = observe(initialState('me', T), { record: released('me'), resourceVersion: '7' }, 100);
    const a = expectKind(nextAction(s, 100, WALL), 'acquire');
    expect(a.record.holderIdentity).toBe('me');
    expect(a.record.leaseTransitions).toBe(5);
    // Acquiring clears the reservation.
    expect(a.record.preferredHolder).toBeUndefined();
  });

  it('others wait the released record duration before they may take it', () => {
    const s = observe(initialState('me', T), { record: released('someone-else'), resourceVersion: '7' }, 100);
    expect(nextAction(s, 100, WALL)).toEqual({ kind: 'wait', untilMonotonic: 1_100 });
    expect(nextAction(s, 1_099, WALL).kind).toBe('wait');
    expect(nextAction(s, 1_100, WALL).kind).toBe('acquire');
  });

  it('releaseRecord carries the preferred holder', () => {
    const s = leaderSince(0);
    expect(releaseRecord(s, WALL, 'next')?.record).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      preferredHolder: 'next',
    });
    expect(releaseRecord(s, WALL)?.record.preferredHolder).toBeUndefined();
  });

  it('a new reservation is a change of record (restarts the observation)', () => {
    let s = observe(initialState('me', T), { record: released('a'), resourceVersion: '7' }, 100);
    s = observe(s, { record: released('b'), resourceVersion: '8' }, 500);
    expect(nextAction(s, 1_200, WALL)).toEqual({ kind: 'wait', untilMonotonic: 1_500 });
  });
});

describe('release', () => {
  it('hands the Lease back: empty holder, 1 s, fresh stamps, same transitions', () => {
    let s = observe(
      initialState('me', T),
      { record: other({ leaseDurationSeconds: 1, holderIdentity: '' }), resourceVersion: '3' },
      0,
    );
    s = succeed(s, nextAction(s, 0, WALL), 0, '4'); // transition 5
    const later = new Date('2026-11-22T02:00:00Z');
    const r = releaseRecord(s, later);
    expect(r).toEqual({
      resourceVersion: '4',
      record: {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: '2026-11-22T02:00:00.000000Z',
        renewTime: '2026-11-22T02:00:00.000000Z',
        leaseTransitions: 5,
      },
    });
    s = onWriteSucceeded(s, 1_000, r!);
    expect(isLeader(s, 1_000)).toBe(false);
    expect(leaseValidUntil(s)).toBeUndefined();
    expect(releaseRecord(s, later)).toBeUndefined();

    // Another candidate acquires it at once.
    const o = observe(initialState('other', T), r!, 1_005);
    expect(expectKind(nextAction(o, 1_005, WALL), 'acquire').record.leaseTransitions).toBe(6);
  });

  it('is a no-op when not the holder', () => {
    const s = initialState('me', T);
    expect(releaseRecord(s, WALL)).toBeUndefined();
    expect(releaseRecord(observe(s, 'absent', 0), WALL)).toBeUndefined();
    expect(releaseRecord(observe(s, { record: other(), resourceVersion: '5' }, 0), WALL)).toBeUndefined();
    const lost = onWriteConflict(leaderSince(0), 2_000);
    expect(releaseRecord(lost, WALL)).toBeUndefined();
  });

  it('still releases a record naming us past the renew deadline (the resourceVersion guards it)', () => {
    const s = leaderSince(0);
    expect(isLeader(s, 30_000)).toBe(false);
    expect(releaseRecord(s, WALL)?.resourceVersion).toBe('10');
  });
});

// ---------------------------------------------------------------------------
// Two electors, one simulated Lease store, one simulated global clock (1 ms
// ticks). Each elector has its own monotonic and wall clock (offset, wall clocks
// years apart), requests take time, the watch lags, the network partitions and
// a process pauses. At every tick, at most one may be leader.

interface Stored {
  record: LeaseRecord;
  rv: number;
}

type Outcome = { ok: Written } | { code: 404 | 409 } | 'absent' | 'failed';

class Store {
  lease: Stored | undefined;
  private rv = 0;
  readonly listeners: ((obs: Written | 'absent') => void)[] = [];

  get(): Outcome {
    return this.lease
      ? { ok: { record: this.lease.record, resourceVersion: String(this.lease.rv) } }
      : 'absent';
  }
  create(record: LeaseRecord): Outcome {
    if (this.lease) return { code: 409 };
    return this.put(record);
  }
  update(record: LeaseRecord, rv: string): Outcome {
    if (!this.lease) return { code: 404 };
    if (String(this.lease.rv) !== rv) return { code: 409 };
    return this.put(record);
  }
  private put(record: LeaseRecord): Outcome {
    this.lease = { record: { ...record }, rv: ++this.rv };
    const w = { record: { ...record }, resourceVersion: String(this.rv) };
    for (const l of this.listeners) l(w);
    return { ok: w };
  }
}

const LATENCY = 3; // each way
const WATCH_LAG = 5;
const REQUEST_TIMEOUT = 1_000;

interface Request {
  action: Action | { kind: 'release'; written: Written };
  sentAt: number; // local monotonic
  applyAt: number; // global
  respondAt?: number; // global
  outcome?: Outcome;
}

let clock = 0; // global simulated time, ms

class Elector {
  readonly name: string;
  readonly monoOffset: number;
  readonly wallOffset: number;
  state: ElectionState;
  partitioned = false;
  pausedUntil = -1;
  stopped = false;
  releasing = false;
  inFlight: Request | undefined;
  readonly inbox: { at: number; obs: Written | 'absent' }[] = [];

  constructor(name: string, monoOffset: number, wallOffset: number, store: Store) {
    this.name = name;
    this.monoOffset = monoOffset;
    this.wallOffset = wallOffset;
    this.state = initialState(name, T);
    store.listeners.push((obs) => this.inbox.push({ at: clock + WATCH_LAG, obs }));
  }
  now(t: number): number {
    return t + this.monoOffset;
  }
  wall(t: number): Date {
    return new Date(Date.UTC(2026, 10, 22) + t + this.wallOffset);
  }
  /** The runtime stops leading before it sends the release: once sent, the Lease may be taken. */
  leading(t: number): boolean {
    return !this.releasing && !this.stopped && isLeader(this.state, this.now(t));
  }
}

/** Server side: the request reaches the store (or is lost) at applyAt. */
function serve(e: Elector, store: Store, t: number) {
  const r = e.inFlight;
  if (!r || r.outcome || t < r.applyAt) return;
  if (e.partitioned) {
    r.outcome = 'failed';
    r.respondAt = t - LATENCY + REQUEST_TIMEOUT;
    return;
  }
  const a = r.action;
  if (a.kind === 'get') r.outcome = store.get();
  else if (a.kind === 'create') r.outcome = store.create(a.record);
  else if (a.kind === 'acquire' || a.kind === 'renew') r.outcome = store.update(a.record, a.resourceVersion);
  else if (a.kind === 'release') r.outcome = store.update(a.written.record, a.written.resourceVersion);
  r.respondAt = t + LATENCY;
}

/** Client side: what the agent runtime would do at global time t. */
function step(e: Elector, t: number) {
  if (e.stopped || t < e.pausedUntil) return;
  const now = e.now(t);
  while (!e.partitioned && e.inbox[0] && e.inbox[0].at <= t)
    e.state = observe(e.state, e.inbox.shift()!.obs, now);
  const r = e.inFlight;
  if (r?.respondAt !== undefined && r.respondAt <= t) {
    e.inFlight = undefined;
    // A response lost on the way back looks like a timeout.
    const o: Outcome = e.partitioned ? 'failed' : r.outcome!;
    if (r.action.kind === 'release') {
      e.stopped = true;
      if (typeof o === 'object' && 'ok' in o) e.state = onWriteSucceeded(e.state, r.sentAt, o.ok);
      return;
    }
    if (r.action.kind === 'get') {
      if (o === 'failed') e.state = onReadFailed(e.state, r.sentAt);
      else e.state = observe(e.state, o === 'absent' ? 'absent' : 'ok' in o ? o.ok : 'absent', now);
    } else if (o === 'failed') e.state = onWriteFailed(e.state, r.sentAt);
    else if (typeof o === 'object' && 'ok' in o) e.state = onWriteSucceeded(e.state, r.sentAt, o.ok);
    else e.state = onWriteConflict(e.state, r.sentAt); // 409, or 404 to an update: our view is stale
  }
  if (e.inFlight) return;
  if (e.releasing) {
    const written = releaseRecord(e.state, e.wall(t));
    if (!written) return void (e.stopped = true);
    e.inFlight = { action: { kind: 'release', written }, sentAt: now, applyAt: t + LATENCY };
    return;
  }
  const a = nextAction(e.state, now, e.wall(t));
  if (a.kind !== 'wait') e.inFlight = { action: a, sentAt: now, applyAt: t + LATENCY };
}

interface Term {
  who: string;
  from: number;
  to: number; // last tick as leader
}

describe('two electors sharing one Lease', () => {
  it('are never both leader, through partition, pause and release', () => {
    const store = new Store();
    const year = 365 * 24 * 3600 * 1000;
    // A's clocks are far ahead, B's far behind: renewTime values are nonsense to each other.
    const a = new Elector('a', 7_777_777, +year, store);
    const b = new Elector('b', 13, -30 * year, store);
    b.stopped = true;

    const script: Record<number, () => void> = {
      1_000: () => {
        b.inbox.length = 0; // B starts now, with a GET
        b.stopped = false;
      },
      20_000: () => (a.partitioned = true), // A can no longer renew
      45_000: () => (a.partitioned = false),
      60_000: () => (b.pausedUntil = 90_000), // SIGSTOP B for 30 s
      // On SIGCONT, before doing anything, B already knows it is not leader.
      90_000: () => expect(isLeader(b.state, b.now(90_000)), 'B on resume').toBe(false),
      110_000: () => (a.releasing = true), // graceful shutdown of A
    };

    const terms: Term[] = [];
    for (clock = 0; clock <= 130_000; clock++) {
      script[clock]?.();
      for (const e of [a, b]) serve(e, store, clock);
      for (const e of [a, b]) step(e, clock);
      const leading = [a, b].filter((e) => e.leading(clock));
      if (leading.length > 1) expect.fail(`both leaders at ${clock}`);
      const who = leading[0]?.name;
      if (who === undefined) continue;
      const last = terms.at(-1);
      if (last?.who === who && last.to === clock - 1) last.to = clock;
      else terms.push({ who, from: clock, to: clock });
    }

    expect(terms.map((x) => x.who)).toEqual(['a', 'b', 'a', 'b']);
    const [a1, b1, a2, b2] = terms as [Term, Term, Term, Term];
    // A created the Lease within two round trips.
    expect(a1.from).toBeLessThan(20);
    // A stops leading at its renew deadline, well after the partition started…
    expect(a1.to).toBeGreaterThan(20_000 - 2_000 + 10_000 - 10);
    expect(a1.to).toBeLessThan(20_000 + 10_000);
    // …and B takes over only when A's lease expired on B's clock: the gap is at
    // least leaseDuration − renewDeadline (plus request and watch lag).
    expect(b1.from - a1.to).toBeGreaterThanOrEqual(T.leaseDurationMs - T.renewDeadlineMs);
    expect(b1.from - a1.to).toBeLessThan(T.leaseDurationMs - T.renewDeadlineMs + 50);
    // B, paused at 60 s, stops leading at its deadline; A takes over after B's expiry, during the pause.
    expect(b1.to).toBeLessThan(60_000 + T.renewDeadlineMs);
    expect(a2.from - b1.to).toBeGreaterThanOrEqual(T.leaseDurationMs - T.renewDeadlineMs);
    expect(a2.from).toBeLessThan(90_000);
    // After A's release B acquires at once (no lease-duration wait).
    expect(a2.to).toBe(109_999);
    expect(b2.from).toBeGreaterThan(110_000);
    expect(b2.from).toBeLessThan(110_050);
    expect(b2.to).toBe(130_000);

    expect(store.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 3 });
    expect(a.stopped).toBe(true);
    expect(a.state.observed).toMatchObject({ record: { holderIdentity: '', leaseDurationSeconds: 1 } });
  });
});

describe('sameTerm', () => {
  const ours: LeaseRecord = {
    holderIdentity: 'me',
    leaseDurationSeconds: 15,
    acquireTime: '2026-11-22T00:00:00.000000Z',
    renewTime: '2026-11-22T00:00:10.000000Z',
    leaseTransitions: 3,
  };
  it('is our term when only renewTime differs (a renew applied whose answer was lost)', () => {
    expect(sameTerm({ ...ours, renewTime: '2026-11-22T00:00:12.000000Z' }, ours)).toBe(true);
  });
  it('is not when the holder, the acquireTime or the transitions differ, or nobody holds it', () => {
    expect(sameTerm({ ...ours, holderIdentity: 'other' }, ours)).toBe(false);
    expect(sameTerm({ ...ours, acquireTime: '2026-11-22T00:01:00.000000Z' }, ours)).toBe(false);
    expect(sameTerm({ ...ours, leaseTransitions: 4 }, ours)).toBe(false);
    expect(sameTerm({ ...ours, holderIdentity: '' }, { ...ours, holderIdentity: '' })).toBe(false);
    expect(sameTerm({ ...ours, preferredHolder: 'next' }, ours)).toBe(false);
  });
});
