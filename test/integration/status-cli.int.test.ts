// `node webhook/cli/status.ts status` against the real control plane. No agents run: the
// test writes what they would (a Lease with a holder, the leader's gate condition, the role
// label), the pod runner reports the pods' containers running (images it does not know run
// as "virtual" containers) and computes Ready with the readiness gates, and the
// kube-controller-manager makes the EndpointSlices. Then the CLI's rows are checked.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ANNOTATION, CONDITION_LEADER, LABEL_INJECTED, LABEL_ROLE } from '../../common/contract/keys.ts';
import { PATCH, type KubeClient } from '../../common/kube/kube-client.ts';
import { repoRoot, type PodRunner } from '../../local-cluster/index.ts';
import {
  adminClient,
  createNamespace,
  deleteNamespace,
  startVirtualPodRunner,
  waitUntil,
} from '../helpers/kube.ts';
import { run } from '../helpers/manifests.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
type Raw = any;

const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');
const HOUR = 3_600_000;

describe('status CLI', () => {
  const kubeconfig = inject('kubeconfig');
  let client: KubeClient;
  let runner: PodRunner;
  let ns: string;
  let ns2: string;
  let empty: string;

  async function pod(
    namespace: string,
    name: string,
    opts: { app: string; lease: string; gate: boolean; role?: string },
  ) {
    await client.request('POST', `/api/v1/namespaces/${namespace}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          labels: {
            app: opts.app,
            [LABEL_INJECTED]: 'true',
            ...(opts.role ? { [LABEL_ROLE]: opts.role } : {}),
          },
          annotations: { [ANNOTATION.leaseName]: opts.lease, [ANNOTATION.status]: 'injected' },
        },
        spec: {
          ...(opts.gate ? { readinessGates: [{ conditionType: CONDITION_LEADER }] } : {}),
          containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }],
        },
      },
    });
  }

  async function lease(
    namespace: string,
    name: string,
    holder: string,
    acquiredAgoMs: number,
    transitions: number,
  ) {
    const now = Date.now();
    await client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: 15,
          acquireTime: microTime(now - acquiredAgoMs),
          renewTime: microTime(now),
          leaseTransitions: transitions,
        },
      },
    });
  }

  async function service(namespace: string, name: string, selector: Record<string, string>) {
    await client.request('POST', `/api/v1/namespaces/${namespace}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
  }

  async function readyEndpoints(namespace: string, svc: string): Promise<{ ready: string[]; total: number }> {
    const list = await client.get<Raw>(`/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, {
      query: { labelSelector: `kubernetes.io/service-name=${svc}` },
    });
    const eps = list.items.flatMap((s: Raw) => s.endpoints ?? []);
    return {
      ready: eps
        .filter((e: Raw) => e.conditions?.ready)
        .map((e: Raw) => e.targetRef.name)
        .sort(),
      total: eps.length,
    };
  }

  /** The CLI as a user runs it. */
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ['webhook/cli/status.ts', ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
      timeoutMs: 30_000,
    });

  const rows = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{3,}|\s+/));

  beforeAll(async () => {
    client = adminClient();
    runner = await startVirtualPodRunner('status');
    ns = await createNamespace(client, 'status');
    ns2 = await createNamespace(client, 'status-b');
    empty = await createNamespace(client, 'status-empty');

    // Group "web", readiness-gate routing: 3 pods, web-1 leads (its gate True), a Service on all.
    for (const name of ['web-0', 'web-1', 'web-2'])
      await pod(ns, name, { app: 'web', lease: 'web', gate: true });
    await lease(ns, 'web', 'web-1', 3 * HOUR, 4);
    await service(ns, 'web', { app: 'web' });
    await waitUntil('web pods Running', 60_000, async () => {
      const list = await client.get<Raw>(`/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: 'app=web' },
      });
      return list.items.length === 3 && list.items.every((p: Raw) => p.status?.phase === 'Running');
    });
    await client.request('PATCH', `/api/v1/namespaces/${ns}/pods/web-1/status`, {
      contentType: PATCH.strategicMerge,
      body: { status: { conditions: [{ type: CONDITION_LEADER, status: 'True', reason: 'Leader' }] } },
    });

    // Group "worker", label routing: 2 pods, the Service selects the leader label; no Lease yet.
    await pod(ns, 'worker-a', { app: 'worker', lease: 'worker', gate: false, role: 'leader' });
    await pod(ns, 'worker-b', { app: 'worker', lease: 'worker', gate: false, role: 'follower' });
    await service(ns, 'worker', { app: 'worker', [LABEL_ROLE]: 'leader' });

    // A Lease nobody injected elects on: not a group.
    await lease(ns, 'unrelated', 'some-controller', HOUR, 1);

    // Another namespace, one group of one pod.
    await pod(ns2, 'other-0', { app: 'other', lease: 'other', gate: true });
    await lease(ns2, 'other', 'other-0', 30_000, 0);

    await waitUntil('EndpointSlices: web 1 ready of 3, worker 1 of 1', 60_000, async () => {
      const web = await readyEndpoints(ns, 'web');
      const worker = await readyEndpoints(ns, 'worker');
      return (
        web.total === 3 &&
        web.ready.join() === 'web-1' &&
        worker.total === 1 &&
        worker.ready.join() === 'worker-a'
      );
    });
  });

  afterAll(async () => {
    for (const n of [ns, ns2, empty]) if (n) await deleteNamespace(client, n);
    await runner?.stop();
    client?.close();
  });

  it('lists a namespace’s groups as an aligned table', async () => {
    const res = await cli(['status', '-n', ns, '--kubeconfig', kubeconfig]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^LEASE\s{3,}HOLDER\s{3,}TERM\s{3,}TRANSITIONS\s{3,}ENDPOINTS\s{3,}MEMBERS$/);
    // Aligned: every column starts at the same offset on every line.
    const start = (line: string, col: number) => [...line.matchAll(/\S+/g)][col]?.index;
    for (let col = 0; col < 6; col++) {
      expect(new Set(lines.map((l) => start(l, col))).size, `column ${col} aligned`).toBe(1);
    }
    expect(rows(res.stdout).slice(1)).toEqual([
      ['web', 'web-1', '3h', '4', 'web:1/3', '3'],
      ['worker', '<none>', '<none>', '<none>', 'worker:1/1', '2'],
    ]);
  });

  it('lists every namespace with -A, from $KUBECONFIG, and only Leases that have members', async () => {
    const res = await cli(['status', '-A'], { KUBECONFIG: kubeconfig });
    expect(res.code, res.stderr).toBe(0);
    const all = rows(res.stdout);
    expect(all[0]).toEqual(['NAMESPACE', 'LEASE', 'HOLDER', 'TERM', 'TRANSITIONS', 'ENDPOINTS', 'MEMBERS']);
    const ours = all.filter((r) => r[0] === ns || r[0] === ns2);
    expect(ours).toEqual(
      [
        [ns, 'web', 'web-1', '3h', '4', 'web:1/3', '3'],
        [ns, 'worker', '<none>', '<none>', '<none>', 'worker:1/1', '2'],
        [ns2, 'other', 'other-0', expect.stringMatching(/^3\ds$/), '0', '<none>', '1'],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect(all.some((r) => r[1] === 'unrelated')).toBe(false);
  });

  it('-o wide adds the last renewal and the member pods', async () => {
    const res = await cli(['status', `--namespace=${ns}`, '-o', 'wide', '--kubeconfig', kubeconfig]);
    expect(res.code, res.stderr).toBe(0);
    const r = rows(res.stdout);
    expect(r[0]).toEqual([
      'LEASE',
      'HOLDER',
      'TERM',
      'TRANSITIONS',
      'ENDPOINTS',
      'MEMBERS',
      'RENEWED',
      'MEMBER-PODS',
    ]);
    expect(r[1]?.[7]).toBe('web-0,web-1,web-2');
    expect(r[1]?.[6]).toMatch(/^\d+s$/);
  });

  it('-o json gives the details', async () => {
    const res = await cli(['status', '-n', ns, '-o', 'json', '--kubeconfig', kubeconfig]);
    expect(res.code, res.stderr).toBe(0);
    const list = JSON.parse(res.stdout) as Raw;
    expect(list.kind).toBe('List');
    const web = list.items.find((g: Raw) => g.lease === 'web');
    expect(web).toMatchObject({
      namespace: ns,
      leaseExists: true,
      holder: 'web-1',
      transitions: 4,
      leaseDurationSeconds: 15,
      expired: false,
      services: [{ service: 'web', ready: ['web-1'], total: 3 }],
    });
    expect(web.termMs).toBeGreaterThanOrEqual(3 * HOUR);
    expect(web.members.map((m: Raw) => [m.name, m.ready, m.leaderCondition])).toEqual([
      ['web-0', false, false],
      ['web-1', true, true],
      ['web-2', false, false],
    ]);
    const worker = list.items.find((g: Raw) => g.lease === 'worker');
    expect(worker).toMatchObject({ leaseExists: false, holder: null, transitions: null });
    expect(worker.members.map((m: Raw) => [m.name, m.role, m.ready])).toEqual([
      ['worker-a', 'leader', true],
      ['worker-b', 'follower', true],
    ]);
  });

  it('says so when a namespace has no group, and refuses bad flags', async () => {
    const none = await cli(['status', '-n', empty, '--kubeconfig', kubeconfig]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe(`No election groups found in ${empty} namespace.\n`);
    const bad = await cli(['status', '-n', ns, '-A', '--kubeconfig', kubeconfig]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-n and -A cannot be used together');
    const noConfig = await cli(['status', '-A'], { KUBECONFIG: '/nonexistent/kubeconfig' });
    expect(noConfig.code).toBe(1);
    expect(noConfig.stderr).toMatch(/^error: .*\/nonexistent\/kubeconfig/);
  });
});
