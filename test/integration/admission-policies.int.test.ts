// The two ValidatingAdmissionPolicies of manifests/ on the real API server
// (without the webhook):
// - leader-election-require-agent: an opted-in pod that was not injected is refused;
// - leader-election-agent-scope: with its pod-bound token, an agent writes only its
//   own pod's leader condition and role label, and only Leases naming itself or nobody.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, KubeClient, PATCH } from '../../common/kube/kube-client.ts';
import {
  agentLeader,
  ECHO_IMAGE,
  electedPod,
  gateStatus,
  grantAgent,
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
import { applyDocs, baseFile, deleteDocs, requestToken, type KubeObject } from '../helpers/manifests.ts';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const LEASES = (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;

function plainPod(name: string, annotations: Record<string, string> = {}, sa?: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations },
    spec: {
      ...(sa ? { serviceAccountName: sa } : {}),
      containers: [{ name: 'app', image: ECHO_IMAGE }],
    },
  };
}

/** The status and message of a refused request, or 'allowed'. */
async function outcome(p: Promise<unknown>): Promise<{ status: number; message: string } | 'allowed'> {
  try {
    await p;
    return 'allowed';
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, message: err.message };
    throw err;
  }
}

describe('admission policies', () => {
  const kubeconfig = inject('kubeconfig');
  let admin: KubeClient;
  let policies: KubeObject[];
  const namespaces: string[] = [];

  beforeAll(async () => {
    admin = adminClient();
    policies = [...baseFile('policy-require-agent.yaml'), ...baseFile('policy-agent-scope.yaml')];
    await applyDocs([...baseFile('agent-clusterrole.yaml'), ...policies], { kubeconfig });
  });

  afterAll(async () => {
    // The control plane is shared with the other test files: leave no policy behind.
    if (policies) await deleteDocs(policies, kubeconfig);
    // ... and wait until the API server has dropped them (asynchronous, as their start).
    const probeNs = namespaces[0];
    if (probeNs) {
      await waitUntil('the policies no longer enforced', 60_000, async () => {
        const r = await outcome(
          admin.request('POST', `/api/v1/namespaces/${probeNs}/pods`, {
            body: plainPod('probe', { 'leader-election/enabled': 'true' }),
            query: { dryRun: 'All' },
          }),
        );
        return r === 'allowed';
      });
    }
    for (const ns of namespaces) await deleteNamespace(admin, ns);
    admin?.close();
  });

  async function namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    const ns = await createNamespace(admin, prefix, labels);
    namespaces.push(ns);
    return ns;
  }

  it('type-check without warnings', async () => {
    for (const p of policies.filter((d) => d.kind === 'ValidatingAdmissionPolicy')) {
      const got = await waitUntil(`type checking of ${p.metadata.name}`, 30_000, async () => {
        const o = await admin.get<{ metadata: { generation: number }; status?: Record<string, unknown> }>(
          `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${p.metadata.name}`,
        );
        return o.status?.typeChecking !== undefined && o.status.observedGeneration === o.metadata.generation
          ? o
          : undefined;
      });
      expect(got.status?.typeChecking).toEqual({});
    }
  });

  describe('leader-election-require-agent', () => {
    let ns: string;
    const create = (pod: V1Pod, namespace = ns) =>
      outcome(admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, { body: pod }));

    beforeAll(async () => {
      ns = await namespace('vap-require');
      // Bindings take effect asynchronously: wait until an opted-in bare pod is refused (dry run).
      await waitUntil('leader-election-require-agent enforced', 60_000, async () => {
        const r = await outcome(
          admin.request('POST', `/api/v1/namespaces/${ns}/pods`, {
            body: plainPod('probe', { 'leader-election/enabled': 'true' }),
            query: { dryRun: 'All' },
          }),
        );
        return r !== 'allowed' && r.message.includes('leader-election-require-agent');
      });
    });

    it('refuses an opted-in pod the webhook did not inject, saying why', async () => {
      const r = await create(
        plainPod('bare', { 'leader-election/enabled': 'true', 'leader-election/lease-name': 'x' }),
      );
      expect(r).toMatchObject({ status: 422 });
      expect(r !== 'allowed' && r.message).toMatch(/leader-election-require-agent/);
      expect(r !== 'allowed' && r.message).toMatch(/not injected by the leader-election webhook/);
    });

    // Issue 14: the policy took only "true" as an opt-in, so without the webhook a pod saying
    // "yes" ran unelected.
    it('takes any enabled value but "false" as an opt-in: "yes", "TRUE", "1", "" are refused too', async () => {
      for (const value of ['yes', 'TRUE', '1', '']) {
        const r = await create(
          plainPod(`v-${value.toLowerCase() || 'empty'}`, { 'leader-election/enabled': value }),
        );
        expect(r !== 'allowed' && r.message, `enabled: "${value}"`).toMatch(
          /not injected by the leader-election webhook/,
        );
      }
    });

    it('refuses a pod marked injected that lacks the agent or the readiness gate', async () => {
      const injected = electedPod('tampered', { leaseName: 'g' });
      const noAgent = structuredClone(injected);
      noAgent.spec!.containers = noAgent.spec!.containers.filter((c) => c.name !== 'leader-election-agent');
      noAgent.spec!.initContainers = noAgent.spec!.initContainers?.filter(
        (c) => c.name !== 'leader-election-agent',
      );
      const r1 = await create(noAgent);
      expect(r1 !== 'allowed' && r1.message).toMatch(
        /no container or initContainer named leader-election-agent/,
      );

      const noGate = structuredClone(injected);
      noGate.spec!.readinessGates = [];
      const r2 = await create(noGate);
      expect(r2 !== 'allowed' && r2.message).toMatch(/lacks the readiness gate leader-election\/leader/);

      // ... which label routing does not need.
      noGate.metadata!.annotations!['leader-election/routing'] = 'label';
      expect(await create(noGate)).toBe('allowed');
    });

    it('admits an injected pod and pods that did not opt in', async () => {
      expect(await create(electedPod('elected', { leaseName: 'g' }))).toBe('allowed');
      expect(await create(plainPod('plain'))).toBe('allowed');
      expect(await create(plainPod('off', { 'leader-election/enabled': 'false' }))).toBe('allowed');
    });

    it('applies the namespace opt-in, unless the pod opts out', async () => {
      const optedNs = await namespace('vap-ns-opt', { 'leader-election/enabled': 'true' });
      const r = await create(plainPod('bare'), optedNs);
      expect(r !== 'allowed' && r.message).toMatch(/not injected by the leader-election webhook/);
      expect(await create(plainPod('out', { 'leader-election/enabled': 'false' }), optedNs)).toBe('allowed');
      const injected = electedPod('elected', { leaseName: 'g' });
      expect(await create(injected, optedNs)).toBe('allowed');
    });
  });

  describe('leader-election-agent-scope', () => {
    let ns: string;
    let self: V1Pod;
    let agent: KubeClient;
    let unbound: KubeClient;
    const podPath = (name: string, sub = '') => `/api/v1/namespaces/${ns}/pods/${name}${sub}`;
    const condition = (type: string, status = 'True') => ({
      status: {
        conditions: [{ type, status, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
      },
    });
    const patchStatus = (c: KubeClient, name: string, body: unknown, dryRun = false) =>
      outcome(
        c.request('PATCH', podPath(name, '/status'), {
          contentType: PATCH.strategicMerge,
          body,
          ...(dryRun ? { query: { dryRun: 'All' } } : {}),
        }),
      );
    const patchLabels = (c: KubeClient, name: string, labels: Record<string, string>) =>
      outcome(
        c.request('PATCH', podPath(name), {
          contentType: PATCH.strategicMerge,
          body: { metadata: { labels } },
        }),
      );
    const lease = (name: string, holder?: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name },
      spec: { ...(holder === undefined ? {} : { holderIdentity: holder }), leaseDurationSeconds: 15 },
    });

    function clientWithToken(token: string): KubeClient {
      const conn = adminConnection();
      return new KubeClient({ server: conn.server, ca: conn.ca, token: () => token });
    }

    beforeAll(async () => {
      ns = await namespace('vap-agent');
      await admin.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app' } },
      });
      // The RoleBinding the reconciler would make: it is also the policy's parameter.
      await grantAgent(admin, ns, 'app');
      self = await admin.request<V1Pod>('POST', `/api/v1/namespaces/${ns}/pods`, {
        body: plainPod('self', {}, 'app'),
      });
      await admin.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: plainPod('other', {}, 'app') });
      // The token a kubelet mounts into pod "self": bound to it, so its user info carries the pod name.
      agent = clientWithToken(
        await requestToken(admin, ns, 'app', { name: 'self', uid: self.metadata!.uid! }),
      );
      const review = await agent.request<{ status: { userInfo: { extra?: Record<string, string[]> } } }>(
        'POST',
        '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
      );
      expect(review.status.userInfo.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['self']);

      // Another service account of the namespace, allowed Leases by its own Role: not an agent.
      await admin.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'operator' } },
      });
      await admin.request('POST', `${RBAC}/namespaces/${ns}/roles`, {
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'operator' },
          rules: [
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'update', 'get'] },
          ],
        },
      });
      await admin.request('POST', `${RBAC}/namespaces/${ns}/rolebindings`, {
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'operator' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'operator' },
          subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
        },
      });
      const opPod = await admin.request<V1Pod>('POST', `/api/v1/namespaces/${ns}/pods`, {
        body: plainPod('operator', {}, 'operator'),
      });
      unbound = clientWithToken(
        await requestToken(admin, ns, 'operator', { name: 'operator', uid: opPod.metadata!.uid! }),
      );

      // Bindings take effect asynchronously: wait until writing another pod's condition is refused (dry run).
      await waitUntil('leader-election-agent-scope enforced', 60_000, async () => {
        const r = await patchStatus(agent, 'other', condition('leader-election/leader'), true);
        return r !== 'allowed' && r.message.includes('leader-election-agent-scope');
      });
    });

    afterAll(() => {
      agent?.close();
      unbound?.close();
    });

    it("lets an agent set its own pod's leader condition, and no other pod's", async () => {
      expect(await patchStatus(agent, 'self', condition('leader-election/leader'))).toBe('allowed');
      expect(await patchStatus(agent, 'self', condition('leader-election/leader', 'False'))).toBe('allowed');
      const got = await admin.get<V1Pod>(podPath('self'));
      expect(got.status?.conditions?.find((c) => c.type === 'leader-election/leader')?.status).toBe('False');

      const r = await patchStatus(agent, 'other', condition('leader-election/leader'));
      expect(r).toMatchObject({ status: 403 });
      expect(r !== 'allowed' && r.message).toMatch(/agent of pod self may write only its own pod, not other/);
    });

    it('refuses any other change to its pod status', async () => {
      const r = await patchStatus(agent, 'self', condition('example.com/ready'));
      expect(r).toMatchObject({ status: 403 });
      expect(r !== 'allowed' && r.message).toMatch(/may change only the leader-election\/leader condition/);
      const r2 = await patchStatus(agent, 'self', condition('Ready'));
      expect(r2).toMatchObject({ status: 403 });
      const r3 = await patchStatus(agent, 'self', {
        status: { podIP: '10.9.9.9', podIPs: [{ ip: '10.9.9.9' }] },
      });
      expect(r3).toMatchObject({ status: 403 });
      expect(r3 !== 'allowed' && r3.message).toMatch(/may not change the phase, IPs or container statuses/);
    });

    it('lets an agent change only the role label of its own pod', async () => {
      expect(await patchLabels(agent, 'self', { 'leader-election/role': 'leader' })).toBe('allowed');
      const r = await patchLabels(agent, 'self', { app: 'hijacked' });
      expect(r).toMatchObject({ status: 403 });
      expect(r !== 'allowed' && r.message).toMatch(/may change only the label leader-election\/role/);
      const r2 = await patchLabels(agent, 'other', { 'leader-election/role': 'leader' });
      expect(r2).toMatchObject({ status: 403 });
      expect(r2 !== 'allowed' && r2.message).toMatch(/may write only its own pod, not other/);
      const r3 = await outcome(
        agent.request('PATCH', podPath('self'), {
          contentType: PATCH.merge,
          body: { metadata: { annotations: { sneaky: 'yes' } } },
        }),
      );
      expect(r3).toMatchObject({ status: 403 });
      expect(r3 !== 'allowed' && r3.message).toMatch(/may change only the label leader-election\/role/);
      // Nothing here may fail by a CEL evaluation error (that would be a 422 whatever the rule).
      const got = await admin.get<V1Pod>(podPath('self'));
      expect(got.metadata?.labels?.['leader-election/role']).toBe('leader');
      expect(got.metadata?.labels?.app).toBeUndefined();
    });

    it('lets an agent write only Leases held by itself or nobody', async () => {
      const r = await outcome(
        admin.request('POST', LEASES(ns), { body: lease('stolen', 'other') }).then(() => undefined),
      );
      expect(r).toBe('allowed'); // an admin is not an agent
      const denied = await outcome(agent.request('POST', LEASES(ns), { body: lease('group', 'other') }));
      expect(denied).toMatchObject({ status: 403 });
      expect(denied !== 'allowed' && denied.message).toMatch(
        /may write only Leases held by itself or by nobody, not by other/,
      );

      expect(await outcome(agent.request('POST', LEASES(ns), { body: lease('group', 'self') }))).toBe(
        'allowed',
      );
      const current = await agent.get<{ spec: Record<string, unknown> }>(`${LEASES(ns)}/group`);
      // Release (client-go's ReleaseOnCancel writes an empty holder)...
      const released = await agent.request<{ spec: Record<string, unknown> }>('PUT', `${LEASES(ns)}/group`, {
        body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
      });
      // ... but not handing it to someone else, nor taking over another's Lease in its name.
      const r2 = await outcome(
        agent.request('PUT', `${LEASES(ns)}/group`, {
          body: { ...released, spec: { ...released.spec, holderIdentity: 'other' } },
        }),
      );
      expect(r2).toMatchObject({ status: 403 });
      expect(await outcome(agent.request('POST', LEASES(ns), { body: lease('empty') }))).toBe('allowed');
    });

    it('does not restrict other service accounts of the namespace', async () => {
      expect(
        await outcome(unbound.request('POST', LEASES(ns), { body: lease('operator-lock', 'operator_1234') })),
      ).toBe('allowed');
    });
  });
  describe('real agents under the policies', () => {
    let runner: PodRunner;
    let ns: string;

    beforeAll(async () => {
      ns = await namespace('vap-e2e');
      await grantAgent(admin, ns);
      runner = new PodRunner({
        connection: adminConnection(),
        images: localImages,
        nodeName: `vap-${process.pid}`,
        logDir: undefined,
      });
      await runner.start();
    });

    afterAll(async () => {
      await runner?.stop();
    });

    async function leaderOf(lease: string, names: string[]): Promise<string> {
      return waitUntil(`a leader of ${lease}`, 30_000, async () => {
        const l = await leaseHolder(admin, ns, lease);
        if (!l?.holder || !names.includes(l.holder)) return undefined;
        return (await gateStatus(admin, ns, l.holder)) === 'True' ? l.holder : undefined;
      });
    }

    it('elect, set their gate and hand over on deletion, with their pod-bound tokens', async () => {
      const names = ['gate-0', 'gate-1'];
      for (const name of names) {
        const r = await outcome(
          admin.request('POST', `/api/v1/namespaces/${ns}/pods`, {
            body: electedPod(name, { leaseName: 'gate' }),
          }),
        );
        expect(r).toBe('allowed');
      }
      await leaderOf('gate', names);
      // Re-read the holder each time: on a loaded machine a 2 s lease may legitimately change hands.
      const first = await waitUntil('the follower to know the leader', 20_000, async () => {
        const holder = (await leaseHolder(admin, ns, 'gate'))?.holder;
        const follower = names.find((n) => n !== holder);
        if (!holder || !follower) return undefined;
        return (await agentLeader(runner, ns, follower))?.leader === holder ? holder : undefined;
      });
      const other = names.find((n) => n !== first)!;
      expect(await gateStatus(admin, ns, other)).not.toBe('True');

      // Graceful stop: the leader releases the Lease (empty holder), the other takes it.
      await admin.request('DELETE', `/api/v1/namespaces/${ns}/pods/${first}`);
      expect(await leaderOf('gate', [other])).toBe(other);
    });

    it('set the role label in label routing', async () => {
      const names = ['label-0', 'label-1'];
      for (const name of names) {
        await admin.request('POST', `/api/v1/namespaces/${ns}/pods`, {
          body: electedPod(name, { leaseName: 'label', annotations: { 'leader-election/routing': 'label' } }),
        });
      }
      const roles = await waitUntil('a leader and a follower by label', 30_000, async () => {
        const pods = await Promise.all(
          names.map((n) => admin.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/${n}`)),
        );
        const r = pods.map((p) => p.metadata?.labels?.['leader-election/role']).sort();
        return r[0] === 'follower' && r[1] === 'leader' ? r : undefined;
      });
      expect(roles).toEqual(['follower', 'leader']);
      // Steady for a while: no agent is refused anything (it would drop its role or gate).
      await sleep(1500);
      const holder = (await leaseHolder(admin, ns, 'label'))?.holder;
      const leaderPod = await admin.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/${holder}`);
      expect(leaderPod.metadata?.labels?.['leader-election/role']).toBe('leader');
      for (const n of names) {
        const dir = runner.pod(ns, n)?.dir;
        expect(dir).toBeDefined();
        const log = readFileSync(join(dir!, 'leader-election-agent.log'), 'utf8');
        expect(log).toContain('started'); // the agent ran and logged
        expect(log).not.toMatch(/ValidatingAdmissionPolicy|forbidden/i);
      }
    });
  });
});
