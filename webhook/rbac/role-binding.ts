// The agent's RBAC, per namespace, as a pure decision: one RoleBinding
// `leader-election-agent` that binds the agent ClusterRole (shipped by the manifests) to
// the service accounts of the namespace's injected pods.
//
// - Never a Role or ClusterRole: only RoleBindings to the one ClusterRole, which the
//   reconciler's own `bind` permission is limited to (no escalation).
// - Pods that are terminating keep their service account bound until they are gone:
//   their agent must still be able to release the Lease. Pods in a terminal phase
//   (Succeeded, Failed) run nothing and no longer count.
// - Only RoleBindings it owns (label app.kubernetes.io/managed-by) are changed: a
//   RoleBinding of the same name made by someone else is left alone.
import { LABEL_INJECTED } from '../../common/contract/keys.ts';

export const DEFAULT_AGENT_CLUSTER_ROLE = 'leader-election-agent';
export const DEFAULT_ROLE_BINDING_NAME = 'leader-election-agent';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'leader-election-webhook';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The labels on every RoleBinding this reconciler makes. */
export const OWNED_LABELS: Readonly<Record<string, string>> = {
  [LABEL_MANAGED_BY]: MANAGED_BY,
  'app.kubernetes.io/name': 'leader-election',
  'app.kubernetes.io/component': 'agent',
};

export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string | Date;
    resourceVersion?: string;
  };
  spec?: { serviceAccountName?: string; serviceAccount?: string };
  status?: { phase?: string };
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface RoleBinding {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    [key: string]: unknown;
  };
  roleRef: RoleRef;
  subjects?: Subject[];
}

export interface RoleBindingNames {
  clusterRole?: string;
  roleBindingName?: string;
}

export type Plan = 'create' | 'update' | 'delete' | 'none';

// ---------------------------------------------------------------------------
// The decision (pure)

/** An injected pod whose agent may still run: labelled, in the namespace, not in a terminal phase. */
export function podNeedsAgentRbac(pod: PodLike, namespace?: string): boolean {
  if (pod.metadata?.labels?.[LABEL_INJECTED] !== 'true') return false;
  if (namespace !== undefined && pod.metadata?.namespace !== namespace) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** The pod's service account as the API server resolves it (`default` when unset). */
export function podServiceAccount(pod: PodLike): string {
  return pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default';
}

/**
 * The RoleBinding that `namespace` should have given its pods: one subject per
 * distinct service account of its injected pods, sorted by name; undefined when
 * no such pod remains. Pods of other namespaces are ignored.
 */
export function desiredRoleBinding(
  namespace: string,
  pods: Iterable<PodLike>,
  names: RoleBindingNames = {},
): RoleBinding | undefined {
  const accounts = new Set<string>();
  for (const pod of pods) if (podNeedsAgentRbac(pod, namespace)) accounts.add(podServiceAccount(pod));
  if (accounts.size === 0) return undefined;
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'RoleBinding',
    metadata: {
      name: names.roleBindingName ?? DEFAULT_ROLE_BINDING_NAME,
      namespace,
      labels: { ...OWNED_LABELS },
    },
    roleRef: {
      apiGroup: RBAC_GROUP,
      kind: 'ClusterRole',
      name: names.clusterRole ?? DEFAULT_AGENT_CLUSTER_ROLE,
    },
    subjects: [...accounts]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((name) => ({ kind: 'ServiceAccount', name, namespace })),
  };
}

export function isOwned(rb: Pick<RoleBinding, 'metadata'> | undefined): boolean {
  return rb?.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

function subjectKey(s: Subject, namespace: string): string {
  // The API server stores a ServiceAccount subject with apiGroup "" (omitted) and
  // defaults an absent namespace to nothing: compare what identifies the subject.
  return `${s.kind}\u0000${s.apiGroup ?? ''}\u0000${s.namespace ?? namespace}\u0000${s.name}`;
}

function sameSubjects(a: Subject[] | undefined, b: Subject[] | undefined, namespace: string): boolean {
  const ka = (a ?? []).map((s) => subjectKey(s, namespace));
  const kb = (b ?? []).map((s) => subjectKey(s, namespace));
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function sameRoleRef(a: RoleRef, b: RoleRef): boolean {
  return a.apiGroup === b.apiGroup && a.kind === b.kind && a.name === b.name;
}

/**
 * What to do to go from `current` (the RoleBinding of that name in the namespace,
 * if any) to `desired`. A RoleBinding we do not own is never touched. `roleRef` is
 * immutable: a wrong one is deleted (the next round creates the right one).
 */
export function planRoleBinding(current: RoleBinding | undefined, desired: RoleBinding | undefined): Plan {
  if (!current) return desired ? 'create' : 'none';
  if (!isOwned(current)) return 'none';
  if (!desired) return 'delete';
  if (!sameRoleRef(current.roleRef, desired.roleRef)) return 'delete';
  if (!sameSubjects(current.subjects, desired.subjects, desired.metadata.namespace)) return 'update';
  for (const [k, v] of Object.entries(desired.metadata.labels ?? {})) {
    if (current.metadata.labels?.[k] !== v) return 'update';
  }
  return 'none';
}

/** The object to PUT for an update: the current one (unknown fields kept) with our subjects and labels. */
export function updatedRoleBinding(current: RoleBinding, desired: RoleBinding): RoleBinding {
  return {
    ...current,
    metadata: { ...current.metadata, labels: { ...current.metadata.labels, ...desired.metadata.labels } },
    subjects: desired.subjects ?? [],
  };
}

export function subjectNames(rb: RoleBinding | undefined): string[] {
  return (rb?.subjects ?? []).map((s) => s.name);
}
