// Faults on the kind node for the end-to-end tests: commands run inside the node's
// container (kind names the container after the node), to restart kube-apiserver
// (crictl stop; the kubelet restarts the static pod) or the kubelet (systemctl), or to
// stop a container; and cordoning the node.
// The container engine is chosen in one place, `containerEngine()`, the way
// local-cluster/kind/podman-env.sh chooses it for kind.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type KubeClient, PATCH } from '../../common/kube/kube-client.ts';
import { run } from '../run.ts';
import { waitUntil } from '../wait.ts';
import type { Raw } from './elected-group.ts';
import { CACHE_DIR } from './kind-cluster.ts';

export interface Engine {
  cmd: 'docker' | 'podman';
  env: NodeJS.ProcessEnv;
}

let engine: Promise<Engine> | undefined;

/**
 * The engine of kind's node containers: KIND_EXPERIMENTAL_PROVIDER when set, else Docker
 * where its daemon answers, else podman with the configuration kind-up used
 * (podman-env.sh: runc, its own containers.conf).
 */
export function containerEngine(): Promise<Engine> {
  engine ??= (async (): Promise<Engine> => {
    const conf = join(CACHE_DIR, 'kind', 'containers.conf');
    const podman: Engine = {
      cmd: 'podman',
      env: existsSync(conf) ? { ...process.env, CONTAINERS_CONF: conf } : process.env,
    };
    // kind's own setting first, as kind itself reads it.
    const given = process.env.KIND_EXPERIMENTAL_PROVIDER;
    if (given === 'podman') return podman;
    if (given === 'docker') return { cmd: 'docker', env: process.env };
    const docker = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
      timeoutMs: 20_000,
    }).catch(() => undefined);
    return docker?.code === 0 ? { cmd: 'docker', env: process.env } : podman;
  })();
  return engine;
}

/** Runs a command in the node's container; returns its stdout, throws on a non-zero exit. */
export async function nodeExec(node: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const { cmd, env } = await containerEngine();
  const res = await run(cmd, ['exec', node, ...args], { env, timeoutMs });
  if (res.code !== 0)
    throw new Error(`${cmd} exec ${node} ${args.join(' ')}: exit ${res.code}: ${res.stderr}`);
  return res.stdout;
}

/** The cluster's node, or with several the control-plane node (a kind node's container has its name). */
export async function theNode(client: KubeClient): Promise<string> {
  const nodes = (await client.get<Raw>('/api/v1/nodes')).items as Raw[];
  if (nodes.length === 1) return nodes[0].metadata.name;
  // Several nodes: the one that runs the control plane (kube-apiserver's static pod).
  const cp = nodes.filter((n) => 'node-role.kubernetes.io/control-plane' in (n.metadata.labels ?? {}));
  if (cp.length !== 1)
    throw new Error(`expected one control-plane node, found ${cp.length} of ${nodes.length}`);
  return cp[0].metadata.name;
}

/** Every node's name. */
export async function nodeNames(client: KubeClient): Promise<string[]> {
  return ((await client.get<Raw>('/api/v1/nodes')).items as Raw[]).map((n) => n.metadata.name);
}

async function apiserverContainer(node: string): Promise<string> {
  return (
    await nodeExec(node, ['crictl', 'ps', '-q', '--state', 'running', '--name', '^kube-apiserver$'])
  ).trim();
}

/**
 * Stops kube-apiserver's container (crictl stop: SIGTERM, then its graceful shutdown);
 * the kubelet starts a new one. Resolves once a new container runs and /readyz answers,
 * with the time the API was unavailable (from the stop until /readyz answered).
 */
export async function restartApiserver(client: KubeClient, node: string): Promise<{ downMs: number }> {
  const old = await apiserverContainer(node);
  if (!old || old.includes('\n')) throw new Error(`no single running kube-apiserver container: ${old}`);
  const t0 = Date.now();
  await nodeExec(node, ['crictl', 'stop', old]);
  // The kubelet's restart back-off (up to 5 min) applies when restarts follow each other.
  await waitUntil('a new kube-apiserver container', 330_000, async () => {
    const now = await apiserverContainer(node);
    return now !== '' && now !== old;
  });
  await apiserverReady(client);
  return { downMs: Date.now() - t0 };
}

/** Resolves once kube-apiserver's /readyz answers (polled every 200 ms, for up to 2 minutes). */
export async function apiserverReady(client: KubeClient): Promise<void> {
  await waitUntil(
    'kube-apiserver /readyz',
    120_000,
    () => client.get('/readyz', { timeoutMs: 2_000 }).then(() => true),
    200,
  );
}

/**
 * Restarts the kubelet (systemctl restart); resolves once its /healthz answers, with the
 * time that took. Pods go on running meanwhile; the API server is not restarted.
 */
export async function restartKubelet(node: string): Promise<{ downMs: number }> {
  const t0 = Date.now();
  await nodeExec(node, ['systemctl', 'restart', 'kubelet']);
  await waitUntil(
    'the kubelet healthy',
    120_000,
    async () =>
      (await nodeExec(node, ['curl', '-fsS', 'http://localhost:10248/healthz']).catch(() => '')) === 'ok',
    200,
  );
  return { downMs: Date.now() - t0 };
}

/** Cordons (`true`) or uncordons the node: new pods stay Pending meanwhile, running ones stay. */
export async function setUnschedulable(client: KubeClient, node: string, on: boolean): Promise<void> {
  await client.request('PATCH', `/api/v1/nodes/${node}`, {
    contentType: PATCH.merge,
    body: { spec: { unschedulable: on } },
  });
}

/**
 * Freezes a whole kind node (its container paused: kubelet, containerd and every pod stop,
 * like a VM paused by its hypervisor), or thaws it.
 */
export async function pauseNode(node: string, paused: boolean): Promise<void> {
  const { cmd, env } = await containerEngine();
  const res = await run(cmd, [paused ? 'pause' : 'unpause', node], { env, timeoutMs: 60_000 });
  if (res.code !== 0) throw new Error(`${cmd} ${paused ? 'pause' : 'unpause'} ${node}: ${res.stderr}`);
}
