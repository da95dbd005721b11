// Unit tests of the fencing-margin warnings on valid timings.
import { describe, expect, it } from 'vitest';
import { timingWarnings } from '../../../common/contract/timing-warnings.ts';

describe('timingWarnings (fencing margins)', () => {
  it('says nothing for the defaults', () => {
    expect(
      timingWarnings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toEqual([]);
  });

  it('warns when a frozen leader could still be Ready when another takes over', () => {
    const w = timingWarnings({ leaseDurationMs: 4_000, renewDeadlineMs: 1_000, retryPeriodMs: 1_000 });
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(
      /leader-election\/lease-duration − leader-election\/retry-period is 3s: a frozen leader pod/,
    );
  });

  it('warns when a partitioned leader could still be Ready when another takes over', () => {
    const w = timingWarnings({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 });
    expect(w.some((x) => /renew-deadline is 1s: a leader cut off/.test(x))).toBe(true);
  });
});
