// End to end on a real cluster (kind: a real kubelet, containerd, kube-proxy, CoreDNS; the
// product's own images; the webhook installed by scripts/deploy.sh): an annotated Deployment
// of the test app gets one leader, only the leader is Ready, and requests to the Service's
// ClusterIP, sent from a pod in the cluster through kube-proxy, reach only the leader —
// also while the leader pod is deleted and another takes over.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiError, KubeClient } from '../../../common/kube/kube-client.ts';
import { connectionFromKubeconfig } from '../../../common/kube/kubeconfig.ts';
import { Observer, sleep, waitUntil } from '../../../local-cluster/index.ts';
import { kubectlPath, run } from '../../helpers/manifests.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
type Raw = any;

const APP_IMAGE = 'ghcr.io/leader-election/testapp:dev';
const NAME = 'web';
// Short timings with the fencing margins the webhook asks for (docs/operations.md).
const TIMINGS = { lease: '6s', renew: '3s', retry: '1s' };
const LEASE_MS = 6_000;
const GRACE_S = 10;

interface Answer {
  t: number;
  pod?: string;
  err?: string;
}

describe('on kind: an annotated Deployment, readiness-gate routing, traffic through the ClusterIP', () => {
  let client: KubeClient;
  let observer: Observer;
  const ns = `e2e-${process.pid}-${Date.now() % 100_000}`;
  const api = `/api/v1/namespaces/${ns}`;

  async function holder(): Promise<string> {
    const lease = await client.get<Raw>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${NAME}`);
    return lease.spec?.holderIdentity ?? '';
  }

  /** The traffic client's answers, from its log (one JSON line per request), through kubectl logs. */
  async function answers(since = 0): Promise<Answer[]> {
    const context = inject('e2eContext');
    const res = await run(kubectlPath(), [
      '--kubeconfig',
      inject('e2eKubeconfig'),
      ...(context ? ['--context', context] : []),
      '-n',
      ns,
      'logs',
      'traffic',
    ]);
    if (res.code !== 0) throw new Error(`kubectl logs traffic: ${res.stderr}`);
    return res.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Answer)
      .filter((a) => a.t >= since);
  }

  beforeAll(async () => {
    client = new KubeClient(
      connectionFromKubeconfig(inject('e2eKubeconfig'), inject('e2eContext') || undefined),
    );
    await client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    });
    const labels = { app: NAME };
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: NAME,
          annotations: {
            'leader-election/enabled': 'true',
            'leader-election/lease-duration': TIMINGS.lease,
            'leader-election/renew-deadline': TIMINGS.renew,
            'leader-election/retry-period': TIMINGS.retry,
          },
        },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2, maxSurge: 1 } },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: GRACE_S,
              containers: [
                {
                  name: 'app',
                  image: APP_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  ports: [{ name: 'http', containerPort: 8080 }],
                  env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                  readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    const svc = await client.request<Raw>('POST', `${api}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: NAME },
        spec: { selector: labels, ports: [{ port: 80, targetPort: 'http' }] },
      },
    });
    observer = new Observer(client, ns, NAME, NAME);
    await observer.start();
    // The traffic client: a pod (not opted in) requesting the ClusterIP every 50 ms.
    await client.request('POST', `${api}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'traffic' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'client',
              image: APP_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: ['/nodejs/bin/node', '/app/client.mjs', `http://${svc.spec.clusterIP}/`, '50', '500'],
            },
          ],
        },
      },
    });
    await waitUntil('the traffic client running', 120_000, async () => {
      const p = await client.get<Raw>(`${api}/pods/traffic`);
      return p.status?.phase === 'Running';
    });
  });

  afterAll(async () => {
    observer?.stop();
    await client
      ?.request('DELETE', `/api/v1/namespaces/${ns}`)
      .catch((err: unknown) => (ApiError.isNotFound(err) ? undefined : Promise.reject(err)));
    client?.close();
  });

  it('elects one leader: the only Ready pod, and the only one that answers', async () => {
    const leader = await waitUntil('one ready endpoint, the Lease holder', 180_000, async () => {
      const ready = observer.currentReady();
      const h = await holder().catch(() => '');
      return ready.length === 1 && ready[0] === h ? h : undefined;
    });
    const pods = await client.get<Raw>(`${api}/pods`, { query: { labelSelector: `app=${NAME}` } });
    expect(pods.items).toHaveLength(3);
    // Injected: the agent as a native sidecar and the readiness gate.
    for (const p of pods.items) {
      expect(p.spec.initContainers.map((c: Raw) => c.name)).toContain('leader-election-agent');
      expect(p.spec.readinessGates).toEqual([{ conditionType: 'leader-election/leader' }]);
    }
    const from = Date.now();
    await sleep(3_000);
    const got = await answers(from);
    const answered = got.filter((a) => a.pod);
    expect(answered.length, JSON.stringify(got.slice(-5))).toBeGreaterThan(20);
    expect(new Set(answered.map((a) => a.pod))).toEqual(new Set([leader]));
    expect(observer.maxReadyEndpoints()).toBe(1);
  });

  it('moves the traffic to a new leader when the leader pod is deleted, never to two pods at once', async () => {
    const old = await holder();
    const t0 = Date.now();
    await client.request('DELETE', `${api}/pods/${old}`);
    const next = await waitUntil(
      'another pod answers',
      (GRACE_S + 30) * 1000 + LEASE_MS,
      async () => (await answers(t0)).find((a) => a.pod && a.pod !== old)?.pod,
      250,
    );
    await sleep(2_000);
    const got = await answers(t0);
    const firstNew = got.find((a) => a.pod === next)!.t;
    // Once the new leader answered, the old one never does again (no two serving at once)...
    expect(got.filter((a) => a.pod === old && a.t > firstNew)).toEqual([]);
    // ...and nobody else answers.
    expect(new Set(got.filter((a) => a.pod).map((a) => a.pod))).toEqual(new Set([old, next]));
    expect(observer.maxReadyEndpoints(t0)).toBeLessThanOrEqual(1);
    expect(await holder()).toBe(next);
    console.log(
      `[kind] leader ${old} deleted: ${next} answered after ${firstNew - t0} ms; ` +
        `no pod answered for ${Math.max(0, ...gaps(got))} ms at most`,
    );
  });
});

/** Lengths of the stretches with no answered request. */
function gaps(list: Answer[]): number[] {
  const out: number[] = [];
  let last: number | undefined;
  for (const a of list) {
    if (!a.pod) continue;
    if (last !== undefined) out.push(a.t - last);
    last = a.t;
  }
  return out;
}
