// The agent's RBAC, per namespace: one RoleBinding `leader-election-agent` that
// binds the agent ClusterRole (shipped by the manifests) to the service accounts
// of the namespace's injected pods. Admission has no side effects, so this runs
// beside the webhook (in the replica that leads the webhook's own election).
//
// - It never creates Roles or ClusterRoles: only RoleBindings to the one
//   ClusterRole, which its own `bind` permission is limited to (no escalation).
// - Pods that are terminating keep their service account bound until they are
//   gone: their agent must still be able to release the Lease. Pods in a terminal
//   phase (Succeeded, Failed) run nothing and no longer count.
// - It only touches RoleBindings it owns (label app.kubernetes.io/managed-by):
//   a RoleBinding of the same name made by someone else is left alone, with a warning.
//
// The decision is pure (desiredRoleBinding, planRoleBinding); the class around it
// does the I/O: a list-watch of injected pods and of our RoleBindings, a work queue
// of namespaces (deduplicated, retried with backoff), and a periodic resync.
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';
import { listWatch } from '../../common/kube/list-watch.ts';
import { LABEL_INJECTED } from '../../common/contract/keys.ts';
import type { Logger } from '../../common/logger.ts';

export const DEFAULT_AGENT_CLUSTER_ROLE = 'leader-election-agent';
export const DEFAULT_ROLE_BINDING_NAME = 'leader-election-agent';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'leader-election-webhook';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The labels on every RoleBinding this reconciler makes. */
export const OWNED_LABELS: Readonly<Record<string, string>> = {
  [LABEL_MANAGED_BY]: MANAGED_BY,
  'app.kubernetes.io/name': 'leader-election',
  'app.kubernetes.io/component': 'agent',
};

// ---------------------------------------------------------------------------
// Types: only the fields read or written here.

export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string | Date;
    resourceVersion?: string;
  };
  spec?: { serviceAccountName?: string; serviceAccount?: string };
  status?: { phase?: string };
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface RoleBinding {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    [key: string]: unknown;
  };
  roleRef: RoleRef;
  subjects?: Subject[];
}

export interface RoleBindingNames {
  clusterRole?: string;
  roleBindingName?: string;
}

export type Plan = 'create' | 'update' | 'delete' | 'none';

// ---------------------------------------------------------------------------
// The decision (pure)

/** An injected pod whose agent may still run: labelled, in the namespace, not in a terminal phase. */
export function podNeedsAgentRbac(pod: PodLike, namespace?: string): boolean {
  if (pod.metadata?.labels?.[LABEL_INJECTED] !== 'true') return false;
  if (namespace !== undefined && pod.metadata?.namespace !== namespace) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** The pod's service account as the API server resolves it (`default` when unset). */
export function podServiceAccount(pod: PodLike): string {
  return pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default';
}

/**
 * The RoleBinding that `namespace` should have given its pods: one subject per
 * distinct service account of its injected pods, sorted by name; undefined when
 * no such pod remains. Pods of other namespaces are ignored.
 */
export function desiredRoleBinding(
  namespace: string,
  pods: Iterable<PodLike>,
  names: RoleBindingNames = {},
): RoleBinding | undefined {
  const accounts = new Set<string>();
  for (const pod of pods) if (podNeedsAgentRbac(pod, namespace)) accounts.add(podServiceAccount(pod));
  if (accounts.size === 0) return undefined;
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'RoleBinding',
    metadata: {
      name: names.roleBindingName ?? DEFAULT_ROLE_BINDING_NAME,
      namespace,
      labels: { ...OWNED_LABELS },
    },
    roleRef: {
      apiGroup: RBAC_GROUP,
      kind: 'ClusterRole',
      name: names.clusterRole ?? DEFAULT_AGENT_CLUSTER_ROLE,
    },
    subjects: [...accounts]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((name) => ({ kind: 'ServiceAccount', name, namespace })),
  };
}

export function isOwned(rb: Pick<RoleBinding, 'metadata'> | undefined): boolean {
  return rb?.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

function subjectKey(s: Subject, namespace: string): string {
  // The API server stores a ServiceAccount subject with apiGroup "" (omitted) and
  // defaults an absent namespace to nothing: compare what identifies the subject.
  return `${s.kind}\u0000${s.apiGroup ?? ''}\u0000${s.namespace ?? namespace}\u0000${s.name}`;
}

function sameSubjects(a: Subject[] | undefined, b: Subject[] | undefined, namespace: string): boolean {
  const ka = (a ?? []).map((s) => subjectKey(s, namespace));
  const kb = (b ?? []).map((s) => subjectKey(s, namespace));
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function sameRoleRef(a: RoleRef, b: RoleRef): boolean {
  return a.apiGroup === b.apiGroup && a.kind === b.kind && a.name === b.name;
}

/**
 * What to do to go from `current` (the RoleBinding of that name in the namespace,
 * if any) to `desired`. A RoleBinding we do not own is never touched. `roleRef` is
 * immutable: a wrong one is deleted (the next round creates the right one).
 */
export function planRoleBinding(current: RoleBinding | undefined, desired: RoleBinding | undefined): Plan {
  if (!current) return desired ? 'create' : 'none';
  if (!isOwned(current)) return 'none';
  if (!desired) return 'delete';
  if (!sameRoleRef(current.roleRef, desired.roleRef)) return 'delete';
  if (!sameSubjects(current.subjects, desired.subjects, desired.metadata.namespace)) return 'update';
  for (const [k, v] of Object.entries(desired.metadata.labels ?? {})) {
    if (current.metadata.labels?.[k] !== v) return 'update';
  }
  return 'none';
}

/** The object to PUT for an update: the current one (unknown fields kept) with our subjects and labels. */
export function updatedRoleBinding(current: RoleBinding, desired: RoleBinding): RoleBinding {
  return {
    ...current,
    metadata: { ...current.metadata, labels: { ...current.metadata.labels, ...desired.metadata.labels } },
    subjects: desired.subjects ?? [],
  };
}

function subjectNames(rb: RoleBinding | undefined): string[] {
  return (rb?.subjects ?? []).map((s) => s.name);
}

// ---------------------------------------------------------------------------
// A small work queue: a key is queued at most once; a key added while it is being
// processed is processed again afterwards; failures are retried with backoff.

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly backoff: Backoff;
  private closed = false;

  constructor(backoff: Backoff = { initialMs: 200, maxMs: 60_000 }) {
    this.backoff = backoff;
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.active.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.queue.push(key);
  }

  /** Adds the key after `ms`, unless it is already waiting for a retry. */
  addAfter(key: string, ms: number): void {
    if (this.closed || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  /** Retry after a delay that doubles with each consecutive failure of this key. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const ms = Math.min(this.backoff.initialMs * 2 ** (n - 1), this.backoff.maxMs);
    this.addAfter(key, ms);
    return ms;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process (marked active until done()), or undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.active.add(key);
      return Promise.resolve(key);
    }
    return new Promise((res) => this.waiters.push(res));
  }

  done(key: string): void {
    this.active.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length(): number {
    return this.queue.length;
  }

  /** Nothing queued, nothing being processed, no retry pending. */
  get idle(): boolean {
    return this.queue.length === 0 && this.active.size === 0 && this.timers.size === 0;
  }

  shutdown(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}

// ---------------------------------------------------------------------------
// The reconciler

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
    for (const pod of items) this.storePod(pod);
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
