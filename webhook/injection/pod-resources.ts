// Pod-level resources (spec.resources, Kubernetes 1.32+): the API server requires the pod's
// requests to cover its containers' aggregate requests, and each regular container's limits to
// fit the pod's limits (pkg/apis/core/validation validatePodResourceConsistency). The injected
// agent adds to that aggregate, so a pod whose pod-level requests exactly covered its own
// containers would be refused with a message about a container the user never wrote. Said
// here, in the product's words, with the value that would fit. Pure.
import type { AgentResources } from '../../common/contract/election-config.ts';
import { ANNOTATION } from '../../common/contract/keys.ts';
import { parseQuantity } from '../../common/units/quantity.ts';
import { isObject, str, type JsonObject } from '../../common/json.ts';

type Resource = 'cpu' | 'memory';
const RESOURCES: Resource[] = ['cpu', 'memory'];
const OVERRIDE: Record<Resource, { request: string; limit: string }> = {
  cpu: { request: ANNOTATION.agentCpuRequest, limit: ANNOTATION.agentCpuLimit },
  memory: { request: ANNOTATION.agentMemoryRequest, limit: ANNOTATION.agentMemoryLimit },
};

/** A quantity in thousandths of its base unit, as an integer: sums of `100m` stay exact. */
function milli(q: unknown): number {
  const v = typeof q === 'string' ? parseQuantity(q) : typeof q === 'number' ? q : undefined;
  return v === undefined ? 0 : Math.round(v * 1000);
}

/** A value in thousandths as the smallest quantity at least that large, in the resource's usual unit. */
function quantity(resource: Resource, m: number): string {
  if (resource === 'cpu') return `${m}m`;
  const bytes = Math.ceil(m / 1000);
  return bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20}Mi` : `${Math.ceil(bytes / 2 ** 20)}Mi`;
}

function requestsOf(c: unknown, resource: Resource): number {
  const res = isObject(c) && isObject(c.resources) ? c.resources : {};
  const req = isObject(res.requests) ? res.requests : {};
  // The API server defaults a missing request to the limit before admission; repeat it for
  // objects that did not go through defaulting (dry runs of raw manifests, tests).
  const lim = isObject(res.limits) ? res.limits : {};
  return milli(req[resource] ?? lim[resource]);
}

/**
 * The containers' aggregate request of `resource` with the agent added, as the API server
 * computes it (component-helpers AggregateContainerRequests): regular containers and native
 * sidecars add up; an ordinary init container counts with the sidecars listed before it, and
 * the largest of those is the floor. The agent is appended (a sidecar) or a regular container.
 */
function aggregateWithAgent(spec: JsonObject, resource: Resource, agentMilli: number): number {
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  const inits = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  let sum = agentMilli + containers.reduce<number>((a, c) => a + requestsOf(c, resource), 0);
  let sidecars = 0;
  let initFloor = 0;
  for (const c of inits) {
    const r = requestsOf(c, resource);
    if (isObject(c) && str(c.restartPolicy) === 'Always') {
      sum += r;
      sidecars += r;
    } else {
      initFloor = Math.max(initFloor, sidecars + r);
    }
  }
  return Math.max(sum, initFloor);
}

/** What the API server would refuse about pod-level resources once the agent is injected. */
export function podLevelResourceProblems(
  spec: JsonObject,
  agent: AgentResources,
  agentMode: string,
): string[] {
  if (!isObject(spec.resources)) return [];
  const podRequests = isObject(spec.resources.requests) ? spec.resources.requests : {};
  const podLimits = isObject(spec.resources.limits) ? spec.resources.limits : {};
  const problems: string[] = [];
  for (const r of RESOURCES) {
    const podRequest = podRequests[r];
    if (podRequest !== undefined) {
      const needed = aggregateWithAgent(spec, r, milli(agent.requests[r]));
      if (needed > milli(podRequest)) {
        problems.push(
          `pod-level spec.resources.requests.${r} is ${String(podRequest)}, but with the leader-election agent ` +
            `(requests ${r} ${agent.requests[r]}) the containers request ${quantity(r, needed)}: raise it to at ` +
            `least ${quantity(r, needed)}, or lower the agent's with ${OVERRIDE[r].request}`,
        );
      }
    }
    // Only regular containers' limits are checked against the pod's; a sidecar agent is not one.
    const podLimit = podLimits[r];
    if (agentMode === 'container' && podLimit !== undefined && milli(agent.limits[r]) > milli(podLimit)) {
      problems.push(
        `pod-level spec.resources.limits.${r} is ${String(podLimit)}, below the leader-election agent's limit ` +
          `(${agent.limits[r]}): raise it, or lower the agent's with ${OVERRIDE[r].limit}`,
      );
    }
  }
  return problems;
}
