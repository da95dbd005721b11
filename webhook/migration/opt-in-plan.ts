// Opting in a running Deployment (issue 12, item 6). Annotating it changes its pod template,
// so the Deployment controller rolls out injected pods. With readiness-gate routing only the
// leader among them is Ready; the old, un-injected pods are all Ready. A RollingUpdate whose
// maxUnavailable keeps more than one pod available then never finishes: it may remove an old
// pod only when a new one is available, and the new followers never are. The old pods stay
// Ready beside the new leader for good: two or more serving pods.
//
// The fix: once a pod of the Deployment's injected ReplicaSet is Ready (in readiness-gate
// routing, that is the leader), the ReplicaSets of earlier revisions whose pod template is not
// opted in are scaled to 0. The Deployment controller only ever scales old ReplicaSets down
// during a rollout, so it then fills the new one and the rollout completes with one Ready pod.
// The overlap is bounded by the leader turning Ready and the old pods leaving the endpoints
// (they are terminating at once). Pure: what to scale, from the objects as read.
import { ANNOTATION } from '../../common/contract/keys.ts';

/** The fields of Deployments and ReplicaSets the plan reads. */
export interface Workload {
  metadata?: {
    name?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
  };
  spec?: {
    replicas?: number;
    paused?: boolean;
    template?: { metadata?: { annotations?: Record<string, string> } };
  };
}

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

const revision = (w: Workload) => Number(w.metadata?.annotations?.[REVISION_ANNOTATION] ?? NaN);
const optedIn = (w: Workload) => w.spec?.template?.metadata?.annotations?.[ANNOTATION.enabled] === 'true';

/** The Deployment controlling a ReplicaSet, by its controller owner reference. */
export function controllingDeployment(rs: Workload): string | undefined {
  const ref = rs.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'Deployment');
  return ref?.name;
}

export type OptInPlan =
  { kind: 'none'; why: string } | { kind: 'scale-to-zero'; replicaSets: Workload[]; why: string };

/**
 * What to scale to 0, given the Deployment, its ReplicaSets, and the ReplicaSet of a Ready
 * injected pod. Only ReplicaSets the Deployment controls, of an earlier revision than the Ready
 * pod's, whose template is not opted in, with replicas left. Nothing when the Deployment is
 * paused (a person holds the rollout), no longer opted in (a rollback is under way: its newest
 * ReplicaSet is the un-injected one), or routes by label (every pod is Ready there, and the
 * rollout completes by itself; the Service selects the leader's label).
 */
export function optInPlan(
  deployment: Workload,
  replicaSets: Workload[],
  readyPodReplicaSet: string,
): OptInPlan {
  const name = deployment.metadata?.name ?? '';
  if (deployment.spec?.paused) return { kind: 'none', why: `Deployment ${name} is paused` };
  if (!optedIn(deployment)) return { kind: 'none', why: `Deployment ${name}'s pod template does not opt in` };
  const routing = deployment.spec?.template?.metadata?.annotations?.[ANNOTATION.routing];
  if (routing === 'label') return { kind: 'none', why: `Deployment ${name} routes by label` };
  const owned = replicaSets.filter((rs) =>
    rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === deployment.metadata?.uid),
  );
  const ready = owned.find((rs) => rs.metadata?.name === readyPodReplicaSet);
  if (!ready || !optedIn(ready))
    return { kind: 'none', why: `ReplicaSet ${readyPodReplicaSet} is not an injected one of ${name}` };
  const readyRevision = revision(ready);
  const old = owned.filter(
    (rs) => (rs.spec?.replicas ?? 0) > 0 && !optedIn(rs) && revision(rs) < readyRevision,
  );
  if (old.length === 0) return { kind: 'none', why: `no un-injected ReplicaSet of ${name} has pods left` };
  return {
    kind: 'scale-to-zero',
    replicaSets: old,
    why:
      `the leader of Deployment ${name}'s injected revision ${readyRevision} (ReplicaSet ${readyPodReplicaSet}) ` +
      `is Ready; the pods of earlier revisions run without the agent and would stay Ready beside it`,
  };
}
