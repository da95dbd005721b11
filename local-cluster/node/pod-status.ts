// The kubelet's pod status rules, as pure functions, so the pod runner computes
// Ready exactly as kubernetes pkg/kubelet/status/generate.go does.
import type { V1Pod, V1PodCondition } from '@kubernetes/client-node';

/** Conditions the kubelet owns; every other condition is left as the API has it. */
export const KUBELET_CONDITIONS = [
  'PodReadyToStartContainers',
  'Initialized',
  'ContainersReady',
  'Ready',
] as const;

export interface ContainerReadiness {
  name: string;
  ready: boolean;
}

export interface OwnedCondition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

/** ContainersReady: every container and native sidecar ready (GenerateContainersReadyCondition). */
export function containersReadyCondition(containers: ContainerReadiness[]): OwnedCondition {
  const unready = containers.filter((c) => !c.ready).map((c) => c.name);
  if (unready.length === 0) return { type: 'ContainersReady', status: 'True' };
  return {
    type: 'ContainersReady',
    status: 'False',
    reason: 'ContainersNotReady',
    message: `containers with unready status: [${unready.join(' ')}]`,
  };
}

/** Ready (GeneratePodReadyCondition): ContainersReady, then every readiness gate condition True. */
export function podReadyCondition(pod: V1Pod, containersReady: OwnedCondition): OwnedCondition {
  if (containersReady.status !== 'True') {
    return { ...containersReady, type: 'Ready' };
  }
  const messages: string[] = [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const cond = pod.status?.conditions?.find((c) => c.type === gate.conditionType);
    if (!cond) {
      messages.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    } else if (cond.status !== 'True') {
      messages.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${cond.status}`,
      );
    }
  }
  if (messages.length > 0) {
    return { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: messages.join(', ') };
  }
  return { type: 'Ready', status: 'True' };
}

/**
 * The conditions to write: each owned condition with lastTransitionTime kept
 * unless its status flips. Returns only those that differ from the pod's.
 */
export function conditionUpdates(pod: V1Pod, owned: OwnedCondition[], now: Date): V1PodCondition[] {
  const out: V1PodCondition[] = [];
  for (const want of owned) {
    const have = pod.status?.conditions?.find((c) => c.type === want.type);
    const same =
      have &&
      have.status === want.status &&
      (have.reason ?? '') === (want.reason ?? '') &&
      (have.message ?? '') === (want.message ?? '');
    if (same) continue;
    const flipped = !have || have.status !== want.status;
    // In a strategic merge patch null removes a field: a reason that no longer applies must go.
    out.push({
      type: want.type,
      status: want.status,
      reason: want.reason ?? null,
      message: want.message ?? null,
      lastProbeTime: null,
      lastTransitionTime: flipped ? now : (have?.lastTransitionTime ?? now),
    } as unknown as V1PodCondition);
  }
  return out;
}
