// Scaffolding of the kind end-to-end tests: an elected group of the test app (a Deployment
// opted in by annotation, its Service), a traffic client pod that requests the Service's
// ClusterIP through kube-proxy every 50 ms and logs who answered, and an Observer of the
// ready endpoints, the Lease holder and the pods. One group per namespace; `remove()`
// deletes the namespace.
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';
import { Observer } from '../observe/observer.ts';
import { waitUntil } from '../wait.ts';
import { HostTraffic } from './host-traffic.ts';
import type { KindCluster } from './kind-cluster.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
export type Raw = any;

export const APP_IMAGE = 'ghcr.io/leader-election/testapp:dev';
/** Short timings with the fencing margins the webhook asks for (docs/operations.md). */
export const TIMINGS = { lease: '6s', renew: '3s', retry: '1s', leaseMs: 6_000 };

export interface Answer {
  t: number;
  pod?: string;
  err?: string;
}

export interface GroupOptions {
  name?: string;
  replicas?: number;
  routing?: 'readiness-gate' | 'label';
  graceSeconds?: number;
  /** Extra env of the app container (e.g. IGNORE_SIGTERM). */
  appEnv?: Record<string, string>;
  /** Extra annotations on the Deployment. */
  annotations?: Record<string, string>;
  /**
   * YAML of the Deployment `name` and its Service to apply as they are (e.g.
   * examples/deployment.yaml) instead of the group's own; `test.local/echo:1`, the
   * example's placeholder image, is replaced by the test app's.
   */
  manifest?: string;
  /** The namespace, instead of `<prefix>-<pid>-<n>` (it is deleted first when it exists). */
  namespace?: string;
  /** spec.automountServiceAccountToken of the pods (unset by default). */
  automountToken?: boolean;
  /** The node the traffic client runs on (e.g. one a test does not freeze); the scheduler's choice by default. */
  trafficNode?: string;
}

export const AGENT_CONTAINER = 'leader-election-agent';

/** The agent running (and started), every app container ready. */
export function podUp(p: Raw): boolean {
  const agent = (p.status?.initContainerStatuses ?? []).find((s: Raw) => s.name === AGENT_CONTAINER);
  const apps: Raw[] = p.status?.containerStatuses ?? [];
  return !!agent?.state?.running && agent.started !== false && apps.length > 0 && apps.every((s) => s.ready);
}

export class ElectedGroup {
  readonly client: KubeClient;
  readonly ns: string;
  readonly name: string;
  readonly opts: GroupOptions;
  observer!: Observer;
  clusterIP = '';

  readonly cluster: KindCluster;
  /** Requests from the host to the ClusterIP, once startHostTraffic() ran. */
  host: HostTraffic | undefined;

  constructor(cluster: KindCluster, prefix: string, opts: GroupOptions = {}) {
    this.cluster = cluster;
    this.client = cluster.client();
    this.ns = opts.namespace ?? `${prefix}-${process.pid}-${Date.now() % 100_000}`;
    this.name = opts.name ?? 'web';
    this.opts = opts;
  }

  get api(): string {
    return `/api/v1/namespaces/${this.ns}`;
  }

  /** Namespace, Deployment, Service, the observer and the traffic client (Running). */
  async create(): Promise<void> {
    const { client, ns, name, opts } = this;
    if (opts.namespace) await this.remove({ keepClient: true, wait: true });
    await client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    });
    if (opts.manifest) {
      const yaml = opts.manifest.replaceAll('test.local/echo:1', APP_IMAGE);
      await this.cluster.kubectlWithInput(yaml, '-n', ns, 'apply', '-f', '-');
    } else {
      await this.createWorkload();
    }
    const svc = await client.get<Raw>(`${this.api}/services/${name}`);
    this.clusterIP = svc.spec.clusterIP;
    this.observer = new Observer(client, ns, name, name);
    await this.observer.start();
    // The traffic client: a pod (not opted in) requesting the ClusterIP every 50 ms.
    await client.request('POST', `${this.api}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'traffic' },
        spec: {
          terminationGracePeriodSeconds: 1,
          ...(opts.trafficNode ? { nodeName: opts.trafficNode } : {}),
          containers: [
            {
              name: 'client',
              image: APP_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: ['/nodejs/bin/node', '/app/client.mjs', `http://${this.clusterIP}/`, '50', '500'],
            },
          ],
        },
      },
    });
    await waitUntil('the traffic client running', 120_000, async () => {
      const p = await client.get<Raw>(`${this.api}/pods/traffic`);
      return p.status?.phase === 'Running';
    });
  }

  /** The group's own Deployment of the test app and its Service. */
  private async createWorkload(): Promise<void> {
    const { client, ns, name, opts } = this;
    const routing = opts.routing ?? 'readiness-gate';
    const replicas = opts.replicas ?? 3;
    const labels = { app: name };
    const env = [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ...Object.entries(opts.appEnv ?? {}).map(([k, v]) => ({ name: k, value: v })),
    ];
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name,
          annotations: {
            'leader-election/enabled': 'true',
            'leader-election/lease-duration': TIMINGS.lease,
            'leader-election/renew-deadline': TIMINGS.renew,
            'leader-election/retry-period': TIMINGS.retry,
            'leader-election/routing': routing,
            ...opts.annotations,
          },
        },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          // Readiness-gate routing: only the leader is Ready, so a rollout may take all
          // but one away at once (the agent hands over to the new revision).
          strategy: {
            type: 'RollingUpdate',
            rollingUpdate: { maxUnavailable: Math.max(1, replicas - 1), maxSurge: 1 },
          },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: opts.graceSeconds ?? 10,
              ...(opts.automountToken === undefined
                ? {}
                : { automountServiceAccountToken: opts.automountToken }),
              containers: [
                {
                  name: 'app',
                  image: APP_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  ports: [{ name: 'http', containerPort: 8080 }],
                  env,
                  readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    // Label routing: the Service selects the leader's role label as well.
    const selector = routing === 'label' ? { ...labels, 'leader-election/role': 'leader' } : labels;
    await client.request<Raw>('POST', `${this.api}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { selector, ports: [{ port: 80, targetPort: 'http' }] },
      },
    });
  }

  /**
   * Starts requests from the host to the ClusterIP through the node's kube-proxy (a host route
   * via the node's InternalIP: host-traffic.ts). Needs root.
   */
  async startHostTraffic(): Promise<HostTraffic> {
    const nodes = await this.client.get<Raw>('/api/v1/nodes');
    const ip = nodes.items[0]?.status?.addresses?.find((a: Raw) => a.type === 'InternalIP')?.address;
    if (!ip) throw new Error('no node with an InternalIP');
    this.host = new HostTraffic(this.clusterIP, ip);
    await this.host.start();
    return this.host;
  }

  /** Deletes the namespace (and, unless `keepClient`, closes the group's client). */
  async remove(opts: { keepClient?: boolean; wait?: boolean } = {}): Promise<void> {
    this.observer?.stop();
    await this.host?.stop();
    this.host = undefined;
    await this.client
      .request('DELETE', this.api)
      .catch((err: unknown) => (ApiError.isNotFound(err) ? undefined : Promise.reject(err)));
    if (opts.wait) {
      await waitUntil(`namespace ${this.ns} gone`, 180_000, () =>
        this.client.get(this.api).then(
          () => false,
          (err: unknown) => (ApiError.isNotFound(err) ? true : Promise.reject(err)),
        ),
      );
    }
    if (!opts.keepClient) this.client.close();
  }

  /** The Lease's holder ('' when released or absent). */
  async holder(): Promise<string> {
    try {
      const lease = await this.client.get<Raw>(
        `/apis/coordination.k8s.io/v1/namespaces/${this.ns}/leases/${this.name}`,
      );
      return lease.spec?.holderIdentity ?? '';
    } catch (err) {
      if (ApiError.isNotFound(err)) return '';
      throw err;
    }
  }

  /** Waits until exactly one ready endpoint, the Lease holder, and returns it. */
  async leader(timeoutMs = 180_000, not?: string): Promise<string> {
    return waitUntil(
      `one ready endpoint, the Lease holder${not ? `, not ${not}` : ''}`,
      timeoutMs,
      async () => {
        const ready = this.observer.currentReady();
        const h = await this.holder();
        return ready.length === 1 && ready[0] === h && h !== not ? h : undefined;
      },
    );
  }

  /**
   * Waits for a clean group and returns its leader: `replicas` pods not terminating, each up
   * (its agent running, its app ready), the agents ready where they should be (the leader's;
   * in label routing every one; in readiness-gate routing a follower's agent is never ready,
   * agent/fencing.ts), one ready endpoint, the Lease holder, and the last 1.5 s of requests
   * all answered by it (kube-proxy caught up).
   */
  async stableLeader(replicas = this.opts.replicas ?? 3, timeoutMs = 180_000): Promise<string> {
    return waitUntil(
      `${this.ns}: ${replicas} pods up, none terminating, one leader answering every request`,
      timeoutMs,
      async () => {
        const pods = (await this.pods()).filter((p) => !p.metadata.deletionTimestamp);
        if (pods.length !== replicas || !pods.every(podUp)) return undefined;
        const holder = await this.holder();
        const label = (this.opts.routing ?? 'readiness-gate') === 'label';
        const agentReady = (p: Raw) =>
          (p.status?.initContainerStatuses ?? []).find((s: Raw) => s.name === AGENT_CONTAINER)?.ready ===
          true;
        if (!pods.every((p) => agentReady(p) === (label || p.metadata.name === holder))) return undefined;
        const ready = this.observer.currentReady();
        if (ready.length !== 1 || ready[0] !== holder) return undefined;
        const recent = await this.answers(Date.now() - 1_500);
        return recent.length >= 10 && recent.every((a) => a.pod === holder) ? holder : undefined;
      },
      250,
    );
  }

  /** The pods of the group (not the traffic client). */
  async pods(): Promise<Raw[]> {
    const list = await this.client.get<Raw>(`${this.api}/pods`, {
      query: { labelSelector: `app=${this.name}` },
    });
    return list.items;
  }

  /** The traffic client's answers since `since` (ms since epoch), from its log. */
  async answers(since = 0): Promise<Answer[]> {
    const out = await this.cluster.kubectl('-n', this.ns, 'logs', 'traffic');
    return out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Answer)
      .filter((a) => a.t >= since);
  }

  /** Waits until a pod other than `old` answers after `since`; returns it. */
  async nextAnswerer(since: number, old: string, timeoutMs: number): Promise<string> {
    return waitUntil(
      `a pod other than ${old} answers`,
      timeoutMs,
      async () => (await this.answers(since)).find((a) => a.pod && a.pod !== old)?.pod,
      250,
    );
  }
}

/**
 * The safety check on what clients saw: once a pod answered, the one before it never
 * answers again (two pods never serve in turns), and the Service never had two ready
 * endpoints at once. Returns what broke it, or [] when nothing did.
 */
export function oneServerAtATime(group: ElectedGroup, got: Answer[], since: number): string[] {
  const order: string[] = [];
  for (const a of got) {
    if (!a.pod) continue;
    if (order.at(-1) !== a.pod) order.push(a.pod);
  }
  const broken: string[] = [];
  if (new Set(order).size !== order.length) broken.push(`answerers in turn: ${order.join(' → ')}`);
  const most = group.observer.maxReadyEndpoints(since);
  if (most > 1) broken.push(`${most} ready endpoints at once`);
  return broken;
}

export /** The first answer after `start` that ends a stretch of at least `gapMs` without one. */
function answerAfterGap(got: Answer[], start: number, gapMs: number): Answer | undefined {
  let last = start;
  for (const a of got) {
    if (!a.pod || a.t < start) continue;
    if (a.t - last >= gapMs) return a;
    last = a.t;
  }
  return undefined;
}

/** Lengths of the stretches with no answered request. */
export function gaps(list: Answer[]): number[] {
  const out: number[] = [];
  let last: number | undefined;
  for (const a of list) {
    if (!a.pod) continue;
    if (last !== undefined) out.push(a.t - last);
    last = a.t;
  }
  return out;
}

/** The longest stretch with no answered request (0 with fewer than two answers). */
export function longestGap(list: Answer[]): number {
  return Math.max(0, ...gaps(list));
}

/**
 * What happened since `t0`, to explain a failed scenario: the observer's events and the
 * traffic client's answers, one line per run of answers by the same pod.
 */
export function timeline(group: ElectedGroup, got: Answer[], t0: number): string {
  const lines: { t: number; text: string }[] = group.observer.events
    .filter((e) => e.t >= t0 - 2_000)
    .map(({ t, ...rest }) => ({ t, text: `observer ${JSON.stringify(rest)}` }));
  let streak: { from: number; to: number; who: string; n: number } | undefined;
  const flush = () => {
    if (streak)
      lines.push({ t: streak.from, text: `traffic ${streak.who} ×${streak.n} until +${streak.to - t0} ms` });
  };
  for (const a of got) {
    const who = a.pod ?? `error ${a.err}`;
    if (streak?.who === who) {
      streak.to = a.t;
      streak.n++;
      continue;
    }
    flush();
    streak = { from: a.t, to: a.t, who, n: 1 };
  }
  flush();
  return lines
    .sort((a, b) => a.t - b.t)
    .map((l) => `+${l.t - t0} ms ${l.text}`)
    .join('\n');
}
