// Unit tests of the fencing-margin warning on valid timings (issue 12, item 5: one rule, on
// lease-duration − renew-deadline, derived from the injected probe).
import { describe, expect, it } from 'vitest';
import { FENCING, fencingMarginMs } from '../../../common/contract/defaults.ts';
import { timingWarnings } from '../../../common/contract/timing-warnings.ts';

describe('timingWarnings (the fencing margin)', () => {
  it('derives the margin from the injected readiness probe and the propagation', () => {
    // period 1s × failureThreshold 1 + timeout 1s, then 1s until the EndpointSlice and kube-proxy follow.
    expect(FENCING.readinessProbe).toEqual({ periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1 });
    expect(fencingMarginMs()).toBe(3_000);
  });

  it('says nothing for the defaults, the example, or exactly the margin', () => {
    expect(timingWarnings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000 })).toEqual([]);
    expect(timingWarnings({ leaseDurationMs: 6_000, renewDeadlineMs: 3_000 })).toEqual([]);
  });

  // Before: a second rule on lease − retry (a frozen leader) warned about safe timings such as
  // 6s/3s/2s (4s < 5s), and the renew-deadline rule counted one probe (1s) for the kubelet's
  // detection. A frozen leader is the same case as a cut-off one: it may freeze just before its
  // renew deadline. One rule now, whatever the retry period.
  it('does not warn on the retry period', () => {
    expect(timingWarnings({ leaseDurationMs: 6_000, renewDeadlineMs: 3_000 })).toEqual([]);
  });

  it('warns on lease-duration − renew-deadline below it, whatever the retry period', () => {
    const w = timingWarnings({ leaseDurationMs: 10_000, renewDeadlineMs: 8_000 });
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^leader-election\/lease-duration − leader-election\/renew-deadline is 2s: /);
    expect(w[0]).toContain('keep at least 3s between them');
    expect(w[0]).toContain('period 1s × 1 + timeout 1s');
  });
});
