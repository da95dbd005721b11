// The pod runner: the only stand-in in our tests, for the kubelet. It registers a
// Node, binds pending pods to it, runs their containers as local processes (by a
// map from image to command), runs httpGet readiness probes, computes Ready as the
// kubelet does and writes only the conditions the kubelet owns. Each pod gets an
// IP from 10.244.0.0/16 in its status (EndpointSlices reject loopback), a
// loopback address 127.N.x.y for its processes, and its own relay to the API
// server, which a test can cut to partition that pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1EnvVar, V1Pod, V1Probe } from '@kubernetes/client-node';
import { ApiError, KubeClient, PATCH } from '../../common/kube/kube-client.ts';
import type { KubeConnection } from '../../common/kube/kubeconfig.ts';
import { listWatch } from '../../common/kube/list-watch.ts';
import { ApiRelay } from './api-relay.ts';
import {
  conditionUpdates,
  containersReadyCondition,
  podReadyCondition,
  type OwnedCondition,
} from './pod-status.ts';

export interface ContainerContext {
  pod: V1Pod;
  container: V1Container;
  /** The pod's own loopback address: processes listen here, so ports never collide. */
  listenAddress: string;
  podIP: string;
  /** Environment the kubelet would give (env, downward API, KUBECONFIG for the pod's token). */
  env: Record<string, string>;
  podDir: string;
}

export interface ContainerCommand {
  command: string;
  args?: string[];
  env?: Record<string, string>;
}

export type ImageMap = Record<string, (ctx: ContainerContext) => ContainerCommand>;

export interface PodRunnerOptions {
  connection: KubeConnection;
  images: ImageMap;
  nodeName?: string;
  /**
   * Delay before a container that exited is started again. The kubelet's
   * CrashLoopBackOff starts at 10 s; tests of takeover rely on that.
   */
  restartBackoffMs?: number;
  /** Where to write container logs; kept for inspection. */
  logDir?: string;
  log?: (m: string) => void;
}

interface ProbeState {
  successes: number;
  failures: number;
}

interface RunningContainer {
  name: string;
  spec: V1Container;
  sidecar: boolean;
  proc?: ChildProcess;
  /** No process: the image is not in the map; reported running and ready. */
  virtual: boolean;
  ready: boolean;
  restartCount: number;
  startedAt: string;
  probe: ProbeState;
  probeTimer?: NodeJS.Timeout;
  stopping: boolean;
}

export interface RunningPod {
  namespace: string;
  name: string;
  uid: string;
  /** Allocation index behind podIP and listenAddress, freed when the pod goes. */
  index: number;
  podIP: string;
  listenAddress: string;
  relay: ApiRelay;
  dir: string;
  containers: Map<string, RunningContainer>;
  last: V1Pod;
  terminating: boolean;
  /** stopPod ran: its address and relay are given back once, whoever calls it again. */
  stopped?: boolean;
}

function podKey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

export class PodRunner {
  readonly nodeName: string;
  private readonly client: KubeClient;
  private readonly pods = new Map<string, RunningPod>();
  private readonly abort = new AbortController();
  private nextIndex = 2;
  /**
   * Second octet of this runner's loopback range (127.N.x.y): random, so that two
   * runners on one machine (a test run beside make cluster-up or a benchmark) do
   * not hand out the same addresses and ports.
   */
  private readonly loopbackNet = 16 + Math.floor(Math.random() * 230);
  private readonly freeIndexes: number[] = [];
  private readonly baseDir: string;
  private readonly log: (m: string) => void;
  private watchDone?: Promise<void>;
  private readonly apiTarget: { host: string; port: number };
  private statusQueue = new Map<string, Promise<void>>();
  private resyncTimer: NodeJS.Timeout | undefined;

  private readonly opts: PodRunnerOptions;

  constructor(opts: PodRunnerOptions) {
    this.opts = opts;
    this.nodeName = opts.nodeName ?? 'pod-runner';
    this.client = new KubeClient(opts.connection);
    this.baseDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'le-pods-'));
    this.log = opts.log ?? (() => {});
    const url = new URL(opts.connection.server);
    this.apiTarget = { host: url.hostname, port: Number(url.port || 443) };
  }

  async start(): Promise<void> {
    await this.registerNode();
    let synced!: () => void;
    const ready = new Promise<void>((r) => (synced = r));
    this.watchDone = listWatch<V1Pod>(
      this.client,
      '/api/v1/pods',
      {
        onList: (items) => {
          for (const pod of items) this.observe(pod);
          synced();
        },
        onEvent: (type, pod) => (type === 'DELETED' ? this.forget(pod) : this.observe(pod)),
        onError: (err) => this.log(`pod watch: ${(err as Error).message}`),
      },
      this.abort.signal,
      { watchdogMs: 30_000 },
    );
    await ready;
    // Like the kubelet's sync loop: re-assert every pod's status now and then, so a
    // write lost while the API server was down (or a missed event) is repaired.
    this.resyncTimer = setInterval(() => {
      for (const p of this.pods.values()) if (!p.terminating) this.syncStatus(p);
    }, 2_000);
  }

  private async registerNode(): Promise<void> {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.nodeName,
        labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux' },
      },
    };
    try {
      await this.client.request('POST', '/api/v1/nodes', { body: node });
    } catch (err) {
      if (!ApiError.isAlreadyExists(err)) throw err;
    }
    const now = new Date().toISOString();
    await this.client.request('PATCH', `/api/v1/nodes/${this.nodeName}/status`, {
      contentType: PATCH.strategicMerge,
      body: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'pod runner is ready',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          addresses: [
            { type: 'InternalIP', address: '10.243.0.1' },
            { type: 'Hostname', address: this.nodeName },
          ],
          capacity: { cpu: '64', memory: '256Gi', pods: '1000' },
          allocatable: { cpu: '64', memory: '256Gi', pods: '1000' },
        },
      },
    });
  }

  /** The running pod, for tests: its processes, addresses and relay. */
  pod(namespace: string, name: string): RunningPod | undefined {
    return this.pods.get(podKey(namespace, name));
  }

  runningPods(): RunningPod[] {
    return [...this.pods.values()];
  }

  /** Sends a signal to every process of a pod (SIGSTOP/SIGCONT/SIGKILL for fault tests). */
  signalPod(namespace: string, name: string, signal: NodeJS.Signals, container?: string): number[] {
    const pod = this.pod(namespace, name);
    const pids: number[] = [];
    for (const c of pod?.containers.values() ?? []) {
      if (container && c.name !== container) continue;
      if (c.proc?.pid && c.proc.exitCode === null) {
        c.proc.kill(signal);
        pids.push(c.proc.pid);
      }
    }
    return pids;
  }

  // Not awaited here: bind, stopPod, finishDeletion and terminate never reject (API errors
  // are logged inside them, a relay's close cannot fail); startPod's failure is logged.
  private observe(pod: V1Pod): void {
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const phase = pod.status?.phase;
    if (!pod.spec?.nodeName) {
      if (
        !pod.metadata?.deletionTimestamp &&
        (pod.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler'
      ) {
        void this.bind(pod);
      }
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    const key = podKey(ns, name);
    let running = this.pods.get(key);
    if (running && running.uid !== pod.metadata?.uid) {
      // Same name, new pod (StatefulSet): the old one is gone.
      void this.stopPod(running);
      running = undefined;
    }
    if (!running) {
      if (phase === 'Succeeded' || phase === 'Failed') return;
      if (pod.metadata?.deletionTimestamp) {
        void this.finishDeletion(pod);
        return;
      }
      void this.startPod(pod).catch((err) => this.log(`start ${key}: ${(err as Error).message}`));
      return;
    }
    running.last = pod;
    if (pod.metadata?.deletionTimestamp && !running.terminating) {
      running.terminating = true;
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      void this.terminate(running, grace);
      return;
    }
    // A condition written by someone else (a readiness gate) may change Ready.
    this.syncStatus(running);
  }

  private forget(pod: V1Pod): void {
    const key = podKey(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
    const running = this.pods.get(key);
    // stopPod never rejects: nothing to wait for in a watch handler.
    if (running && running.uid === pod.metadata?.uid) void this.stopPod(running);
  }

  private async bind(pod: V1Pod): Promise<void> {
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    try {
      await this.client.request('POST', `/api/v1/namespaces/${ns}/pods/${name}/binding`, {
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace: ns, uid: pod.metadata?.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName },
        },
      });
    } catch (err) {
      if (!(err instanceof ApiError && (err.status === 409 || err.status === 404))) {
        this.log(`bind ${ns}/${name}: ${(err as Error).message}`);
      }
    }
  }

  private allocate(): { index: number; podIP: string; listenAddress: string } {
    const index = this.freeIndexes.shift() ?? this.nextIndex++;
    const a = (index >> 8) & 255;
    const b = index & 255;
    return { index, podIP: `10.244.${a}.${b}`, listenAddress: `127.${this.loopbackNet}.${a}.${b}` };
  }

  private async startPod(pod: V1Pod): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const uid = pod.metadata!.uid!;
    const { index, podIP, listenAddress } = this.allocate();
    const relay = new ApiRelay(this.apiTarget);
    await relay.start();
    const dir = join(this.baseDir, `${ns}_${name}_${uid.slice(0, 8)}`);
    mkdirSync(dir, { recursive: true });
    const running: RunningPod = {
      namespace: ns,
      name,
      uid,
      index,
      podIP,
      listenAddress,
      relay,
      dir,
      containers: new Map(),
      last: pod,
      terminating: false,
    };
    this.pods.set(podKey(ns, name), running);
    const kubeconfig = await this.writePodKubeconfig(pod, running);
    const startedAt = new Date().toISOString();
    const specs: { spec: V1Container; sidecar: boolean }[] = [
      ...(pod.spec?.initContainers ?? [])
        .filter((c) => c.restartPolicy === 'Always')
        .map((spec) => ({ spec, sidecar: true })),
      ...(pod.spec?.containers ?? []).map((spec) => ({ spec, sidecar: false })),
    ];
    for (const { spec, sidecar } of specs) {
      const c: RunningContainer = {
        name: spec.name,
        spec,
        sidecar,
        virtual: !(spec.image && this.opts.images[spec.image]),
        ready: false,
        restartCount: 0,
        startedAt,
        probe: { successes: 0, failures: 0 },
        stopping: false,
      };
      c.ready = c.virtual || !spec.readinessProbe;
      running.containers.set(spec.name, c);
      if (!c.virtual) this.launch(running, c, kubeconfig);
    }
    this.syncStatus(running);
  }

  private async writePodKubeconfig(pod: V1Pod, running: RunningPod): Promise<string> {
    const ns = running.namespace;
    const sa = pod.spec?.serviceAccountName ?? 'default';
    let token = '';
    try {
      const tr = await this.client.request<{ status: { token: string } }>(
        'POST',
        `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: {
              expirationSeconds: 3600,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: running.name, uid: running.uid },
            },
          },
        },
      );
      token = tr.status.token;
    } catch (err) {
      this.log(`token for ${ns}/${running.name}: ${(err as Error).message}`);
    }
    const ca = this.opts.connection.ca?.toString('base64') ?? '';
    const path = join(running.dir, 'kubeconfig');
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'local',
            cluster: { server: `https://127.0.0.1:${running.relay.port}`, 'certificate-authority-data': ca },
          },
        ],
        users: [{ name: 'pod', user: { token } }],
        contexts: [{ name: 'pod', context: { cluster: 'local', user: 'pod', namespace: ns } }],
        'current-context': 'pod',
      }),
      { mode: 0o600 },
    );
    return path;
  }

  /** Env as the kubelet resolves it: literal values and the downward API fields. */
  private resolveEnv(pod: V1Pod, running: RunningPod, vars: V1EnvVar[] | undefined): Record<string, string> {
    const env: Record<string, string> = {};
    for (const v of vars ?? []) {
      if (v.value !== undefined) {
        env[v.name] = v.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);
        continue;
      }
      const field = v.valueFrom?.fieldRef?.fieldPath;
      if (!field) continue;
      const meta = pod.metadata ?? {};
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(field);
      const value =
        field === 'metadata.name'
          ? meta.name
          : field === 'metadata.namespace'
            ? meta.namespace
            : field === 'metadata.uid'
              ? meta.uid
              : field === 'spec.nodeName'
                ? this.nodeName
                : field === 'spec.serviceAccountName'
                  ? (pod.spec?.serviceAccountName ?? 'default')
                  : field === 'status.podIP'
                    ? running.podIP
                    : field === 'status.hostIP'
                      ? '10.243.0.1'
                      : m
                        ? (m[1] === 'labels' ? meta.labels : meta.annotations)?.[m[2]!]
                        : undefined;
      if (value !== undefined) env[v.name] = value;
    }
    return env;
  }

  private launch(running: RunningPod, c: RunningContainer, kubeconfig: string): void {
    const pod = running.last;
    const env = { ...this.resolveEnv(pod, running, c.spec.env), KUBECONFIG: kubeconfig };
    const make = this.opts.images[c.spec.image!]!;
    const cmd = make({
      pod,
      container: c.spec,
      listenAddress: running.listenAddress,
      podIP: running.podIP,
      env,
      podDir: running.dir,
    });
    const logPath = join(running.dir, `${c.name}.log`);
    const proc = spawn(cmd.command, cmd.args ?? [], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: running.dir, ...env, ...cmd.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = createWriteStream(logPath, { flags: 'a' });
    proc.stdout?.pipe(out, { end: false });
    proc.stderr?.pipe(out, { end: false });
    c.proc = proc;
    c.startedAt = new Date().toISOString();
    c.ready = !c.spec.readinessProbe;
    c.probe = { successes: 0, failures: 0 };
    proc.on('exit', (code, signal) => {
      out.end();
      if (c.probeTimer) clearInterval(c.probeTimer);
      c.ready = false;
      if (c.stopping || running.terminating || this.abort.signal.aborted) return;
      this.log(
        `${running.namespace}/${running.name} container ${c.name} exited (${code ?? signal}); restarting`,
      );
      c.restartCount++;
      this.syncStatus(running);
      // restartPolicy Always, with a short back-off.
      setTimeout(() => {
        if (
          !c.stopping &&
          !running.terminating &&
          this.pods.get(podKey(running.namespace, running.name)) === running
        ) {
          this.launch(running, c, kubeconfig);
          this.syncStatus(running);
        }
      }, this.opts.restartBackoffMs ?? 10_000);
    });
    if (c.spec.readinessProbe?.httpGet) this.startProbe(running, c, c.spec.readinessProbe);
  }

  private startProbe(running: RunningPod, c: RunningContainer, probe: V1Probe): void {
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
    const successThreshold = probe.successThreshold ?? 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    const tick = async () => {
      const ok = await this.httpProbe(running, c.spec, probe, timeoutMs);
      if (ok) {
        c.probe.successes++;
        c.probe.failures = 0;
      } else {
        c.probe.failures++;
        c.probe.successes = 0;
      }
      const before = c.ready;
      if (!c.ready && c.probe.successes >= successThreshold) c.ready = true;
      if (c.ready && c.probe.failures >= failureThreshold) c.ready = false;
      if (before !== c.ready) this.syncStatus(running);
    };
    // Fire and forget from a timer. httpProbe answers false on network errors, but
    // http.request throws at once for a port it cannot use (a named port the container
    // does not declare gives -1): log that instead of an unhandled rejection.
    const probeOnce = () =>
      void tick().catch((err) =>
        this.log(`probe ${running.namespace}/${running.name} ${c.name}: ${(err as Error).message}`),
      );
    const initialDelayMs = (probe.initialDelaySeconds ?? 0) * 1000;
    setTimeout(() => {
      if (c.stopping || c.proc?.exitCode !== null) return;
      probeOnce();
      c.probeTimer = setInterval(probeOnce, periodMs);
    }, initialDelayMs);
  }

  private httpProbe(
    running: RunningPod,
    spec: V1Container,
    probe: V1Probe,
    timeoutMs: number,
  ): Promise<boolean> {
    const get = probe.httpGet!;
    let port = get.port as number | string;
    if (typeof port === 'string' && !/^\d+$/.test(port)) {
      port = spec.ports?.find((p) => p.name === port)?.containerPort ?? -1;
    }
    return new Promise((res) => {
      const req = httpRequest(
        {
          host: running.listenAddress,
          port: Number(port),
          path: get.path ?? '/',
          method: 'GET',
          timeout: timeoutMs,
          agent: false,
        },
        (r) => {
          r.resume();
          res((r.statusCode ?? 0) >= 200 && (r.statusCode ?? 0) < 400);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => res(false));
      req.end();
    });
  }

  /** Computes the status the kubelet would report and writes what changed (one write at a time per pod). */
  private syncStatus(running: RunningPod): void {
    const key = podKey(running.namespace, running.name);
    const prev = this.statusQueue.get(key) ?? Promise.resolve();
    const next = prev
      .then(() => this.writeStatus(running))
      .catch((err) => {
        if (!ApiError.isNotFound(err)) this.log(`status ${key}: ${(err as Error).message}`);
      });
    this.statusQueue.set(key, next);
  }

  private async writeStatus(running: RunningPod, fresh = false): Promise<void> {
    if (this.pods.get(podKey(running.namespace, running.name)) !== running) return;
    const pod = running.last;
    const all = [...running.containers.values()];
    const containersReady = containersReadyCondition(all.map((c) => ({ name: c.name, ready: c.ready })));
    const owned: OwnedCondition[] = [
      { type: 'PodReadyToStartContainers', status: 'True' },
      { type: 'Initialized', status: 'True' },
      containersReady,
      podReadyCondition(pod, containersReady),
    ];
    const now = new Date();
    const conditions = conditionUpdates(pod, owned, now);
    const status = (c: RunningContainer) => ({
      name: c.name,
      image: c.spec.image,
      imageID: `local://${c.spec.image}`,
      containerID: `local://${c.proc?.pid ?? 'virtual'}-${c.name}`,
      ready: c.ready,
      started: true,
      restartCount: c.restartCount,
      state: { running: { startedAt: c.startedAt } },
    });
    const containerStatuses = all.filter((c) => !c.sidecar).map(status);
    const regularInits = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
    const initContainerStatuses = [
      ...regularInits.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `local://${c.image}`,
        ready: true,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
      })),
      ...all.filter((c) => c.sidecar).map(status),
    ];
    const same =
      conditions.length === 0 &&
      pod.status?.phase === 'Running' &&
      pod.status?.podIP === running.podIP &&
      JSON.stringify(pod.status?.containerStatuses?.map((s) => [s.name, s.ready, s.restartCount])) ===
        JSON.stringify(containerStatuses.map((s) => [s.name, s.ready, s.restartCount])) &&
      JSON.stringify(
        (pod.status?.initContainerStatuses ?? []).map((s) => [s.name, s.ready, s.restartCount]),
      ) === JSON.stringify(initContainerStatuses.map((s) => [s.name, s.ready, s.restartCount]));
    if (same) return;
    if (!fresh) {
      // About to write: decide from the pod as the API server has it now, not from a watch
      // event that may lag (a readiness gate that just turned False must not be read as True).
      const current = await this.client.get<V1Pod>(
        `/api/v1/namespaces/${running.namespace}/pods/${running.name}`,
      );
      if (current.metadata?.uid !== running.uid) return;
      if (
        Number(current.metadata?.resourceVersion ?? 0) >= Number(running.last.metadata?.resourceVersion ?? 0)
      ) {
        running.last = current;
      }
      return this.writeStatus(running, true);
    }
    const updated = await this.client.request<V1Pod>(
      'PATCH',
      `/api/v1/namespaces/${running.namespace}/pods/${running.name}/status`,
      {
        contentType: PATCH.strategicMerge,
        body: {
          metadata: { uid: running.uid },
          status: {
            phase: 'Running',
            hostIP: '10.243.0.1',
            hostIPs: [{ ip: '10.243.0.1' }],
            podIP: running.podIP,
            podIPs: [{ ip: running.podIP }],
            startTime: pod.status?.startTime ?? now,
            qosClass: pod.status?.qosClass,
            conditions,
            containerStatuses,
            initContainerStatuses,
          },
        },
      },
    );
    // Keep the newest view unless the watch already brought a newer one.
    if (
      Number(updated.metadata?.resourceVersion ?? 0) >= Number(running.last.metadata?.resourceVersion ?? 0)
    ) {
      running.last = updated;
    }
  }

  /** Graceful deletion: SIGTERM the app containers, then the sidecars, SIGKILL at the grace period, then delete. */
  private async terminate(running: RunningPod, graceSeconds: number): Promise<void> {
    const deadline = Date.now() + graceSeconds * 1000;
    const apps = [...running.containers.values()].filter((c) => !c.sidecar);
    const sidecars = [...running.containers.values()].filter((c) => c.sidecar).reverse();
    await this.stopContainers(apps, deadline);
    await this.stopContainers(sidecars, deadline);
    await this.stopPod(running);
    await this.finishDeletion(running.last);
  }

  private async stopContainers(list: RunningContainer[], deadline: number): Promise<void> {
    await Promise.all(
      list.map(async (c) => {
        c.stopping = true;
        if (c.probeTimer) clearInterval(c.probeTimer);
        const proc = c.proc;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        // A stopped (SIGSTOP) process cannot act on SIGTERM; the kubelet's runtime would still kill it at the deadline.
        const left = Math.max(0, deadline - Date.now());
        const timer = setTimeout(() => proc.kill('SIGKILL'), left);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private async finishDeletion(pod: V1Pod): Promise<void> {
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    try {
      await this.client.request('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`, {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata?.uid },
        },
      });
    } catch (err) {
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) {
        this.log(`delete ${ns}/${name}: ${(err as Error).message}`);
      }
    }
  }

  /** Kills a pod's processes and frees its address and relay. */
  private async stopPod(running: RunningPod): Promise<void> {
    // Called from the terminate path and from the DELETED event, both for a forced delete.
    if (running.stopped) return;
    running.stopped = true;
    const key = podKey(running.namespace, running.name);
    if (this.pods.get(key) === running) this.pods.delete(key);
    running.terminating = true;
    for (const c of running.containers.values()) {
      c.stopping = true;
      if (c.probeTimer) clearInterval(c.probeTimer);
      if (c.proc && c.proc.exitCode === null && c.proc.signalCode === null) {
        c.proc.kill('SIGCONT');
        c.proc.kill('SIGKILL');
      }
    }
    await running.relay.close();
    this.freeIndexes.push(running.index);
  }

  /** Stops watching and kills every process it started. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.resyncTimer);
    await Promise.all([...this.pods.values()].map((p) => this.stopPod(p)));
    await this.watchDone;
    this.client.close();
    if (!this.opts.logDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
