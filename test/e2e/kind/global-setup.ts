// vitest globalSetup for the kind project: the cluster the end-to-end tests run on.
// E2E_KUBECONFIG names a cluster to use as it is (your own kind or any cluster with
// leader-election installed and the images of local-cluster/kind/build-images.sh
// available); otherwise `local-cluster/kind/kind-up.sh` (make kind-up) creates a kind
// cluster `le-e2e`, and it is deleted at the end unless E2E_KEEP_CLUSTER=1. When it was the
// only cluster, the host is then compared with a snapshot taken before (host-state.sh):
// anything kind or the engine left behind fails the run.
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../../../local-cluster/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eKubeconfig: string;
    e2eContext: string;
  }
}

const CLUSTER = 'le-e2e';

function hostState(): string[] {
  const res = spawnSync('bash', [join(repoRoot, 'local-cluster/kind/host-state.sh')], { encoding: 'utf8' });
  return res.stdout.split('\n').filter((l) => l !== '');
}

/** Other kind clusters on this host (their state would change the snapshot meanwhile). */
function otherClusters(): string[] {
  const kind = spawnSync('bash', [join(repoRoot, 'local-cluster/kind/ensure-kind.sh')], { encoding: 'utf8' });
  const res = spawnSync(
    'bash',
    ['-c', 'source local-cluster/kind/podman-env.sh >/dev/null && "$0" get clusters', kind.stdout.trim()],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  );
  return res.stdout.split('\n').filter((l) => l !== '' && l !== CLUSTER);
}

function kindScript(name: string, env: NodeJS.ProcessEnv): void {
  const started = Date.now();
  const res = spawnSync('bash', [join(repoRoot, 'local-cluster/kind', name)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 60 * 60_000,
  });
  if (res.status !== 0) {
    throw new Error(
      `local-cluster/kind/${name} failed (exit ${res.status ?? res.signal ?? res.error?.message})`,
    );
  }
  console.log(`[kind] ${name} took ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

export default function setup(project: TestProject): () => void {
  const given = process.env.E2E_KUBECONFIG;
  if (given) {
    project.provide('e2eKubeconfig', given);
    project.provide('e2eContext', process.env.E2E_CONTEXT ?? '');
    return () => undefined;
  }
  const cache = process.env.LE_CACHE_DIR ?? join(homedir(), '.cache/leader-election');
  const kubeconfig = join(cache, 'kind', `${CLUSTER}.kubeconfig`);
  const env = { KIND_CLUSTER: CLUSTER, KIND_KUBECONFIG: kubeconfig };
  const alone = otherClusters().length === 0;
  const before = alone ? hostState() : [];
  kindScript('kind-up.sh', env);
  project.provide('e2eKubeconfig', kubeconfig);
  project.provide('e2eContext', `kind-${CLUSTER}`);
  return () => {
    if (process.env.E2E_KEEP_CLUSTER === '1') {
      console.log(`[kind] keeping cluster ${CLUSTER} (E2E_KEEP_CLUSTER=1); KUBECONFIG=${kubeconfig}`);
      return;
    }
    kindScript('kind-down.sh', env);
    if (!alone) {
      console.log('[kind] other kind clusters on this host: the host is not compared with its snapshot');
      return;
    }
    const was = new Set(before);
    const left = hostState().filter((l) => !was.has(l));
    if (left.length > 0) {
      throw new Error(
        `make kind-down left this on the host (not there before make kind-up):\n${left.join('\n')}`,
      );
    }
    console.log('[kind] the host is as before make kind-up (local-cluster/kind/host-state.sh)');
  };
}
