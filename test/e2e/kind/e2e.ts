// What the kind end-to-end tests share beyond local-cluster's kind helpers: the cluster the
// project's global setup provides, and the safety check as an expectation.
import { expect, inject } from 'vitest';
import type { KubeClient } from '../../../common/kube/kube-client.ts';
import {
  type Answer,
  APP_IMAGE,
  ElectedGroup,
  KindCluster,
  nodeNames,
  oneServerAtATime,
  theNode,
  TIMINGS,
  waitUntil,
  type Raw,
} from '../../../local-cluster/index.ts';

/** The cluster of global-setup.ts (kind-up's le-e2e, or E2E_KUBECONFIG's). */
export function e2eCluster(): KindCluster {
  return new KindCluster(inject('e2eKubeconfig'), inject('e2eContext'));
}

/** A client for that cluster. */
export function e2eClient(): KubeClient {
  return e2eCluster().client();
}

/**
 * Clients never saw two pods serving in turns, and the Service never had two ready
 * endpoints at once (oneServerAtATime).
 */
export function expectOneServerAtATime(group: ElectedGroup, got: Answer[], since: number): void {
  expect(oneServerAtATime(group, got, since)).toEqual([]);
}

/**
 * The test app as a Deployment `web` and its Service, as YAML for ElectedGroup's `manifest`:
 * `annotations` on the Deployment (none: not opted in), the default strategy unless `strategy`
 * (YAML flow text) is given, and with `spread` a hard one-pod-per-node spread.
 */
export function appManifest(opts: {
  replicas: number;
  annotations?: Record<string, string>;
  strategy?: string;
  spread?: boolean;
}): string {
  const annotations = Object.entries(opts.annotations ?? {});
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
${annotations.length ? `  annotations:\n${annotations.map(([k, v]) => `    ${k}: "${v}"`).join('\n')}\n` : ''}spec:
  replicas: ${opts.replicas}
  selector:
    matchLabels: { app: web }
${opts.strategy ? `  strategy: ${opts.strategy}\n` : ''}  template:
    metadata:
      labels: { app: web }
    spec:
      terminationGracePeriodSeconds: 5
${
  opts.spread
    ? `      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: DoNotSchedule
          labelSelector: { matchLabels: { app: web } }
`
    : ''
}      containers:
        - name: app
          image: ${APP_IMAGE}
          imagePullPolicy: IfNotPresent
          ports: [{ name: http, containerPort: 8080 }]
          env: [{ name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }]
          readinessProbe: { httpGet: { path: /healthz, port: http }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: http }]
`;
}

/** Two replicas, one per node (a hard spread), so that the leader and its successor have two kubelets. */
export const SPREAD_MANIFEST = appManifest({
  replicas: 2,
  annotations: {
    'leader-election/enabled': 'true',
    'leader-election/lease-duration': TIMINGS.lease,
    'leader-election/renew-deadline': TIMINGS.renew,
    'leader-election/retry-period': TIMINGS.retry,
  },
  strategy: '{ rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }',
  spread: true,
});

/**
 * A group of two pods spread over two nodes, its traffic client on the control-plane node; undefined
 * on a cluster of one node (make test's has two; E2E_KUBECONFIG may name another).
 */
export async function spreadGroup(client: KubeClient, prefix: string): Promise<ElectedGroup | undefined> {
  if ((await nodeNames(client)).length < 2) return undefined;
  const group = new ElectedGroup(e2eCluster(), prefix, {
    manifest: SPREAD_MANIFEST,
    trafficNode: await theNode(client),
  });
  await group.create();
  return group;
}

/** A stable leader of a spread group on a worker node (moved there if needed): the control plane must run on. */
export async function leaderOnWorker(
  group: ElectedGroup,
  client: KubeClient,
): Promise<{ old: string; node: string }> {
  const controlPlane = await theNode(client);
  const nodeOf = async (name: string) =>
    (await client.get<Raw>(`${group.api}/pods/${name}`)).spec.nodeName as string;
  let old = await group.stableLeader(2, 120_000);
  if ((await nodeOf(old)) === controlPlane) {
    await client.request('DELETE', `${group.api}/pods/${old}`);
    old = await waitUntil('the leader on a worker', 120_000, async () => {
      const l = await group.stableLeader(2, 60_000);
      return (await nodeOf(l)) !== controlPlane ? l : undefined;
    });
  }
  return { old, node: await nodeOf(old) };
}
