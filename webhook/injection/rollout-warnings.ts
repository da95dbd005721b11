// With readiness-gate routing only the leader is Ready: a workload whose rollout waits
// for Ready pods stalls. These warnings name the fix.
import { ANNOTATION, LABEL_ROLE } from '../../common/contract/keys.ts';
import { isObject, str, type JsonObject } from '../../common/json.ts';

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
export function rolloutWarnings(kind: string, name: string, spec: JsonObject): string[] {
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
    // Only a string or a number is shown: anything else (the API server refuses it anyway) could
    // even throw when turned into a string (an object with a non-function toString key).
    const shown =
      given === undefined
        ? '25%, the default'
        : typeof given === 'string' || typeof given === 'number'
          ? String(given)
          : 'not an integer or a percentage';
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
