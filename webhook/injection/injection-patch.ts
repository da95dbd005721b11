// What the webhook does to an object, as pure functions from the raw JSON the API
// server sent to a JSON Patch (or a reason to skip, or a denial). No I/O, no clock,
// no API calls: the HTTP handler wraps these, and the tests apply the patches.
//
// The object is never decoded into typed structures and re-encoded: a field this
// code does not know (a newer Kubernetes, an alpha feature) would be lost. We read
// the raw object and emit operations that touch only what we add, in the style of
// vault-k8s agent-inject:
// - an absent array is created whole (`add /spec/initContainers [x]`), a present one
//   is appended to (`add /spec/initContainers/-`);
// - an absent map is created whole (`add /metadata/annotations {k: v}`), a present
//   one gets one `add` per key, with the key escaped as a JSON Pointer token
//   (`/metadata/annotations/leader-election~1status`).
// injectPod emits only `add`. injectWorkload may also emit `replace` and `remove`
// on its own annotation keys of the pod template (see there).
import { ANNOTATION, CONDITION_LEADER, LABEL_INJECTED, LABEL_ROLE, PREFIX, ROLE_FOLLOWER, STATUS_INJECTED, type PullPolicy } from '../../common/contract/keys.ts';
import { isDns1123Subdomain } from '../../common/units/dns-name.ts';
import { isOptedIn } from '../../common/contract/opt-in.ts';
import { parseElectionConfig, type ElectionConfig } from '../../common/contract/election-config.ts';
import { timingWarnings } from '../../common/contract/timing-warnings.ts';

export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/**
 * `patch`: allow with this patch (possibly empty: allow unchanged) and these admission warnings.
 * `skip`: not ours to change; allow unchanged. `deny`: refuse the object with this message.
 */
export type InjectionResult =
  | { kind: 'patch'; patch: JsonPatchOp[]; warnings: string[] }
  | { kind: 'skip'; reason: string }
  | { kind: 'deny'; message: string };

export interface WebhookConfig {
  agentImage: string;
  /** Name of the injected container; 'leader-election-agent' by default. */
  agentName?: string;
  /** The agent's pull policy unless a pod overrides it; the Kubernetes default when absent. */
  imagePullPolicy?: PullPolicy;
}

export interface PodContext {
  /** The pod's namespace carries the label `leader-election/enabled: "true"`. */
  namespaceOptIn: boolean;
  /** The request's namespace (a pod being created may not carry it yet); used in messages. */
  namespace?: string;
  config: WebhookConfig;
}

export const DEFAULT_AGENT_NAME = 'leader-election-agent';
export const AGENT_PORT_NAME = 'le-agent';
/** The distroless `nonroot` user and group. */
export const AGENT_UID = 65532;

/** RFC 6901: `~` → `~0`, then `/` → `~1`. */
export function escapeJsonPointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function pointer(segments: readonly string[]): string {
  return segments.map((s) => `/${escapeJsonPointer(s)}`).join('');
}

// ---------------------------------------------------------------------------
// Reading raw JSON

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** null and undefined are both "absent": `add` replaces a null member as it would create a missing one. */
function isAbsent(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

/** The string entries of a raw map (annotations and labels are map[string]string). */
function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  // Object.fromEntries defines own properties, so a key like `__proto__` stays a plain key.
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

const q = (v: string) => JSON.stringify(v);

class Invalid extends Error {}

/** The array at obj[key]: [] when absent; throws Invalid when something else is there. */
function arrayAt(obj: JsonObject, key: string, where: string): unknown[] {
  const v = obj[key];
  if (isAbsent(v)) return [];
  if (!Array.isArray(v)) throw new Invalid(`${where}.${key} is not an array`);
  return v;
}

/** Appends items to the array at `path` (parent object `obj`, member `key`), creating it when absent. */
function appendOps(ops: JsonPatchOp[], obj: JsonObject, path: readonly string[], items: unknown[]): void {
  const key = path[path.length - 1] ?? '';
  if (items.length === 0) return;
  if (isAbsent(obj[key])) {
    ops.push({ op: 'add', path: pointer(path), value: items });
  } else {
    for (const item of items) ops.push({ op: 'add', path: `${pointer(path)}/-`, value: item });
  }
}

/**
 * Sets entries of the map at `path` below `root`, creating the map (and any absent parent
 * object) whole with one `add` when it is absent. Throws Invalid if a parent is not an object.
 */
function mapOps(
  ops: JsonPatchOp[],
  root: JsonObject,
  path: readonly string[],
  entries: Record<string, string>,
): void {
  const keys = Object.keys(entries);
  if (keys.length === 0) return;
  let cur: JsonObject = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] ?? '';
    const next = cur[seg];
    if (isAbsent(next)) {
      let value: JsonObject = { ...entries };
      for (let j = path.length - 1; j > i; j--) value = { [path[j] ?? '']: value };
      ops.push({ op: 'add', path: pointer(path.slice(0, i + 1)), value });
      return;
    }
    if (!isObject(next)) throw new Invalid(`${path.slice(0, i + 1).join('.')} is not an object`);
    cur = next;
  }
  for (const k of keys) ops.push({ op: 'add', path: pointer([...path, k]), value: entries[k] });
}

function deny(problems: string[]): InjectionResult {
  const message =
    problems.length === 1
      ? (problems[0] ?? '')
      : `${problems.length} problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`;
  return { kind: 'deny', message };
}

function containersOf(spec: JsonObject, where: string): { containers: unknown[]; initContainers: unknown[] } {
  return {
    containers: arrayAt(spec, 'containers', where),
    initContainers: arrayAt(spec, 'initContainers', where),
  };
}

function hasContainerNamed(list: unknown[], name: string): boolean {
  return list.some((c) => isObject(c) && c.name === name);
}

// ---------------------------------------------------------------------------
// Pods

/**
 * The Lease name from the pod's controller owner. A Deployment's pods are owned by a ReplicaSet
 * named `<deployment>-<pod-template-hash>`; that hash changes with every revision, so we strip it
 * to get one Lease per Deployment, shared across rollouts. metadata.name is never used: a pod
 * created by a controller has only generateName at admission time.
 */
function leaseNameFromOwner(
  metadata: JsonObject,
  labels: Record<string, string>,
): { name: string; warning?: string } | undefined {
  const refs = metadata.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const owner = refs.find((r): r is JsonObject => isObject(r) && r.controller === true);
  const kind = str(owner?.kind);
  const name = str(owner?.name);
  if (!owner || !name) return undefined;
  if (kind !== 'ReplicaSet') return { name };
  // Argo Rollouts names its ReplicaSets the same way, with its own label.
  const hash = labels['pod-template-hash'] || labels['rollouts-pod-template-hash'];
  if (hash === undefined || hash === '') return { name }; // a bare ReplicaSet: its name is stable
  const suffix = `-${hash}`;
  if (name.endsWith(suffix) && name.length > suffix.length) return { name: name.slice(0, -suffix.length) };
  return {
    name,
    warning:
      `the pod's ReplicaSet ${q(name)} does not end with its pod-template-hash ${q(hash)}, so the Lease is named after ` +
      `the ReplicaSet and a new revision would elect its own leader; set ${ANNOTATION.leaseName} to share one Lease`,
  };
}

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
      { name: 'AGENT_PORT', value: String(cfg.port) },
      // The pod's revision, for the rollout hand-off: a Deployment's ReplicaSet labels its pods
      // with pod-template-hash, a StatefulSet with controller-revision-hash (empty when absent).
      envFrom('POD_TEMPLATE_HASH', "metadata.labels['pod-template-hash']"),
      envFrom('CONTROLLER_REVISION_HASH', "metadata.labels['controller-revision-hash']"),
    ],
    ports: [{ name: AGENT_PORT_NAME, containerPort: cfg.port, protocol: 'TCP' }],
    // Fencing: /readyz fails as soon as the lease is no longer valid by the local clock, and the
    // kubelet takes the pod out of the endpoints within a second, even if the API is unreachable.
    readinessProbe: { ...probe('/readyz'), periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 1 },
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

function describePod(metadata: JsonObject, namespace: string | undefined): string {
  const ns = str(metadata.namespace) ?? namespace;
  const name =
    str(metadata.name) ?? (str(metadata.generateName) ? `${str(metadata.generateName)}*` : '<unnamed>');
  return `pod ${ns ? `${ns}/` : ''}${name}`;
}

/**
 * The patch that injects the agent and the routing into a pod being created.
 *
 * - not opted in (see isOptedIn) → skip;
 * - already injected (marker annotation and agent container both present) → skip, so that a
 *   second call (reinvocation, a retried request) is a no-op;
 * - anything that would leave the pod without a working agent → deny, listing every problem.
 */
export function injectPod(rawPod: unknown, ctx: PodContext): InjectionResult {
  try {
    return injectPodUnsafe(rawPod, ctx);
  } catch (err) {
    if (err instanceof Invalid) return deny([`malformed pod: ${err.message}`]);
    throw err;
  }
}

function injectPodUnsafe(rawPod: unknown, ctx: PodContext): InjectionResult {
  if (!isObject(rawPod)) return deny(['malformed pod: not a JSON object']);
  const metadata = rawPod.metadata;
  const spec = rawPod.spec;
  if (!isObject(metadata)) return deny(['malformed pod: no metadata']);
  if (!isObject(spec)) return deny(['malformed pod: no spec']);
  if (!isAbsent(metadata.annotations) && !isObject(metadata.annotations)) {
    return deny(['malformed pod: metadata.annotations is not an object']);
  }
  if (!isAbsent(metadata.labels) && !isObject(metadata.labels)) {
    return deny(['malformed pod: metadata.labels is not an object']);
  }
  const annotations = stringMap(metadata.annotations);
  const labels = stringMap(metadata.labels);
  const what = describePod(metadata, ctx.namespace);

  if (!isOptedIn(annotations, ctx.namespaceOptIn)) return { kind: 'skip', reason: `${what} is not opted in` };

  const agentName = ctx.config.agentName ?? DEFAULT_AGENT_NAME;
  const { containers, initContainers } = containersOf(spec, 'spec');
  const readinessGates = arrayAt(spec, 'readinessGates', 'spec');
  const hasAgent = hasContainerNamed(containers, agentName) || hasContainerNamed(initContainers, agentName);

  if (annotations[ANNOTATION.status] === STATUS_INJECTED) {
    if (hasAgent) return { kind: 'skip', reason: `${what} is already injected` };
    // The marker without the agent (copied by hand from an injected pod's annotations, or the
    // container removed by someone else): skipping would run an opted-in pod without an agent,
    // a second leader. Fail closed.
    return deny([
      `the pod carries ${ANNOTATION.status}: ${STATUS_INJECTED} but has no container ${q(agentName)}: ` +
        `remove that annotation (it is written by the webhook) so that the agent is injected`,
    ]);
  }

  const problems: string[] = [];
  const warnings: string[] = [];
  if (hasAgent) {
    problems.push(
      `the pod already has a container named ${q(agentName)} (without the ${ANNOTATION.status} marker): ` +
        `rename it, or remove it if it was copied from an injected pod; the webhook injects the agent itself`,
    );
  }

  const parsed = parseElectionConfig(annotations);
  if (!parsed.ok) problems.push(...parsed.errors);

  if (spec.automountServiceAccountToken === false) {
    // The agent authenticates with the pod's service-account token (it holds the Lease and
    // writes the pod's condition); without it, it could never lead and the pod never be Ready.
    problems.push(
      'spec.automountServiceAccountToken is false, but the agent needs the service account token to hold the ' +
        'Lease: remove the field or set it to true',
    );
  }

  let leaseName = parsed.ok ? parsed.config.leaseName : annotations[ANNOTATION.leaseName];
  if (leaseName === undefined) {
    const derived = leaseNameFromOwner(metadata, labels);
    if (!derived) {
      problems.push(
        `pod has no owner to derive a Lease name from; set the annotation ${ANNOTATION.leaseName}`,
      );
    } else if (!isDns1123Subdomain(derived.name)) {
      problems.push(
        `the Lease name derived from the pod's owner, ${q(derived.name)}, is not a DNS-1123 subdomain; ` +
          `set the annotation ${ANNOTATION.leaseName}`,
      );
    } else {
      leaseName = derived.name;
      if (derived.warning) warnings.push(derived.warning);
    }
  }

  if (parsed.ok) {
    // Every container of a pod shares its network namespace: the agent's port must be free.
    const port = parsed.config.port;
    for (const c of [...initContainers, ...containers]) {
      if (!isObject(c) || !Array.isArray(c.ports)) continue;
      if (c.ports.some((p) => isObject(p) && p.containerPort === port)) {
        const given = annotations[ANNOTATION.agentPort] !== undefined;
        problems.push(
          `${ANNOTATION.agentPort}: port ${port}${given ? '' : ' (the default)'} is already declared by container ` +
            `${q(str(c.name) ?? '')}: set ${ANNOTATION.agentPort} to a free port`,
        );
      }
    }
  }

  if (problems.length > 0 || !parsed.ok || leaseName === undefined) return deny(problems);
  const cfg = parsed.config;

  if (spec.hostNetwork === true) {
    warnings.push(
      `the pod uses hostNetwork: the agent listens on port ${cfg.port} of the node, so two pods of the group ` +
        `on one node collide; set ${ANNOTATION.agentPort} per workload or avoid co-locating them`,
    );
  }

  const ops: JsonPatchOp[] = [];
  if (cfg.agentMode === 'sidecar') {
    // Appended, not prepended, to initContainers. Native sidecars start in the order listed and
    // each must have started before the next init container runs, so at the end:
    // - sidecars listed before ours (a mesh proxy the agent's API calls may go through) are up first;
    // - the pod's regular init containers have completed before the agent can take the lease, so a
    //   pod still initialising does not become leader (and, with readiness-gate routing, leave the
    //   Service without a Ready endpoint);
    // - the agent still starts before every app container, as a sidecar must.
    // Istio prepends its proxy instead because other init containers need its network; the agent
    // offers nothing an init container needs.
    appendOps(ops, spec, ['spec', 'initContainers'], [agentContainer(cfg, leaseName, ctx.config, true)]);
  } else {
    appendOps(ops, spec, ['spec', 'containers'], [agentContainer(cfg, leaseName, ctx.config, false)]);
  }

  // The injected label lets the RBAC reconciler watch only elected pods (label selector).
  const newLabels: Record<string, string> = { [LABEL_INJECTED]: 'true' };
  if (cfg.routing === 'readiness-gate') {
    const present = readinessGates.some((g) => isObject(g) && g.conditionType === CONDITION_LEADER);
    if (!present) appendOps(ops, spec, ['spec', 'readinessGates'], [{ conditionType: CONDITION_LEADER }]);
  } else {
    // Every pod starts as a follower; the agent of the leader flips its own label. `add` on an
    // existing member replaces it, which is what we want if the template set another value.
    const current = labels[LABEL_ROLE];
    if (current !== undefined && current !== ROLE_FOLLOWER) {
      warnings.push(
        `label ${LABEL_ROLE}=${current} is replaced by ${ROLE_FOLLOWER}: the agent sets it, do not set it in the pod template`,
      );
    }
    newLabels[LABEL_ROLE] = ROLE_FOLLOWER;
  }
  mapOps(ops, rawPod, ['metadata', 'labels'], newLabels);

  // The Lease name is written on the pod too (derived or given), so tools and the leader's
  // rollout hand-off can tell which pods share an election.
  mapOps(ops, rawPod, ['metadata', 'annotations'], {
    [ANNOTATION.leaseName]: leaseName,
    [ANNOTATION.status]: STATUS_INJECTED,
  });
  return { kind: 'patch', patch: ops, warnings };
}

// ---------------------------------------------------------------------------
// Deployments and StatefulSets

/** Keys the webhook writes itself: never copied from a workload into its pod template. */
const WEBHOOK_KEYS: ReadonlySet<string> = new Set([ANNOTATION.status, ANNOTATION.workloadKeys]);

const TEMPLATE_ANNOTATIONS = ['spec', 'template', 'metadata', 'annotations'] as const;

/** IntOrString as Kubernetes resolves it against `total` (percentages rounded as told). */
function resolveIntOrPercent(v: unknown, total: number, roundUp: boolean): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const m = typeof v === 'string' ? /^([0-9]+)%$/.exec(v) : null;
  if (!m) return undefined;
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

function replicasOf(spec: JsonObject): number {
  return typeof spec.replicas === 'number' ? spec.replicas : 1;
}

/**
 * With readiness-gate routing only the leader is Ready, so anything that waits for pods to be
 * Ready stalls. The message names the fix. (PodDisruptionBudgets stall drains for the same reason,
 * but they are other objects: they are checked elsewhere.)
 */
function rolloutWarnings(kind: string, name: string, spec: JsonObject): string[] {
  const warnings: string[] = [];
  const n = replicasOf(spec);
  if (n <= 1) return warnings;
  const routingFix = `or set ${ANNOTATION.routing}: label (every replica Ready, the Service selects ${LABEL_ROLE}: leader)`;
  if (kind === 'Deployment') {
    const strategy = isObject(spec.strategy) ? spec.strategy : {};
    if ((str(strategy.type) ?? 'RollingUpdate') !== 'RollingUpdate') return warnings;
    const ru = isObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
    const given = ru.maxUnavailable;
    // Kubernetes rounds maxUnavailable percentages down (and maxSurge up).
    const maxUnavailable = resolveIntOrPercent(given ?? '25%', n, false) ?? Math.floor(n / 4);
    if (maxUnavailable >= n - 1) return warnings;
    const shown = given === undefined ? '25%, the default' : String(given);
    warnings.push(
      `Deployment ${name}: with ${ANNOTATION.routing}: readiness-gate only the leader is Ready (1 of ${n} available), ` +
        `but its RollingUpdate keeps at least ${n - maxUnavailable} available (maxUnavailable ${shown}), so a rollout ` +
        `can stall; set spec.strategy.rollingUpdate.maxUnavailable to ${n - 1} (or 100%): the agent hands the lease ` +
        `to a Ready pod of the new revision, so the switch stays graceful; ${routingFix}`,
    );
  } else {
    const policy = str(spec.podManagementPolicy) ?? 'OrderedReady';
    const update = isObject(spec.updateStrategy) ? spec.updateStrategy : {};
    const updateType = str(update.type) ?? 'RollingUpdate';
    const ru = isObject(update.rollingUpdate) ? update.rollingUpdate : {};
    // StatefulSets count every unavailable pod (standbys included) against maxUnavailable, and
    // round percentages up.
    const maxUnavailable = resolveIntOrPercent(ru.maxUnavailable ?? 1, n, true) ?? 1;
    const updateStalls = updateType === 'RollingUpdate' && maxUnavailable < n;
    if (policy === 'OrderedReady') {
      warnings.push(
        `StatefulSet ${name}: with ${ANNOTATION.routing}: readiness-gate only the leader is Ready, but ` +
          `podManagementPolicy OrderedReady creates and updates pods one at a time, each waiting for the previous ` +
          `one to be Ready, so scaling and rollouts stall; set spec.podManagementPolicy: Parallel (immutable: ` +
          `recreate the StatefulSet)` +
          (updateStalls
            ? ' and spec.updateStrategy.rollingUpdate.maxUnavailable: 100% (Kubernetes 1.35+)'
            : '') +
          `, ${routingFix}`,
      );
    } else if (updateStalls) {
      warnings.push(
        `StatefulSet ${name}: with ${ANNOTATION.routing}: readiness-gate only the leader is Ready, but a ` +
          `RollingUpdate counts the standby pods as unavailable and waits while maxUnavailable (${maxUnavailable}) ` +
          `is reached, so rollouts stall; set spec.updateStrategy.rollingUpdate.maxUnavailable: 100% ` +
          `(Kubernetes 1.35+) or updateStrategy OnDelete, ${routingFix}`,
      );
    }
  }
  return warnings;
}

export interface WorkloadOptions {
  /** The workload's namespace opts in: decides whether rollout warnings apply when `enabled` is absent. */
  namespaceOptIn?: boolean;
}

/**
 * The patch for a Deployment or StatefulSet being created or updated: copies its own
 * `leader-election/*` annotations into the pod template, so that its pods opt in and share its
 * settings, and warns about rollouts that readiness-gate routing would stall.
 *
 * The workload's metadata is the source of truth for the keys it carries. The template records
 * the keys it got from the workload in `leader-election/workload-keys`, so that a key removed
 * from the workload (opting out by removing `leader-election/enabled`, or dropping an override)
 * is removed from the template too, while keys the user wrote into the template directly (the
 * other documented way to opt in) are left alone.
 *
 * The two non-`add` operations, both only on our own annotation keys of the template:
 * - `replace` for a copied key whose template value differs from the workload's. (`add` would
 *   replace as well; `replace` says so and fails if the key vanished meanwhile.)
 * - `remove` for a key recorded as copied that the workload no longer has: there is no other
 *   way to take it out, and leaving `leader-election/enabled: "true"` in the template would keep
 *   injecting pods of a workload that opted out.
 */
export function injectWorkload(
  rawWorkload: unknown,
  config: WebhookConfig,
  opts: WorkloadOptions = {},
): InjectionResult {
  try {
    return injectWorkloadUnsafe(rawWorkload, config, opts);
  } catch (err) {
    if (err instanceof Invalid) return deny([`malformed workload: ${err.message}`]);
    throw err;
  }
}

function injectWorkloadUnsafe(
  rawWorkload: unknown,
  config: WebhookConfig,
  opts: WorkloadOptions,
): InjectionResult {
  if (!isObject(rawWorkload)) return deny(['malformed workload: not a JSON object']);
  const kind = str(rawWorkload.kind);
  if (kind !== 'Deployment' && kind !== 'StatefulSet') {
    return { kind: 'skip', reason: `kind ${kind ?? '<none>'} is not a Deployment or StatefulSet` };
  }
  const metadata = isObject(rawWorkload.metadata) ? rawWorkload.metadata : {};
  const name = str(metadata.name) ?? str(metadata.generateName) ?? '<unnamed>';
  const what = `${kind} ${name}`;
  const spec = isObject(rawWorkload.spec) ? rawWorkload.spec : {};
  const template = isObject(spec.template) ? spec.template : {};
  const templateMeta = isObject(template.metadata) ? template.metadata : {};
  const templateAnn = stringMap(templateMeta.annotations);

  const ours: Record<string, string> = {};
  for (const [k, v] of Object.entries(stringMap(metadata.annotations))) {
    if (k.startsWith(PREFIX) && !WEBHOOK_KEYS.has(k)) ours[k] = v;
  }
  const ourKeys = Object.keys(ours).sort();
  const recorded = (templateAnn[ANNOTATION.workloadKeys] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => PREFIX + s);
  const stale = recorded.filter((k) => !(k in ours) && k in templateAnn);

  if (ourKeys.length === 0 && recorded.length === 0) {
    return { kind: 'skip', reason: `${what} has no ${PREFIX}* annotations` };
  }

  // The template as its pods will see it.
  const merged: Record<string, string> = { ...templateAnn };
  for (const k of stale) delete merged[k];
  Object.assign(merged, ours);
  const marker = ourKeys.map((k) => k.slice(PREFIX.length)).join(',');
  if (marker === '') delete merged[ANNOTATION.workloadKeys];
  else merged[ANNOTATION.workloadKeys] = marker;

  // An explicit opt-out is not checked further: turning the feature off must always work.
  const optedOut = merged[ANNOTATION.enabled] === 'false';
  const parsed = parseElectionConfig(merged);
  if (!optedOut) {
    const problems: string[] = [];
    // Refuse templates whose pods would be denied anyway: better now than as ReplicaSet events.
    if (templateAnn[ANNOTATION.status] !== undefined) {
      problems.push(
        `the pod template carries ${ANNOTATION.status} (written by the webhook on pods, perhaps copied from one): ` +
          `remove it, or its pods would not be injected`,
      );
    }
    const agentName = config.agentName ?? DEFAULT_AGENT_NAME;
    const templateSpec = isObject(template.spec) ? template.spec : {};
    const { containers, initContainers } = containersOf(templateSpec, 'spec.template.spec');
    if (hasContainerNamed(containers, agentName) || hasContainerNamed(initContainers, agentName)) {
      problems.push(
        `the pod template already has a container named ${q(agentName)} (copied from an injected pod?): ` +
          `remove it; the webhook injects the agent into each pod`,
      );
    }
    if (!parsed.ok) problems.push(...parsed.errors);
    if (problems.length > 0) return deny(problems.map((p) => `${what}: ${p}`));
  }

  const ops: JsonPatchOp[] = [];
  const annPath = pointer(TEMPLATE_ANNOTATIONS);
  if (!isObject(templateMeta.annotations)) {
    const entries: Record<string, string> = { ...ours };
    if (marker !== '') entries[ANNOTATION.workloadKeys] = marker;
    mapOps(ops, rawWorkload, TEMPLATE_ANNOTATIONS, entries);
  } else {
    const toAdd: Record<string, string> = {};
    const set = (k: string, v: string) => {
      const cur = templateAnn[k];
      if (cur === undefined) toAdd[k] = v;
      else if (cur !== v) ops.push({ op: 'replace', path: `${annPath}/${escapeJsonPointer(k)}`, value: v });
    };
    for (const k of ourKeys) set(k, ours[k] ?? '');
    for (const k of stale) ops.push({ op: 'remove', path: `${annPath}/${escapeJsonPointer(k)}` });
    if (marker !== '') set(ANNOTATION.workloadKeys, marker);
    else if (templateAnn[ANNOTATION.workloadKeys] !== undefined) {
      ops.push({ op: 'remove', path: `${annPath}/${escapeJsonPointer(ANNOTATION.workloadKeys)}` });
    }
    mapOps(ops, rawWorkload, TEMPLATE_ANNOTATIONS, toAdd);
  }

  const optedIn = parsed.ok && isOptedIn(merged, opts.namespaceOptIn ?? false);
  const warnings = [
    ...(optedIn && parsed.config.routing === 'readiness-gate' ? rolloutWarnings(kind, name, spec) : []),
    ...(optedIn ? timingWarnings(parsed.config).map((w) => `${kind} ${name}: ${w}`) : []),
  ];
  return { kind: 'patch', patch: ops, warnings };
}
