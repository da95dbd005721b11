// What an injection decided, and the webhook settings it decides with.
import type { PullPolicy } from '../../common/contract/keys.ts';
import type { JsonPatchOp } from './json-patch.ts';

/** What a patch result decided, besides the patch itself. */
export interface Injected {
  kind: 'patch';
  patch: JsonPatchOp[];
  /** Admission warnings for the user. */
  warnings: string[];
  /**
   * The Lease the pod's agent (or the workload's pods) will use: given or derived for a pod;
   * for a workload, the template's lease-name, else the workload's name (undefined when it
   * has none yet).
   */
  leaseName: string | undefined;
}

/**
 * `patch`: allow with this patch (possibly empty: allow unchanged) and these admission warnings.
 * `skip`: not ours to change; allow unchanged. `deny`: refuse the object with this message.
 */
export type InjectionResult = Injected | { kind: 'skip'; reason: string } | { kind: 'deny'; message: string };

export interface WebhookConfig {
  agentImage: string;
  /** Name of the injected container; 'leader-election-agent' by default. */
  agentName?: string;
  /** The agent's pull policy unless a pod overrides it; the Kubernetes default when absent. */
  imagePullPolicy?: PullPolicy;
}

export function deny(problems: string[]): InjectionResult {
  const message =
    problems.length === 1
      ? (problems[0] ?? '')
      : `${problems.length} problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`;
  return { kind: 'deny', message };
}
