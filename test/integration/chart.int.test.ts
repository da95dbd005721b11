// The Helm chart (manifests/chart/leader-election), with helm built from its Go module
// (local-cluster/helm/build.sh), against the real plane:
//   - the generated manifests (install.yaml, the kustomize base, monitoring) are the chart's
//     rendering (make manifests), so there is one source;
//   - `helm lint` with the defaults and each ci/*-values.yaml;
//   - `helm template` with each value set: every object accepted by a server-side apply dry
//     run (cert-manager's CRDs installed; the Prometheus Operator's CRDs are not served by the
//     Go proxy here, so its three kinds are checked by their rendering only), and each value
//     lands where it should;
//   - values that cannot work are refused with the fix;
//   - `helm install --wait`, `helm upgrade`, `helm uninstall` for real in a namespace of its
//     own. Stand-in: the webhook's pods are reported ready by the pod runner without running
//     (as in deploy.int.test.ts); nothing issues the Certificate (no cert-manager here).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { repoRoot, type PodRunner } from '../../local-cluster/index.ts';
import { CHART_DIR, generate, helmEnv, helmPath } from '../../scripts/gen-manifests.ts';
import {
  adminClient,
  createNamespace,
  deleteNamespace,
  startVirtualPodRunner,
  waitUntil,
} from '../helpers/kube.ts';
import {
  applyDocs,
  deleteDocs,
  existingDocs,
  installCertManagerCrds,
  loadYamlDocs,
  objectId,
  renderedManifests,
  run,
  type KubeObject,
  type RunResult,
} from '../helpers/manifests.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
type Raw = any;

const CI_DIR = join(CHART_DIR, 'ci');
const ciValues = readdirSync(CI_DIR)
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();
/** Kinds whose CRDs cannot be installed here (see the header). */
const PROMETHEUS_OPERATOR_KINDS = new Set(['PodMonitor', 'ServiceMonitor', 'PrometheusRule']);

function find(docs: KubeObject[], kind: string, name: string): Raw {
  const o = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
}

describe('Helm chart (manifests/chart/leader-election)', () => {
  const kubeconfig = inject('kubeconfig');
  let client: KubeClient;
  let helm: string;
  let helmHome: string;
  let runner: PodRunner | undefined;
  const namespaces: string[] = [];

  async function helmRun(args: string[], allowFailure = false): Promise<RunResult> {
    const res = await run(helm, args, {
      env: { ...helmEnv(helmHome), KUBECONFIG: kubeconfig },
      timeoutMs: 240_000,
    });
    if (res.code !== 0 && !allowFailure) throw new Error(`helm ${args.join(' ')} failed:\n${res.stderr}`);
    return res;
  }

  async function template(namespace: string, args: string[] = []): Promise<KubeObject[]> {
    return loadYamlDocs(
      (await helmRun(['template', 'leader-election', CHART_DIR, '-n', namespace, ...args])).stdout,
    );
  }

  beforeAll(async () => {
    client = adminClient();
    helm = helmPath();
    helmHome = mkdtempSync(join(tmpdir(), 'le-helm-'));
    await installCertManagerCrds(client, kubeconfig);
  });

  afterAll(async () => {
    await helmRun(['uninstall', 'leader-election', '-n', namespaces[0] ?? 'none', '--wait'], true).catch(
      () => undefined,
    );
    for (const ns of namespaces) await deleteNamespace(client, ns);
    await runner?.stop();
    client?.close();
    rmSync(helmHome, { recursive: true, force: true });
  });

  it('is the one source: install.yaml, the kustomize base and monitoring are its rendering (make manifests)', async () => {
    const files = await generate(helm);
    expect([...files.keys()]).toContain('manifests/install.yaml');
    for (const [path, text] of files) {
      expect(readFileSync(join(repoRoot, path), 'utf8'), `${path}: run make manifests`).toBe(text);
    }
  });

  it('kustomize builds the same objects as install.yaml (manifests/base lists every rendered file)', async () => {
    const install = loadYamlDocs(readFileSync(join(repoRoot, 'manifests/install.yaml'), 'utf8'));
    const kustomized = await renderedManifests(join(repoRoot, 'manifests'));
    const byId = (docs: KubeObject[]) => new Map(docs.map((d) => [objectId(d), d]));
    expect([...byId(kustomized).keys()].sort()).toEqual([...byId(install).keys()].sort());
    for (const [id, d] of byId(install)) expect(byId(kustomized).get(id), id).toEqual(d);
  });

  it('keeps its selector labels whatever podLabels or monitoring.labels say', async () => {
    const docs = await template('x', [
      '--set',
      'webhook.podLabels.app\\.kubernetes\\.io/component=other,webhook.podLabels.team=a',
      '--set',
      'monitoring.enabled=true,monitoring.labels.app\\.kubernetes\\.io/name=other,monitoring.labels.release=prom',
    ]);
    const labels = find(docs, 'Deployment', 'leader-election-webhook').spec.template.metadata.labels;
    expect(labels).toEqual({
      'app.kubernetes.io/name': 'leader-election',
      'app.kubernetes.io/component': 'webhook',
      team: 'a',
    });
    const monitor = docs.find((d) => d.kind === 'ServiceMonitor') as Raw;
    expect(monitor.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'leader-election',
      release: 'prom',
    });
  });

  it('passes helm lint with the defaults and every ci/*-values.yaml', async () => {
    expect(ciValues.length).toBeGreaterThanOrEqual(2);
    for (const args of [[], ...ciValues.map((f) => ['-f', join(CI_DIR, f)])]) {
      const res = await helmRun(['lint', CHART_DIR, '--strict', ...args], true);
      expect(res.code, `helm lint ${args.join(' ')}:\n${res.stdout}${res.stderr}`).toBe(0);
      expect(res.stdout).toContain('0 chart(s) failed');
    }
  });

  it('renders, with each value set, objects the API server accepts (server-side apply dry run)', async () => {
    const ns = await createNamespace(client, 'le-chart');
    namespaces.push(ns);
    for (const args of [[], ...ciValues.map((f) => ['-f', join(CI_DIR, f)])]) {
      // createNamespace would make a Namespace object: this one exists for real (a dry run stores nothing).
      const docs = (await template(ns, [...args, '--set', 'createNamespace=false'])).filter(
        (d) => !PROMETHEUS_OPERATOR_KINDS.has(d.kind),
      );
      for (const d of docs)
        if (d.metadata.namespace !== undefined) expect(d.metadata.namespace, objectId(d)).toBe(ns);
      const accepted = await applyDocs(docs, { kubeconfig, dryRun: true });
      expect(accepted.map(objectId).sort(), args.join(' ')).toEqual(docs.map(objectId).sort());
    }
  });

  it('puts every value where it belongs (ci/all-options-values.yaml)', async () => {
    const docs = await template('platform', ['-f', join(CI_DIR, 'all-options-values.yaml')]);
    const deploy = find(docs, 'Deployment', 'leader-election-webhook');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    expect(deploy.spec.replicas).toBe(3);
    expect(c.image).toBe('registry.example.com/platform/leader-election/webhook:0.1.0-rc.1');
    expect(c.imagePullPolicy).toBe('Always');
    expect(c.env.find((e: Raw) => e.name === 'AGENT_IMAGE').value).toBe(
      'registry.example.com/platform/leader-election/le-agent:0.1.0-rc.1@sha256:' + '0'.repeat(64),
    );
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--agent-image-pull-policy=Always',
        '--port=10250',
        '--health-port=10251',
        '--log-level=debug',
        '--shutdown-delay=10s',
      ]),
    );
    expect(c.ports.map((p: Raw) => p.containerPort)).toEqual([10250, 10251]);
    expect(c.resources.limits).toEqual({ cpu: '2', memory: '512Mi' });
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations[0].key).toBe('node-role.kubernetes.io/control-plane');
    // The spread constraint gets the webhook pods' selector filled in.
    expect(pod.topologySpreadConstraints[0].labelSelector.matchLabels['app.kubernetes.io/component']).toBe(
      'webhook',
    );
    expect(deploy.spec.template.metadata.labels.team).toBe('platform');
    expect(deploy.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(pod.hostNetwork).toBeUndefined();

    const mwc = find(docs, 'MutatingWebhookConfiguration', 'leader-election');
    for (const w of mwc.webhooks) {
      expect(w.failurePolicy).toBe('Ignore');
      expect(w.timeoutSeconds).toBe(3);
      expect(w.clientConfig.service.namespace).toBe('platform');
      expect(w.namespaceSelector.matchExpressions[0].values).toEqual([
        'platform',
        'kube-system',
        'istio-system',
      ]);
      expect(w.namespaceSelector.matchLabels).toEqual({ 'leader-election.example.com/serve': 'true' });
      expect(w.objectSelector.matchExpressions[0].key).toBe('leader-election.example.com/skip');
    }
    expect(mwc.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(
      'platform/leader-election-webhook',
    );
    // The policies leave the same namespaces alone, and know the webhook's ServiceAccount by its namespace.
    const requireAgent = find(docs, 'ValidatingAdmissionPolicy', 'leader-election-require-agent');
    expect(requireAgent.spec.matchConstraints.namespaceSelector.matchExpressions[0].values).toEqual([
      'platform',
      'kube-system',
      'istio-system',
    ]);
    expect(
      find(docs, 'ValidatingAdmissionPolicy', 'leader-election-webhook-scope').spec.matchConditions[0]
        .expression,
    ).toContain("'system:serviceaccount:platform:leader-election-webhook'");

    // Your issuer: no CA of the chart's own.
    const certs = docs.filter((d) => d.kind === 'Certificate' || d.kind === 'Issuer');
    expect(certs.map(objectId)).toEqual(['Certificate/platform/leader-election-webhook']);
    expect((certs[0] as Raw).spec.issuerRef).toEqual({
      group: 'cert-manager.io',
      kind: 'ClusterIssuer',
      name: 'corp-ca',
    });
    expect((certs[0] as Raw).spec.dnsNames).toContain('leader-election-webhook.platform.svc');

    for (const kind of PROMETHEUS_OPERATOR_KINDS) {
      const o = docs.find((d) => d.kind === kind) as Raw;
      expect(o?.metadata.labels.release, kind).toBe('kube-prometheus-stack');
    }
    expect(find(docs, 'ConfigMap', 'leader-election-dashboard').metadata.labels.grafana_dashboard).toBe('1');
    const np = find(docs, 'NetworkPolicy', 'leader-election-webhook');
    expect(np.spec.ingress.map((r: Raw) => r.ports[0].port)).toEqual([10250, 10251]);
    expect(np.spec.ingress[1].from[0].namespaceSelector.matchLabels).toEqual({
      'kubernetes.io/metadata.name': 'monitoring',
    });
    expect(np.spec.egress[1].ports).toEqual([{ port: 443, protocol: 'TCP' }]);
  });

  it('runs without cert-manager on a provided Secret, one replica on the host network (ci/provided-secret-values.yaml)', async () => {
    const docs = await template('le-host', ['-f', join(CI_DIR, 'provided-secret-values.yaml')]);
    expect(docs.filter((d) => d.kind === 'Certificate' || d.kind === 'Issuer')).toEqual([]);
    const mwc = find(docs, 'MutatingWebhookConfiguration', 'leader-election');
    expect(mwc.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBeUndefined();
    for (const w of mwc.webhooks)
      expect(w.clientConfig.caBundle).toBe('LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t');
    const pod = find(docs, 'Deployment', 'leader-election-webhook').spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    // A surge pod could not take the same ports on a node: one at a time.
    expect(find(docs, 'Deployment', 'leader-election-webhook').spec.strategy.rollingUpdate).toEqual({
      maxUnavailable: 1,
      maxSurge: 0,
    });
    expect(pod.volumes.find((v: Raw) => v.name === 'tls').secret.secretName).toBe('my-webhook-tls');
    // One replica: a PDB that still lets a node drain.
    const pdb = find(docs, 'PodDisruptionBudget', 'leader-election-webhook');
    expect([pdb.spec.minAvailable, pdb.spec.maxUnavailable]).toEqual([undefined, 1]);
    // Host networking needs a namespace that allows it.
    expect(find(docs, 'Namespace', 'le-host').metadata.labels['pod-security.kubernetes.io/enforce']).toBe(
      'privileged',
    );
  });

  it('refuses values that cannot work, saying what to set', async () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'tls.certManager.enabled=false'], /set tls.existingSecret and tls.caBundle/],
      [['--set', 'tls.certManager.enabled=false,tls.existingSecret=x'], /tls.caBundle: .* is required/],
      [['--set', 'tls.existingSecret=x'], /set tls.certManager.enabled=false too/],
      [['--set', 'webhook.healthPort=8443'], /webhook.port and webhook.healthPort are both 8443/],
      [
        ['--set', 'webhook.hostNetwork=true,webhook.port=10250'],
        /port 10250 is the kubelet's or kube-proxy's/,
      ],
      // values.schema.json: each value's type and range, and no unknown keys (a typo is not ignored).
      [
        ['--set', 'webhook.failurePolicy=Maybe'],
        /at '\/webhook\/failurePolicy': value must be one of 'Fail', 'Ignore'/,
      ],
      [['--set', 'webhook.replicas=0'], /at '\/webhook\/replicas': minimum: got 0, want 1/],
      [['--set', 'webhook.port=abc'], /at '\/webhook\/port': got string, want integer/],
      [['--set', 'webhook.prot=10250'], /at '\/webhook': additional properties 'prot' not allowed/],
      [['--set', 'agent.image.digest=sha256:abc'], /at '\/agent\/image\/digest'/],
    ];
    for (const [args, message] of cases) {
      const res = await helmRun(['template', 'leader-election', CHART_DIR, ...args], true);
      expect(res.code, args.join(' ')).not.toBe(0);
      expect(res.stderr).toMatch(message);
    }
  });

  it('installs, upgrades and uninstalls for real, leaving nothing of itself behind', async () => {
    // Earlier files may have applied the product's cluster-wide objects by hand (the RBAC for
    // the reconciler's tests): remove them, as on a cluster that never had it.
    const installed = loadYamlDocs(readFileSync(join(repoRoot, 'manifests/install.yaml'), 'utf8'));
    const clusterScoped = installed.filter((d) => !d.metadata.namespace && d.kind !== 'Namespace');
    await deleteDocs(clusterScoped, kubeconfig);
    runner = await startVirtualPodRunner('chart');
    const ns = `le-helm-${process.pid}`;
    namespaces.unshift(ns);

    const install = await helmRun([
      'install',
      'leader-election',
      CHART_DIR,
      '-n',
      ns,
      '--create-namespace',
      '--set',
      'webhook.replicas=1',
      '--wait',
      '--timeout',
      '2m',
    ]);
    expect(install.stdout).toContain('STATUS: deployed');
    expect(install.stdout).toContain('leader-election/enabled'); // NOTES.txt says how to opt in
    const clusterIds = clusterScoped.map(objectId).sort();
    expect((await existingDocs(clusterScoped, kubeconfig)).sort()).toEqual(clusterIds);
    const deploy = await client.get<Raw>(
      `/apis/apps/v1/namespaces/${ns}/deployments/leader-election-webhook`,
    );
    expect(deploy.status.readyReplicas).toBe(1);
    expect(deploy.metadata.annotations['meta.helm.sh/release-namespace']).toBe(ns);

    await helmRun([
      'upgrade',
      'leader-election',
      CHART_DIR,
      '-n',
      ns,
      '--reuse-values',
      '--set',
      'webhook.replicas=2,webhook.port=10250,webhook.failurePolicy=Ignore',
      '--wait',
      '--timeout',
      '2m',
    ]);
    // helm --wait returns once the new ReplicaSet is ready; the old pod may still be counted a
    // moment longer (readyReplicas 3 of a surge): wait for the rollout's end state.
    const upgraded = await waitUntil('the upgraded webhook rolled out', 60_000, async () => {
      const d = await client.get<Raw>(`/apis/apps/v1/namespaces/${ns}/deployments/leader-election-webhook`);
      const st = d.status ?? {};
      return st.replicas === 2 && st.updatedReplicas === 2 && st.readyReplicas === 2 ? d : undefined;
    });
    expect(upgraded.spec.replicas).toBe(2);
    expect(upgraded.spec.template.spec.containers[0].args).toContain('--port=10250');
    const mwc = await client.get<Raw>(
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/leader-election',
    );
    expect(mwc.webhooks.map((w: Raw) => w.failurePolicy)).toEqual(['Ignore', 'Ignore', 'Ignore']);
    const pdb = await client.get<Raw>(
      `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/leader-election-webhook`,
    );
    expect(pdb.spec.minAvailable).toBe(1);
    const history = JSON.parse(
      (await helmRun(['history', 'leader-election', '-n', ns, '-o', 'json'])).stdout,
    ) as Raw[];
    expect(history.map((h) => h.status)).toEqual(['superseded', 'deployed']);

    const uninstall = await helmRun(['uninstall', 'leader-election', '-n', ns, '--wait']);
    // The agents' ClusterRole stays (helm.sh/resource-policy: keep): running agents renew with it.
    expect(uninstall.stdout + uninstall.stderr).toContain('[ClusterRole] leader-election-agent');
    expect(await existingDocs(clusterScoped, kubeconfig)).toEqual(['ClusterRole/leader-election-agent']);
    await deleteDocs(
      clusterScoped.filter((d) => d.metadata.name === 'leader-election-agent'),
      kubeconfig,
    );
    const namespaced = installed
      .filter((d) => d.metadata.namespace)
      .map((d) => ({ ...d, metadata: { ...d.metadata, namespace: ns } }));
    await waitUntil('the release’s objects gone', 60_000, async () => {
      const left = await existingDocs([...clusterScoped, ...namespaced], kubeconfig);
      return left.length === 0;
    });
  });
});
