// The injected agent container: its image, its environment (the timings and the
// downward API), its probes (the fencing) and a locked-down security context.
import type { ElectionConfig } from '../../common/contract/election-config.ts';
import { FENCING } from '../../common/contract/defaults.ts';
import type { JsonObject } from '../../common/json.ts';
import type { WebhookConfig } from './result.ts';

export const DEFAULT_AGENT_NAME = 'leader-election-agent';
/** The agent's own service-account token volume (see agentTokenVolume). */
export const AGENT_TOKEN_VOLUME = 'leader-election-agent-token';
const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The agent's own projected service-account token, at the path in-cluster clients read: the
 * agent never depends on the pod's or its ServiceAccount's automountServiceAccountToken (a
 * ServiceAccount with it false gave the agent no token, and the webhook cannot see the
 * ServiceAccount). The same three sources the ServiceAccount admission plugin projects: a bound
 * token the kubelet rotates (the agent re-reads it on every request), the cluster CA, the
 * namespace.
 */
export function agentTokenVolume(): JsonObject {
  return {
    name: AGENT_TOKEN_VOLUME,
    projected: {
      defaultMode: 0o444,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  };
}
export const AGENT_PORT_NAME = 'le-agent';
/** The distroless `nonroot` user and group. */
export const AGENT_UID = 65532;

function envFrom(name: string, fieldPath: string): JsonObject {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

/** The agent container. Exported for the docs and for tests that compare against it. */
export function agentContainer(
  cfg: ElectionConfig,
  leaseName: string,
  webhook: WebhookConfig,
  sidecar: boolean,
): JsonObject {
  const pullPolicy = cfg.pullPolicy ?? webhook.imagePullPolicy;
  const probe = (path: string) => ({ httpGet: { path, port: AGENT_PORT_NAME } });
  return {
    name: webhook.agentName ?? DEFAULT_AGENT_NAME,
    image: webhook.agentImage,
    ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}),
    // A native sidecar: an init container that keeps running beside the app containers.
    ...(sidecar ? { restartPolicy: 'Always' } : {}),
    env: [
      envFrom('POD_NAME', 'metadata.name'),
      envFrom('POD_NAMESPACE', 'metadata.namespace'),
      envFrom('POD_UID', 'metadata.uid'),
      envFrom('POD_IP', 'status.podIP'),
      { name: 'LEASE_NAME', value: leaseName },
      { name: 'LEASE_DURATION', value: cfg.leaseDuration },
      { name: 'RENEW_DEADLINE', value: cfg.renewDeadline },
      { name: 'RETRY_PERIOD', value: cfg.retryPeriod },
      { name: 'ROUTING', value: cfg.routing },
      { name: 'ON_DELETION', value: cfg.onDeletion },
      { name: 'APP_UNREADY_GRACE', value: cfg.appUnreadyGrace },
      { name: 'AGENT_PORT', value: String(cfg.port) },
      // The pod's revision, for the rollout hand-off: a Deployment's ReplicaSet labels its pods
      // with pod-template-hash, a StatefulSet with controller-revision-hash (empty when absent).
      envFrom('POD_TEMPLATE_HASH', "metadata.labels['pod-template-hash']"),
      envFrom('CONTROLLER_REVISION_HASH', "metadata.labels['controller-revision-hash']"),
    ],
    ports: [{ name: AGENT_PORT_NAME, containerPort: cfg.port, protocol: 'TCP' }],
    volumeMounts: [{ name: AGENT_TOKEN_VOLUME, mountPath: SA_MOUNT_PATH, readOnly: true }],
    // Fencing: /readyz fails as soon as the lease is no longer valid by the local clock, and the
    // kubelet takes the pod out of the endpoints within a second, even if the API is unreachable.
    readinessProbe: { ...probe('/readyz'), ...FENCING.readinessProbe },
    livenessProbe: { ...probe('/healthz'), periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2 },
    resources: {
      requests: { cpu: cfg.resources.requests.cpu, memory: cfg.resources.requests.memory },
      limits: { cpu: cfg.resources.limits.cpu, memory: cfg.resources.limits.memory },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: AGENT_UID,
      runAsGroup: AGENT_UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}
