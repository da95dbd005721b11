// Timings that are valid but leave the kubelet too little time to take a lost leader
// out of the Service: the webhook returns these as admission warnings.
import { formatGoDuration } from '../units/go-duration.ts';
import type { ElectionConfig } from './election-config.ts';
import { ANNOTATION } from './keys.ts';

/**
 * Timings that are valid but leave little margin for the kubelet to take a lost
 * leader out of the Service before another may become Ready (the fencing works
 * through the agent's readiness probe: period 1 s, timeout 1 s, plus the kubelet's
 * status write). Two cases:
 * - a frozen leader pod (SIGSTOP, node freeze) is only noticed when its probe times
 *   out, about 2 s; others take over no earlier than leaseDuration − retryPeriod
 *   after the freeze;
 * - a leader cut off from the API server fails its probe at its renew deadline;
 *   others take over no earlier than leaseDuration − renewDeadline later.
 */
export const FENCING_MARGIN = { frozenMs: 5_000, partitionedMs: 3_000 };

export function timingWarnings(
  c: Pick<ElectionConfig, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>,
): string[] {
  const w: string[] = [];
  const show = (ms: number) => formatGoDuration(ms);
  if (c.leaseDurationMs - c.retryPeriodMs < FENCING_MARGIN.frozenMs) {
    w.push(
      `${ANNOTATION.leaseDuration} − ${ANNOTATION.retryPeriod} is ${show(c.leaseDurationMs - c.retryPeriodMs)}: a frozen leader pod is ` +
        `taken out of the Service only when its readiness probe times out (about 2 s); keep at least ` +
        `${show(FENCING_MARGIN.frozenMs)} between them so a new leader cannot be Ready first`,
    );
  }
  if (c.leaseDurationMs - c.renewDeadlineMs < FENCING_MARGIN.partitionedMs) {
    w.push(
      `${ANNOTATION.leaseDuration} − ${ANNOTATION.renewDeadline} is ${show(c.leaseDurationMs - c.renewDeadlineMs)}: a leader cut off ` +
        `from the API server leaves the Service one readiness probe (about 1 s) after its renew deadline; keep at least ` +
        `${show(FENCING_MARGIN.partitionedMs)} between them so a new leader cannot be Ready first`,
    );
  }
  return w;
}
