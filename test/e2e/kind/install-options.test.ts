// The chart's options for managed clusters, for real (docs/install.md, "Managed clusters"): the
// API server reaches the webhook through its Service when it listens on another port (GKE private
// clusters: 10250) and when it runs on the node's network (EKS with a custom CNI: hostNetwork,
// which needs a namespace whose Pod Security level is privileged). Each is a `helm upgrade` of
// the release make kind-up installed; an opted-in pod is then injected (a server-side dry run
// through the real admission chain). The release is rolled back at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, waitUntil, type KindCluster, type Raw } from '../../../local-cluster/index.ts';
import { CHART_DIR as CHART, helmEnv, helmPath } from '../../../scripts/gen-manifests.ts';
import { e2eCluster } from './e2e.ts';

const NS = 'leader-election-system';
const RELEASE = 'leader-election';
const PSS = ['enforce', 'warn', 'audit'].map((m) => `pod-security.kubernetes.io/${m}`);

describe('the chart’s webhook port and host-network options, on kind', () => {
  let cluster: KindCluster;
  let helm: string;
  let helmHome: string;
  let revision = 0;
  let labels: Record<string, string> = {};

  async function helmRun(...args: string[]): Promise<string> {
    const context = cluster.context ? ['--kube-context', cluster.context] : [];
    const res = await run(helm, [...args, '--kubeconfig', cluster.kubeconfig, ...context, '-n', NS], {
      env: helmEnv(helmHome),
      timeoutMs: 240_000,
    });
    if (res.code !== 0) throw new Error(`helm ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }

  /** The webhook rolled out: every replica of the newest template Ready, no other left. */
  async function rolledOut(replicas = 1): Promise<Raw[]> {
    await cluster.kubectl(
      '-n',
      NS,
      'rollout',
      'status',
      'deployment/leader-election-webhook',
      '--timeout=180s',
    );
    return waitUntil('the old webhook pods gone', 120_000, async () => {
      const pods = JSON.parse(
        await cluster.kubectl(
          '-n',
          NS,
          'get',
          'pods',
          '-l',
          'app.kubernetes.io/component=webhook',
          '-o',
          'json',
        ),
      ).items as Raw[];
      return pods.length === replicas && pods.every((p) => !p.metadata.deletionTimestamp) ? pods : undefined;
    });
  }

  /** An opted-in pod comes back from the API server injected (dry run: nothing is created). */
  async function injected(): Promise<boolean> {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'install-options-probe',
        namespace: 'default',
        annotations: { 'leader-election/enabled': 'true', 'leader-election/lease-name': 'probe' },
      },
      spec: { containers: [{ name: 'app', image: 'ghcr.io/leader-election/testapp:dev' }] },
    };
    const out = JSON.parse(
      await cluster.kubectlWithInput(
        JSON.stringify(pod),
        'create',
        '--dry-run=server',
        '-o',
        'json',
        '-f',
        '-',
      ),
    ) as Raw;
    return (out.spec.initContainers ?? []).some((c: Raw) => c.name === 'leader-election-agent');
  }

  /** Three admissions in a row succeed (the Service's endpoints may lag a rollout by a moment). */
  async function admits(): Promise<void> {
    await waitUntil('an opted-in pod injected', 60_000, () => injected().catch(() => false), 500);
    for (let i = 0; i < 3; i++) expect(await injected()).toBe(true);
  }

  beforeAll(async () => {
    cluster = e2eCluster();
    helm = helmPath();
    helmHome = mkdtempSync(join(tmpdir(), 'le-helm-e2e-'));
    const history = JSON.parse(await helmRun('history', RELEASE, '-o', 'json')) as Raw[];
    revision = history.at(-1).revision;
    const ns = JSON.parse(await cluster.kubectl('get', 'namespace', NS, '-o', 'json')) as Raw;
    labels = Object.fromEntries(PSS.map((k) => [k, ns.metadata.labels?.[k] ?? '']));
  });

  afterAll(async () => {
    if (revision) {
      await helmRun('rollback', RELEASE, String(revision), '--wait', '--timeout', '3m');
      const restore = PSS.map((k) => (labels[k] ? `${k}=${labels[k]}` : `${k}-`));
      await cluster.kubectl('label', 'namespace', NS, '--overwrite', ...restore);
      await rolledOut();
      await admits();
    }
    rmSync(helmHome, { recursive: true, force: true });
  });

  it('webhook.port=10250 (GKE private clusters): the Service targets it, pods are injected', async () => {
    await helmRun('upgrade', RELEASE, CHART, '--reuse-values', '--set', 'webhook.port=10250', '--wait');
    const [pod] = await rolledOut();
    expect(pod.spec.containers[0].ports.find((p: Raw) => p.name === 'https').containerPort).toBe(10250);
    await waitUntil('the EndpointSlice targets 10250', 30_000, async () => {
      const slices = JSON.parse(
        await cluster.kubectl(
          '-n',
          NS,
          'get',
          'endpointslices',
          '-l',
          'kubernetes.io/service-name=leader-election-webhook',
          '-o',
          'json',
        ),
      ).items as Raw[];
      return slices.some((s) => s.ports?.some((p: Raw) => p.name === 'https' && p.port === 10250));
    });
    await admits();
  });

  it('webhook.hostNetwork=true (EKS with a custom CNI): on the node’s address, in a privileged namespace, and rolls again', async () => {
    await cluster.kubectl('label', 'namespace', NS, '--overwrite', ...PSS.map((k) => `${k}=privileged`));
    // One replica per node: a surge pod would find no node with its ports free (the strategy
    // replaces them one at a time on the node's network; with maxSurge 1 this upgrade hangs).
    const nodes = (await cluster.kubectl('get', 'nodes', '-o', 'name')).trim().split('\n').length;
    const set = `webhook.hostNetwork=true,webhook.port=10260,webhook.healthPort=10261,webhook.replicas=${nodes}`;
    await helmRun('upgrade', RELEASE, CHART, '--reuse-values', '--set', set, '--wait', '--timeout', '3m');
    const pods = await rolledOut(nodes);
    for (const pod of pods) {
      expect(pod.spec.hostNetwork).toBe(true);
      expect(pod.status.podIP).toBe(pod.status.hostIP);
    }
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(nodes);
    await admits();
    // A second rollout while on the node's network: every node already holds the ports.
    await helmRun(
      'upgrade',
      RELEASE,
      CHART,
      '--reuse-values',
      '--set',
      'webhook.podAnnotations.rolled=again',
      '--wait',
      '--timeout',
      '3m',
    );
    const again = await rolledOut(nodes);
    expect(again.every((p) => p.metadata.annotations?.rolled === 'again')).toBe(true);
    await admits();
  });
});
