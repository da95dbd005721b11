// The readiness writer: publishes leadership on the agent's own pod, either as
// the readiness-gate condition `leader-election/leader` (through pods/status) or
// as the label `leader-election/role` (label routing). Latest intent wins; writes
// are serialized and retried with backoff; nothing is written when nothing changed.
import type { V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { ApiError, PATCH, type KubeClient } from '../common/kube/kube-client.ts';
import { abortableSleep } from '../common/kube/list-watch.ts';
import { CONDITION_LEADER, LABEL_ROLE, type Routing } from '../common/contract/keys.ts';
import type { Logger } from '../common/logger.ts';

/**
 * The strategic-merge patch that sets our condition, or undefined when the pod
 * already shows it. Strategic merge keys conditions by `type`, so the kubelet's
 * conditions are left alone (a JSON merge patch would replace the whole list).
 * lastTransitionTime moves only when the status flips.
 */
export function conditionPatch(
  current: V1PodCondition | undefined,
  leader: boolean,
  now: Date,
): object | undefined {
  const status = leader ? 'True' : 'False';
  const reason = leader ? 'LeaseHeld' : 'LeaseNotHeld';
  if (current && current.status === status && current.reason === reason) return undefined;
  const flipped = !current || current.status !== status;
  return {
    status: {
      conditions: [
        {
          type: CONDITION_LEADER,
          status,
          reason,
          message: leader ? 'this pod holds the Lease' : 'this pod does not hold the Lease',
          lastProbeTime: null,
          lastTransitionTime: flipped ? now.toISOString() : current.lastTransitionTime,
        },
      ],
    },
  };
}

export function labelPatch(
  currentLabels: Record<string, string> | undefined,
  leader: boolean,
): object | undefined {
  const role = leader ? 'leader' : 'follower';
  if (currentLabels?.[LABEL_ROLE] === role) return undefined;
  return { metadata: { labels: { [LABEL_ROLE]: role } } };
}

export interface ReadinessWriterOptions {
  namespace: string;
  podName: string;
  routing: Routing;
  timeoutMs: number;
  log: Logger;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => Date;
}

export class ReadinessWriter {
  private readonly client: KubeClient;
  private readonly opts: ReadinessWriterOptions;
  private readonly podPath: string;
  /** What the pod shows, as far as we know (from our last successful write or read). */
  private known: { condition?: V1PodCondition; labels?: Record<string, string> } | undefined;
  private desired: boolean | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** The last value the API server accepted; undefined until the first write or read. */
  written: boolean | undefined;
  /**
   * A write of the leader value was sent and no write of the follower value has been
   * acknowledged since. Its outcome may be unknown (in flight, or its answer lost to a
   * timeout while the API server applied it), so the pod may show the leader.
   */
  private leaderSent = false;

  constructor(client: KubeClient, opts: ReadinessWriterOptions) {
    this.client = client;
    this.opts = opts;
    this.podPath = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(opts.podName)}`;
  }

  /**
   * Asks for the pod to show `leader`. Resolves when the API server has it, or
   * when a newer call superseded this one. Never rejects: failures are retried.
   */
  set(leader: boolean): Promise<void> {
    this.desired = leader;
    if (!this.running) {
      this.running = this.loop().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  stop(): void {
    this.abort.abort();
  }

  /**
   * Whether the pod may show this agent as leader: the API server accepted the leader value,
   * or a write of it is in flight or was lost without an answer, or nothing is known yet.
   * While a write's outcome is unknown the pod may show the leader value (issue 12): the
   * fencing probe must fail then, or a pod whose True landed unacknowledged would pass as
   * a follower while its gate says leader.
   */
  get mayShowLeader(): boolean {
    return this.written !== false || this.leaderSent;
  }

  private async loop(): Promise<void> {
    const backoff = this.opts.backoff ?? { initialMs: 100, maxMs: 2_000 };
    let delay = backoff.initialMs;
    while (!this.abort.signal.aborted) {
      const want = this.desired!;
      if (want) this.leaderSent = true;
      try {
        await this.write(want);
        this.written = want;
        if (!want) this.leaderSent = false;
        delay = backoff.initialMs;
        if (this.desired === want) return;
        continue; // a newer intent arrived while we wrote
      } catch (err) {
        this.known = undefined; // re-read before the next try
        this.opts.log.warn(
          { err: (err as Error).message, want },
          'could not write leadership to the pod; retrying',
        );
        if (ApiError.isNotFound(err)) return; // our pod is gone: nothing to publish on
      }
      await abortableSleep(delay, this.abort.signal);
      delay = Math.min(delay * 2, backoff.maxMs);
    }
  }

  private async write(leader: boolean): Promise<void> {
    if (!this.known) {
      const pod = await this.client.get<V1Pod>(this.podPath, { timeoutMs: this.opts.timeoutMs });
      this.known = {
        condition: pod.status?.conditions?.find((c) => c.type === CONDITION_LEADER),
        labels: pod.metadata?.labels,
      };
    }
    const now = (this.opts.now ?? (() => new Date()))();
    if (this.opts.routing === 'label') {
      const patch = labelPatch(this.known.labels, leader);
      if (!patch) return;
      const pod = await this.client.request<V1Pod>('PATCH', this.podPath, {
        contentType: PATCH.strategicMerge,
        body: patch,
        timeoutMs: this.opts.timeoutMs,
      });
      this.known = { ...this.known, labels: pod.metadata?.labels };
      return;
    }
    const patch = conditionPatch(this.known.condition, leader, now);
    if (!patch) return;
    const pod = await this.client.request<V1Pod>('PATCH', `${this.podPath}/status`, {
      contentType: PATCH.strategicMerge,
      body: patch,
      timeoutMs: this.opts.timeoutMs,
    });
    this.known = {
      ...this.known,
      condition: pod.status?.conditions?.find((c) => c.type === CONDITION_LEADER),
    };
  }
}
