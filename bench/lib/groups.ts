// Election groups the benchmarks drive, one per side:
// - OurGroup: a Deployment whose pod template is injected by the webhook's own
//   injection function (injectedTemplate), run by the pod runner, so every agent
//   is the production bundle in a real process with its pod's own token; plus a
//   Service, and optionally an Observer (local-cluster/observe/observer.ts).
// - GoGroup: client-go electors (local-cluster/clientgo, k8s.io/client-go v0.36.3
//   leaderelection with a LeaseLock), each a process, on one Lease.
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';
import {
  agentLeader,
  GoElector,
  injectedTemplate,
  Observer,
  parseLogTime,
  type PodRunner,
  type RunningPod,
} from '../../local-cluster/index.ts';
import type { LeaseTap } from './lease-tap.ts';
import { progress, sleep, waitFor } from './util.ts';

export const AGENT = 'leader-election-agent';
/** The app container of bench pods: an image the pod runner does not map runs as a "virtual" container (running and ready, no process). */
export const IDLE_APP_IMAGE = 'bench.local/idle-app:1';

export interface Timings {
  lease: string;
  renew: string;
  retry: string;
}

export const DEFAULTS: Timings = { lease: '15s', renew: '10s', retry: '2s' };

export function timingsLabel(t: Timings): string {
  return `${t.lease}/${t.renew}/${t.retry}`;
}

export function leaseMs(t: Timings): number {
  return Number(t.lease.replace(/s$/, '')) * 1000;
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    });
  } catch (err) {
    if (!ApiError.isAlreadyExists(err)) throw err;
  }
  await waitFor(`default ServiceAccount in ${name}`, 60_000, () =>
    client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`).then(() => true),
  );
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.request('DELETE', `/api/v1/namespaces/${name}`);
  } catch (err) {
    if (!ApiError.isNotFound(err)) throw err;
  }
}

export interface OurGroupOptions {
  client: KubeClient;
  runner: PodRunner;
  tap: LeaseTap;
  ns: string;
  name: string;
  replicas: number;
  timings: Timings;
  /** Start an Observer (endpoints, Lease holder, gates) on the group. */
  observe: boolean;
}

/** A Deployment of elected pods behind a Service, as the webhook would inject it. */
export class OurGroup {
  readonly opts: OurGroupOptions;
  observer: Observer | undefined;
  private replicas: number;

  constructor(opts: OurGroupOptions) {
    this.opts = opts;
    this.replicas = opts.replicas;
  }

  get ns(): string {
    return this.opts.ns;
  }
  get lease(): string {
    return this.opts.name;
  }

  async create(): Promise<void> {
    const { client, ns, name, timings } = this.opts;
    const template = injectedTemplate({
      metadata: {
        labels: { app: name },
        annotations: {
          'leader-election/enabled': 'true',
          'leader-election/lease-name': name,
          'leader-election/lease-duration': timings.lease,
          'leader-election/renew-deadline': timings.renew,
          'leader-election/retry-period': timings.retry,
        },
      },
      spec: {
        terminationGracePeriodSeconds: 10,
        containers: [{ name: 'app', image: IDLE_APP_IMAGE, ports: [{ containerPort: 8080 }] }],
      },
    });
    if (this.opts.observe) {
      this.observer = new Observer(client, ns, name, name);
      await this.observer.start();
    }
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, annotations: { 'leader-election/enabled': 'true' } },
        spec: {
          replicas: this.replicas,
          selector: { matchLabels: { app: name } },
          template,
          // Replacements of deleted pods only; no rollout happens in the benchmarks.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%', maxSurge: 0 } },
        },
      },
    });
    await client.request('POST', `/api/v1/namespaces/${ns}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
  }

  /** Running, non-terminating pods of this group, as the pod runner has them. */
  pods(): RunningPod[] {
    return this.opts.runner
      .runningPods()
      .filter((p) => p.namespace === this.ns && p.name.startsWith(`${this.lease}-`) && !p.terminating);
  }

  agentPid(pod: string): number | undefined {
    const c = this.opts.runner.pod(this.ns, pod)?.containers.get(AGENT);
    return c?.proc && c.proc.exitCode === null && c.proc.signalCode === null ? c.proc.pid : undefined;
  }

  holder(): string {
    return this.opts.tap.holder(this.ns, this.lease);
  }

  /** The gate condition of a pod as the observer last saw it ('' if never). */
  gate(pod: string): string {
    const ev = this.observer?.events.findLast((e) => e.kind === 'pod' && e.pod === pod);
    return ev && ev.kind === 'pod' ? ev.gate : '';
  }

  /**
   * Settled: `replicas` pods run their agent, the Lease has a holder among them,
   * every agent's /leader names that holder, and (with an observer) the holder's
   * gate is True and it is the only ready endpoint.
   */
  /** Why the group is not settled yet, or undefined when it is. */
  async unsettled(): Promise<string | undefined> {
    const pods = this.pods();
    if (pods.length !== this.replicas) return `${pods.length}/${this.replicas} pods running`;
    const holder = this.holder();
    if (!holder) return 'the Lease has no holder';
    if (!pods.some((p) => p.name === holder)) return `the holder ${holder} is not a running pod`;
    for (const p of pods) if (this.agentPid(p.name) === undefined) return `${p.name}: agent not running`;
    const views = await Promise.all(pods.map((p) => agentLeader(this.opts.runner, this.ns, p.name, 500)));
    const odd = pods.filter((_, i) => views[i]?.leader !== holder);
    if (odd.length) return `agents not following ${holder}: ${odd.map((p) => p.name).join(', ')}`;
    if (this.observer) {
      if (this.gate(holder) !== 'True') return `${holder}: gate ${this.gate(holder) || 'unset'}`;
      const ready = this.observer.currentReady();
      if (ready.length !== 1 || ready[0] !== holder) return `ready endpoints [${ready.join(', ')}]`;
    }
    return undefined;
  }

  /**
   * Settled: `replicas` pods run their agent, the Lease has a holder among them,
   * every agent's /leader names that holder, and (with an observer) the holder's
   * gate is True and it is the only ready endpoint.
   */
  async settled(timeoutMs = 90_000): Promise<string> {
    await settle(`group ${this.ns}/${this.lease}`, timeoutMs, () => this.unsettled());
    return this.holder();
  }

  async deletePod(pod: string, gracePeriodSeconds?: number): Promise<void> {
    await this.opts.client.request('DELETE', `/api/v1/namespaces/${this.ns}/pods/${pod}`, {
      ...(gracePeriodSeconds === undefined
        ? {}
        : { body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds } }),
    });
  }

  /** Removes the Deployment and Service and waits until its processes are gone. */
  async destroy(): Promise<void> {
    const { client, ns, name } = this.opts;
    this.observer?.stop();
    await client
      .request('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground' },
      })
      .catch(() => undefined);
    await client.request('DELETE', `/api/v1/namespaces/${ns}/services/${name}`).catch(() => undefined);
    await waitFor(`pods of ${ns}/${name} gone`, 60_000, () => this.allPodsGone(), 200);
  }

  private allPodsGone(): boolean {
    return !this.opts.runner
      .runningPods()
      .some((p) => p.namespace === this.ns && p.name.startsWith(`${this.lease}-`));
  }
}

/** Waits until `why` says nothing is missing; says what was, if it takes long. */
async function settle(
  what: string,
  timeoutMs: number,
  why: () => Promise<string | undefined>,
): Promise<void> {
  const start = Date.now();
  let last: string | undefined = 'not checked yet';
  let reported = false;
  while (Date.now() - start < timeoutMs) {
    last = await why().catch((err: Error) => err.message);
    if (last === undefined) return;
    if (!reported && Date.now() - start > 8_000) {
      reported = true;
      progress(`  (${what} still settling after 8 s: ${last})`);
    }
    await sleep(100);
  }
  throw new Error(`${what} not settled within ${timeoutMs} ms: ${last}`);
}

/** Pods of a namespace (for checks and deletion). */
export async function listPods(client: KubeClient, ns: string): Promise<V1Pod[]> {
  const list = await client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${ns}/pods`);
  return list.items;
}

export interface GoGroupOptions {
  binary: string;
  kubeconfig: string;
  tap: LeaseTap;
  ns: string;
  lease: string;
  size: number;
  timings: Timings;
  releaseOnCancel: boolean;
  logDir: string;
}

/** client-go electors on one Lease; a stopped one is replaced by a fresh process with a new identity. */
export class GoGroup {
  readonly opts: GoGroupOptions;
  readonly electors = new Map<string, GoElector>();
  private seq = 0;

  constructor(opts: GoGroupOptions) {
    this.opts = opts;
  }

  get ns(): string {
    return this.opts.ns;
  }
  get lease(): string {
    return this.opts.lease;
  }

  async add(): Promise<GoElector> {
    const o = this.opts;
    const e = await GoElector.start({
      binary: o.binary,
      kubeconfig: o.kubeconfig,
      namespace: o.ns,
      lease: o.lease,
      identity: `${o.lease}-go-${++this.seq}`,
      leaseDuration: o.timings.lease,
      renewDeadline: o.timings.renew,
      retryPeriod: o.timings.retry,
      releaseOnCancel: o.releaseOnCancel,
      logDir: o.logDir,
    });
    this.electors.set(e.identity, e);
    return e;
  }

  async fill(): Promise<void> {
    while ([...this.electors.values()].filter((e) => e.alive).length < this.opts.size) await this.add();
  }

  holder(): string {
    return this.opts.tap.holder(this.ns, this.lease);
  }

  alive(): GoElector[] {
    return [...this.electors.values()].filter((e) => e.alive);
  }

  async unsettled(): Promise<string | undefined> {
    const alive = this.alive();
    if (alive.length !== this.opts.size) return `${alive.length}/${this.opts.size} electors running`;
    const holder = this.holder();
    if (!holder) return 'the Lease has no holder';
    if (!alive.some((e) => e.identity === holder)) return `the holder ${holder} is not running`;
    const views = await Promise.all(alive.map((e) => e.leader(500)));
    const odd = alive.filter((_, i) => views[i]?.leader !== holder);
    return odd.length
      ? `electors not following ${holder}: ${odd.map((e) => e.identity).join(', ')}`
      : undefined;
  }

  async settled(timeoutMs = 90_000): Promise<string> {
    await settle(`client-go group ${this.ns}/${this.lease}`, timeoutMs, () => this.unsettled());
    return this.holder();
  }

  /** The "started leading" instant in an elector's log at or after `since` (wall clock ms). */
  startedLeadingAfter(identity: string, since: number): number | undefined {
    const e = this.electors.get(identity);
    if (!e) return undefined;
    let text: string;
    try {
      text = readFileSync(e.logPath, 'utf8');
    } catch {
      return undefined;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('"started leading"')) continue;
      const m = /"time":"([^"]+)"/.exec(line);
      const t = m ? parseLogTime(m[1]!) : Number.NaN;
      if (t >= since) return t;
    }
    return undefined;
  }

  /** Stops an elector that was signalled, and replaces it. */
  async replace(identity: string): Promise<void> {
    const e = this.electors.get(identity);
    if (e) {
      await e.waitExit(15_000).catch(() => e.kill());
      this.electors.delete(identity);
    }
    await this.fill();
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.electors.values()].map((e) => e.kill()));
    this.electors.clear();
    await sleep(0);
  }
}
