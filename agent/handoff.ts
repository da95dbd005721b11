// Rollout-aware hand-off. With readiness-gate routing only the leader is Ready,
// so a RollingUpdate (or a StatefulSet's ordered update) would wait forever for
// a new-revision pod to become Ready. While leading, the agent watches the pods of
// its group; when a pod of a newer revision is a candidate (its agent running, its
// other containers ready), the leader hands the Lease over to it (gate False, then a release reserved for that pod), so the
// rollout proceeds with a graceful, sub-second switch.
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION, LABEL_INJECTED } from '../common/contract/keys.ts';
import type { KubeClient } from '../common/kube/kube-client.ts';
import { listWatch } from '../common/kube/list-watch.ts';
import type { Logger } from '../common/logger.ts';

export interface GroupPod {
  name: string;
  leaseName: string | undefined;
  revision: string;
  /** creationTimestamp in ms. */
  created: number;
  terminating: boolean;
  /**
   * Can take over at once: its agent container is running (and started), and every other
   * container of the pod is ready. Not the agent's readiness: in readiness-gate routing a
   * follower's agent is never ready (agent/fencing.ts).
   */
  candidate: boolean;
}

export function groupPod(pod: V1Pod, agentName: string): GroupPod {
  const labels = pod.metadata?.labels ?? {};
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return {
    name: pod.metadata?.name ?? '',
    leaseName: pod.metadata?.annotations?.[ANNOTATION.leaseName],
    revision: labels['pod-template-hash'] ?? labels['controller-revision-hash'] ?? '',
    created: Date.parse(String(pod.metadata?.creationTimestamp ?? '')) || 0,
    terminating: !!pod.metadata?.deletionTimestamp,
    candidate:
      statuses.some((s) => s.name === agentName && s.state?.running !== undefined && s.started !== false) &&
      (pod.status?.containerStatuses ?? []).every((s) => s.name === agentName || s.ready),
  };
}

/**
 * The pod to hand the Lease to, or undefined. The newest revision is the one of
 * the most recently created pod of the group; if that is not ours, hand over to
 * the oldest candidate pod of it (the most settled one). Pods without
 * a revision (bare pods) never trigger a hand-off.
 */
export function handoffTarget(self: string, leaseName: string, pods: GroupPod[]): string | undefined {
  const group = pods.filter((p) => p.leaseName === leaseName && !p.terminating && p.revision !== '');
  const me = group.find((p) => p.name === self);
  if (!me) return undefined;
  const newest = group.reduce((a, b) => (b.created > a.created ? b : a), me);
  if (newest.revision === me.revision) return undefined;
  const ready = group
    .filter((p) => p.revision === newest.revision && p.candidate && p.name !== self)
    .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
  return ready[0]?.name;
}

export interface RolloutWatcherOptions {
  client: KubeClient;
  namespace: string;
  podName: string;
  leaseName: string;
  agentName: string;
  log: Logger;
  onTarget: (target: string) => void;
  /** Any change of the group's pods (the health decision reads them too). */
  onChange?: () => void;
}

/** Watches the group's pods while this agent leads, and reports a hand-off target. */
export class RolloutWatcher {
  private readonly opts: RolloutWatcherOptions;
  private abort: AbortController | undefined;
  private readonly pods = new Map<string, GroupPod>();
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: RolloutWatcherOptions) {
    this.opts = opts;
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    const { client, namespace, agentName } = this.opts;
    // Runs until stop() aborts it; listWatch never rejects (errors go to onError and are retried).
    void listWatch<V1Pod>(
      client,
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      {
        onList: (items) => {
          this.pods.clear();
          for (const p of items) this.pods.set(p.metadata?.name ?? '', groupPod(p, agentName));
          this.schedule();
        },
        onEvent: (type, p) => {
          if (type === 'DELETED') this.pods.delete(p.metadata?.name ?? '');
          else this.pods.set(p.metadata?.name ?? '', groupPod(p, agentName));
          this.schedule();
        },
        onError: (err) => this.opts.log.debug({ err: (err as Error).message }, 'pod watch error; retrying'),
      },
      this.abort.signal,
      { query: { labelSelector: `${LABEL_INJECTED}=true` }, watchdogMs: 90_000 },
    );
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    clearTimeout(this.timer);
    this.pods.clear();
  }

  /** The group's pods as last seen (empty while not watching). */
  snapshot(): GroupPod[] {
    return [...this.pods.values()];
  }

  /** Decide once events settle (a rollout sends bursts of pod updates). */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const target = handoffTarget(this.opts.podName, this.opts.leaseName, [...this.pods.values()]);
      if (target) this.opts.onTarget(target);
      this.opts.onChange?.();
    }, 50);
  }
}
