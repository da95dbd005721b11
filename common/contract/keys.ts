// The `leader-election/*` names are the product's API: annotation keys, labels, the pod
// condition and the values they take. Keep them stable; docs/reference.md lists them
// (generated from annotation-docs.ts).

export const PREFIX = 'leader-election/';

/** Annotation keys (on pods, pod templates, Deployments and StatefulSets). */
export const ANNOTATION = {
  enabled: 'leader-election/enabled',
  leaseName: 'leader-election/lease-name',
  leaseDuration: 'leader-election/lease-duration',
  renewDeadline: 'leader-election/renew-deadline',
  retryPeriod: 'leader-election/retry-period',
  routing: 'leader-election/routing',
  agentMode: 'leader-election/agent-mode',
  agentCpuRequest: 'leader-election/agent-cpu-request',
  agentMemoryRequest: 'leader-election/agent-memory-request',
  agentCpuLimit: 'leader-election/agent-cpu-limit',
  agentMemoryLimit: 'leader-election/agent-memory-limit',
  agentPort: 'leader-election/agent-port',
  agentImagePullPolicy: 'leader-election/agent-image-pull-policy',
  onDeletion: 'leader-election/on-deletion',
  appUnreadyGrace: 'leader-election/app-unready-grace',
  status: 'leader-election/status',
  workloadKeys: 'leader-election/workload-keys',
} as const;

export type AnnotationKey = (typeof ANNOTATION)[keyof typeof ANNOTATION];

/** Value of ANNOTATION.status once the webhook has injected a pod: the idempotency marker. */
export const STATUS_INJECTED = 'injected';

/** Pod condition type listed in `spec.readinessGates`; True only on the pod holding a valid lease. */
export const CONDITION_LEADER = 'leader-election/leader';

/** Pod label used by `routing: label`: the Service selects `leader-election/role: leader`. */
export const LABEL_ROLE = 'leader-election/role';
export const ROLE_LEADER = 'leader';
export const ROLE_FOLLOWER = 'follower';

/** Pod label set by the webhook on every injected pod, so controllers can select them. */
export const LABEL_INJECTED = 'leader-election/injected';

/** Namespace label: `"true"` opts every pod of the namespace in (a pod can still say `"false"`). */
export const NAMESPACE_LABEL_ENABLED = 'leader-election/enabled';

export const ROUTINGS = ['readiness-gate', 'label'] as const;
export type Routing = (typeof ROUTINGS)[number];
export const AGENT_MODES = ['sidecar', 'container'] as const;
export type AgentMode = (typeof AGENT_MODES)[number];
/**
 * What a leader does when its pod is being deleted: `release` stops leading and releases the
 * Lease as soon as the agent sees the deletionTimestamp; `hold` keeps leading until the agent's
 * own SIGTERM, which a native sidecar gets only after the app containers exited (client-go's
 * behaviour).
 */
export const ON_DELETION_MODES = ['release', 'hold'] as const;
export type OnDeletion = (typeof ON_DELETION_MODES)[number];
export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/**
 * Lease annotation written by a leader that hands over during a rollout: the Lease is
 * reserved for the named pod for the record's duration. client-go electors ignore it.
 */
export const PREFERRED_HOLDER_ANNOTATION = 'leader-election/preferred-holder';
/**
 * Written with it: the renewTime of the release that made the reservation. A reservation counts
 * only on that very release: a client-go peer that later takes and releases the Lease leaves
 * the annotations behind (it writes the spec only), and must not make agents wait.
 */
export const PREFERRED_HOLDER_RELEASE_ANNOTATION = 'leader-election/preferred-holder-release';

/**
 * Lease annotation written with every record an agent writes: `<pod UID>/<process token>`, the
 * instance that holds the Lease under the holder identity (the pod name). Two pods can share a
 * name (a StatefulSet pod recreated while the old one still runs after a forced deletion, a
 * `kubectl debug --copy-to` copy), and client-go's rule "a record naming me is mine" would make
 * both leaders; with this, only a restart of the same pod's agent takes its own record back at
 * once. client-go electors ignore it.
 */
export const HOLDER_INSTANCE_ANNOTATION = 'leader-election/holder-instance';
