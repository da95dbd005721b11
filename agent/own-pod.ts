// The agent's watch of its own pod (one object: a field selector on its name). It says when
// the pod is being deleted, which the agent would otherwise learn only from SIGTERM: the
// kubelet stops a native sidecar only after the app containers have exited, so a leader
// whose app takes its whole grace period to exit would keep the Lease (and the Service
// without a ready endpoint) that long. One watch per pod, bookmarks only while nothing
// changes: no polling.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../common/kube/kube-client.ts';
import { listWatch } from '../common/kube/list-watch.ts';
import type { Logger } from '../common/logger.ts';
import { ANNOTATION, LABEL_INJECTED, STATUS_INJECTED } from '../common/contract/keys.ts';

/**
 * Why this pod is going away, or undefined while it is not: it has a deletionTimestamp,
 * it is gone, or the pod of that name is another one (a StatefulSet recreated it, a new UID).
 */
export function podDeletion(pod: V1Pod | undefined, uid: string | undefined): string | undefined {
  if (!pod) return 'the pod was deleted';
  if (uid && pod.metadata?.uid && pod.metadata.uid !== uid) return 'the pod was replaced (another UID)';
  if (pod.metadata?.deletionTimestamp) {
    const grace = pod.metadata.deletionGracePeriodSeconds;
    return `the pod is being deleted${grace !== undefined ? ` (grace period ${grace}s)` : ''}`;
  }
  return undefined;
}

/**
 * Why this pod must not campaign, or undefined: it lacks the marks the webhook puts on every pod
 * it injects (label leader-election/injected=true, annotation leader-election/status: injected).
 * A copy made with `kubectl debug --copy-to` (which drops labels and annotations by default)
 * keeps the agent container; it must not join the production election, where it could win and
 * take the traffic's leadership away from the real replicas.
 */
export function missingInjectionMarks(pod: V1Pod): string | undefined {
  const missing: string[] = [];
  if (pod.metadata?.labels?.[LABEL_INJECTED] !== 'true') missing.push(`label ${LABEL_INJECTED}=true`);
  if (pod.metadata?.annotations?.[ANNOTATION.status] !== STATUS_INJECTED)
    missing.push(`annotation ${ANNOTATION.status}: ${STATUS_INJECTED}`);
  if (missing.length === 0) return undefined;
  return `the pod lacks the injection's ${missing.join(' and ')} (a copy, e.g. kubectl debug --copy-to?): not campaigning`;
}

/** The pod's Ready condition is True. */
export function podReady(pod: V1Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export interface OwnPodWatcherOptions {
  client: KubeClient;
  namespace: string;
  podName: string;
  /** The pod's UID as the downward API gave it; without it a replaced pod is not told apart. */
  podUID: string | undefined;
  log: Logger;
  /** Called once, when the pod is first seen going away. */
  onDeletion: (why: string) => void;
  /** Called once, when the pod is seen without the injection's marks (missingInjectionMarks). */
  onNotInjected?: (why: string) => void;
  /** Every version of the pod seen (its status: the app's readiness). */
  onPod?: (pod: V1Pod) => void;
}

export class OwnPodWatcher {
  private readonly opts: OwnPodWatcherOptions;
  private abort: AbortController | undefined;
  private told = false;
  private unmarkedTold = false;
  private missingLogged = false;
  private ready: boolean | undefined;
  private readonly unreadyWaiters = new Set<() => void>();
  private present = false;

  constructor(opts: OwnPodWatcherOptions) {
    this.opts = opts;
  }

  /** A version of the pod (undefined: gone), as the watch delivers it; tests feed it directly. */
  see(pod: V1Pod | undefined): void {
    // Absent before it was ever seen: not ours to judge (an agent run outside its pod, or
    // a name the API server does not know); say so once and act on nothing.
    if (!pod && !this.present) {
      if (!this.missingLogged)
        this.opts.log.warn({ pod: this.opts.podName }, 'own pod not found; release on deletion is off');
      this.missingLogged = true;
      return;
    }
    this.present = true;
    this.ready = pod ? podReady(pod) : false;
    if (!this.ready) for (const w of [...this.unreadyWaiters]) w();
    if (pod) this.opts.onPod?.(pod);
    const unmarked = pod ? missingInjectionMarks(pod) : undefined;
    if (unmarked && !this.unmarkedTold) {
      this.unmarkedTold = true;
      this.opts.onNotInjected?.(unmarked);
    }
    const why = podDeletion(pod, this.opts.podUID);
    if (!why || this.told) return;
    this.told = true;
    this.opts.onDeletion(why);
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    const { client, namespace, podName, log } = this.opts;
    // Runs until stop() aborts it; listWatch never rejects (errors go to onError and are retried).
    void listWatch<V1Pod>(
      client,
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      {
        onList: (items) => this.see(items[0]),
        onEvent: (type, pod) => this.see(type === 'DELETED' ? undefined : pod),
        onError: (err) => log.debug({ err: (err as Error).message }, 'own pod watch error; retrying'),
      },
      this.abort.signal,
      { query: { fieldSelector: `metadata.name=${podName}` }, watchdogMs: 90_000 },
    );
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    for (const w of [...this.unreadyWaiters]) w();
  }

  /**
   * Resolves once the pod is seen not Ready (at once if it is not, or was never seen), or after
   * `boundMs`, whichever comes first; true when it was seen not Ready. The hand-off waits for
   * this before it releases: the new leader's kubelet must not make it Ready while this pod's
   * kubelet still shows this one Ready.
   */
  whenNotReady(boundMs: number): Promise<boolean> {
    if (this.ready !== true) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (seen: boolean) => {
        clearTimeout(timer);
        this.unreadyWaiters.delete(onUnready);
        resolve(seen);
      };
      const onUnready = () => done(true);
      const timer = setTimeout(() => done(false), boundMs);
      this.unreadyWaiters.add(onUnready);
    });
  }
}
