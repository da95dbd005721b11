// The observer: records, with timestamps, every change of a Service's ready
// endpoints, of the group's Lease holder and of each pod's gate condition and
// Ready, from watches on the real API server. Scenarios read the timeline to
// check safety (never two ready endpoints) and to measure failovers.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { listWatch } from '../../common/kube/list-watch.ts';

interface EndpointSlice {
  metadata?: { name?: string; resourceVersion?: string };
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { name?: string } }[];
}

interface Lease {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { holderIdentity?: string };
}

export type ObservedEvent =
  | { t: number; kind: 'endpoints'; ready: string[] }
  | { t: number; kind: 'holder'; holder: string }
  | { t: number; kind: 'pod'; pod: string; gate: string; ready: string; deleted: boolean };

export class Observer {
  readonly events: ObservedEvent[] = [];
  private readonly abort = new AbortController();
  private readonly slices = new Map<string, EndpointSlice>();
  private lastReady = '';
  private lastHolder: string | undefined;
  private readonly podState = new Map<string, string>();
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly service: string;
  private readonly lease: string;
  private readonly synced: Promise<void>[] = [];

  constructor(client: KubeClient, namespace: string, service: string, lease: string) {
    this.client = client;
    this.namespace = namespace;
    this.service = service;
    this.lease = lease;
  }

  /** Starts the watches; resolves once each has listed. */
  async start(): Promise<void> {
    const ns = encodeURIComponent(this.namespace);
    this.watch<EndpointSlice>(
      `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      { labelSelector: `kubernetes.io/service-name=${this.service}` },
      (items) => {
        this.slices.clear();
        for (const s of items) this.slices.set(s.metadata?.name ?? '', s);
        this.recordEndpoints();
      },
      (type, s) => {
        if (type === 'DELETED') this.slices.delete(s.metadata?.name ?? '');
        else this.slices.set(s.metadata?.name ?? '', s);
        this.recordEndpoints();
      },
    );
    this.watch<Lease>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
      { fieldSelector: `metadata.name=${this.lease}` },
      (items) => this.recordHolder(items[0]?.spec?.holderIdentity ?? ''),
      (type, l) => this.recordHolder(type === 'DELETED' ? '' : (l.spec?.holderIdentity ?? '')),
    );
    this.watch<V1Pod>(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (items) => items.forEach((p) => this.recordPod(p, false)),
      (type, p) => this.recordPod(p, type === 'DELETED'),
    );
    await Promise.all(this.synced);
  }

  stop(): void {
    this.abort.abort();
  }

  private watch<T extends { metadata?: { resourceVersion?: string } }>(
    path: string,
    query: Record<string, string>,
    onList: (items: T[]) => void,
    onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void,
  ): void {
    let ready!: () => void;
    this.synced.push(new Promise<void>((r) => (ready = r)));
    // Runs until stop() aborts it; listWatch never rejects (errors are retried).
    void listWatch<T>(
      this.client,
      path,
      {
        onList: (items) => {
          onList(items);
          ready();
        },
        onEvent,
      },
      this.abort.signal,
      { query, watchdogMs: 30_000 },
    );
  }

  private recordEndpoints(): void {
    const ready = [...this.slices.values()]
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready)
      .map((e) => e.targetRef?.name ?? e.addresses[0] ?? '?')
      .sort();
    const key = ready.join(',');
    if (key === this.lastReady) return;
    this.lastReady = key;
    this.events.push({ t: Date.now(), kind: 'endpoints', ready });
  }

  private recordHolder(holder: string): void {
    if (holder === this.lastHolder) return;
    this.lastHolder = holder;
    this.events.push({ t: Date.now(), kind: 'holder', holder });
  }

  private recordPod(p: V1Pod, deleted: boolean): void {
    const pod = p.metadata?.name ?? '';
    const gate = p.status?.conditions?.find((c) => c.type === 'leader-election/leader')?.status ?? '';
    const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '';
    const key = `${gate}/${ready}/${deleted}`;
    if (this.podState.get(pod) === key) return;
    this.podState.set(pod, key);
    this.events.push({ t: Date.now(), kind: 'pod', pod, gate, ready, deleted });
  }

  /** The largest number of ready endpoints seen at once (must never exceed 1). */
  maxReadyEndpoints(since = 0): number {
    return Math.max(0, ...this.endpointEvents(since).map((e) => e.ready.length));
  }

  endpointEvents(since = 0): Extract<ObservedEvent, { kind: 'endpoints' }>[] {
    return this.events.filter(
      (e): e is Extract<ObservedEvent, { kind: 'endpoints' }> => e.kind === 'endpoints' && e.t >= since,
    );
  }

  /** The ready endpoints right now, as observed. */
  currentReady(): string[] {
    return this.lastReady ? this.lastReady.split(',') : [];
  }

  /** Time with no ready endpoint between `from` and `to` (ms). */
  leaderlessMs(from: number, to: number): number {
    let total = 0;
    let state = this.readyAt(from);
    let t = from;
    for (const e of this.endpointEvents(from)) {
      if (e.t > to) break;
      if (state.length === 0) total += e.t - t;
      state = e.ready;
      t = e.t;
    }
    if (state.length === 0) total += to - t;
    return total;
  }

  private readyAt(t: number): string[] {
    let ready: string[] = [];
    for (const e of this.events) {
      if (e.t > t) break;
      if (e.kind === 'endpoints') ready = e.ready;
    }
    return ready;
  }

  /** First instant after `since` when a pod other than `old` had its gate True. */
  gateTrueAfter(since: number, old: string | undefined): { t: number; pod: string } | undefined {
    const e = this.events.find(
      (x) => x.kind === 'pod' && x.t >= since && x.gate === 'True' && x.pod !== old && !x.deleted,
    );
    return e && e.kind === 'pod' ? { t: e.t, pod: e.pod } : undefined;
  }

  /** First instant after `since` with exactly one ready endpoint, other than `old`. */
  readyEndpointAfter(since: number, old: string | undefined): { t: number; pod: string } | undefined {
    const e = this.endpointEvents(since).find((x) => x.ready.length === 1 && x.ready[0] !== old);
    return e ? { t: e.t, pod: e.ready[0]! } : undefined;
  }
}
