// Health-aware election, the decisions (pure): leadership follows an app that the kubelet
// reports ready. The agent reads its own pod's status (own-pod.ts) and, while leading, its
// group's pods (handoff.ts); it acts on what these functions say.
//
// Rules (leader-election/app-unready-grace, default 10s; 0 turns them off):
// - A leader whose app containers have been not ready for longer than the grace hands the
//   Lease over (the rollout hand-off's path: gate False, then a release reserved for the
//   target) to the oldest follower whose app is ready. With no such follower it stays: an
//   unready leader is no worse than none, and leadership does not flap between sick pods.
// - A follower whose app is not ready lets ready followers take a free Lease first: it
//   defers its acquire for a lease duration (common/election/elector.ts, `contend`), then
//   contends anyway, so that an app whose readiness depends on leading still gets a leader.
import type { V1Pod } from '@kubernetes/client-node';
import type { GroupPod } from './handoff.ts';

/** The pod's app containers (all but the agent) are ready, as the kubelet reports them. */
export function appReady(pod: V1Pod | undefined, agentName: string): boolean {
  const apps = (pod?.status?.containerStatuses ?? []).filter((s) => s.name !== agentName);
  return apps.length > 0 && apps.every((s) => s.ready);
}

export interface LeaderHealth {
  /** 0: health-blind. */
  graceMs: number;
  /** Monotonic time since which the app has been seen not ready; undefined while ready. */
  unreadySince: number | undefined;
  now: number;
  self: string;
  leaseName: string;
  /** The group's pods as the leader's watch sees them. */
  pods: GroupPod[];
}

export type HealthDecision =
  | { kind: 'stay' }
  /** Check again at this monotonic time (the grace runs out then). */
  | { kind: 'recheck'; at: number }
  | { kind: 'hand-over'; target: string; reason: string };

export function leaderHealthDecision(h: LeaderHealth): HealthDecision {
  if (h.graceMs === 0 || h.unreadySince === undefined) return { kind: 'stay' };
  const until = h.unreadySince + h.graceMs;
  if (h.now < until) return { kind: 'recheck', at: until };
  const target = h.pods
    .filter((p) => p.leaseName === h.leaseName && p.name !== h.self && !p.terminating && p.candidate)
    .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name))[0];
  if (!target) return { kind: 'stay' };
  const forS = Math.round((h.now - h.unreadySince) / 1000);
  return { kind: 'hand-over', target: target.name, reason: `its app has not been ready for ${forS}s` };
}
