// The Lease a pod shares with its group when it does not name one: its workload's.
import { ANNOTATION } from '../../common/contract/keys.ts';
import { isObject, str, type JsonObject, quote } from '../../common/json.ts';

/**
 * The Lease name from the pod's controller owner. A Deployment's pods are owned by a ReplicaSet
 * named `<deployment>-<pod-template-hash>`; that hash changes with every revision, so we strip it
 * to get one Lease per Deployment, shared across rollouts. metadata.name is never used: a pod
 * created by a controller has only generateName at admission time.
 */
export function leaseNameFromOwner(
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
      `the pod's ReplicaSet ${quote(name)} does not end with its pod-template-hash ${quote(hash)}, so the Lease is named after ` +
      `the ReplicaSet and a new revision would elect its own leader; set ${ANNOTATION.leaseName} to share one Lease`,
  };
}
