// `node webhook/cli/status.ts status [-n NAMESPACE | -A] [--kubeconfig PATH] [--context NAME] [-o wide|json]`
// (make status): the election groups of a cluster, like a `kubectl get`.
//
// A group is the set of injected pods (label leader-election/injected=true) sharing one
// Lease (annotation leader-election/lease-name, which the webhook writes on every pod it
// injects; the agent's LEASE_NAME env as a fallback), in one namespace. For each group:
//   LEASE        the Lease's name (in the pods' namespace)
//   HOLDER       spec.holderIdentity, <none> when released or not created yet
//   TERM         how long the holder has held it (from spec.acquireTime)
//   TRANSITIONS  spec.leaseTransitions
//   ENDPOINTS    per Service whose EndpointSlices hold the group's pods: SERVICE:READY/TOTAL
//                endpoints of the group's pods (readiness-gate routing: 1/N, the leader)
//   MEMBERS      the number of pods (-o wide: their names, and the Lease's last renewal)
// Leases without injected pods (other components' elections) are not listed.
//
// Connection: --kubeconfig, else the first file of $KUBECONFIG, else ~/.kube/config, with
// its current context (or --context); the namespace is -n, else the context's, else default.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ANNOTATION, CONDITION_LEADER, LABEL_INJECTED } from '../../common/contract/keys.ts';
import { ApiError, KubeClient } from '../../common/kube/kube-client.ts';
import { connectionFromKubeconfig, KubeConfigError } from '../../common/kube/kubeconfig.ts';

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
    out.push({
      namespace: g.namespace,
      lease: g.lease,
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
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Columns padded like kubectl's tabwriter (3 spaces between columns). */
export function alignTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

export function formatTable(
  groups: GroupStatus[],
  opts: { allNamespaces: boolean; wide?: boolean; now?: number },
): string {
  const now = opts.now ?? Date.now();
  const header = ['LEASE', 'HOLDER', 'TERM', 'TRANSITIONS', 'ENDPOINTS', 'MEMBERS'];
  if (opts.allNamespaces) header.unshift('NAMESPACE');
  if (opts.wide) header.push('RENEWED', 'MEMBER-PODS');
  const rows = [header];
  for (const g of groups) {
    const row = [
      g.lease,
      g.holder ?? '<none>',
      g.termMs === null ? '<none>' : humanDuration(g.termMs),
      g.transitions === null ? '<none>' : String(g.transitions),
      g.services.length
        ? g.services.map((s) => `${s.service}:${s.ready.length}/${s.total}`).join(',')
        : '<none>',
      String(g.members.length),
    ];
    if (opts.allNamespaces) row.unshift(g.namespace);
    if (opts.wide) {
      const renewed = g.renewTime ? humanDuration(now - Date.parse(g.renewTime)) : '<none>';
      row.push(g.expired ? `${renewed}(expired)` : renewed, g.members.map((m) => m.name).join(','));
    }
    rows.push(row);
  }
  return alignTable(rows) + '\n';
}

// ---------------------------------------------------------------------------
// Command line

export interface StatusArgs {
  namespace?: string;
  allNamespaces: boolean;
  kubeconfig?: string;
  context?: string;
  output: 'table' | 'wide' | 'json';
}

export const USAGE = `Usage: node webhook/cli/status.ts status [-n NAMESPACE | -A] [--kubeconfig PATH] [--context NAME] [-o wide|json]

Lists the election groups (injected pods sharing a Lease) with their Lease's holder, the
holder's term, the Lease's transitions, the ready endpoints of the Services that select
them, and their members.

  -n, --namespace NAME     only this namespace (default: the context's namespace, else default)
  -A, --all-namespaces     every namespace
      --kubeconfig PATH    kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME       kubeconfig context (default: the current context)
  -o, --output FORMAT      wide (adds the last renewal and the member pods) or json
  -h, --help               this help
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseStatusArgs(argv: readonly string[]): StatusArgs | 'help' {
  const args: StatusArgs = { allNamespaces: false, output: 'table' };
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('-') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '-n':
      case '--namespace':
        args.namespace = value();
        break;
      case '-A':
      case '--all-namespaces':
        args.allNamespaces = true;
        break;
      case '--kubeconfig':
        args.kubeconfig = value();
        break;
      case '--context':
        args.context = value();
        break;
      case '-o':
      case '--output': {
        const o = value();
        if (o !== 'wide' && o !== 'json') throw new UsageError(`--output must be wide or json, not ${o}`);
        args.output = o;
        break;
      }
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}`);
        if (command !== undefined) throw new UsageError(`unexpected argument ${a}`);
        command = a;
    }
  }
  if (command !== 'status')
    throw new UsageError(command ? `unknown command ${command}` : 'missing command: status');
  if (args.allNamespaces && args.namespace) throw new UsageError('-n and -A cannot be used together');
  return args;
}

/** The kubeconfig path kubectl would use. */
export function kubeconfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p !== '');
  return fromEnv ?? join(env.HOME ?? homedir(), '.kube', 'config');
}

/** The namespace of a kubeconfig context (undefined when it sets none). */
export function contextNamespace(path: string, context?: string): string | undefined {
  const doc = yaml.load(readFileSync(path, 'utf8')) as {
    'current-context'?: string;
    contexts?: { name: string; context?: { namespace?: string } }[];
  } | null;
  const name = context ?? doc?.['current-context'];
  return doc?.contexts?.find((c) => c.name === name)?.context?.namespace || undefined;
}

export async function runStatus(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let args: StatusArgs | 'help';
  try {
    args = parseStatusArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (args === 'help') {
    out(USAGE);
    return 0;
  }
  const path = kubeconfigPath(args.kubeconfig, env);
  let client: KubeClient;
  let namespace: string | undefined;
  try {
    client = new KubeClient(connectionFromKubeconfig(path, args.context), { defaultTimeoutMs: 30_000 });
    namespace = args.allNamespaces
      ? undefined
      : (args.namespace ?? contextNamespace(path, args.context) ?? 'default');
  } catch (e) {
    if (e instanceof KubeConfigError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
      err(`error: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
  try {
    const now = Date.now();
    const groups = await collectStatus(client, namespace, now);
    if (args.output === 'json') {
      out(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: groups }, null, 2) + '\n');
    } else if (groups.length === 0) {
      err(
        namespace ? `No election groups found in ${namespace} namespace.\n` : 'No election groups found.\n',
      );
    } else {
      out(formatTable(groups, { allNamespaces: namespace === undefined, wide: args.output === 'wide', now }));
    }
    return 0;
  } catch (e) {
    err(
      `error: ${e instanceof ApiError ? `${e.message} (${e.status} ${e.reason})` : (e as Error).message}\n`,
    );
    return 1;
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  runStatus(
    process.argv.slice(2),
    process.env,
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  ).then(
    (code) => (process.exitCode = code),
    (e: Error) => {
      process.stderr.write(`error: ${e.stack ?? e.message}\n`);
      process.exitCode = 1;
    },
  );
}
