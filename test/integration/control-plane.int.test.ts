// The control plane is real: optimistic concurrency, RBAC, admission webhooks
// and ValidatingAdmissionPolicy are enforced by kube-apiserver itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiError, KubeClient } from '../../common/kube/kube-client.ts';
import { buildBinaries, issueCert } from '../../local-cluster/index.ts';
import {
  adminClient,
  adminConnection,
  createNamespace,
  deleteNamespace,
  waitUntil,
} from '../helpers/kube.ts';

describe('control plane', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = adminClient();
    ns = await createNamespace(client, 'plane');
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
    client?.close();
  });

  it('reports its real version to kubectl', () => {
    const out = execFileSync(
      join(buildBinaries(), 'kubectl'),
      ['--kubeconfig', inject('kubeconfig'), 'version', '-o', 'json'],
      { encoding: 'utf8' },
    );
    const v = JSON.parse(out) as {
      serverVersion: { gitVersion: string; minor: string };
      clientVersion: { gitVersion: string };
    };
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.36\.\d+$/);
    expect(v.serverVersion.minor).toBe('36');
    expect(v.clientVersion.gitVersion).toBe(v.serverVersion.gitVersion);
  });

  it('answers a Lease update with a stale resourceVersion with 409 Conflict', async () => {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    const created = await client.request<{ metadata: { resourceVersion: string } }>('POST', path, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l' },
        spec: { holderIdentity: 'a' },
      },
    });
    const stale = created.metadata.resourceVersion;
    await client.request('PUT', `${path}/l`, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l', resourceVersion: stale },
        spec: { holderIdentity: 'b' },
      },
    });
    const err = await client
      .request('PUT', `${path}/l`, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'l', resourceVersion: stale },
          spec: { holderIdentity: 'c' },
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).reason).toBe('Conflict');
  });

  it('enforces RBAC: a service-account token without permissions gets 403', async () => {
    const tr = await client.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/default/token`,
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 600 },
        },
      },
    );
    const conn = adminConnection();
    const sa = new KubeClient({ server: conn.server, ca: conn.ca, token: () => tr.status.token });
    try {
      const err = await sa
        .get(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`)
        .catch((e: unknown) => e);
      expect((err as ApiError).status).toBe(403);
      expect((err as ApiError).reason).toBe('Forbidden');
      // Authenticated all the same: public info is allowed.
      await expect(sa.get('/version')).resolves.toBeDefined();
    } finally {
      sa.close();
    }
  });

  describe('admission', () => {
    let server: Server;
    let calls: string[] = [];
    let dir: string;
    let port = 0;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'le-hook-'));
      const ca = { cert: inject('caCert'), key: inject('caKey') };
      const serving = issueCert(dir, ca, 'hook', { cn: 'hook', sans: ['IP:127.0.0.1', 'DNS:localhost'] });
      server = createServer(
        { cert: readFileSync(serving.cert), key: readFileSync(serving.key) },
        (req, res) => {
          let body = '';
          req.on('data', (c: Buffer) => (body += c.toString()));
          req.on('end', () => {
            const review = JSON.parse(body) as {
              request: { uid: string; object: { metadata: { name?: string; generateName?: string } } };
            };
            calls.push(
              review.request.object.metadata.name ?? review.request.object.metadata.generateName ?? '',
            );
            const patch = Buffer.from(
              JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }]),
            ).toString('base64');
            res.setHeader('content-type', 'application/json');
            res.end(
              JSON.stringify({
                apiVersion: 'admission.k8s.io/v1',
                kind: 'AdmissionReview',
                response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch },
              }),
            );
          });
        },
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const addr = server.address();
      port = typeof addr === 'object' && addr ? addr.port : 0;
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('calls a MutatingWebhookConfiguration registered by URL and caBundle on pod creation', async () => {
      const name = `test-hook-${ns}`;
      calls = [];
      await client.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
        body: {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'MutatingWebhookConfiguration',
          metadata: { name },
          webhooks: [
            {
              name: 'hook.test.local',
              clientConfig: {
                url: `https://127.0.0.1:${port}/mutate`,
                caBundle: Buffer.from(readFileSync(inject('caCert'))).toString('base64'),
              },
              rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
              admissionReviewVersions: ['v1'],
              sideEffects: 'None',
              failurePolicy: 'Fail',
              timeoutSeconds: 5,
            },
          ],
        },
      });
      try {
        // Webhook configurations reach the apiserver's admission chain asynchronously.
        const pod = await waitUntil('a mutated pod', 30_000, async () => {
          const p = await client.request<{ metadata: { name: string; labels?: Record<string, string> } }>(
            'POST',
            `/api/v1/namespaces/${ns}/pods`,
            {
              query: { dryRun: 'All' },
              body: {
                apiVersion: 'v1',
                kind: 'Pod',
                metadata: { generateName: 'hooked-' },
                spec: { containers: [{ name: 'c', image: 'x' }] },
              },
            },
          );
          return p.metadata.labels?.mutated === 'yes' ? p : undefined;
        });
        expect(pod.metadata.labels).toEqual({ mutated: 'yes' });
        expect(calls.length).toBeGreaterThan(0);
      } finally {
        await client.request(
          'DELETE',
          `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`,
        );
      }
    });
  });

  it('enforces a ValidatingAdmissionPolicy', async () => {
    const name = `test-policy-${ns}`;
    await client.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] },
            ],
          },
          validations: [
            {
              expression: "!has(object.data) || !('forbidden' in object.data)",
              message: 'the key forbidden is not allowed',
            },
          ],
        },
      },
    });
    await client.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name },
        spec: {
          policyName: name,
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
        },
      },
    });
    try {
      const err = await waitUntil('the policy to deny', 30_000, async () => {
        const e = await client
          .request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
            query: { dryRun: 'All' },
            body: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { generateName: 'cm-' },
              data: { forbidden: 'x' },
            },
          })
          .then(
            () => undefined,
            (x: unknown) => x,
          );
        return e instanceof ApiError ? e : undefined;
      });
      expect(err.status).toBe(422);
      expect(err.message).toContain('the key forbidden is not allowed');
      // An object the policy allows is admitted.
      await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'allowed' }, data: { fine: 'x' } },
      });
    } finally {
      await client.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${name}`,
      );
      await client.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`,
      );
    }
  });
});
