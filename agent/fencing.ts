// The fencing rule, in one place: whether this agent's pod may be Ready (its /readyz,
// the readiness probe the kubelet runs every second). The same rule in both routings.
//
// A pod must not serve as leader without a valid lease by our own monotonic clock
// (Elector.isLeader: lastRenewSentAt + renewDeadline, see common/election/election.ts).
// A leader cut off from the API server, or paused, cannot write its gate False, but
// its probe fails: the kubelet takes it out of the Service without any API call.
//
// So the probe fails while the pod MAY show this agent as leader (gate True or role
// label `leader`, as far as the readiness writer knows; a write whose outcome is unknown
// counts as may) and the lease is not valid. A follower whose pod shows False passes: in readiness-gate
// routing the gate keeps it out of the Service, and when it wins, its gate alone makes
// it Ready, with no wait for the next probe period (docs/architecture.md, departures).
//
// A pod that just stopped leading fails a little longer (FOLLOWER_HOLD_MS after its pod
// was confirmed to show it as a follower): in label routing the EndpointSlice controller
// must see the role label change before the kubelet can mark the pod Ready again
// (observed: Ready landing 75 ms before the label left the Service).
import type { Check } from '../common/check.ts';

/** How long a pod that stopped leading stays unready after its pod shows it as a follower. */
export const FOLLOWER_HOLD_MS = 2_000;

export interface FencingInput {
  /** The elector holds a valid lease by the local monotonic clock. */
  leading: boolean;
  /**
   * The pod may show this agent as leader, as far as the readiness writer knows: the API
   * server accepted the leader value, a write of it is in flight or its answer was lost,
   * or nothing was written yet (ReadinessWriter.mayShowLeader).
   */
  podMayShowLeader: boolean;
  /** Monotonic instant the pod was confirmed to show a follower after leading; else undefined. */
  followerSince: number | undefined;
}

/** The agent's readiness at monotonic instant `now`. Pure. */
export function fencingCheck(input: FencingInput, now: number): Check {
  if (input.leading) return { ok: true, reason: 'holds the lease' };
  if (input.podMayShowLeader) {
    return { ok: false, reason: 'does not hold a valid lease and the pod may still show it as leader' };
  }
  if (input.followerSince !== undefined && now - input.followerSince < FOLLOWER_HOLD_MS) {
    return { ok: false, reason: 'stopped leading moments ago' };
  }
  return { ok: true, reason: 'follower; the pod shows it' };
}
