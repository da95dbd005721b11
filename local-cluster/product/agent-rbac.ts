// The agent's RBAC in a namespace, as the webhook's reconciler makes it: the
// ClusterRole from manifests/ and one RoleBinding to it. For tests and the demo
// that run agents without the webhook.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';
import { repoRoot } from '../control-plane/control-plane.ts';

export async function grantAgentRole(
  client: KubeClient,
  ns: string,
  serviceAccount = 'default',
): Promise<void> {
  const role = yaml.load(
    readFileSync(join(repoRoot, 'manifests/base/agent-clusterrole.yaml'), 'utf8'),
  ) as object;
  const create = async (path: string, body: object) => {
    try {
      await client.request('POST', path, { body });
    } catch (err) {
      if (!ApiError.isAlreadyExists(err)) throw err;
    }
  };
  await create('/apis/rbac.authorization.k8s.io/v1/clusterroles', role);
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'leader-election-agent' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'leader-election-agent' },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: ns }],
  });
}
