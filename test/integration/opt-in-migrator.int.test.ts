// The opt-in migrator (issue 12, item 6) against the real control plane: kube-controller-manager's
// Deployment controller rolls out a Deployment opted in while running, and stalls with the old
// pods Ready beside the new leader; the migrator, run as the webhook's ServiceAccount with
// nothing but the RBAC of manifests/ and the policy leader-election-webhook-scope, finishes it.
// No kubelet here: the test marks pods Ready through their status, as a kubelet would, and puts
// the injection's label on the template itself (the webhook is not registered in this file).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { ApiError, KubeClient } from '../../common/kube/kube-client.ts';
import type { Logger } from '../../common/logger.ts';
import { OptInMigrator } from '../../webhook/migration/opt-in-migrator.ts';
import { RbacReconciler } from '../../webhook/rbac/reconciler.ts';
import { ECHO_IMAGE } from '../../local-cluster/index.ts';
import {
  adminClient,
  adminConnection,
  createNamespace,
  deleteNamespace,
  sleep,
  waitUntil,
} from '../helpers/kube.ts';
import { applyDocs, applyProductRbac, baseFile, deleteDocs, requestToken } from '../helpers/manifests.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw API objects
type Raw = any;

const SYSTEM_NS = 'leader-election-system';
const MERGE = 'application/merge-patch+json';

describe('opt-in migrator', () => {
  const kubeconfig = inject('kubeconfig');
  let admin: KubeClient;
  let webhook: KubeClient;
  let ns = '';
  const policy = baseFile('policy-webhook-scope.yaml');

  beforeAll(async () => {
    admin = adminClient();
    await applyProductRbac(kubeconfig);
    await applyDocs(policy, { kubeconfig });
    const token = await requestToken(admin, SYSTEM_NS, 'leader-election-webhook');
    const conn = adminConnection();
    webhook = new KubeClient({ server: conn.server, ca: conn.ca, token: () => token });
    ns = await createNamespace(admin, 'opt-in');
  });

  afterAll(async () => {
    await deleteDocs(policy, kubeconfig);
    if (ns) await deleteNamespace(admin, ns);
    webhook?.close();
    admin?.close();
  });

  const apps = () => `/apis/apps/v1/namespaces/${ns}`;
  const replicaSets = async (): Promise<Raw[]> =>
    (
      (await admin.get<Raw>(`${apps()}/replicasets`, { query: { labelSelector: 'app=web' } })).items as Raw[]
    ).sort(
      (a, b) =>
        Number(a.metadata.annotations['deployment.kubernetes.io/revision']) -
        Number(b.metadata.annotations['deployment.kubernetes.io/revision']),
    );
  const podsOf = async (rs: string): Promise<Raw[]> =>
    ((await admin.get<Raw>(`/api/v1/namespaces/${ns}/pods`)).items as Raw[]).filter((p) =>
      p.metadata.ownerReferences?.some((o: Raw) => o.name === rs),
    );
  /** What the kubelet would write once the pod's containers (and gate) are ready. */
  const markReady = (pod: string) =>
    admin.request('PATCH', `/api/v1/namespaces/${ns}/pods/${pod}/status`, {
      contentType: MERGE,
      body: {
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }],
        },
      },
    });

  it('scales the un-injected ReplicaSet to 0 once the injected leader is Ready, and may change nothing else', async () => {
    await admin.request('POST', `${apps()}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        // The default strategy (25% / 25%): with 3 replicas, maxUnavailable 0.
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: ECHO_IMAGE }] },
          },
        },
      },
    });
    const [old] = await waitUntil('3 pods of the first revision', 60_000, async () => {
      const sets = await replicaSets();
      return sets.length === 1 && (await podsOf(sets[0].metadata.name)).length === 3 ? sets : undefined;
    });
    for (const p of await podsOf(old.metadata.name)) await markReady(p.metadata.name);
    await waitUntil('3 available', 60_000, async () => {
      const d = await admin.get<Raw>(`${apps()}/deployments/web`);
      return d.status?.availableReplicas === 3;
    });

    // Opted in while running (the webhook would also inject the pods; their label stands in for it).
    await admin.request('PATCH', `${apps()}/deployments/web`, {
      contentType: MERGE,
      body: {
        spec: {
          template: {
            metadata: {
              annotations: { 'leader-election/enabled': 'true' },
              labels: { 'leader-election/injected': 'true' },
            },
          },
        },
      },
    });
    const injected = await waitUntil('a pod of the injected revision', 60_000, async () => {
      const sets = await replicaSets();
      const rs = sets.find((s) => s.metadata.name !== old.metadata.name);
      const pods = rs ? await podsOf(rs.metadata.name) : [];
      return pods.length > 0 ? { rs, leader: pods[0] } : undefined;
    });
    await markReady(injected.leader.metadata.name);

    // Without the migrator the rollout stalls: old pods stay Ready beside the leader.
    await sleep(4_000);
    const stalled = (await replicaSets()).find((s) => s.metadata.name === old.metadata.name);
    expect(stalled.spec.replicas, 'the Deployment controller alone leaves old pods running').toBeGreaterThan(
      0,
    );

    const lines: { msg: string; replicaSet?: string }[] = [];
    const log = pino(
      { level: 'info' },
      { write: (s: string) => void lines.push(JSON.parse(s)) },
    ) as unknown as Logger;
    // As the webhook runs it: fed by the RBAC reconciler's watch of injected pods.
    const migrator = new OptInMigrator({ client: webhook, log });
    const reconciler = new RbacReconciler({ client: webhook, log, onPod: (pod) => migrator.see(pod) });
    migrator.start();
    reconciler.start();
    try {
      await waitUntil('the old ReplicaSet scaled to 0', 30_000, async () => {
        const rs = (await replicaSets()).find((s) => s.metadata.name === old.metadata.name);
        return rs.spec.replicas === 0;
      });
      // The controller then fills the injected ReplicaSet.
      await waitUntil('the injected ReplicaSet at 3', 60_000, async () => {
        const rs = (await replicaSets()).find((s) => s.metadata.name === injected.rs.metadata.name);
        return rs.spec.replicas === 3;
      });
      expect(lines.map((l) => l.msg).join('\n')).toContain(`scaled ReplicaSet ${old.metadata.name}`);
      const events = await admin.get<Raw>(`/api/v1/namespaces/${ns}/events`, {
        query: {
          fieldSelector: 'involvedObject.kind=Deployment,involvedObject.name=web,reason=OptInCompleted',
        },
      });
      expect(events.items.map((e: Raw) => e.message).join('\n')).toMatch(
        /without the leader-election agent\) to 0/,
      );
    } finally {
      await reconciler.stop();
      await migrator.stop();
    }

    // The policy: the webhook's ServiceAccount may scale nothing else, change nothing else.
    const refused = async (what: string, rs: string, body: object, message: string) => {
      const err = await waitUntil(`${what} refused`, 30_000, async () => {
        try {
          await webhook.request('PATCH', `${apps()}/replicasets/${rs}`, {
            contentType: MERGE,
            body,
            query: { dryRun: 'All' },
          });
          return undefined; // the binding may not be enforced yet
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          return e;
        }
      });
      expect(err.status, what).toBe(403);
      expect(err.message, what).toContain(message);
    };
    await refused(
      'an injected ReplicaSet scaled to 0',
      injected.rs.metadata.name,
      { spec: { replicas: 0 } },
      'whose pods run without the agent',
    );
    await refused(
      'an old ReplicaSet scaled up',
      old.metadata.name,
      { spec: { replicas: 2 } },
      'may only scale a ReplicaSet to 0',
    );
    await refused(
      'a label changed',
      old.metadata.name,
      { metadata: { labels: { extra: 'x' } }, spec: { replicas: 0 } },
      'may only scale a ReplicaSet to 0',
    );
    // ...while the migrator's own change passes the enforced policy.
    await webhook.request('PATCH', `${apps()}/replicasets/${old.metadata.name}`, {
      contentType: MERGE,
      body: { spec: { replicas: 0 } },
      query: { dryRun: 'All' },
    });
  });
});
