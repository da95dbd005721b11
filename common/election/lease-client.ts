// The Lease client: get, create, update and a single-object watch of one
// coordination.k8s.io/v1 Lease, every request bounded by a timeout.
import type { V1Lease } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../kube/kube-client.ts';
import { listWatch } from '../kube/list-watch.ts';
import {
  HOLDER_INSTANCE_ANNOTATION,
  PREFERRED_HOLDER_ANNOTATION,
  PREFERRED_HOLDER_RELEASE_ANNOTATION,
} from '../contract/keys.ts';
import type { LeaseRecord } from './election.ts';

export type Lease = V1Lease;

export interface ObservedLease {
  record: LeaseRecord;
  resourceVersion: string;
  lease: Lease;
}

/** The election fields of a Lease, with client-go's defaults for absent ones. */
export function recordOf(lease: Lease): LeaseRecord {
  const s = lease.spec ?? {};
  const micro = (v: unknown): string | undefined =>
    v === undefined || v === null ? undefined : typeof v === 'string' ? v : (v as Date).toISOString();
  const annotations = lease.metadata?.annotations ?? {};
  const renewTime = micro(s.renewTime);
  // A reservation counts only on the release that made it (the stamp is its renewTime).
  const preferred =
    renewTime !== undefined && annotations[PREFERRED_HOLDER_RELEASE_ANNOTATION] === renewTime
      ? annotations[PREFERRED_HOLDER_ANNOTATION]
      : undefined;
  const instance = annotations[HOLDER_INSTANCE_ANNOTATION];
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: micro(s.acquireTime),
    renewTime,
    leaseTransitions: s.leaseTransitions ?? 0,
    // Meaningful only on a released Lease; a holder's renew clears it.
    ...(preferred && !s.holderIdentity ? { preferredHolder: preferred } : {}),
    // Meaningful only with a holder (see isOwnRecord in election.ts).
    ...(instance && s.holderIdentity ? { holderInstance: instance } : {}),
  };
}

function observed(lease: Lease): ObservedLease {
  return { record: recordOf(lease), resourceVersion: lease.metadata?.resourceVersion ?? '', lease };
}

export class LeaseClient {
  readonly path: string;
  private readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  private readonly timeoutMs: number;

  /** timeoutMs bounds every request; keep it at most half the renew deadline. */
  constructor(client: KubeClient, namespace: string, name: string, timeoutMs: number) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.timeoutMs = timeoutMs;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  }

  /** The Lease, or 'absent' on 404 NotFound. */
  async get(): Promise<ObservedLease | 'absent'> {
    try {
      return observed(
        await this.client.get<Lease>(`${this.path}/${encodeURIComponent(this.name)}`, {
          timeoutMs: this.timeoutMs,
        }),
      );
    } catch (err) {
      if (ApiError.isNotFound(err)) return 'absent';
      throw err;
    }
  }

  async create(record: LeaseRecord): Promise<ObservedLease> {
    const body: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(record.holderInstance
          ? { annotations: { [HOLDER_INSTANCE_ANNOTATION]: record.holderInstance } }
          : {}),
      },
      spec: specOf(record),
    };
    return observed(await this.client.request<Lease>('POST', this.path, { body, timeoutMs: this.timeoutMs }));
  }

  /** One update from the cached object: a 409 means someone else wrote since we read it. */
  async update(record: LeaseRecord, cached: Lease, resourceVersion: string): Promise<ObservedLease> {
    const annotations = { ...cached.metadata?.annotations };
    if (record.preferredHolder && record.renewTime) {
      annotations[PREFERRED_HOLDER_ANNOTATION] = record.preferredHolder;
      annotations[PREFERRED_HOLDER_RELEASE_ANNOTATION] = record.renewTime;
    } else {
      delete annotations[PREFERRED_HOLDER_ANNOTATION];
      delete annotations[PREFERRED_HOLDER_RELEASE_ANNOTATION];
    }
    if (record.holderInstance) annotations[HOLDER_INSTANCE_ANNOTATION] = record.holderInstance;
    else delete annotations[HOLDER_INSTANCE_ANNOTATION];
    const body: Lease = {
      ...cached,
      metadata: { ...cached.metadata, resourceVersion, annotations },
      spec: { ...cached.spec, ...specOf(record) },
    };
    return observed(
      await this.client.request<Lease>('PUT', `${this.path}/${encodeURIComponent(this.name)}`, {
        body,
        timeoutMs: this.timeoutMs,
      }),
    );
  }

  /**
   * Watches this one Lease until `signal` aborts, calling onChange with every
   * new version or 'absent'. The watchdog restarts a silent watch; bookmarks
   * keep a quiet one alive.
   */
  watch(
    onChange: (lease: ObservedLease | 'absent') => void,
    signal: AbortSignal,
    onError?: (err: unknown) => void,
  ): Promise<void> {
    return listWatch<Lease>(
      this.client,
      this.path,
      {
        onList: (items) => onChange(items[0] ? observed(items[0]) : 'absent'),
        onEvent: (type, lease) => onChange(type === 'DELETED' ? 'absent' : observed(lease)),
        onError,
      },
      signal,
      {
        query: { fieldSelector: `metadata.name=${this.name}` },
        requestTimeoutMs: this.timeoutMs,
        // Bookmarks arrive about once a minute; a watch silent for longer is suspect.
        watchdogMs: 90_000,
        watchTimeoutSeconds: 300,
      },
    );
  }
}

function specOf(r: LeaseRecord): NonNullable<Lease['spec']> {
  // MicroTime strings go on the wire as they are (6 decimals); the cast is for the generated Date types.
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: r.acquireTime as unknown as Date,
    renewTime: r.renewTime as unknown as Date,
    leaseTransitions: r.leaseTransitions,
  };
}
