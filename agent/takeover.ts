// Break before make, after a takeover (issue 12, item 8). A follower that takes the Lease because
// the holder stopped renewing, because its kubelet attested its agent dead (agent/attestation.ts),
// or after the holder released it, shows itself as the leader (gate True, role label) only once
// the previous holder's pod no longer serves as leader. After a release this costs one read (the
// releaser waited for its own pod to show Ready=False, or is terminating); it matters when that
// pod's kubelet is stalled and its Ready stale. After an expiry: after an API-server outage longer than the lease, the old leader is fenced (its /readyz fails)
// but its kubelet's Ready=False reaches the API server in the same instant as our gate True, and
// nothing orders the two. The wait is bounded: a dead node cannot report anything (its pod stays
// Ready until the node controller acts), and lease expiry is what the election is built on.
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../common/kube/kube-client.ts';
import { podReady } from './own-pod.ts';
import { LABEL_ROLE, ROLE_LEADER, type Routing } from '../common/contract/keys.ts';

export type PreviousHolder = 'not ready' | 'gone' | 'still ready';

/**
 * What the previous holder's pod shows: undefined (404) means gone. In label routing a Ready
 * pod serves as leader only with the role label `leader` (its followers are Ready too: a
 * restarted agent of that pod is one).
 */
export function previousHolderState(
  pod: V1Pod | undefined,
  routing: Routing = 'readiness-gate',
): PreviousHolder {
  if (!pod) return 'gone';
  // A terminating pod is no ready endpoint, whatever its Ready says (the EndpointSlice controller).
  const serving =
    podReady(pod) &&
    !pod.metadata?.deletionTimestamp &&
    (routing !== 'label' || pod.metadata?.labels?.[LABEL_ROLE] === ROLE_LEADER);
  return serving ? 'still ready' : 'not ready';
}

/**
 * Polls the previous holder's pod (the holder identity is its name) until it is not Ready or
 * gone, or until `boundMs`; returns what it last saw. Errors other than 404 count as "still
 * ready" until the bound: the wait must not end early on a flaky read.
 */
export async function waitPreviousHolderUnready(
  client: KubeClient,
  namespace: string,
  podName: string,
  boundMs: number,
  opts: {
    intervalMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    routing?: Routing;
  } = {},
): Promise<PreviousHolder> {
  const now = opts.now ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const until = now() + boundMs;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}`;
  for (;;) {
    let state: PreviousHolder = 'still ready';
    try {
      state = previousHolderState(await client.get<V1Pod>(path, { timeoutMs: 2_000 }), opts.routing);
    } catch (err) {
      if (ApiError.isNotFound(err)) state = 'gone';
    }
    if (state !== 'still ready' || now() >= until) return state;
    await sleep(Math.min(opts.intervalMs ?? 200, Math.max(0, until - now())));
  }
}
