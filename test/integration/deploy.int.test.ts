// scripts/deploy.sh and scripts/undeploy.sh (make deploy / make undeploy) for real, on the
// local plane, with the dev overlay. Stand-ins, and only these: cert-manager's three
// Deployments run "virtual" containers through the pod runner (reported running and ready,
// no process), so does the webhook Deployment, and the test plays cert-manager's cainjector
// by writing the plane's CA into the MutatingWebhookConfiguration. Checked: deploy refuses
// with the install command when cert-manager is missing, deploys, waits, is idempotent;
// undeploy removes admission first, keeps the agent's RBAC while injected pods run, removes
// it once they are gone, and is idempotent. Everything is removed at the end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PATCH, type KubeClient } from '../../common/kube/kube-client.ts';
import { repoRoot, type PodRunner } from '../../local-cluster/index.ts';
import {
  adminClient,
  createNamespace,
  deleteNamespace,
  objectExists,
  startVirtualPodRunner,
  waitUntil,
} from '../helpers/kube.ts';
import { installCertManagerCrds, kubectlPath, run, type RunResult } from '../helpers/manifests.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
type Raw = any;

const SYSTEM_NS = 'leader-election-system';
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/leader-election';
const VAP = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const VAPB = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';
const AGENT_ROLE = '/apis/rbac.authorization.k8s.io/v1/clusterroles/leader-election-agent';
const MANAGED = { 'app.kubernetes.io/managed-by': 'leader-election-webhook' };

describe('make deploy / make undeploy (scripts/deploy.sh, scripts/undeploy.sh)', () => {
  const kubeconfig = inject('kubeconfig');
  let client: KubeClient;
  let runner: PodRunner;
  let cmNs: string;
  let appNs: string;
  const namespaces: string[] = [];

  async function script(name: string, env: Record<string, string> = {}): Promise<RunResult> {
    return run('bash', [join(repoRoot, 'scripts', name)], {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        KUBECTL: kubectlPath(),
        MANIFESTS: 'manifests/overlays/dev',
        ...env,
      },
      timeoutMs: 240_000,
    });
  }

  const exists = (path: string): Promise<boolean> => objectExists(client, path);

  /** A Deployment whose containers the pod runner reports ready without running anything. */
  async function virtualDeployment(ns: string, name: string): Promise<void> {
    const labels = { app: name };
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name, image: `quay.io/jetstack/${name}:stand-in` }] },
          },
        },
      },
    });
  }

  beforeAll(async () => {
    client = adminClient();
    await installCertManagerCrds(client, kubeconfig);
    runner = await startVirtualPodRunner('deploy');
    cmNs = await createNamespace(client, 'cert-manager');
    appNs = await createNamespace(client, 'elected-app');
    namespaces.push(cmNs, appNs);
  });

  afterAll(async () => {
    // Leave nothing behind for later test files, whatever happened above.
    await script('undeploy.sh', { REMOVE_AGENT_RBAC: '1' }).catch(() => undefined);
    for (const ns of namespaces) await deleteNamespace(client, ns);
    await runner?.stop();
    client?.close();
  });

  it('deploy refuses with the install command while cert-manager is not available', async () => {
    const res = await script('deploy.sh', { CERT_MANAGER_NAMESPACE: cmNs });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${cmNs}/cert-manager-webhook`);
    expect(res.stderr).toMatch(/not Available/);
    expect(res.stderr).toContain(
      'kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/v1.19.5/cert-manager.yaml',
    );
    expect(await exists(MWC)).toBe(false);
  });

  it('deploy applies the dev overlay server-side and waits for the rollout and the caBundle; again is a no-op', async () => {
    for (const d of ['cert-manager', 'cert-manager-webhook', 'cert-manager-cainjector']) {
      await virtualDeployment(cmNs, d);
    }
    await waitUntil('cert-manager stand-ins Available', 60_000, async () => {
      const list = await client.get<Raw>(`/apis/apps/v1/namespaces/${cmNs}/deployments`);
      return list.items.every((d: Raw) =>
        d.status?.conditions?.some((c: Raw) => c.type === 'Available' && c.status === 'True'),
      );
    });

    // cert-manager's cainjector, played here: once the configuration exists, give it a CA.
    const caBundle = Buffer.from(readFileSync(inject('caCert'))).toString('base64');
    let injected = false;
    const injector = (async () => {
      await waitUntil('MutatingWebhookConfiguration applied', 120_000, () => exists(MWC), 250);
      const mwc = await client.get<Raw>(MWC);
      await client.request('PATCH', MWC, {
        contentType: PATCH.json,
        body: mwc.webhooks.map((_: Raw, i: number) => ({
          op: 'add',
          path: `/webhooks/${i}/clientConfig/caBundle`,
          value: caBundle,
        })),
      });
      injected = true;
    })();

    const res = await script('deploy.sh', { CERT_MANAGER_NAMESPACE: cmNs, WAIT_TIMEOUT: '120s' });
    await injector;
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(injected).toBe(true);
    expect(res.stdout).toContain(`cert-manager is available in ${cmNs}`);
    expect(res.stdout).toMatch(/deployment "leader-election-webhook" successfully rolled out/);
    expect(res.stdout).toContain('leader-election is installed');

    const deploy = await client.get<Raw>(
      `/apis/apps/v1/namespaces/${SYSTEM_NS}/deployments/leader-election-webhook`,
    );
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.template.spec.containers[0].image).toBe('ghcr.io/leader-election/webhook:dev');
    // Server-side apply, with our field manager.
    expect(deploy.metadata.managedFields.map((f: Raw) => f.manager)).toContain('leader-election');
    for (const name of [
      'leader-election-require-agent',
      'leader-election-agent-scope',
      'leader-election-webhook-scope',
    ]) {
      expect(await exists(`${VAP}/${name}`)).toBe(true);
      expect(await exists(`${VAPB}/${name}`)).toBe(true);
    }
    expect(await exists(AGENT_ROLE)).toBe(true);

    const again = await script('deploy.sh', { CERT_MANAGER_NAMESPACE: cmNs, WAIT_TIMEOUT: '60s' });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/serverside-applied|unchanged/);
    const after = await client.get<Raw>(
      `/apis/apps/v1/namespaces/${SYSTEM_NS}/deployments/leader-election-webhook`,
    );
    expect(after.metadata.generation).toBe(deploy.metadata.generation);
  });

  it('undeploy removes admission first and everything else, but keeps the agents’ RBAC while injected pods run', async () => {
    // An elected pod and the RoleBinding the reconciler made for it.
    await client.request('POST', `/api/v1/namespaces/${appNs}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'elected-0',
          labels: { 'leader-election/injected': 'true' },
          annotations: { 'leader-election/lease-name': 'elected' },
        },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
      },
    });
    await client.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/rolebindings`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'leader-election-agent', labels: MANAGED },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'leader-election-agent',
        },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: appNs }],
      },
    });
    await waitUntil('the elected pod Running', 30_000, async () => {
      const p = await client.get<Raw>(`/api/v1/namespaces/${appNs}/pods/elected-0`);
      return p.status?.phase === 'Running';
    });

    const res = await script('undeploy.sh', { WAIT_TIMEOUT: '120s' });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const out = res.stdout;
    // Admission goes first: the webhook configuration and the policy bindings before anything else.
    const first = (s: string) => {
      const i = out.indexOf(s);
      expect(i, `${s} in the output:\n${out}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const mwc = first('mutatingwebhookconfiguration.admissionregistration.k8s.io "leader-election" deleted');
    const binding = first(
      'validatingadmissionpolicybinding.admissionregistration.k8s.io "leader-election-require-agent" deleted',
    );
    const namespace = first(`namespace "${SYSTEM_NS}" deleted`);
    expect(mwc).toBeLessThan(binding);
    expect(binding).toBeLessThan(namespace);
    // At least this test's binding (the shared plane may hold others' from earlier test files).
    expect(out).toMatch(/kept ClusterRole leader-election-agent and [1-9]\d* RoleBinding\(s\)/);

    expect(await exists(MWC)).toBe(false);
    for (const name of [
      'leader-election-require-agent',
      'leader-election-agent-scope',
      'leader-election-webhook-scope',
    ]) {
      expect(await exists(`${VAP}/${name}`)).toBe(false);
      expect(await exists(`${VAPB}/${name}`)).toBe(false);
    }
    expect(await exists(`/api/v1/namespaces/${SYSTEM_NS}`)).toBe(false);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/clusterroles/leader-election-webhook')).toBe(
      false,
    );
    // Kept: the agent's role and binding, and the workload itself.
    expect(await exists(AGENT_ROLE)).toBe(true);
    expect(
      await exists(
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/rolebindings/leader-election-agent`,
      ),
    ).toBe(true);
    const pod = await client.get<Raw>(`/api/v1/namespaces/${appNs}/pods/elected-0`);
    expect(pod.status.phase).toBe('Running');
    expect(pod.metadata.deletionTimestamp).toBeUndefined();

    // Idempotent.
    const again = await script('undeploy.sh');
    expect(again.code, again.stderr).toBe(0);
    expect(await exists(AGENT_ROLE)).toBe(true);
  });

  it('undeploy removes the agents’ RBAC once no injected pod is left', async () => {
    await client.request('DELETE', `/api/v1/namespaces/${appNs}/pods/elected-0`);
    await waitUntil(
      'the elected pod gone',
      60_000,
      async () => !(await exists(`/api/v1/namespaces/${appNs}/pods/elected-0`)),
    );
    // Injected pods of other test files on this shared plane would (rightly) keep the RBAC.
    const others = await client.get<Raw>('/api/v1/pods', {
      query: {
        labelSelector: 'leader-election/injected=true',
        fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
      },
    });
    const res = await script('undeploy.sh', others.items.length ? { REMOVE_AGENT_RBAC: '1' } : {});
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(res.stdout).toContain('clusterrole.rbac.authorization.k8s.io "leader-election-agent" deleted');
    expect(await exists(AGENT_ROLE)).toBe(false);
    expect(
      await exists(
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/rolebindings/leader-election-agent`,
      ),
    ).toBe(false);
  });

  // Where cert-manager cannot be installed (no registry: kind offline), the kind harness
  // issues the webhook's Secret and injects the caBundle itself (local-cluster/kind/
  // cert-manager-stand-in.sh) and deploys with CERT_MANAGER=stand-in.
  it('with CERT_MANAGER=stand-in, deploy needs no running cert-manager; the stand-in issues the Secret and injects the CA', async () => {
    const standIn = (cmd: string) =>
      run('bash', [join(repoRoot, 'local-cluster/kind/cert-manager-stand-in.sh'), cmd], {
        env: { ...process.env, KUBECONFIG: kubeconfig, KUBECTL: kubectlPath() },
        timeoutMs: 120_000,
      });
    const issued = await standIn('issue');
    expect(issued.code, issued.stderr).toBe(0);
    const secret = await client.get<Raw>(
      `/api/v1/namespaces/${SYSTEM_NS}/secrets/leader-election-webhook-tls`,
    );
    expect(secret.type).toBe('kubernetes.io/tls');
    const pem = (key: string) => Buffer.from(secret.data[key], 'base64').toString();
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(pem('tls.crt'));
    const ca = new X509Certificate(pem('ca.crt'));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain(`DNS:leader-election-webhook.${SYSTEM_NS}.svc`);
    expect(ca.ca).toBe(true);
    // Issuing again keeps the Secret (a restart of the harness must not rotate the CA under a running webhook).
    expect((await standIn('issue')).stderr).toContain('exists: kept');

    // No cert-manager Deployment in its namespace: refused without the stand-in mode...
    const refused = await script('deploy.sh', { CERT_MANAGER_NAMESPACE: 'no-cert-manager-here' });
    expect(refused.code).toBe(1);
    // ...and installed with it, without waiting for a caBundle nobody would inject.
    const res = await script('deploy.sh', {
      CERT_MANAGER_NAMESPACE: 'no-cert-manager-here',
      CERT_MANAGER: 'stand-in',
      WAIT_TIMEOUT: '120s',
    });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(res.stdout).toContain('CERT_MANAGER=stand-in');
    expect(res.stdout).toContain('the caller injects the caBundle');

    const injected = await standIn('inject');
    expect(injected.code, injected.stderr).toBe(0);
    const mwc = await client.get<Raw>(MWC);
    expect(mwc.webhooks.length).toBeGreaterThan(0);
    for (const w of mwc.webhooks) expect(w.clientConfig.caBundle).toBe(secret.data['ca.crt']);

    const bad = await script('deploy.sh', { CERT_MANAGER: 'maybe' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('CERT_MANAGER=maybe must be required or stand-in');
  });
});
