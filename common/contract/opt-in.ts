// Who takes part in an election: the pod's own annotation, else its namespace's label.
import { ANNOTATION } from './keys.ts';

/**
 * Whether a pod takes part. `"true"` → in; `"false"` → out, even in an opted-in namespace;
 * absent → the namespace decides. Any other value counts as in, so that the pod reaches
 * parseElectionConfig and is denied with a clear message: failing closed beats silently running
 * a pod its owner believes to be leader-elected without an agent (a second leader).
 */
export function isOptedIn(
  podAnnotations: Record<string, string> | undefined,
  namespaceOptIn: boolean,
): boolean {
  const v = podAnnotations?.[ANNOTATION.enabled];
  if (v === undefined) return namespaceOptIn;
  return v !== 'false';
}
