// Kubelet-attested failover (issue 13, item 3). A follower may take the Lease before it
// expires when the holder's own kubelet says that the process which wrote the holder's record
// is dead: nobody can renew that record any more, and the pod cannot show Ready as leader
// (its agent container is not ready while it is not running).
//
// The rule, and why it is safe:
// - The record carries its writer's instance, `<pod UID>/<token>` (election.ts). Only the
//   pod with that UID is judged: another pod of the same name proves nothing about it.
// - An agent container runs one process at a time, one after the other. The writer was
//   running at the record's renewTime (it stamps renewTime when it sends, with the node's wall
//   clock). If the kubelet reports a termination of that pod's agent container with a
//   finishedAt (the same node's wall clock) LATER than renewTime, the container instance
//   running at renewTime has ended: the writer is dead, whatever runs in the container now.
// - finishedAt has whole-second precision (metav1.Time, rounded down): requiring it to be
//   strictly later than renewTime keeps the rule true; a death in the same second as the last
//   renew is not attested (lease expiry, or the restarted agent taking its record back, stays
//   the path).
// - Terminations the kubelet infers without seeing them (no finishedAt: "the container could
//   not be located") attest nothing. A forced deletion (grace 0) removes the pod while its
//   status still says running: nothing is attested. A frozen or partitioned node reports
//   nothing: nothing is attested.
// - The attestation is about one record (its resourceVersion); the follower's acquire carries
//   that resourceVersion, so if a restarted agent renewed in between, the acquire fails (409).
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { LeaseRecord } from '../common/election/election.ts';

/** The agent container's status in the pod (a native sidecar: an init container; or a container). */
export function agentStatus(pod: V1Pod, agentName: string): V1ContainerStatus | undefined {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find(
    (s) => s.name === agentName,
  );
}

/** A time as milliseconds, or undefined when absent or unparsable. */
function ms(t: Date | string | undefined): number | undefined {
  if (t === undefined || t === null) return undefined;
  const v = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Why the kubelet attests that the writer of `record` is dead, or undefined when it does not:
 * `pod` is the holder's pod as last seen (the object of a DELETED event included).
 */
export function attestsHolderGone(
  record: LeaseRecord,
  pod: V1Pod | undefined,
  agentName: string,
): string | undefined {
  if (!pod || record.holderIdentity === '' || pod.metadata?.name !== record.holderIdentity) return undefined;
  const writerPod = record.holderInstance?.split('/')[0];
  if (!writerPod || pod.metadata?.uid !== writerPod) return undefined;
  const renewed = ms(record.renewTime);
  if (renewed === undefined) return undefined;
  const status = agentStatus(pod, agentName);
  const ended = status?.state?.terminated ?? status?.lastState?.terminated;
  // The serialized field is a string; client-node's type says Date.
  const finished = ms(ended?.finishedAt as Date | string | undefined);
  if (finished === undefined || finished <= renewed) return undefined;
  const how = ended?.reason
    ? ` (${ended.reason}, exit code ${ended.exitCode})`
    : ` (exit code ${ended?.exitCode})`;
  return `the kubelet reports ${record.holderIdentity}'s agent container ended at ${new Date(finished).toISOString()}${how}, after its last renew at ${record.renewTime}`;
}
