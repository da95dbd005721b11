// The control plane harness: a real etcd, kube-apiserver and
// kube-controller-manager run as local processes on free loopback ports, the
// way controller-runtime's envtest does, plus an admin kubeconfig.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeClient } from '../../common/kube/kube-client.ts';
import { connectionFromKubeconfig, type KubeConnection } from '../../common/kube/kubeconfig.ts';
import { createPki, type CertFiles, type Pki } from './pki.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
const TMP_PREFIX = 'le-plane-';

/** The controllers a pod lifecycle needs; node-lifecycle and taint-eviction are left out on purpose. */
export const CONTROLLERS = [
  'serviceaccount-token-controller',
  'serviceaccount-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'replicaset-controller',
  'deployment-controller',
  'statefulset-controller',
  'disruption-controller',
  'endpointslice-controller',
  'root-ca-certificate-publisher-controller',
  'pod-garbage-collector-controller',
  'clusterrole-aggregation-controller',
  'validatingadmissionpolicy-status-controller',
];

export interface PlaneState {
  /** The process that owns the plane; a test run's plane is a leftover once its owner is gone. */
  ownerPid: number;
  persistent: boolean;
  dir: string;
  server: string;
  kubeconfig: string;
  pids: Record<string, number>;
  ports: { etcd: number; etcdPeer: number; apiserver: number };
  binDir?: string;
  /** kube-apiserver's arguments, so another process (a test worker) can restart it. */
  apiserverArgs?: string[];
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** Stops and removes planes left by test runs that were killed before they could clean up. */
export function reapLeftovers(log: (m: string) => void = () => {}): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let state: PlaneState | undefined;
    try {
      state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as PlaneState;
    } catch {
      state = undefined;
    }
    if (state && (state.persistent || alive(state.ownerPid))) continue;
    for (const pid of Object.values(state?.pids ?? {})) killTree(pid);
    rmSync(dir, { recursive: true, force: true });
    log(`removed leftover control plane ${dir}`);
  }
}

export function buildBinaries(): string {
  const out = execFileSync('bash', [join(here, 'build-binaries.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const bin = out.trim().split('\n').pop();
  if (!bin || !existsSync(join(bin, 'kube-apiserver')))
    throw new Error(`build-binaries.sh did not produce binaries (${out})`);
  return bin;
}

function kubeconfigYaml(server: string, ca: string, user: CertFiles, name: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority: ${ca}
users:
- name: ${name}
  user:
    client-certificate: ${user.cert}
    client-key: ${user.key}
contexts:
- name: ${name}@local
  context:
    cluster: local
    user: ${name}
current-context: ${name}@local
`;
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  died?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = died?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StartOptions {
  /** Keep running after this process exits (make cluster-up); the plane lives in `dir`. */
  persistent?: boolean;
  dir?: string;
  log?: (m: string) => void;
}

export class ControlPlane {
  private readonly procs = new Map<string, ChildProcess>();
  private apiserverArgs: string[] = [];
  private onExit = () => this.killAllSync();

  readonly binDir: string;
  readonly pki: Pki;
  readonly state: PlaneState;
  private readonly log: (m: string) => void;

  private constructor(binDir: string, pki: Pki, state: PlaneState, log: (m: string) => void) {
    this.binDir = binDir;
    this.pki = pki;
    this.state = state;
    this.log = log;
  }

  get dir(): string {
    return this.state.dir;
  }
  get server(): string {
    return this.state.server;
  }
  get kubeconfig(): string {
    return this.state.kubeconfig;
  }
  get caCertPath(): string {
    return this.pki.ca.cert;
  }

  connection(): KubeConnection {
    return connectionFromKubeconfig(this.kubeconfig);
  }

  /** A new admin client; the caller closes it. */
  client(): KubeClient {
    return new KubeClient(this.connection());
  }

  static async start(opts: StartOptions = {}): Promise<ControlPlane> {
    const log = opts.log ?? (() => {});
    reapLeftovers(log);
    const binDir = buildBinaries();
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), TMP_PREFIX));
    mkdirSync(dir, { recursive: true });
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir, { recursive: true });
    const pki = createPki(pkiDir);
    const ports = { etcd: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, pki.ca.cert, pki.admin, 'admin'));
    writeFileSync(
      join(dir, 'kcm.kubeconfig'),
      kubeconfigYaml(server, pki.ca.cert, pki.controllerManager, 'kube-controller-manager'),
    );
    const state: PlaneState = {
      ownerPid: process.pid,
      persistent: !!opts.persistent,
      dir,
      server,
      kubeconfig,
      pids: {},
      ports,
    };
    const plane = new ControlPlane(binDir, pki, state, log);
    if (!opts.persistent) process.once('exit', plane.onExit);
    try {
      await plane.startEtcd();
      await plane.startApiserver();
      await plane.startControllerManager();
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  /** Re-attaches to a persistent plane started by `make cluster-up`. */
  static stateOf(dir: string): PlaneState | undefined {
    try {
      return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as PlaneState;
    } catch {
      return undefined;
    }
  }

  private saveState(): void {
    writeFileSync(join(this.dir, 'state.json'), JSON.stringify(this.state, null, 2));
  }

  private spawnLogged(name: string, args: string[]): ChildProcess {
    const logFile = join(this.dir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(join(this.binDir, name), args, {
      stdio: ['ignore', fd, fd],
      detached: this.state.persistent,
    });
    closeSync(fd);
    if (this.state.persistent) child.unref();
    this.procs.set(name, child);
    this.state.pids[name] = child.pid ?? -1;
    this.saveState();
    return child;
  }

  private diedMessage(name: string): () => string | undefined {
    const child = this.procs.get(name);
    return () => {
      if (!child || child.exitCode === null) return undefined;
      const tail = this.logTail(name);
      return `exited with code ${child.exitCode}\n${tail}`;
    };
  }

  logTail(name: string, lines = 25): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8')
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  private async startEtcd(): Promise<void> {
    const { etcd, etcdPeer } = this.state.ports;
    this.spawnLogged('etcd', [
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcd}`,
      `--advertise-client-urls=http://127.0.0.1:${etcd}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor(
      'etcd',
      30_000,
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcd}/health`);
        return res.ok;
      },
      this.diedMessage('etcd'),
    );
    this.log(`etcd ready on 127.0.0.1:${etcd}`);
  }

  private async startApiserver(): Promise<void> {
    const { etcd, apiserver } = this.state.ports;
    const pki = this.pki;
    this.apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcd}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiserver}`,
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=https://127.0.0.1:${apiserver}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--profiling=false',
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
    ];
    this.state.apiserverArgs = this.apiserverArgs;
    this.state.binDir = this.binDir;
    await this.launchApiserver();
  }

  private async launchApiserver(): Promise<void> {
    this.spawnLogged('kube-apiserver', this.apiserverArgs);
    const client = this.client();
    try {
      await waitFor(
        'kube-apiserver',
        90_000,
        async () => {
          await client.get('/readyz', { timeoutMs: 2000 });
          return true;
        },
        this.diedMessage('kube-apiserver'),
      );
    } finally {
      client.close();
    }
    this.log(`kube-apiserver ready at ${this.server}`);
  }

  private async startControllerManager(): Promise<void> {
    const kcmKubeconfig = join(this.dir, 'kcm.kubeconfig');
    this.spawnLogged('kube-controller-manager', [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${this.pki.serviceAccountKey}`,
      `--root-ca-file=${this.pki.ca.cert}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      `--controllers=${CONTROLLERS.join(',')}`,
      // Pods and endpoints should follow quickly in tests.
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--concurrent-service-endpoint-syncs=10',
      '--endpointslice-updates-batch-period=0s',
    ]);
    // The controller manager is working once the default namespace has its default ServiceAccount.
    const client = this.client();
    try {
      await waitFor(
        'kube-controller-manager',
        60_000,
        async () => {
          await client.get('/api/v1/namespaces/default/serviceaccounts/default', { timeoutMs: 2000 });
          return true;
        },
        this.diedMessage('kube-controller-manager'),
      );
    } finally {
      client.close();
    }
    this.log('kube-controller-manager ready');
  }

  private stopProcess(name: string, signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.procs.get(name);
    this.procs.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((res) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        res();
      });
      child.kill(signal);
    });
  }

  private killAllSync(): void {
    for (const pid of Object.values(this.state.pids)) if (pid > 0) killTree(pid);
  }

  /** Stops everything this plane started (reverse order) and removes its files. */
  async stop(): Promise<void> {
    process.off('exit', this.onExit);
    for (const name of ['kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await this.stopProcess(name, 'SIGTERM', 5_000);
    }
    // A kube-apiserver restarted by another process (restartApiserverOf) is known only from the state file.
    for (const pid of Object.values(ControlPlane.stateOf(this.dir)?.pids ?? {}))
      if (alive(pid)) killTree(pid);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Stops a persistent plane from its state file (make cluster-down). */
export function stopPersistent(dir: string): boolean {
  const state = ControlPlane.stateOf(dir);
  if (!state) return false;
  for (const pid of Object.values(state.pids)) killTree(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Object.values(state.pids).some(alive) && Date.now() < deadline) execFileSync('sleep', ['0.2']);
  for (const pid of Object.values(state.pids)) killTree(pid);
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * Restarts the kube-apiserver of a running plane from another process (a test
 * worker; the plane belongs to vitest's global setup): SIGTERM, wait, optionally
 * stay down for `downMs`, then start it again with the same arguments and port.
 * The plane's stop() and the leftover reaper find the new process in state.json.
 */
export async function restartApiserverOf(dir: string, downMs = 0): Promise<void> {
  const state = ControlPlane.stateOf(dir);
  if (!state?.apiserverArgs || !state.binDir) throw new Error(`no restartable plane in ${dir}`);
  const old = state.pids['kube-apiserver'];
  if (old && alive(old)) {
    process.kill(old, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (alive(old) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (alive(old)) killTree(old);
  }
  if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
  const fd = openSync(join(dir, 'kube-apiserver.log'), 'a');
  const child = spawn(join(state.binDir, 'kube-apiserver'), state.apiserverArgs, {
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  child.unref();
  state.pids['kube-apiserver'] = child.pid ?? -1;
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
  const client = new KubeClient(connectionFromKubeconfig(state.kubeconfig));
  try {
    await waitFor('kube-apiserver (restarted)', 90_000, async () => {
      await client.get('/readyz', { timeoutMs: 2000 });
      return true;
    });
  } finally {
    client.close();
  }
}
