// The RBAC reconciler: makes the RoleBindings that role-binding.ts decides. Admission has
// no side effects, so this runs beside the webhook (in the replica that leads the webhook's
// own election): a list-watch of injected pods and of our RoleBindings, a work queue of
// namespaces (deduplicated, retried with backoff), and a periodic resync.
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';
import { listWatch } from '../../common/kube/list-watch.ts';
import { LABEL_INJECTED } from '../../common/contract/keys.ts';
import type { Logger } from '../../common/logger.ts';
import { WorkQueue, type Backoff } from '../../common/work-queue.ts';
import {
  DEFAULT_AGENT_CLUSTER_ROLE,
  DEFAULT_ROLE_BINDING_NAME,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  RBAC_GROUP,
  desiredRoleBinding,
  isOwned,
  planRoleBinding,
  podServiceAccount,
  subjectNames,
  updatedRoleBinding,
  type PodLike,
  type RoleBinding,
  type RoleBindingNames,
} from './role-binding.ts';

const RBAC = `/apis/${RBAC_GROUP}/v1`;

export interface RbacReconcilerOptions {
  client: KubeClient;
  log: Logger;
  /** The agent ClusterRole bound in each namespace; `leader-election-agent` by default. */
  clusterRole?: string;
  /** Name of the RoleBinding made in each namespace; `leader-election-agent` by default. */
  roleBindingName?: string;
  /** Every namespace is reconciled again this often (repairs drift); 5 min by default. */
  resyncMs?: number;
  /** Retry backoff of a namespace whose reconcile failed. */
  backoff?: Backoff;
  /** Namespaces reconciled concurrently; 2 by default. */
  workers?: number;
  /**
   * Every injected pod its watch delivers (listed, added, modified), whole: other controllers of
   * the process (the opt-in migrator) use this watch instead of opening their own.
   */
  onPod?: (pod: V1Pod) => void;
}

type SlimPod = Required<Pick<PodLike, 'metadata' | 'spec' | 'status'>>;

/** Only what the decision needs is kept per pod (a cluster may have many injected pods). */
function slim(pod: PodLike): SlimPod {
  return {
    metadata: {
      name: pod.metadata?.name,
      namespace: pod.metadata?.namespace,
      labels: { [LABEL_INJECTED]: pod.metadata?.labels?.[LABEL_INJECTED] ?? '' },
    },
    spec: { serviceAccountName: podServiceAccount(pod) },
    status: { phase: pod.status?.phase },
  };
}

const MAX_ATTEMPTS = 5;

export class RbacReconciler {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly names: Required<RoleBindingNames>;
  private readonly resyncMs: number;
  private readonly workers: number;
  private readonly backoff: Backoff | undefined;
  private readonly onPod: ((pod: V1Pod) => void) | undefined;
  private queue: WorkQueue;
  /** namespace → pod name → pod. */
  private readonly pods = new Map<string, Map<string, SlimPod>>();
  /** namespace → our RoleBinding as last seen by the watch. */
  private readonly owned = new Map<string, RoleBinding>();
  /** namespace → the subjects last made true there ('' for none), to skip pod events that change nothing. */
  private readonly applied = new Map<string, string>();
  /** namespaces where an unowned RoleBinding of our name was reported (warn once). */
  private readonly warnedUnowned = new Set<string>();
  private controller: AbortController | undefined;
  private running: Promise<unknown> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private podsSynced = false;
  private markPodsSynced: () => void = () => {};

  constructor(opts: RbacReconcilerOptions) {
    this.client = opts.client;
    this.log = opts.log;
    this.names = {
      clusterRole: opts.clusterRole ?? DEFAULT_AGENT_CLUSTER_ROLE,
      roleBindingName: opts.roleBindingName ?? DEFAULT_ROLE_BINDING_NAME,
    };
    this.resyncMs = opts.resyncMs ?? 5 * 60_000;
    this.workers = opts.workers ?? 2;
    this.backoff = opts.backoff;
    this.onPod = opts.onPod;
    this.queue = new WorkQueue(opts.backoff);
  }

  start(): void {
    if (this.controller) return;
    // Restartable (the webhook stops it when it loses its election): start from nothing.
    this.queue = new WorkQueue(this.backoff);
    this.pods.clear();
    this.owned.clear();
    this.applied.clear();
    this.warnedUnowned.clear();
    this.podsSynced = false;
    const controller = new AbortController();
    this.controller = controller;
    const signal = controller.signal;
    const synced = new Promise<void>((res) => (this.markPodsSynced = res));

    const podWatch = listWatch<PodLike>(
      this.client,
      '/api/v1/pods',
      {
        onList: (items) => this.onPodList(items),
        onEvent: (type, pod) => this.onPodEvent(type, pod),
        onError: (err) => this.log.warn({ err: errText(err) }, 'rbac reconciler: pod watch failed, retrying'),
      },
      signal,
      { query: { labelSelector: `${LABEL_INJECTED}=true` } },
    );
    const rbWatch = listWatch<RoleBinding>(
      this.client,
      `${RBAC}/rolebindings`,
      {
        onList: (items) => this.onRoleBindingList(items),
        onEvent: (type, rb) => this.onRoleBindingEvent(type, rb),
        onError: (err) =>
          this.log.warn({ err: errText(err) }, 'rbac reconciler: rolebinding watch failed, retrying'),
      },
      signal,
      { query: { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` } },
    );
    const workers = Array.from({ length: this.workers }, () => this.work(synced, signal));
    this.running = Promise.all([podWatch, rbWatch, ...workers]);
    this.log.info(
      { clusterRole: this.names.clusterRole, roleBinding: this.names.roleBindingName },
      'rbac reconciler started',
    );
  }

  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    controller.abort();
    this.markPodsSynced();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.queue.shutdown();
    await this.running;
    this.controller = undefined;
    this.running = undefined;
    this.log.info('rbac reconciler stopped');
  }

  /** Reconciles every namespace that has injected pods or one of our RoleBindings. */
  resync(): void {
    if (!this.podsSynced) return;
    const namespaces = new Set([...this.pods.keys(), ...this.owned.keys()]);
    for (const ns of namespaces) this.queue.add(ns);
  }

  /** True once the first pod list is in and nothing is queued or in flight (for tests). */
  get idle(): boolean {
    return this.podsSynced && this.queue.idle;
  }

  // --- events ---------------------------------------------------------------

  private desiredKey(ns: string): string {
    return subjectNames(desiredRoleBinding(ns, this.pods.get(ns)?.values() ?? [], this.names)).join(',');
  }

  private enqueueIfChanged(ns: string): void {
    if (this.desiredKey(ns) !== (this.applied.get(ns) ?? '')) this.queue.add(ns);
  }

  private onPodList(items: PodLike[]): void {
    const before = new Set(this.pods.keys());
    this.pods.clear();
    for (const pod of items) {
      this.storePod(pod);
      this.onPod?.(pod as V1Pod);
    }
    for (const ns of new Set([...before, ...this.pods.keys()])) this.enqueueIfChanged(ns);
    if (!this.podsSynced) {
      this.podsSynced = true;
      this.markPodsSynced();
      // Our RoleBindings in namespaces without pods are found by the first resync.
      this.resync();
      this.scheduleResync();
    }
  }

  private onPodEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: PodLike): void {
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    if (!ns || !name) return;
    if (type === 'DELETED') {
      const inNs = this.pods.get(ns);
      inNs?.delete(name);
      if (inNs?.size === 0) this.pods.delete(ns);
    } else {
      this.storePod(pod);
      this.onPod?.(pod as V1Pod);
    }
    if (this.podsSynced) this.enqueueIfChanged(ns);
  }

  private storePod(pod: PodLike): void {
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    if (!ns || !name) return;
    let inNs = this.pods.get(ns);
    if (!inNs) this.pods.set(ns, (inNs = new Map()));
    inNs.set(name, slim(pod));
  }

  private onRoleBindingList(items: RoleBinding[]): void {
    this.owned.clear();
    for (const rb of items) this.onRoleBindingEvent('ADDED', rb);
  }

  private onRoleBindingEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', rb: RoleBinding): void {
    const ns = rb.metadata?.namespace;
    if (!ns || rb.metadata.name !== this.names.roleBindingName) return;
    if (type === 'DELETED') this.owned.delete(ns);
    else this.owned.set(ns, rb);
    if (!this.podsSynced) return;
    // Someone else changed or deleted our RoleBinding: put it right at once.
    const current = type === 'DELETED' ? undefined : rb;
    const desired = desiredRoleBinding(ns, this.pods.get(ns)?.values() ?? [], this.names);
    if (planRoleBinding(current, desired) !== 'none') this.queue.add(ns);
  }

  private scheduleResync(): void {
    if (this.controller?.signal.aborted) return;
    this.resyncTimer = setTimeout(() => {
      this.resync();
      this.scheduleResync();
    }, this.resyncMs);
    this.resyncTimer.unref();
  }

  // --- work -----------------------------------------------------------------

  private async work(synced: Promise<void>, signal: AbortSignal): Promise<void> {
    await synced;
    for (;;) {
      const ns = await this.queue.get();
      if (ns === undefined || signal.aborted) return;
      try {
        await this.reconcile(ns, signal);
        this.queue.forget(ns);
      } catch (err) {
        if (signal.aborted) return;
        const retryMs = this.queue.addRateLimited(ns);
        this.log.warn({ namespace: ns, err: errText(err), retryMs }, 'rbac reconcile failed, will retry');
      } finally {
        this.queue.done(ns);
      }
    }
  }

  private rbPath(ns: string, name?: string): string {
    return `${RBAC}/namespaces/${encodeURIComponent(ns)}/rolebindings${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  private async getCurrent(ns: string, signal: AbortSignal): Promise<RoleBinding | undefined> {
    try {
      return await this.client.get<RoleBinding>(this.rbPath(ns, this.names.roleBindingName), { signal });
    } catch (err) {
      if (ApiError.isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Makes the namespace's RoleBinding match its pods; re-reads and tries again on a conflict. */
  private async reconcile(ns: string, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const desired = desiredRoleBinding(ns, this.pods.get(ns)?.values() ?? [], this.names);
      const key = subjectNames(desired).join(',');
      const current = await this.getCurrent(ns, signal);
      const plan = planRoleBinding(current, desired);
      const fields = {
        namespace: ns,
        roleBinding: this.names.roleBindingName,
        subjects: subjectNames(desired),
      };
      try {
        switch (plan) {
          case 'none':
            if (current && !isOwned(current) && desired) {
              if (!this.warnedUnowned.has(ns)) {
                this.warnedUnowned.add(ns);
                this.log.warn(
                  { ...fields, current: subjectNames(current) },
                  `rolebinding ${ns}/${this.names.roleBindingName} exists and is not managed by us (label ${LABEL_MANAGED_BY}=${MANAGED_BY}): left alone`,
                );
              }
            } else {
              this.warnedUnowned.delete(ns);
            }
            break;
          case 'create':
            await this.client.request('POST', this.rbPath(ns), { body: desired, signal });
            this.log.info(fields, 'rolebinding created');
            break;
          case 'update':
            await this.client.request('PUT', this.rbPath(ns, this.names.roleBindingName), {
              body: updatedRoleBinding(current!, desired!),
              signal,
            });
            this.log.info({ ...fields, previous: subjectNames(current) }, 'rolebinding updated');
            break;
          case 'delete':
            await this.client.request('DELETE', this.rbPath(ns, this.names.roleBindingName), {
              body: {
                apiVersion: 'v1',
                kind: 'DeleteOptions',
                preconditions: {
                  uid: current!.metadata.uid,
                  resourceVersion: current!.metadata.resourceVersion,
                },
              },
              signal,
            });
            this.log.info({ ...fields, previous: subjectNames(current) }, 'rolebinding deleted');
            // A roleRef that had to change is created again on the next round.
            if (desired) continue;
            break;
        }
        if (key === '') this.applied.delete(ns);
        else this.applied.set(ns, key);
        return;
      } catch (err) {
        // Someone else wrote it in between (or it is already gone): read it again.
        if (ApiError.isConflict(err) || ApiError.isAlreadyExists(err)) continue;
        if (ApiError.isNotFound(err) && plan !== 'create') continue;
        if (plan === 'create' && namespaceGone(err)) {
          // Nothing can be created in a terminating (or deleted) namespace; its pods go with it.
          this.log.info(
            { ...fields, err: errText(err) },
            'namespace is terminating: rolebinding not created',
          );
          this.applied.set(ns, key);
          return;
        }
        throw err;
      }
    }
    throw new Error(
      `rolebinding ${ns}/${this.names.roleBindingName}: still conflicting after ${MAX_ATTEMPTS} attempts`,
    );
  }
}

function namespaceGone(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  if (err.status === 404) return true;
  return err.status === 403 && /being terminated/.test(err.message);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
