// vitest globalSetup for the kind project: the cluster the end-to-end tests run on.
// E2E_KUBECONFIG names a cluster to use as it is (your own kind or any cluster with
// leader-election installed and the images of local-cluster/kind/build-images.sh
// available); otherwise `local-cluster/kind/kind-up.sh` (make kind-up) creates a kind
// cluster `le-e2e`, and it is deleted at the end unless E2E_KEEP_CLUSTER=1. When it was the
// only cluster, the host is then compared with a snapshot taken before (host-state.sh):
// anything kind or the engine left behind fails the run.
import type { TestProject } from 'vitest/node';
import { hostState, kindDown, kindUp, otherKindClusters } from '../../../local-cluster/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eKubeconfig: string;
    e2eContext: string;
  }
}

const CLUSTER = 'le-e2e';
const log = (m: string) => console.log(`[kind] ${m}`);

export default function setup(project: TestProject): () => void {
  const given = process.env.E2E_KUBECONFIG;
  if (given) {
    project.provide('e2eKubeconfig', given);
    project.provide('e2eContext', process.env.E2E_CONTEXT ?? '');
    return () => undefined;
  }
  const alone = otherKindClusters(CLUSTER).length === 0;
  const before = alone ? hostState() : [];
  // Two nodes: the leader and its successor often run under two kubelets, whose status
  // updates nothing orders (issue 12, item 4); a node can be frozen while the control plane runs.
  const cluster = kindUp(CLUSTER, log, { workers: 1 });
  project.provide('e2eKubeconfig', cluster.kubeconfig);
  project.provide('e2eContext', cluster.context);
  return () => {
    if (process.env.E2E_KEEP_CLUSTER === '1') {
      log(`keeping cluster ${CLUSTER} (E2E_KEEP_CLUSTER=1); KUBECONFIG=${cluster.kubeconfig}`);
      return;
    }
    kindDown(CLUSTER, log);
    if (!alone) {
      log('other kind clusters on this host: the host is not compared with its snapshot');
      return;
    }
    const was = new Set(before);
    const left = hostState().filter((l) => !was.has(l));
    if (left.length > 0) {
      throw new Error(
        `make kind-down left this on the host (not there before make kind-up):\n${left.join('\n')}`,
      );
    }
    log('the host is as before make kind-up (local-cluster/kind/host-state.sh)');
  };
}
