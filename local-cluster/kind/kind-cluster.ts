// A kind cluster as the end-to-end tests, `make demo` and `make bench` use it: created and
// deleted by the same scripts a user runs (kind-up.sh / kind-down.sh: make kind-up,
// make kind-down), or any cluster a kubeconfig names (E2E_KUBECONFIG, your own kind).
// `hostState()` is the snapshot the tests compare before and after, to prove kind-down
// leaves nothing behind.
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../common/kube/kube-client.ts';
import { connectionFromKubeconfig } from '../../common/kube/kubeconfig.ts';
import { repoRoot } from '../control-plane/control-plane.ts';
import { kubectlPath, run } from '../run.ts';

export const CACHE_DIR = process.env.LE_CACHE_DIR ?? join(homedir(), '.cache/leader-election');

export class KindCluster {
  readonly kubeconfig: string;
  /** '' means the kubeconfig's current context. */
  readonly context: string;

  constructor(kubeconfig: string, context = '') {
    this.kubeconfig = kubeconfig;
    this.context = context;
  }

  /**
   * The cluster `name` of kind-up.sh, in the kubeconfig kind wrote it to: KIND_KUBECONFIG
   * when kind-up was given one, else kind's default ($KUBECONFIG's first file, or ~/.kube/config).
   */
  static named(name: string, kubeconfig = defaultKubeconfig()): KindCluster {
    return new KindCluster(kubeconfig, `kind-${name}`);
  }

  client(): KubeClient {
    return new KubeClient(connectionFromKubeconfig(this.kubeconfig, this.context || undefined));
  }

  /** kubectl against the cluster (the project's kubectl of the cluster's minor version); its stdout. */
  kubectl(...args: string[]): Promise<string> {
    return this.kubectlWithInput('', ...args);
  }

  /** The same, feeding `input` on stdin (e.g. `apply -f -`). */
  async kubectlWithInput(input: string, ...args: string[]): Promise<string> {
    const context = this.context ? ['--context', this.context] : [];
    const res = await run(kubectlPath(), ['--kubeconfig', this.kubeconfig, ...context, ...args], { input });
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }
}

function defaultKubeconfig(): string {
  const env = process.env.KIND_KUBECONFIG || process.env.KUBECONFIG?.split(':').find((f) => f !== '');
  return env ?? join(homedir(), '.kube', 'config');
}

/** A kubeconfig of its own for cluster `name` (the tests' and the bench's: the user's is left alone). */
export function ownKubeconfig(name: string): string {
  return join(CACHE_DIR, 'kind', `${name}.kubeconfig`);
}

/** Runs local-cluster/kind/<script> for cluster `name`, its output inherited; throws on failure. */
function kindScript(
  script: string,
  name: string,
  log: (m: string) => void,
  env: Record<string, string> = {},
): void {
  const started = Date.now();
  const res = spawnSync('bash', [join(repoRoot, 'local-cluster/kind', script)], {
    env: { ...process.env, ...env, KIND_CLUSTER: name, KIND_KUBECONFIG: ownKubeconfig(name) },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 60 * 60_000,
  });
  if (res.status !== 0) {
    throw new Error(
      `local-cluster/kind/${script} failed (exit ${res.status ?? res.signal ?? res.error?.message})`,
    );
  }
  log(`${script} took ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/**
 * make kind-up for cluster `name`, in its own kubeconfig (idempotent: an existing cluster is reused),
 * with `workers` worker nodes beside the control plane when the cluster is created.
 */
export function kindUp(
  name: string,
  log: (m: string) => void = console.log,
  opts: { workers?: number } = {},
): KindCluster {
  kindScript(
    'kind-up.sh',
    name,
    log,
    opts.workers !== undefined ? { KIND_WORKERS: String(opts.workers) } : {},
  );
  return KindCluster.named(name, ownKubeconfig(name));
}

/** make kind-down for cluster `name`. */
export function kindDown(name: string, log: (m: string) => void = console.log): void {
  kindScript('kind-down.sh', name, log);
}

/** What kind and the container engine leave on the host, one line per thing (host-state.sh). */
export function hostState(): string[] {
  const res = spawnSync('bash', [join(repoRoot, 'local-cluster/kind/host-state.sh')], { encoding: 'utf8' });
  return res.stdout.split('\n').filter((l) => l !== '');
}

/** The kind clusters on this host, other than `except`. */
export function otherKindClusters(except: string): string[] {
  const kind = spawnSync('bash', [join(repoRoot, 'local-cluster/kind/ensure-kind.sh')], { encoding: 'utf8' });
  const res = spawnSync(
    'bash',
    ['-c', 'source local-cluster/kind/podman-env.sh >/dev/null && "$0" get clusters', kind.stdout.trim()],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  return res.stdout.split('\n').filter((l) => l !== '' && l !== except);
}
