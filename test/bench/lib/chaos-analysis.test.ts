// The chaos run's safety figures (bench/lib/chaos-analysis.ts): each rule on a small history
// where the answer is known, so that a figure of 0 overlaps means something.
import { describe, expect, it } from 'vitest';
import {
  episodes,
  handovers,
  heldByOthersMs,
  interleavedAnswers,
  type LeaseVersion,
} from '../../../bench/lib/chaos-analysis.ts';

const at = (s: number) =>
  new Date(Date.UTC(2026, 10, 26, 9, 0, 0) + s * 1000).toISOString().replace('Z', '000Z');
const T0 = Date.parse(at(0).replace('000Z', 'Z'));
const v = (t: number, holder: string, renewS?: number, acquireS?: number): LeaseVersion => ({
  t: T0 + t * 1000,
  holder,
  ...(renewS !== undefined ? { renewTime: at(renewS) } : {}),
  ...(acquireS !== undefined ? { acquireTime: at(acquireS) } : {}),
});
const deadline = (h: string) => (h.startsWith('cg-') ? 5_000 : 3_000);

describe('handovers', () => {
  it('a takeover after the old holder’s renew deadline has a positive margin; one before it is an overlap', () => {
    const safe = handovers([v(0, 'a', 0, 0), v(1, 'a', 1, 0), v(7, 'b', 7, 7)], deadline, []);
    expect(safe).toEqual([{ from: 'a', to: 'b', at: T0 + 7_000, how: 'takeover', marginMs: 3_000 }]);
    const overlap = handovers([v(1, 'a', 1, 0), v(3, 'b', 3, 3)], deadline, []);
    expect(overlap[0]!.marginMs).toBe(-1_000);
    // client-go's longer renew deadline counts for its records.
    expect(handovers([v(1, 'cg-x', 1, 0), v(5, 'b', 5, 5)], deadline, [])[0]!.marginMs).toBe(-1_000);
  });

  it('a release in between is a safe hand-over; a death after the last renew ends the old belief', () => {
    expect(handovers([v(1, 'a', 1, 0), v(1.1, ''), v(1.2, 'b', 1.2, 1.2)], deadline, [])).toEqual([
      { from: 'a', to: 'b', at: T0 + 1_200, how: 'release' },
    ]);
    const killed = handovers([v(1, 'a', 1, 0), v(3, 'b', 3, 3)], deadline, [{ pod: 'a', at: T0 + 1_500 }]);
    expect(killed[0]!.marginMs).toBe(1_500);
    // A death before the last renew was an earlier process of that pod: it proves nothing.
    const earlier = handovers([v(1, 'a', 1, 0), v(3, 'b', 3, 3)], deadline, [{ pod: 'a', at: T0 + 500 }]);
    expect(earlier[0]!.marginMs).toBe(-1_000);
  });

  it('a holder renewing its own record (a restarted agent included) is no handover', () => {
    expect(handovers([v(0, 'a', 0, 0), v(1, 'a', 1, 0), v(2, 'a', 2, 2)], deadline, [])).toEqual([]);
  });
});

describe('episodes', () => {
  const changes = [
    { t: 0, ready: ['a'] },
    { t: 100, ready: ['a', 'b'] },
    { t: 130, ready: ['b'] },
    { t: 500, ready: [] },
    { t: 900, ready: ['c'] },
    { t: 1_000, ready: [] },
  ];
  it('measures stretches with two ready endpoints, and without any', () => {
    expect(episodes(changes, 2_000, (c) => c.ready.length > 1)).toEqual({
      count: 1,
      totalMs: 30,
      longestMs: 30,
      longestAt: 100,
    });
    expect(episodes(changes, 2_000, (c) => c.ready.length === 0)).toEqual({
      count: 2,
      totalMs: 1_400,
      longestMs: 1_000,
      longestAt: 1_000,
    });
  });

  it('leaves out time when no ready endpoint is expected (another elector holds the Lease)', () => {
    const versions: LeaseVersion[] = [
      { t: 0, holder: 'a' },
      { t: 1_200, holder: 'cg-1' },
      { t: 1_800, holder: 'b' },
    ];
    const excluded = (from: number, to: number) =>
      heldByOthersMs(versions, (h) => h.startsWith('cg-'), from, to);
    expect(excluded(1_000, 2_000)).toBe(600);
    expect(episodes(changes, 2_000, (c) => c.ready.length === 0, excluded).longestMs).toBe(400);
  });
});

describe('interleavedAnswers', () => {
  it('counts a pod answering again after another did, within a window only', () => {
    const a = (t: number, pod: string) => ({ t, pod });
    expect(interleavedAnswers([a(0, 'a'), a(1, 'b'), a(2, 'a'), a(3, 'b')], [])).toBe(2);
    expect(interleavedAnswers([a(0, 'a'), a(1, 'b'), a(5, 'a')], [4])).toBe(0);
    expect(interleavedAnswers([a(0, 'a'), { t: 1 }, a(2, 'a')], [])).toBe(0);
  });
});
