// Helpers for integration tests: an admin client on the shared control plane, a
// namespace of the test's own, and polling with a bound.
import { inject } from 'vitest';
import { ApiError, KubeClient } from '../../common/kube/kube-client.ts';
import { connectionFromKubeconfig, type KubeConnection } from '../../common/kube/kubeconfig.ts';
import { waitUntil } from '../../local-cluster/index.ts';

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
