// The fencing rule, in one place: whether this agent's pod may be Ready (its /readyz,
// the readiness probe the kubelet runs every second), per routing.
//
// A pod must not serve as leader without a valid lease by our own monotonic clock
// (Elector.isLeader: lastRenewSentAt + renewDeadline, see common/election/election.ts).
// A leader cut off from the API server, or paused, cannot write its gate False, but
// its probe fails: the kubelet takes it out of the Service without any API call.
//
// readiness-gate routing: only a leader's agent is ready. A follower's agent must not
// be: the kubelet computes Ready, when a container's readiness flips, from the readiness
// gate as it last cached it (status_manager.go SetContainerReadiness), and it does not
// refresh that cache when only a gate changes (isPodStatusByKubeletEqual). A fenced
// leader whose agent turned ready again as a follower was marked Ready from its stale
// gate True for 10–25 ms, long enough for kube-proxy to route to two pods for a second
// (test/e2e/kind/pod-faults.test.ts). With this rule Ready=True needs a leading agent.
// The cost: a new leader is Ready at its agent's next probe (period 1 s), not at once.
//
// label routing: every replica is Ready, so a follower's agent is ready too. The probe
// fails while the pod MAY show this agent as leader (role label `leader`, as far as the
// readiness writer knows; a write whose outcome is unknown counts as may) and the lease
// is not valid.
//
// A pod that just stopped leading fails a little longer (FOLLOWER_HOLD_MS after its pod
// was confirmed to show it as a follower): in label routing the EndpointSlice controller
// must see the role label change before the kubelet can mark the pod Ready again
// (observed: Ready landing 75 ms before the label left the Service).
import type { Check } from '../common/check.ts';
import type { Routing } from '../common/contract/keys.ts';

/** How long a pod that stopped leading stays unready after its pod shows it as a follower. */
export const FOLLOWER_HOLD_MS = 2_000;

export interface FencingInput {
  routing: Routing;
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
  if (input.routing === 'readiness-gate') {
    return { ok: false, reason: 'a follower: in readiness-gate routing only the leader is ready' };
  }
  if (input.podMayShowLeader) {
    return { ok: false, reason: 'does not hold a valid lease and the pod may still show it as leader' };
  }
  if (input.followerSince !== undefined && now - input.followerSince < FOLLOWER_HOLD_MS) {
    return { ok: false, reason: 'stopped leading moments ago' };
  }
  return { ok: true, reason: 'follower; the pod shows it' };
}
