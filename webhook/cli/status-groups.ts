// The election groups of a cluster, built from what the API server has: injected pods,
// their Leases and the EndpointSlices of the Services that select them. The building is
// pure (buildGroups); collectStatus does the reads.
import { ANNOTATION, CONDITION_LEADER, LABEL_INJECTED } from '../../common/contract/keys.ts';
import type { KubeClient } from '../../common/kube/kube-client.ts';

export interface MemberStatus {
  name: string;
  phase: string;
  /** The pod's Ready condition. */
  ready: boolean;
  /** The pod's leader-election/leader condition (readiness-gate routing). */
  leaderCondition: boolean;
  /** The pod's leader-election/role label (label routing), if any. */
  role?: string;
  terminating: boolean;
}

export interface ServiceEndpoints {
  service: string;
  /** Pods of the group that are ready endpoints of the Service. */
  ready: string[];
  /** Endpoints of the group's pods in the Service, ready or not. */
  total: number;
}

export interface GroupStatus {
  namespace: string;
  lease: string;
  /** Whether the Lease object exists yet. */
  leaseExists: boolean;
  holder: string | null;
  acquireTime: string | null;
  renewTime: string | null;
  leaseDurationSeconds: number | null;
  transitions: number | null;
  /** Milliseconds since acquireTime, at collection time; null without a holder. */
  termMs: number | null;
  /** The holder's renewal is older than the lease duration, by this machine's clock. */
  expired: boolean;
  services: ServiceEndpoints[];
  members: MemberStatus[];
  /**
   * Ready endpoints of the group's Services that are pods without the agent: pods that were
   * running before the opt-in (a namespace labelled while they ran, a workload opted in without
   * a rollout). They serve beside the leader until they are restarted.
   */
  unelected: string[];
}

// Only the fields read here.
interface Pod {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: { containers?: Container[]; initContainers?: Container[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface Container {
  name: string;
  env?: { name: string; value?: string }[];
}
interface Lease {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    holderIdentity?: string;
    acquireTime?: string;
    renewTime?: string;
    leaseDurationSeconds?: number;
    leaseTransitions?: number;
  };
}
interface EndpointSlice {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { kind?: string; name?: string } }[];
}
interface List<T> {
  items: T[];
}

/** The Lease a pod elects on: its lease-name annotation, else its agent's LEASE_NAME. */
export function podLeaseName(pod: Pod): string | undefined {
  const annotated = pod.metadata?.annotations?.[ANNOTATION.leaseName];
  if (annotated) return annotated;
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    const v = c.env?.find((e) => e.name === 'LEASE_NAME')?.value;
    if (v) return v;
  }
  return undefined;
}

const conditionTrue = (pod: Pod, type: string) =>
  pod.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** Builds the groups from listed objects (pure: `now` in ms since the epoch). */
export function buildGroups(
  pods: Pod[],
  leases: Lease[],
  slices: EndpointSlice[],
  now: number,
): GroupStatus[] {
  const groups = new Map<string, { namespace: string; lease: string; pods: Pod[] }>();
  for (const pod of pods) {
    if (pod.metadata?.labels?.[LABEL_INJECTED] !== 'true') continue;
    const namespace = pod.metadata.namespace ?? '';
    const lease = podLeaseName(pod);
    if (!lease) continue;
    const key = `${namespace}/${lease}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { namespace, lease, pods: [] }));
    g.pods.push(pod);
  }
  const leaseByKey = new Map<string, Lease>();
  for (const l of leases) leaseByKey.set(`${l.metadata?.namespace}/${l.metadata?.name}`, l);

  // namespace/pod → [service, ready][]
  const endpointsOf = new Map<string, { service: string; ready: boolean }[]>();
  // namespace/service → its ready endpoints' pod names
  const readyOf = new Map<string, Set<string>>();
  for (const s of slices) {
    const service = s.metadata?.labels?.['kubernetes.io/service-name'];
    if (!service) continue;
    for (const e of s.endpoints ?? []) {
      if (e.targetRef?.kind !== 'Pod' || !e.targetRef.name) continue;
      const key = `${s.metadata?.namespace}/${e.targetRef.name}`;
      const list = endpointsOf.get(key) ?? [];
      // The API: a nil ready condition is an unknown state, to be read as ready.
      list.push({ service, ready: e.conditions?.ready !== false });
      endpointsOf.set(key, list);
      if (e.conditions?.ready !== false) {
        const svcKey = `${s.metadata?.namespace}/${service}`;
        const ready = readyOf.get(svcKey) ?? new Set<string>();
        ready.add(e.targetRef.name);
        readyOf.set(svcKey, ready);
      }
    }
  }

  const out: GroupStatus[] = [];
  for (const [key, g] of groups) {
    const lease = leaseByKey.get(key);
    const spec = lease?.spec ?? {};
    const holder = spec.holderIdentity ? spec.holderIdentity : null;
    const acquired = holder && spec.acquireTime ? Date.parse(spec.acquireTime) : NaN;
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
    const services = new Map<string, ServiceEndpoints>();
    for (const pod of g.pods) {
      const name = pod.metadata?.name ?? '';
      for (const ep of endpointsOf.get(`${g.namespace}/${name}`) ?? []) {
        let s = services.get(ep.service);
        if (!s) services.set(ep.service, (s = { service: ep.service, ready: [], total: 0 }));
        s.total++;
        if (ep.ready) s.ready.push(name);
      }
    }
    const memberNames = new Set(g.pods.map((p) => p.metadata?.name ?? ''));
    const unelected = new Set<string>();
    for (const service of services.keys())
      for (const pod of readyOf.get(`${g.namespace}/${service}`) ?? [])
        if (!memberNames.has(pod)) unelected.add(pod);
    out.push({
      namespace: g.namespace,
      lease: g.lease,
      unelected: [...unelected].sort(),
      leaseExists: lease !== undefined,
      holder,
      acquireTime: spec.acquireTime ?? null,
      renewTime: spec.renewTime ?? null,
      leaseDurationSeconds: spec.leaseDurationSeconds ?? null,
      transitions: spec.leaseTransitions ?? (lease ? 0 : null),
      termMs: Number.isNaN(acquired) ? null : Math.max(0, now - acquired),
      expired:
        holder !== null &&
        !Number.isNaN(renewed) &&
        spec.leaseDurationSeconds !== undefined &&
        now > renewed + spec.leaseDurationSeconds * 1000,
      services: [...services.values()]
        .map((s) => ({ ...s, ready: s.ready.sort() }))
        .sort((a, b) => a.service.localeCompare(b.service)),
      members: g.pods
        .map((p) => ({
          name: p.metadata?.name ?? '',
          phase: p.status?.phase ?? 'Unknown',
          ready: conditionTrue(p, 'Ready'),
          leaderCondition: conditionTrue(p, CONDITION_LEADER),
          ...(p.metadata?.labels?.['leader-election/role']
            ? { role: p.metadata.labels['leader-election/role'] }
            : {}),
          terminating: !!p.metadata?.deletionTimestamp,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    });
  }
  return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.lease.localeCompare(b.lease));
}

/** Reads the groups from the API server: three lists (pods, Leases, EndpointSlices). */
export async function collectStatus(
  client: KubeClient,
  namespace?: string,
  now = Date.now(),
): Promise<GroupStatus[]> {
  const ns = (group: string) => (namespace ? `${group}/namespaces/${encodeURIComponent(namespace)}` : group);
  const [pods, leases, slices] = await Promise.all([
    client.get<List<Pod>>(`${ns('/api/v1')}/pods`, { query: { labelSelector: `${LABEL_INJECTED}=true` } }),
    client.get<List<Lease>>(`${ns('/apis/coordination.k8s.io/v1')}/leases`),
    client.get<List<EndpointSlice>>(`${ns('/apis/discovery.k8s.io/v1')}/endpointslices`),
  ]);
  return buildGroups(pods.items, leases.items, slices.items, now);
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration: the AGE column of kubectl. */
