// manifests/ as `kubectl apply -k manifests/` sends it, checked by the real API
// server: every object is accepted by a server-side-apply dry run (schema,
// defaulting, validation, admission), with cert-manager's CRDs installed from its
// Go module so Issuers and Certificates are validated too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { adminClient } from '../helpers/kube.ts';
import {
  BASE_DIR,
  applyDocs,
  installCertManagerCrds,
  objectId,
  renderedManifests,
  type KubeObject,
} from '../helpers/manifests.ts';

const SYSTEM_NS = 'leader-election-system';

interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path?: string; port?: unknown; scheme?: string } };
  livenessProbe?: { httpGet?: { path?: string; port?: unknown; scheme?: string } };
  volumeMounts?: { name: string; mountPath: string }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

interface Webhook {
  name: string;
  failurePolicy?: string;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: string;
  clientConfig: { service?: { name: string; namespace: string; path?: string; port?: number } };
  namespaceSelector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  matchConditions?: { name: string; expression: string }[];
  rules?: { apiGroups: string[]; resources: string[]; operations: string[] }[];
}

function find(docs: KubeObject[], kind: string, name: string): KubeObject {
  const o = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not in the rendered manifests`);
  return o;
}

function webhookContainer(deploy: KubeObject): Container {
  const spec = deploy.spec as { template: { spec: { containers: Container[] } } };
  const c = spec.template.spec.containers.find((x) => x.name === 'webhook');
  if (!c) throw new Error('no webhook container');
  return c;
}

describe('manifests', () => {
  const kubeconfig = inject('kubeconfig');
  let client: KubeClient;
  let docs: KubeObject[];

  beforeAll(async () => {
    client = adminClient();
    docs = await renderedManifests();
    await installCertManagerCrds(client, kubeconfig);
    // A dry run stores nothing, so namespaced objects need their namespace for real.
    await applyDocs(
      docs.filter((d) => d.kind === 'Namespace'),
      { kubeconfig },
    );
  });

  afterAll(() => client?.close());

  it('are accepted, every object, by a server-side apply dry run', async () => {
    const accepted = await applyDocs(docs, { kubeconfig, dryRun: true });
    expect(accepted.map(objectId).sort()).toEqual(docs.map(objectId).sort());
    expect(docs.map((d) => d.kind)).toEqual(
      expect.arrayContaining([
        'Namespace',
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'Deployment',
        'PodDisruptionBudget',
        'Service',
        'MutatingWebhookConfiguration',
        'Issuer',
        'Certificate',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ]),
    );
  });

  it('set the images once, through kustomize `images:` (the agent image reaches --agent-image)', async () => {
    const c = webhookContainer(find(docs, 'Deployment', 'leader-election-webhook'));
    expect(c.image).toBe('ghcr.io/leader-election/webhook:0.1.0');
    expect(c.args).toContain('--agent-image=$(AGENT_IMAGE)');
    expect(c.env?.find((e) => e.name === 'AGENT_IMAGE')?.value).toBe('ghcr.io/leader-election/agent:0.1.0');

    // An overlay changes both with `images:` alone.
    const dir = mkdtempSync(join(tmpdir(), 'le-overlay-'));
    try {
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'resources:',
          `  - ${relative(dir, BASE_DIR)}`,
          'images:',
          '  - name: ghcr.io/leader-election/webhook',
          '    newTag: 9.9.9',
          '  - name: ghcr.io/leader-election/agent',
          '    newName: registry.example.com/le/agent',
          '    newTag: 9.9.9',
          '',
        ].join('\n'),
      );
      const c2 = webhookContainer(
        find(await renderedManifests(dir), 'Deployment', 'leader-election-webhook'),
      );
      expect(c2.image).toBe('ghcr.io/leader-election/webhook:9.9.9');
      expect(c2.env?.find((e) => e.name === 'AGENT_IMAGE')?.value).toBe(
        'registry.example.com/le/agent:9.9.9',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run the webhook as the design says: restricted, probed on its health port, certificate at /tls', () => {
    const deploy = find(docs, 'Deployment', 'leader-election-webhook');
    const spec = deploy.spec as {
      replicas: number;
      template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } };
    };
    expect(spec.replicas).toBe(2);
    const c = webhookContainer(deploy);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // The plain-HTTP health port: /readyz answers 503 with a reason until a certificate is loaded.
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(c.ports).toContainEqual({ name: 'health', containerPort: 8081, protocol: 'TCP' });
    expect(c.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
    const tlsMount = c.volumeMounts?.find((m) => m.mountPath === '/tls');
    const secret = spec.template.spec.volumes.find((v) => v.name === tlsMount?.name)?.secret?.secretName;
    const cert = find(docs, 'Certificate', 'leader-election-webhook').spec as {
      secretName: string;
      dnsNames: string[];
    };
    expect(secret).toBe(cert.secretName);
    expect(cert.dnsNames).toContain(`leader-election-webhook.${SYSTEM_NS}.svc`);
    expect(
      (find(docs, 'PodDisruptionBudget', 'leader-election-webhook').spec as { minAvailable: number })
        .minAvailable,
    ).toBe(1);
  });

  it('send only opted-in objects to the webhook, fail closed, and never our namespace or kube-system', () => {
    const mwc = find(docs, 'MutatingWebhookConfiguration', 'leader-election');
    expect(mwc.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(
      `${SYSTEM_NS}/leader-election-webhook`,
    );
    const hooks = mwc.webhooks as Webhook[];
    expect(hooks.map((h) => h.clientConfig.service?.path)).toEqual([
      '/mutate',
      '/mutate-namespace',
      '/mutate',
    ]);
    for (const h of hooks) {
      expect(h).toMatchObject({
        failurePolicy: 'Fail',
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
      });
      expect(h.clientConfig.service).toMatchObject({
        name: 'leader-election-webhook',
        namespace: SYSTEM_NS,
        port: 443,
      });
      expect(h.namespaceSelector?.matchExpressions).toContainEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [SYSTEM_NS, 'kube-system'],
      });
      expect(h.matchConditions?.length).toBeGreaterThan(0);
    }
    // One call per pod: injection needs nothing from later admission steps.
    expect(hooks[0]?.reinvocationPolicy).toBe('Never');
    expect(hooks[1]?.reinvocationPolicy).toBe('Never');
    expect(hooks[2]?.rules?.[0]).toMatchObject({
      apiGroups: ['apps'],
      resources: ['deployments', 'statefulsets'],
      operations: ['CREATE', 'UPDATE'],
    });
  });

  it('give the webhook no escalation: bind only on the agent ClusterRole, no role writes', () => {
    const role = find(docs, 'ClusterRole', 'leader-election-webhook');
    const rules = role.rules as {
      apiGroups: string[];
      resources: string[];
      verbs: string[];
      resourceNames?: string[];
    }[];
    const bind = rules.filter((r) => r.verbs.includes('bind') || r.verbs.includes('escalate'));
    expect(bind).toEqual([
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['clusterroles'],
        verbs: ['bind'],
        resourceNames: ['leader-election-agent'],
      },
    ]);
    for (const r of rules) {
      expect(r.verbs).not.toContain('*');
      expect(r.resources).not.toContain('*');
      if (r.resources.some((x) => x === 'roles' || x === 'clusterroles')) expect(r.verbs).toEqual(['bind']);
    }
  });
});
