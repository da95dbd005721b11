// Rollout-aware hand-off: a RollingUpdate of an elected Deployment (readiness-gate
// routing) completes, because the leader hands the Lease to a ready pod of the
// new revision; and there is never more than one Ready pod.
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import {
  echoApp,
  grantAgent,
  injectedTemplate,
  leaseHolder,
  localImages,
  PodRunner,
} from '../../local-cluster/index.ts';
import {
  adminClient,
  adminConnection,
  createNamespace,
  deleteNamespace,
  sleep,
  waitUntil,
} from '../helpers/kube.ts';

function template(version: string) {
  return injectedTemplate({
    metadata: {
      labels: { app: 'web' },
      annotations: {
        'leader-election/enabled': 'true',
        'leader-election/lease-name': 'web',
        'leader-election/lease-duration': '3s',
        'leader-election/renew-deadline': '2s',
        'leader-election/retry-period': '1s',
      },
    },
    spec: {
      terminationGracePeriodSeconds: 10,
      containers: [echoApp(version)],
    },
  });
}

describe('rollout hand-off', () => {
  let client: KubeClient;
  let runner: PodRunner;
  let ns: string;

  beforeAll(async () => {
    client = adminClient();
    runner = new PodRunner({
      connection: adminConnection(),
      images: localImages,
      nodeName: `handoff-${process.pid}`,
    });
    await runner.start();
    ns = await createNamespace(client, 'handoff');
    await grantAgent(client, ns);
  });
  afterAll(async () => {
    await runner?.stop();
    await deleteNamespace(client, ns);
    client?.close();
  });

  const pods = async () =>
    (
      await client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: 'app=web' },
      })
    ).items;
  const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

  it('completes a RollingUpdate by handing the Lease to the new revision', async () => {
    const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
    await client.request('POST', path, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          // What the webhook's warning asks for with readiness-gate routing: only 1 of N is ever Ready.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2, maxSurge: 1 } },
          template: template('1'),
        },
      },
    });
    const first = await waitUntil('a Ready leader of revision 1', 60_000, async () => {
      const ready = (await pods()).filter(isReady);
      return ready.length === 1 ? ready[0] : undefined;
    });
    const oldHash = first.metadata!.labels!['pod-template-hash'];

    await client.request('PATCH', `${path}/web`, {
      contentType: 'application/merge-patch+json',
      body: { spec: { template: template('2') } },
    });

    // Sample throughout the rollout: never two Ready pods.
    let maxReady = 0;
    const done = await waitUntil(
      'the rollout to complete with a new-revision leader',
      120_000,
      async () => {
        const all = await pods();
        const ready = all.filter(isReady);
        maxReady = Math.max(maxReady, ready.length);
        const d = await client.get<{ status?: { updatedReplicas?: number; replicas?: number } }>(
          `${path}/web`,
        );
        const live = all.filter((p) => !p.metadata?.deletionTimestamp);
        const allNew =
          live.length === 3 && live.every((p) => p.metadata?.labels?.['pod-template-hash'] !== oldHash);
        return d.status?.updatedReplicas === 3 && d.status.replicas === 3 && allNew && ready.length === 1
          ? ready[0]
          : undefined;
      },
      100,
    );
    expect(maxReady).toBe(1);
    expect(done.metadata!.labels!['pod-template-hash']).not.toBe(oldHash);
    expect((await leaseHolder(client, ns, 'web'))?.holder).toBe(done.metadata!.name);
    // The switch was a hand-off, recorded as an Event by the old leader.
    const events = await client.get<{ items: { reason: string; message: string }[] }>(
      `/api/v1/namespaces/${ns}/events`,
    );
    expect(
      events.items.some((e) => e.reason === 'HandedOver' && e.message.includes(first.metadata!.name!)),
    ).toBe(true);
    await sleep(10);
  });
});
