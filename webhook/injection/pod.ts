// Pod injection, a pure function from the raw pod the API server sent to a JSON Patch
// (or a reason to skip, or a denial): the agent container, the readiness gate or the
// role label, and the webhook's own labels and annotations. Only `add` operations.
import { timingWarnings } from '../../common/contract/timing-warnings.ts';
import { parseElectionConfig } from '../../common/contract/election-config.ts';
import {
  ANNOTATION,
  CONDITION_LEADER,
  LABEL_INJECTED,
  LABEL_ROLE,
  ROLE_FOLLOWER,
  STATUS_INJECTED,
} from '../../common/contract/keys.ts';
import { isOptedIn } from '../../common/contract/opt-in.ts';
import { isAbsent, isObject, str, stringMap, type JsonObject, quote } from '../../common/json.ts';
import { isDns1123Subdomain } from '../../common/units/dns-name.ts';
import {
  AGENT_TOKEN_VOLUME,
  agentContainer,
  agentTokenVolume,
  DEFAULT_AGENT_NAME,
} from './agent-container.ts';
import { appendOps, mapOps, type JsonPatchOp } from './json-patch.ts';
import { leaseNameFromOwner } from './lease-name.ts';
import { arrayAt, containersOf, hasContainerNamed, Invalid } from './raw-object.ts';
import { podLevelResourceProblems } from './pod-resources.ts';
import { deny, type InjectionResult, type WebhookConfig } from './result.ts';

export interface PodContext {
  /** The pod's namespace carries the label `leader-election/enabled: "true"`. */
  namespaceOptIn: boolean;
  /** The request's namespace (a pod being created may not carry it yet); used in messages. */
  namespace?: string;
  config: WebhookConfig;
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
/** The API server's limit on a pod's annotations: the sum of every key's and value's length. */
export const ANNOTATIONS_LIMIT_BYTES = 256 * 1024;
/** Room for what the webhook adds (lease name, status marker). */
export const ANNOTATIONS_HEADROOM_BYTES = 512;

/**
 * What the API server would refuse, or what could never work, because of what the injection
 * adds: said in the product's words, instead of a denial about a container the user never wrote.
 */
function podShapeProblems(
  spec: JsonObject,
  annotations: Record<string, string>,
  agentMode: string,
): string[] {
  const problems: string[] = [];
  const os = isObject(spec.os) ? str(spec.os.name) : undefined;
  if (os !== undefined && os !== 'linux') {
    problems.push(
      `spec.os.name is ${quote(os)}: the agent is a Linux container (its securityContext is Linux-only), so ` +
        'leader election needs a Linux pod',
    );
  }
  const restart = str(spec.restartPolicy) ?? 'Always';
  if (agentMode === 'container' && restart !== 'Always') {
    problems.push(
      `${ANNOTATION.agentMode}: "container" with restartPolicy ${restart} (a Job's pod?): the agent container ` +
        'never exits, so the pod could never complete; use the default agent-mode, sidecar, which the kubelet ' +
        'stops when the app containers are done',
    );
  }
  const size = Object.entries(annotations).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (size + ANNOTATIONS_HEADROOM_BYTES > ANNOTATIONS_LIMIT_BYTES) {
    problems.push(
      `the pod's annotations take ${size} bytes: with the ${ANNOTATIONS_HEADROOM_BYTES} the injection adds they ` +
        `would pass the API server's limit of ${ANNOTATIONS_LIMIT_BYTES} bytes; make room`,
    );
  }
  return problems;
}

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
      `the pod carries ${ANNOTATION.status}: ${STATUS_INJECTED} but has no container ${quote(agentName)}: ` +
        `remove that annotation (it is written by the webhook) so that the agent is injected`,
    ]);
  }

  const problems: string[] = [];
  const warnings: string[] = [];
  if (hasAgent) {
    problems.push(
      `the pod already has a container named ${quote(agentName)} (without the ${ANNOTATION.status} marker): ` +
        `rename it, or remove it if it was copied from an injected pod; the webhook injects the agent itself`,
    );
  }

  const parsed = parseElectionConfig(annotations);
  if (!parsed.ok) problems.push(...parsed.errors);
  // A bare pod's creator sees these (a workload's are returned when the workload is admitted).
  else if (!metadata.ownerReferences) warnings.push(...timingWarnings(parsed.config));

  // The agent mounts its own token volume (agentTokenVolume), whatever automountServiceAccountToken says.
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  if (volumes.some((v) => isObject(v) && v.name === AGENT_TOKEN_VOLUME)) {
    problems.push(
      `the pod already has a volume named ${quote(AGENT_TOKEN_VOLUME)} (copied from an injected pod?): remove it; ` +
        'the webhook adds it with the agent',
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
        `the Lease name derived from the pod's owner, ${quote(derived.name)}, is not a DNS-1123 subdomain; ` +
          `set the annotation ${ANNOTATION.leaseName}`,
      );
    } else {
      leaseName = derived.name;
      if (derived.warning) warnings.push(derived.warning);
    }
  }

  if (parsed.ok) {
    // Every container of a pod shares its network namespace: the agent's TCP port must be free
    // (a UDP or SCTP port of the same number is another socket; TCP is the default protocol).
    const port = parsed.config.port;
    for (const c of [...initContainers, ...containers]) {
      if (!isObject(c) || !Array.isArray(c.ports)) continue;
      const tcp = (p: unknown) => isObject(p) && (p.protocol === undefined || p.protocol === 'TCP');
      if (c.ports.some((p) => tcp(p) && isObject(p) && p.containerPort === port)) {
        const given = annotations[ANNOTATION.agentPort] !== undefined;
        problems.push(
          `${ANNOTATION.agentPort}: port ${port}${given ? '' : ' (the default)'} is already declared by container ` +
            `${quote(str(c.name) ?? '')}: set ${ANNOTATION.agentPort} to a free port`,
        );
      }
    }
  }

  if (parsed.ok) {
    problems.push(...podShapeProblems(spec, annotations, parsed.config.agentMode));
    problems.push(...podLevelResourceProblems(spec, parsed.config.resources, parsed.config.agentMode));
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
  appendOps(ops, spec, ['spec', 'volumes'], [agentTokenVolume()]);
  mapOps(ops, rawPod, ['metadata', 'labels'], newLabels);

  // The Lease name is written on the pod too (derived or given), so tools and the leader's
  // rollout hand-off can tell which pods share an election.
  mapOps(ops, rawPod, ['metadata', 'annotations'], {
    [ANNOTATION.leaseName]: leaseName,
    [ANNOTATION.status]: STATUS_INJECTED,
  });
  return { kind: 'patch', patch: ops, warnings, leaseName };
}
