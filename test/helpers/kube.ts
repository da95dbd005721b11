// Helpers for integration tests: an admin client on the shared control plane, a
// namespace of the test's own, and polling with a bound.
import { inject } from 'vitest';
import { ApiError, KubeClient } from '../../common/kube/kube-client.ts';
import { connectionFromKubeconfig, type KubeConnection } from '../../common/kube/kubeconfig.ts';
import { PodRunner, waitUntil } from '../../local-cluster/index.ts';

export { sleep, waitUntil } from '../../local-cluster/index.ts';

export function adminConnection(): KubeConnection {
  return connectionFromKubeconfig(inject('kubeconfig'));
}

export function adminClient(): KubeClient {
  return new KubeClient(adminConnection());
}

let counter = 0;

/** Creates a namespace named after the test and waits for its default ServiceAccount. */
export async function createNamespace(
  client: KubeClient,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`
    .toLowerCase()
    .slice(0, 63);
  await client.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
  });
  await waitUntil(`default ServiceAccount in ${name}`, 30_000, async () => {
    await client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`);
    return true;
  });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.request('DELETE', `/api/v1/namespaces/${name}`);
  } catch (err) {
    if (!ApiError.isNotFound(err)) throw err;
  }
}

/**
 * A pod runner for Deployments whose containers need only be reported running and ready
 * (no images: nothing runs), on a node named `<name>-<pid>`. Stop it in afterAll.
 */
export async function startVirtualPodRunner(name: string): Promise<PodRunner> {
  const runner = new PodRunner({
    connection: adminConnection(),
    images: {},
    nodeName: `${name}-${process.pid}`,
    log: (m) => console.log(`[pod-runner] ${m}`),
  });
  await runner.start();
  return runner;
}

/** Whether the object at an API path exists (404: no). */
export async function objectExists(client: KubeClient, path: string): Promise<boolean> {
  try {
    await client.get(path);
    return true;
  } catch (err) {
    if (ApiError.isNotFound(err)) return false;
    throw err;
  }
}
