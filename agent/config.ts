// The agent's configuration, from environment variables (the webhook sets them
// from the pod's annotations and the downward API). Every missing or invalid
// value is reported at once, naming the variable, the value and the rule.
import { parseGoDuration } from '../common/units/go-duration.ts';
import { validateTimings, type Timings } from '../common/election/election.ts';
import { DEFAULTS } from '../common/contract/defaults.ts';
import {
  AGENT_PORT_RULE,
  APP_UNREADY_GRACE_RULE,
  parseAgentPort,
  parseAppUnreadyGrace,
} from '../common/contract/election-config.ts';
import { ON_DELETION_MODES, ROUTINGS, type OnDeletion, type Routing } from '../common/contract/keys.ts';

export interface AgentConfig {
  podName: string;
  namespace: string;
  podUID?: string;
  /** The Lease holder identity; the pod name, as client-go users usually choose. */
  identity: string;
  leaseName: string;
  leaseNamespace: string;
  timings: Timings;
  routing: Routing;
  /** What to do when the pod is being deleted (leader-election/on-deletion). */
  onDeletion: OnDeletion;
  /** leader-election/app-unready-grace in ms; 0: health-blind. */
  appUnreadyGraceMs: number;
  port: number;
  bindAddress: string;
  /** The pod's revision (pod-template-hash or controller-revision-hash); '' for bare pods. */
  revision: string;
  /** Name of the agent's own container, to read its readiness on other pods. */
  agentName: string;
}

/** The single list of the agent's environment variables (docs/reference.md is generated from it). */
export const AGENT_ENV = [
  { name: 'POD_NAME', required: true, meaning: "this pod's name (downward API metadata.name)" },
  {
    name: 'POD_NAMESPACE',
    required: true,
    meaning: "this pod's namespace (downward API metadata.namespace)",
  },
  { name: 'POD_UID', required: false, meaning: "this pod's UID (downward API metadata.uid), used in Events" },
  { name: 'LEASE_NAME', required: true, meaning: 'the Lease the group shares' },
  { name: 'LEASE_NAMESPACE', required: false, meaning: 'namespace of the Lease', default: 'POD_NAMESPACE' },
  { name: 'IDENTITY', required: false, meaning: 'holder identity written to the Lease', default: 'POD_NAME' },
  { name: 'LEASE_DURATION', required: false, meaning: 'Go duration', default: '15s' },
  { name: 'RENEW_DEADLINE', required: false, meaning: 'Go duration', default: '10s' },
  { name: 'RETRY_PERIOD', required: false, meaning: 'Go duration', default: '2s' },
  { name: 'ROUTING', required: false, meaning: '`readiness-gate` or `label`', default: 'readiness-gate' },
  {
    name: 'ON_DELETION',
    required: false,
    meaning: '`release` (step down when the pod is being deleted) or `hold` (until SIGTERM)',
    default: 'release',
  },
  {
    name: 'APP_UNREADY_GRACE',
    required: false,
    meaning: 'how long the app may be unready before a leader hands over (0s: off)',
    default: '10s',
  },
  {
    name: 'AGENT_PORT',
    required: false,
    meaning: 'HTTP port of /leader, /readyz, /healthz, /metrics',
    default: '4040',
  },
  { name: 'BIND_ADDRESS', required: false, meaning: 'address to listen on', default: '0.0.0.0' },
  {
    name: 'POD_TEMPLATE_HASH',
    required: false,
    meaning: "the pod's pod-template-hash label (Deployments), for the rollout hand-off",
  },
  {
    name: 'CONTROLLER_REVISION_HASH',
    required: false,
    meaning: "the pod's controller-revision-hash label (StatefulSets), for the rollout hand-off",
  },
  {
    name: 'AGENT_NAME',
    required: false,
    meaning: 'name of the agent container',
    default: 'leader-election-agent',
  },
  { name: 'KUBECONFIG', required: false, meaning: 'kubeconfig file; in-cluster service account when unset' },
  { name: 'LOG_LEVEL', required: false, meaning: 'pino level', default: 'info' },
] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid agent configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

export function loadAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const v = env[name]?.trim();
    if (!v) problems.push(`${name} is required (${AGENT_ENV.find((e) => e.name === name)?.meaning})`);
    return v ?? '';
  };
  const duration = (name: string, dflt: string): number => {
    const raw = env[name]?.trim() || dflt;
    const ms = parseGoDuration(raw);
    if (ms === undefined || ms <= 0) {
      problems.push(`${name}="${raw}" is not a positive Go duration (e.g. 15s, 1m30s, 500ms)`);
      return 0;
    }
    return ms;
  };
  const podName = required('POD_NAME');
  const namespace = required('POD_NAMESPACE');
  const leaseName = required('LEASE_NAME');
  if (leaseName && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(leaseName)) {
    problems.push(
      `LEASE_NAME="${leaseName}" must be a DNS-1123 subdomain (lower case letters, digits, '-' and '.')`,
    );
  }
  const timings: Timings = {
    leaseDurationMs: duration('LEASE_DURATION', DEFAULTS.leaseDuration),
    renewDeadlineMs: duration('RENEW_DEADLINE', DEFAULTS.renewDeadline),
    retryPeriodMs: duration('RETRY_PERIOD', DEFAULTS.retryPeriod),
  };
  if (timings.leaseDurationMs && timings.renewDeadlineMs && timings.retryPeriodMs) {
    const bad = validateTimings(timings);
    if (bad) problems.push(`LEASE_DURATION/RENEW_DEADLINE/RETRY_PERIOD: ${bad}`);
  }
  const routing = (env.ROUTING?.trim() || DEFAULTS.routing) as Routing;
  if (!ROUTINGS.includes(routing)) {
    problems.push(`ROUTING="${routing}" must be ${ROUTINGS.join(' or ')}`);
  }
  const onDeletion = (env.ON_DELETION?.trim() || DEFAULTS.onDeletion) as OnDeletion;
  if (!ON_DELETION_MODES.includes(onDeletion)) {
    problems.push(`ON_DELETION="${onDeletion}" must be ${ON_DELETION_MODES.join(' or ')}`);
  }
  const graceRaw = env.APP_UNREADY_GRACE?.trim() || DEFAULTS.appUnreadyGrace;
  const appUnreadyGraceMs = parseAppUnreadyGrace(graceRaw) ?? -1;
  if (appUnreadyGraceMs < 0)
    problems.push(`APP_UNREADY_GRACE="${graceRaw}" must be ${APP_UNREADY_GRACE_RULE}`);
  const portRaw = env.AGENT_PORT?.trim() || String(DEFAULTS.port);
  const port = parseAgentPort(portRaw) ?? 0;
  if (port === 0) problems.push(`AGENT_PORT="${portRaw}" must be ${AGENT_PORT_RULE}`);
  if (problems.length) throw new ConfigError(problems);
  return {
    podName,
    namespace,
    podUID: env.POD_UID?.trim() || undefined,
    identity: env.IDENTITY?.trim() || podName,
    leaseName,
    leaseNamespace: env.LEASE_NAMESPACE?.trim() || namespace,
    timings,
    routing,
    onDeletion,
    appUnreadyGraceMs,
    port,
    bindAddress: env.BIND_ADDRESS?.trim() || '0.0.0.0',
    revision: env.POD_TEMPLATE_HASH?.trim() || env.CONTROLLER_REVISION_HASH?.trim() || '',
    agentName: env.AGENT_NAME?.trim() || 'leader-election-agent',
  };
}
