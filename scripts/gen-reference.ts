// `node scripts/gen-reference.ts` (make docs): writes docs/reference.md, the configuration
// reference, from the code's single lists, so the page cannot drift from the code:
//   - ANNOTATIONS (common/contract/annotation-docs.ts), CONDITION_LEADER and the labels
//     (common/contract/keys.ts);
//   - AGENT_ENV (agent/config.ts) and the agent's metrics (the registry an Agent builds);
//   - WEBHOOK_FLAGS (webhook/config.ts), ADMISSION_ROUTES (webhook/admission/server.ts) and
//     the webhook's metrics (webhook/admission/metrics.ts), the injected container's
//     constants (webhook/injection/agent-container.ts), the reconciler's RoleBinding
//     (webhook/rbac/role-binding.ts).
// The HTTP endpoints are listed below (AGENT_ENDPOINTS, WEBHOOK_ENDPOINTS); test/scripts/gen-reference.test.ts
// checks them against the real servers, and fails when docs/reference.md differs from what
// this script writes. `--check` exits 1 instead of writing when the page is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { ANNOTATIONS } from '../common/contract/annotation-docs.ts';
import {
  CONDITION_LEADER,
  LABEL_INJECTED,
  LABEL_ROLE,
  NAMESPACE_LABEL_ENABLED,
  ROLE_FOLLOWER,
  ROLE_LEADER,
  STATUS_INJECTED,
  ANNOTATION,
} from '../common/contract/keys.ts';
import { DEFAULTS, FENCING, fencingMarginMs, LIMITS } from '../common/contract/defaults.ts';
import { formatGoDuration } from '../common/units/go-duration.ts';
import { ANNOTATIONS_HEADROOM_BYTES, ANNOTATIONS_LIMIT_BYTES } from '../webhook/injection/pod.ts';
import { silentLogger } from '../common/logger.ts';
import { Registry } from '../common/metrics.ts';
import { Agent } from '../agent/agent.ts';
import { AGENT_ENV, loadAgentConfig } from '../agent/config.ts';
import { WEBHOOK_FLAGS, type FlagDoc } from '../webhook/config.ts';
import { AGENT_PORT_NAME, AGENT_UID, DEFAULT_AGENT_NAME } from '../webhook/injection/agent-container.ts';
import {
  DEFAULT_AGENT_CLUSTER_ROLE,
  DEFAULT_ROLE_BINDING_NAME,
  OWNED_LABELS,
} from '../webhook/rbac/role-binding.ts';
import { ADMISSION_ROUTES } from '../webhook/admission/server.ts';
import { certificateExpiryMetric, webhookMetrics } from '../webhook/admission/metrics.ts';

export const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const REFERENCE_PATH = join(root, 'docs', 'reference.md');

export interface Endpoint {
  method: string;
  path: string;
  meaning: string;
}

/** The agent's HTTP endpoints (agent/server.ts), on 127.0.0.1 and the pod IP. */
export const AGENT_ENDPOINTS: readonly Endpoint[] = [
  {
    method: 'GET',
    path: '/leader',
    meaning:
      'JSON `{leader, self, isLeader, leaseName, leaseTransitions, since, stepDown}`: the holder as this agent last saw it, its own identity, whether it leads (with a valid lease by its own clock), since when (ISO time), and why it left the election for good (its pod is being deleted; null while it campaigns).',
  },
  {
    method: 'GET',
    path: '/leader/watch',
    meaning:
      'Server-sent events: one `leader` event with the same JSON at once and on every change; a `: keep-alive` comment every 15 s.',
  },
  {
    method: 'GET',
    path: '/readyz',
    meaning:
      'The agent container’s readiness probe, and the fencing: 503 while the pod may show itself leader (gate True or role label `leader`) without a valid lease by the local clock; 200 otherwise (followers included).',
  },
  {
    method: 'GET',
    path: '/healthz',
    meaning: 'The liveness probe: 503 only when the election loop is wedged.',
  },
  { method: 'GET', path: '/metrics', meaning: 'Prometheus text format (see the agent’s metrics below).' },
];

/** The webhook's HTTP endpoints besides the admission routes (webhook/admission/server.ts). */
export const WEBHOOK_ENDPOINTS: readonly (Endpoint & { ports: string })[] = [
  ...ADMISSION_ROUTES.map((r) => ({
    method: 'POST',
    path: r.path,
    ports: 'HTTPS (`--port`)',
    meaning: r.namespaceOptIn
      ? `AdmissionReview v1 for pods of namespaces labelled \`${NAMESPACE_LABEL_ENABLED}: "true"\` (every pod opts in unless it says \`"false"\`).`
      : 'AdmissionReview v1 for pods opted in by annotation, and for Deployments and StatefulSets (the opt-in is copied into the pod template).',
  })),
  {
    method: 'GET',
    path: '/healthz',
    ports: 'HTTPS and health (`--health-port`)',
    meaning: 'Liveness: the process answers.',
  },
  {
    method: 'GET',
    path: '/readyz',
    ports: 'HTTPS and health',
    meaning:
      'Readiness: 503 until a serving certificate is loaded, and from SIGTERM on (`--shutdown-delay`).',
  },
  {
    method: 'GET',
    path: '/metrics',
    ports: 'HTTPS and health',
    meaning: 'Prometheus text format, unless `--metrics=false`.',
  },
];

interface MetricDoc {
  name: string;
  type: string;
  help: string;
}

/** The metric families an exposition holds (its HELP and TYPE lines). */
export function familiesOf(exposition: string): MetricDoc[] {
  const help = new Map<string, string>();
  const out: MetricDoc[] = [];
  for (const line of exposition.split('\n')) {
    const h = /^# HELP (\S+) (.*)$/.exec(line);
    if (h) help.set(h[1] ?? '', h[2] ?? '');
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) out.push({ name: t[1] ?? '', type: t[2] ?? '', help: help.get(t[1] ?? '') ?? '' });
  }
  return out;
}

/** The metric families a registry holds, from its own exposition. */
export function metricFamilies(registry: Registry): MetricDoc[] {
  return familiesOf(registry.render());
}

/** The agent's /metrics exposition: the registry an Agent builds (constructed, never started). */
export function agentExposition(): string {
  const config = loadAgentConfig({ POD_NAME: 'p', POD_NAMESPACE: 'n', LEASE_NAME: 'l' });
  const agent = new Agent({ config, connection: { server: 'https://127.0.0.1:1' }, log: silentLogger() });
  // The registry is private to the agent: read it without starting anything.
  const internals = agent as unknown as { registry: Registry; client: { close(): void } };
  try {
    return internals.registry.render();
  } finally {
    internals.client.close();
  }
}

/** The agent's metrics. */
export function agentMetrics(): MetricDoc[] {
  return familiesOf(agentExposition());
}

export function webhookMetricFamilies(): MetricDoc[] {
  const registry = new Registry();
  webhookMetrics(registry);
  certificateExpiryMetric(registry, () => undefined);
  return metricFamilies(registry);
}

/** A table cell: pipes escaped, line breaks flattened. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const code = (s: string) => `\`${s}\``;

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function flagValue(f: FlagDoc): string {
  if (f.type === 'enum') return (f.values ?? []).map(code).join(' | ');
  return f.type === 'duration' ? 'Go duration' : f.type;
}

/** The page, before formatting. */
export function referenceMarkdown(): string {
  const user = ANNOTATIONS.filter((a) => a.writtenBy === 'user');
  const written = ANNOTATIONS.filter((a) => a.writtenBy === 'webhook');
  const parts: string[] = [
    '# Configuration reference',
    '<!-- Generated by `node scripts/gen-reference.ts` (make docs) from the code. Do not edit: test/scripts/gen-reference.test.ts fails when this page and the code differ. -->',
    'Everything a user or an operator can set or read, generated from the code’s own lists: the annotations ' +
      '(`ANNOTATIONS` in common/contract/annotation-docs.ts), the agent’s environment (`AGENT_ENV` in agent/config.ts), the ' +
      'webhook’s flags (`WEBHOOK_FLAGS` in webhook/config.ts), and the names of the contract. The keys are the API: ' +
      'they stay stable. How to use them: [operations.md](operations.md).',

    '## Annotations',
    `On a Deployment, a StatefulSet, their pod template, or a bare pod. Set on a workload, the webhook copies them into its pod template; every value is validated when the pod is created, and an invalid one is denied with the key, the value and the rule. Timings must hold lease-duration > renew-deadline > 1.2 × retry-period.`,
    table(
      ['key', 'values', 'default', 'meaning'],
      user.map((a) => [code(a.key), a.values, a.default, a.meaning]),
    ),
    '### Written by the webhook',
    'Do not set these yourself.',
    table(
      ['key', 'values', 'meaning'],
      written.map((a) => [code(a.key), a.values, a.meaning]),
    ),

    '### What the webhook refuses, and what it only warns about',
    'Refused (the pod, or the workload whose template opts in, is denied with every problem listed):',
    [
      `a \`${ANNOTATION.enabled}\` value other than \`true\` or \`false\` (\`yes\`, \`TRUE\`, \`1\`, empty): the API server sends every value but \`false\` to the webhook, and the require-agent policy counts every value but \`false\` as an opt-in, so a typo never leaves a pod Ready without an agent`,
      `any annotation value outside the table above (timings ${LIMITS.minTimingMs / 1000}s to ${LIMITS.maxTimingText}, whole seconds for the lease duration; lease-duration > renew-deadline > ${LIMITS.jitterFactor} × retry-period; CPU ${LIMITS.cpu.minText} to ${LIMITS.cpu.maxText}; memory ${LIMITS.memory.minText} to ${LIMITS.memory.maxText}; requests ≤ limits; port ${LIMITS.port.min} to ${LIMITS.port.max}; a Lease name of at most ${LIMITS.leaseNameMaxLength} characters)`,
      `an agent port that another container of the pod declares over TCP (UDP and SCTP ports of that number are fine)`,
      `\`spec.os.name\` other than \`linux\` (the agent is a Linux container)`,
      `\`${ANNOTATION.agentMode}: container\` with \`restartPolicy\` \`Never\` or \`OnFailure\` (the pod could never complete; the default sidecar mode works in Jobs)`,
      `annotations within ${ANNOTATIONS_HEADROOM_BYTES} bytes of the API server's limit of ${ANNOTATIONS_LIMIT_BYTES} bytes (the injection adds its own)`,
      `pod-level \`spec.resources.requests\` (CPU or memory) below the containers' aggregate request with the agent's added, and in container mode pod-level limits below the agent's limit: the message names the value that fits`,
      `a pod carrying \`${ANNOTATION.status}: ${STATUS_INJECTED}\` without the agent container (copied by hand)`,
    ]
      .map((r) => `- ${r}`)
      .join('\n'),
    `Warned about (admitted; kubectl prints the warning): timings with lease-duration − renew-deadline below ${formatGoDuration(fencingMarginMs())} (the injected readiness probe's period ${FENCING.readinessProbe.periodSeconds}s × ${FENCING.readinessProbe.failureThreshold} + timeout ${FENCING.readinessProbe.timeoutSeconds}s, plus ${formatGoDuration(FENCING.propagationMs)} for the EndpointSlice and kube-proxy): a lost leader could still be served when another takes the Lease; \`hostNetwork\` (two pods of a group on one node share the agent's port); a Deployment strategy or PodDisruptionBudget that stalls with readiness-gate routing; a role label set by the template (label routing).`,

    '## Labels and conditions',
    table(
      ['name', 'kind', 'on', 'meaning'],
      [
        [
          code(NAMESPACE_LABEL_ENABLED),
          'label',
          'Namespace (set by you)',
          '`"true"`: every pod of the namespace opts in, unless its own annotation says `"false"`.',
        ],
        [
          code(LABEL_INJECTED),
          'label',
          'pod (set by the webhook)',
          '`"true"` on every injected pod; the RBAC reconciler, the agents’ rollout hand-off and `make status` select on it.',
        ],
        [
          code(LABEL_ROLE),
          'label',
          'pod (set by its agent)',
          `\`${ROLE_LEADER}\` on the leader, \`${ROLE_FOLLOWER}\` on the others, with \`${ANNOTATION.routing}: label\` only; the Service selects \`${LABEL_ROLE}: ${ROLE_LEADER}\`.`,
        ],
        [
          code(CONDITION_LEADER),
          'pod condition, listed in `spec.readinessGates`',
          'pod (set by its agent)',
          '`True` only on the pod that holds a valid lease; the kubelet marks a pod Ready only when its containers are ready and this condition is True (readiness-gate routing).',
        ],
        [
          code(`${ANNOTATION.status}: ${STATUS_INJECTED}`),
          'annotation',
          'pod (set by the webhook)',
          'The idempotency marker: injecting a pod twice changes nothing.',
        ],
      ],
    ),

    '## The injected agent container',
    `Added to every opted-in pod: a native sidecar (an init container with \`restartPolicy: Always\`) named ${code(DEFAULT_AGENT_NAME)}, or a regular container with \`${ANNOTATION.agentMode}: container\`. Its image is the webhook’s \`--agent-image\`; it runs as UID ${AGENT_UID}, non-root, read-only root filesystem, all capabilities dropped. Its port is named ${code(AGENT_PORT_NAME)} (${DEFAULTS.port} unless \`${ANNOTATION.agentPort}\`); its readiness probe is \`/readyz\` every second, its liveness probe \`/healthz\`. Resources: requests ${DEFAULTS.cpuRequest} CPU / ${DEFAULTS.memoryRequest}, limits ${DEFAULTS.cpuLimit} CPU / ${DEFAULTS.memoryLimit} unless overridden.`,

    '### Agent environment variables',
    'The webhook sets them from the annotations and the downward API. They also let the agent run outside a cluster (`node dist/agent.mjs`), with a kubeconfig.',
    table(
      ['variable', 'required', 'default', 'meaning'],
      AGENT_ENV.map((e) => [
        code(e.name),
        e.required ? 'yes' : 'no',
        'default' in e && e.default ? code(e.default) : '—',
        e.meaning,
      ]),
    ),

    '### Agent HTTP endpoints',
    `On 127.0.0.1 and the pod IP, port ${DEFAULTS.port} (\`${ANNOTATION.agentPort}\`). Your app can ask its own agent whether it leads: \`curl -s localhost:${DEFAULTS.port}/leader\`.`,
    table(
      ['endpoint', 'meaning'],
      AGENT_ENDPOINTS.map((e) => [`${e.method} ${code(e.path)}`, e.meaning]),
    ),

    '### Agent metrics',
    'The leadership series carry the label `name` (the Lease; one agent serves one Lease), `leadership_lost_total` also `reason` (the agent’s own: `handover`, `app-unready`, `pod-deleted`, `not-injected`; else the elector’s: `renew deadline passed`, `lease lost`, `process was paused`, `stopping`); the API series carry `verb` (and `reason` for errors). `leader_election_master_status` keeps client-go’s name.',
    table(
      ['metric', 'type', 'meaning'],
      agentMetrics().map((m) => [code(m.name), m.type, m.help]),
    ),

    '## Webhook flags',
    'Given as `--name=value` in the Deployment’s `args`; a flag’s environment variable is read when the flag is not given. `node dist/webhook.mjs --help` prints the same list.',
    table(
      ['flag', 'value', 'default', 'env', 'meaning'],
      (WEBHOOK_FLAGS as readonly FlagDoc[]).map((f) => [
        code(`--${f.name}`),
        flagValue(f),
        f.required ? 'required' : f.default !== undefined ? code(f.default) : '—',
        f.env ? code(f.env) : '—',
        f.meaning,
      ]),
    ),

    '### Webhook HTTP endpoints',
    table(
      ['endpoint', 'port', 'meaning'],
      WEBHOOK_ENDPOINTS.map((e) => [`${e.method} ${code(e.path)}`, e.ports, e.meaning]),
    ),

    '### Webhook metrics',
    table(
      ['metric', 'type', 'meaning'],
      webhookMetricFamilies().map((m) => [code(m.name), m.type, m.help]),
    ),

    '## Objects the product creates at run time',
    table(
      ['object', 'made by', 'meaning'],
      [
        [
          'Lease `<lease-name>` (coordination.k8s.io/v1), in the pods’ namespace',
          'the agents',
          'The election: `holderIdentity` is the leader pod’s name; `acquireTime`, `renewTime`, `leaseDurationSeconds`, `leaseTransitions` as client-go writes them.',
        ],
        [
          `RoleBinding ${code(DEFAULT_ROLE_BINDING_NAME)}, in every namespace with injected pods`,
          'the webhook’s RBAC reconciler',
          `Binds the ClusterRole ${code(DEFAULT_AGENT_CLUSTER_ROLE)} (from the manifests) to the service accounts of the injected pods; labelled ${Object.entries(
            OWNED_LABELS,
          )
            .map(([k, v]) => code(`${k}=${v}`))
            .join(', ')}; deleted when the namespace has no injected pod left.`,
        ],
        [
          'Lease `leader-election-webhook`, in `leader-election-system`',
          'the webhook replicas',
          'Which replica runs the RBAC reconciler (`--lease-name`).',
        ],
        [
          'Events `BecameLeader` and `StoppedLeading` on the pods',
          'the agents',
          '`kubectl describe pod` and `kubectl get events` show when a pod started or stopped leading, and why.',
        ],
      ],
    ),
  ];
  return parts.join('\n\n') + '\n';
}

/** The page as written: formatted with the project's prettier configuration. */
export async function renderReference(): Promise<string> {
  const options = (await prettier.resolveConfig(REFERENCE_PATH)) ?? {};
  return prettier.format(referenceMarkdown(), { ...options, parser: 'markdown', filepath: REFERENCE_PATH });
}

async function main(argv: string[]): Promise<number> {
  const text = await renderReference();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(REFERENCE_PATH, 'utf8');
    } catch {
      /* missing */
    }
    if (current !== text) {
      console.error('docs/reference.md is out of date: run make docs (node scripts/gen-reference.ts)');
      return 1;
    }
    console.log('docs/reference.md is up to date');
    return 0;
  }
  writeFileSync(REFERENCE_PATH, text);
  console.log(`wrote ${REFERENCE_PATH}`);
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
