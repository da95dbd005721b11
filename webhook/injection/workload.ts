// Workload injection: a Deployment's or StatefulSet's own `leader-election/*` annotations
// copied into its pod template, so that its pods opt in and share its settings.
import { parseElectionConfig } from '../../common/contract/election-config.ts';
import { ANNOTATION, PREFIX } from '../../common/contract/keys.ts';
import { isOptedIn } from '../../common/contract/opt-in.ts';
import { timingWarnings } from '../../common/contract/timing-warnings.ts';
import { isObject, str, stringMap, quote } from '../../common/json.ts';
import { DEFAULT_AGENT_NAME } from './agent-container.ts';
import { escapeJsonPointer, mapOps, pointer, type JsonPatchOp } from './json-patch.ts';
import { containersOf, hasContainerNamed, Invalid } from './raw-object.ts';
import { deny, type InjectionResult, type WebhookConfig } from './result.ts';
import { rolloutWarnings } from './rollout-warnings.ts';

/** Keys the webhook writes itself: never copied from a workload into its pod template. */
const WEBHOOK_KEYS: ReadonlySet<string> = new Set([ANNOTATION.status, ANNOTATION.workloadKeys]);

const TEMPLATE_ANNOTATIONS = ['spec', 'template', 'metadata', 'annotations'] as const;

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

  // A template that opts in by itself (the other documented way) is checked too, with no
  // patch: its pods' settings are validated here, where the person applying the workload sees
  // the denial or the warnings, rather than in the ReplicaSet's events.
  if (ourKeys.length === 0 && recorded.length === 0 && templateAnn[ANNOTATION.enabled] === undefined) {
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
        `the pod template already has a container named ${quote(agentName)} (copied from an injected pod?): ` +
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
  // The pods' Lease: the template's lease-name as the pods will see it, else the workload's
  // name (the webhook derives the same from a pod's owner).
  const leaseName = merged[ANNOTATION.leaseName] ?? str(metadata.name);
  return { kind: 'patch', patch: ops, warnings, leaseName };
}
