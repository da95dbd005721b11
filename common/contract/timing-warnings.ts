// Timings that are valid but leave the kubelet too little time to take a lost leader out of
// the Service before another pod may take the Lease: the webhook returns these as admission
// warnings. One rule, derived from the injected probe (contract/defaults.ts FENCING).
//
// A leader fences itself at its renew deadline: renewDeadline after its last successful renew
// (sooner never helps: a leader whose renews were already failing may have renewed last a
// renew deadline ago). It is out of the Service once its kubelet sees the agent's readiness
// probe fail (period × failureThreshold + timeout) and the change reaches the EndpointSlice and
// kube-proxy (propagation). Others may take the Lease leaseDuration after they saw that last
// renew, i.e. no earlier than leaseDuration after it. A frozen leader (SIGSTOP, a stalled node)
// is the same case: it may freeze just before its deadline. So:
//   leaseDuration − renewDeadline ≥ detection + propagation
import { formatGoDuration } from '../units/go-duration.ts';
import { FENCING, fencingMarginMs } from './defaults.ts';
import type { ElectionConfig } from './election-config.ts';
import { ANNOTATION } from './keys.ts';

export function timingWarnings(c: Pick<ElectionConfig, 'leaseDurationMs' | 'renewDeadlineMs'>): string[] {
  const margin = c.leaseDurationMs - c.renewDeadlineMs;
  const needed = fencingMarginMs();
  if (margin >= needed) return [];
  const show = (ms: number) => formatGoDuration(ms);
  const p = FENCING.readinessProbe;
  return [
    `${ANNOTATION.leaseDuration} − ${ANNOTATION.renewDeadline} is ${show(margin)}: a leader that lost the API ` +
      `server (or froze) is out of the Service only ${show(needed)} after its renew deadline (its readiness ` +
      `probe: period ${p.periodSeconds}s × ${p.failureThreshold} + timeout ${p.timeoutSeconds}s, then about ` +
      `${show(FENCING.propagationMs)} until the EndpointSlice and kube-proxy follow), while another pod may take ` +
      `the Lease ${show(margin)} after it: keep at least ${show(needed)} between them, or two pods may serve at once`,
  ];
}
