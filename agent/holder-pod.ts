// A follower's watch of the current holder's pod (one object: a field selector on its name),
// for kubelet attestation (agent/attestation.ts): the holder's kubelet reports its agent
// container's end in the pod's status, and the follower may take the Lease at once instead
// of waiting for it to expire. One watch per follower, moved when the holder changes; none
// while leading or while nobody holds the Lease.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../common/kube/kube-client.ts';
import { listWatch } from '../common/kube/list-watch.ts';
import type { Logger } from '../common/logger.ts';

export interface HolderPodWatcherOptions {
  client: KubeClient;
  namespace: string;
  log: Logger;
  /** Every version of the holder's pod seen, the last one of a DELETED event included. */
  onPod: (pod: V1Pod) => void;
}

export class HolderPodWatcher {
  private readonly opts: HolderPodWatcherOptions;
  private abort: AbortController | undefined;
  private holder: string | undefined;
  private latest: V1Pod | undefined;

  constructor(opts: HolderPodWatcherOptions) {
    this.opts = opts;
  }

  /** The holder's pod as last seen, if it is the pod of the holder now followed. */
  last(): V1Pod | undefined {
    return this.latest;
  }

  /** Watch this pod (the holder's name), or none. A no-op when it is already the one watched. */
  follow(podName: string | undefined): void {
    if (podName === this.holder) return;
    this.stop();
    this.holder = podName;
    if (podName === undefined) return;
    const abort = new AbortController();
    this.abort = abort;
    const { client, namespace, log } = this.opts;
    const see = (pod: V1Pod | undefined) => {
      if (abort.signal.aborted || !pod) return;
      this.latest = pod;
      this.opts.onPod(pod);
    };
    // Runs until stop() aborts it; listWatch never rejects (errors go to onError and are retried).
    void listWatch<V1Pod>(
      client,
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      {
        onList: (items) => see(items[0]),
        onEvent: (_type, pod) => see(pod),
        onError: (err) =>
          log.debug({ err: (err as Error).message, holder: podName }, 'holder pod watch error; retrying'),
      },
      abort.signal,
      { query: { fieldSelector: `metadata.name=${podName}` }, watchdogMs: 90_000 },
    );
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.holder = undefined;
    this.latest = undefined;
  }
}
