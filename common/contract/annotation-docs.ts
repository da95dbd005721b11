// The reference table of every `leader-election/*` annotation: docs/reference.md is
// generated from ANNOTATIONS, and the config parser rejects keys that are not in it.
import { DEFAULTS } from './defaults.ts';
import { ANNOTATION, type AnnotationKey } from './keys.ts';

export interface AnnotationDoc {
  key: AnnotationKey;
  /** Accepted values, as the docs print them. */
  values: string;
  meaning: string;
  /** Default as the docs print it ('—' when there is none). */
  default: string;
  /** Who writes it: users, or the webhook itself (users should not set these). */
  writtenBy: 'user' | 'webhook';
}

/** The reference table. Keep the keys stable: they are the API. */
export const ANNOTATIONS: readonly AnnotationDoc[] = [
  {
    key: ANNOTATION.enabled,
    values: '`true` | `false`',
    meaning:
      'Opt in. Also accepted as a label on the Namespace (every pod of it opts in); `"false"` on a pod opts it out of a namespace-wide opt-in.',
    default: 'off (or the namespace label)',
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.leaseName,
    values: 'DNS-1123 subdomain, at most 253 characters',
    meaning: 'Name of the coordination.k8s.io/v1 Lease the group shares, in the pod’s namespace.',
    default:
      'the owning workload’s name (the Deployment’s, recovered from the ReplicaSet owner and `pod-template-hash`; the StatefulSet’s; otherwise the controller owner’s); a pod without owner must set it',
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.leaseDuration,
    values: 'Go duration (`15s`, `1m30s`), whole seconds, 1s to 24h',
    meaning: 'How long a lease is valid after its last renewal (client-go `LeaseDuration`).',
    default: DEFAULTS.leaseDuration,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.renewDeadline,
    values: 'Go duration, 1s to 24h, less than lease-duration',
    meaning:
      'How long the leader keeps trying to renew before it stops leading (client-go `RenewDeadline`). Must hold lease-duration > renew-deadline > 1.2 × retry-period.',
    default: DEFAULTS.renewDeadline,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.retryPeriod,
    values: 'Go duration, 1s to 24h, with 1.2 × retry-period less than renew-deadline',
    meaning: 'Interval between renewals and acquisition attempts (client-go `RetryPeriod`).',
    default: DEFAULTS.retryPeriod,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.routing,
    values: '`readiness-gate` | `label`',
    meaning:
      '`readiness-gate`: only the leader is Ready, so only it is in the Service’s endpoints. `label`: every replica is Ready; the leader carries the label `leader-election/role=leader` (the others `follower`) and the Service selects on it.',
    default: DEFAULTS.routing,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.onDeletion,
    values: '`release` | `hold`',
    meaning:
      '`release`: when the pod is being deleted, its agent (which watches its own pod) stops leading and releases the Lease at once, and a terminating pod never takes it; a follower leads within about a second, however long the app takes to exit. `hold`: the leader keeps the Lease until its agent gets SIGTERM, which a native sidecar gets only after the app containers exited (up to `terminationGracePeriodSeconds`): client-go’s behaviour, for apps that must finish their work as leader.',
    default: DEFAULTS.onDeletion,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.appUnreadyGrace,
    values: 'Go duration, 0s (off) to 24h',
    meaning:
      'Health-aware election. A leader whose app containers are not ready (as the kubelet reports them in its pod’s status) for longer than this hands the Lease to a follower whose app is ready; if no follower is healthy it stays leader. A follower whose app is not ready lets healthy followers take a free Lease first (it waits a lease duration before it contends). `0s` turns this off: set it when your app’s readiness depends on being the leader.',
    default: DEFAULTS.appUnreadyGrace,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentMode,
    values: '`sidecar` | `container`',
    meaning:
      '`sidecar`: the agent is a native sidecar (an init container with `restartPolicy: Always`). `container`: a regular container, for clusters or tools that do not handle native sidecars.',
    default: DEFAULTS.agentMode,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentCpuRequest,
    values: 'CPU quantity, 1m to 4, ≤ the CPU limit',
    meaning: 'The agent container’s CPU request.',
    default: DEFAULTS.cpuRequest,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentMemoryRequest,
    values: 'memory quantity, 16Mi to 1Gi, ≤ the memory limit',
    meaning: 'The agent container’s memory request.',
    default: DEFAULTS.memoryRequest,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentCpuLimit,
    values: 'CPU quantity, 1m to 4',
    meaning: 'The agent container’s CPU limit.',
    default: DEFAULTS.cpuLimit,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentMemoryLimit,
    values: 'memory quantity, 16Mi to 1Gi',
    meaning: 'The agent container’s memory limit.',
    default: DEFAULTS.memoryLimit,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentPort,
    values: 'integer, 1024 to 65535',
    meaning:
      'Port of the agent’s HTTP server (`/leader`, `/leader/watch`, `/readyz`, `/healthz`, `/metrics`), on 127.0.0.1 and the pod IP; must not be used by another container of the pod.',
    default: String(DEFAULTS.port),
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentImagePullPolicy,
    values: '`Always` | `IfNotPresent` | `Never`',
    meaning: 'The agent container’s `imagePullPolicy`.',
    default: 'the webhook’s setting, else the Kubernetes default',
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.status,
    values: '`injected`',
    meaning: 'Written by the webhook on every pod it injected: the idempotency marker.',
    default: '—',
    writtenBy: 'webhook',
  },
  {
    key: ANNOTATION.workloadKeys,
    values: 'comma-separated key names without the prefix',
    meaning:
      'Written by the webhook on a Deployment’s or StatefulSet’s pod template: the keys it copied from the workload’s own annotations, so that it can remove them from the template when they are removed from the workload.',
    default: '—',
    writtenBy: 'webhook',
  },
];

export const KNOWN_KEYS: ReadonlySet<string> = new Set(ANNOTATIONS.map((a) => a.key));

export function isKnownAnnotation(key: string): boolean {
  return KNOWN_KEYS.has(key);
}
