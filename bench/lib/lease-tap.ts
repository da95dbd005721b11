// A cluster-wide watch of every Lease version, stamped on arrival: the common
// clock of the failover benchmarks (new holder seen), the leader's last renew
// before a crash, and the count of lease writes made by others (kube-apiserver's
// own identity Lease) to subtract from the API-load windows.
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { listWatch } from '../../common/kube/list-watch.ts';

interface RawLease {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string;
    leaseTransitions?: number;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
  };
}

export interface LeaseVersion {
  /** Date.now() when the event arrived. */
  t: number;
  ns: string;
  name: string;
  holder: string;
  transitions: number;
  type: 'LIST' | 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The writer's stamps and instance (leader-election/holder-instance), for the chaos analysis. */
  acquireTime?: string;
  renewTime?: string;
  instance?: string;
}

export interface LeaseTapOptions {
  /** Watch one namespace only (default: every namespace). */
  namespace?: string;
  /** Namespaces of the benchmark: their Leases are tracked; writes to others are only counted. */
  own: (ns: string) => boolean;
  /** Keep every version (failover timelines); without it only the current one per Lease. */
  history: boolean;
}

type Waiter = { match: (v: LeaseVersion) => boolean; resolve: (v: LeaseVersion) => void };

export class LeaseTap {
  readonly versions: LeaseVersion[] = [];
  private readonly abort = new AbortController();
  private readonly current = new Map<string, LeaseVersion>();
  private waiters: Waiter[] = [];
  private readonly client: KubeClient;
  private done: Promise<void> | undefined;
  private readonly opts: LeaseTapOptions;
  private othersWrites = 0;

  constructor(client: KubeClient, opts: LeaseTapOptions) {
    this.client = client;
    this.opts = opts;
  }

  async start(): Promise<void> {
    let synced!: () => void;
    const ready = new Promise<void>((r) => (synced = r));
    this.done = listWatch<RawLease>(
      this.client,
      this.opts.namespace
        ? `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases`
        : '/apis/coordination.k8s.io/v1/leases',
      {
        onList: (items) => {
          for (const l of items) this.record('LIST', l);
          synced();
        },
        onEvent: (type, l) => this.record(type, l),
      },
      this.abort.signal,
      { watchdogMs: 30_000 },
    );
    await ready;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  /** Lease writes (ADDED/MODIFIED) seen outside the benchmark's namespaces so far. */
  get foreignWrites(): number {
    return this.othersWrites;
  }

  private record(type: LeaseVersion['type'], l: RawLease): void {
    const ns = l.metadata?.namespace ?? '';
    if (!this.opts.own(ns)) {
      if (type === 'ADDED' || type === 'MODIFIED') this.othersWrites++;
      return;
    }
    const v: LeaseVersion = {
      t: Date.now(),
      ns,
      name: l.metadata?.name ?? '',
      holder: type === 'DELETED' ? '' : (l.spec?.holderIdentity ?? ''),
      transitions: l.spec?.leaseTransitions ?? 0,
      type,
      ...(l.spec?.acquireTime ? { acquireTime: l.spec.acquireTime } : {}),
      ...(l.spec?.renewTime ? { renewTime: l.spec.renewTime } : {}),
      ...(l.metadata?.annotations?.['leader-election/holder-instance']
        ? { instance: l.metadata.annotations['leader-election/holder-instance'] }
        : {}),
    };
    if (this.opts.history) this.versions.push(v);
    this.current.set(`${ns}/${v.name}`, v);
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.match(v)) w.resolve(v);
      else still.push(w);
    }
    this.waiters = still;
  }

  holder(ns: string, name: string): string {
    return this.current.get(`${ns}/${name}`)?.holder ?? '';
  }

  /** Leases of a namespace that have a holder now. */
  heldIn(ns: string): number {
    let n = 0;
    for (const v of this.current.values()) if (v.ns === ns && v.holder !== '') n++;
    return n;
  }

  /** Sum of leaseTransitions over a namespace's Leases as last seen (holder changes). */
  sumTransitions(ns: string): number {
    let n = 0;
    for (const v of this.current.values()) if (v.ns === ns) n += v.transitions;
    return n;
  }

  /** The first version of ns/name after `since` whose holder is not in `not` and not empty. */
  newHolderAfter(ns: string, name: string, since: number, not: string[]): LeaseVersion | undefined {
    return this.versions.find(
      (v) => v.ns === ns && v.name === name && v.t >= since && v.holder !== '' && !not.includes(v.holder),
    );
  }

  /** Resolves with the next version matching (from now on), or rejects after timeoutMs. */
  next(match: (v: LeaseVersion) => boolean, timeoutMs: number, what: string): Promise<LeaseVersion> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (v: LeaseVersion) => {
        clearTimeout(timer);
        resolve(v);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** The last version of ns/name at or before `t` held by `holder` (its last renew as seen here). */
  lastRenewBefore(ns: string, name: string, holder: string, t: number): LeaseVersion | undefined {
    let last: LeaseVersion | undefined;
    for (const v of this.versions) {
      if (v.t > t) break;
      if (v.ns === ns && v.name === name && v.holder === holder) last = v;
    }
    return last;
  }

  /** Frees memory of versions older than `t` (long runs). */
  forget(before: number): void {
    let i = 0;
    while (i < this.versions.length && this.versions[i]!.t < before) i++;
    if (i > 0) this.versions.splice(0, i);
  }
}
