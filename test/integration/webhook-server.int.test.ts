// The webhook server behind a real kube-apiserver: served on 127.0.0.1 with a certificate
// from the plane's CA, registered with a MutatingWebhookConfiguration by URL + caBundle
// (manifests/base's matchConditions, read from the file, and its selectors, scoped to this
// test's namespaces),
// then driven only through the API server.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ANNOTATION, CONDITION_LEADER, LABEL_INJECTED } from '../../common/contract/keys.ts';
import { ApiError, PATCH, type KubeClient } from '../../common/kube/kube-client.ts';
import { createLogger } from '../../common/logger.ts';
import { Registry } from '../../common/metrics.ts';
import { CertReloader } from '../../webhook/tls/cert-reloader.ts';
import { buildWebhookServer, closeGracefully, type WebhookApp } from '../../webhook/admission/server.ts';
import { WebhookHealth } from '../../webhook/admission/health.ts';
import { issueCert, type CertFiles } from '../../local-cluster/index.ts';
import { adminClient, createNamespace, deleteNamespace, waitUntil } from '../helpers/kube.ts';
import { baseFile } from '../helpers/manifests.ts';
import fc from 'fast-check';
import { annotations as annotationSets } from '../helpers/annotation-sets.ts';
import { parseElectionConfig } from '../../common/contract/election-config.ts';

/** The matchConditions of a webhook of manifests/base/mutating-webhook.yaml, as the product ships them. */
function shippedConditions(webhook: string): unknown {
  const [mwc] = baseFile('mutating-webhook.yaml') as unknown as {
    webhooks: { name: string; matchConditions: unknown }[];
  }[];
  const found = mwc?.webhooks.find((w) => w.name === webhook);
  if (!found) throw new Error(`manifests/base/mutating-webhook.yaml has no webhook ${webhook}`);
  return found.matchConditions;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
type Raw = any;

const AGENT_IMAGE = 'registry.example/leader-election-agent:test';
const AGENT = 'leader-election-agent';
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

interface Seen {
  path: string;
  kind: string;
  name: string;
  operation: string;
  dryRun: boolean;
}

function podBody(name: string, annotations: Record<string, string> = {}): Raw {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
  };
}

function agentOf(pod: Raw): Raw {
  return (pod.spec.initContainers ?? []).find((c: Raw) => c.name === AGENT);
}

function envOf(container: Raw, name: string): string | undefined {
  return container?.env?.find((e: Raw) => e.name === name)?.value;
}

const OPTED_IN = { [ANNOTATION.enabled]: 'true', [ANNOTATION.leaseName]: 'group' };

describe('webhook server behind kube-apiserver', () => {
  let client: KubeClient;
  let ns: string;
  let nsOpt: string;
  let dir: string;
  let certDir: string;
  let reloader: CertReloader;
  let health: WebhookHealth;
  let app: WebhookApp;
  let port = 0;
  let mwcName = '';
  let seq = 0;
  const seen: Seen[] = [];
  const ca = (): CertFiles => ({ cert: inject('caCert'), key: inject('caKey') });
  const uniq = (prefix: string) => `${prefix}-${++seq}-${Math.random().toString(36).slice(2, 6)}`;

  /** Puts a serving certificate into certDir the way the kubelet projects a Secret: a ..data symlink swap. */
  function installCert(version: number): string {
    const pair = issueCert(dir, ca(), `serving-${version}`, {
      cn: 'leader-election-webhook',
      sans: ['IP:127.0.0.1'],
    });
    const target = join(certDir, `..2026_01_0${version}_00_00_00.00000000${version}`);
    mkdirSync(target);
    copyFileSync(pair.cert, join(target, 'tls.crt'));
    copyFileSync(pair.key, join(target, 'tls.key'));
    symlinkSync(target, join(certDir, '..data_tmp'));
    renameSync(join(certDir, '..data_tmp'), join(certDir, '..data'));
    return new X509Certificate(readFileSync(pair.cert)).serialNumber;
  }

  function servedSerial(): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port, ca: readFileSync(inject('caCert')) }, () => {
        resolve(sock.getPeerX509Certificate()?.serialNumber ?? '');
        sock.end();
      });
      sock.once('error', reject);
    });
  }

  function httpsGet(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port, path, method: 'GET', ca: readFileSync(inject('caCert')) },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.once('error', reject);
      req.end();
    });
  }

  const createPod = (namespace: string, body: Raw, dryRun = false) =>
    client.request<Raw>('POST', `/api/v1/namespaces/${namespace}/pods`, {
      body,
      ...(dryRun ? { query: { dryRun: 'All' } } : {}),
    });

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the API server to refuse');
      },
      (err: unknown) => {
        if (!(err instanceof ApiError)) throw err;
        return err;
      },
    );

  beforeAll(async () => {
    client = adminClient();
    ns = await createNamespace(client, 'webhook');
    nsOpt = await createNamespace(client, 'webhook-opt', { 'leader-election/enabled': 'true' });
    dir = mkdtempSync(join(tmpdir(), 'le-webhook-int-'));
    certDir = join(dir, 'tls');
    mkdirSync(certDir);
    installCert(1);
    symlinkSync(join('..data', 'tls.crt'), join(certDir, 'tls.crt'));
    symlinkSync(join('..data', 'tls.key'), join(certDir, 'tls.key'));

    const log = createLogger({ component: 'webhook-int-test' }, process.env.TEST_LOG_LEVEL ?? 'silent');
    reloader = new CertReloader({
      certFile: join(certDir, 'tls.crt'),
      keyFile: join(certDir, 'tls.key'),
      log,
      secureOptions: { minVersion: 'TLSv1.2' },
    });
    await reloader.start();
    health = new WebhookHealth(() => reloader.ready());
    app = buildWebhookServer({
      config: { agentImage: AGENT_IMAGE },
      log,
      certs: reloader,
      health,
      registry: new Registry(),
    });
    // Record what reaches the server, to show what the API server keeps away from it. (An
    // injected pod is usually seen twice: with reinvocationPolicy IfNeeded the API server calls
    // again after a mutation, and the second call finds the marker and changes nothing.)
    app.addHook('preHandler', async (req) => {
      const r = (req.body as Raw)?.request;
      const meta = r?.object?.metadata ?? {};
      seen.push({
        path: req.routeOptions.url ?? req.url,
        kind: r?.kind?.kind,
        name: meta.name ?? meta.generateName ?? '',
        operation: r?.operation,
        dryRun: r?.dryRun === true,
      });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;

    mwcName = `leader-election-test-${ns}`;
    const caBundle = Buffer.from(readFileSync(inject('caCert'))).toString('base64');
    const common = {
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      timeoutSeconds: 5,
      matchPolicy: 'Equivalent',
    };
    const podRule = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] };
    const ours = { key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns, nsOpt] };
    await client.request('POST', MWC, {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: mwcName },
        webhooks: [
          {
            ...common,
            name: 'pods.leader-election.test',
            clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle },
            rules: [podRule],
            namespaceSelector: { matchExpressions: [ours] },
            matchConditions: shippedConditions('pods.leader-election.io'),
            reinvocationPolicy: 'IfNeeded',
          },
          {
            ...common,
            name: 'namespace-pods.leader-election.test',
            clientConfig: { url: `https://127.0.0.1:${port}/mutate-namespace`, caBundle },
            rules: [podRule],
            namespaceSelector: {
              matchExpressions: [ours, { key: 'leader-election/enabled', operator: 'In', values: ['true'] }],
            },
            matchConditions: shippedConditions('namespace-pods.leader-election.io'),
            reinvocationPolicy: 'IfNeeded',
          },
          {
            ...common,
            name: 'workloads.leader-election.test',
            clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle },
            rules: [
              {
                apiGroups: ['apps'],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['deployments', 'statefulsets'],
              },
            ],
            namespaceSelector: { matchExpressions: [ours] },
            matchConditions: shippedConditions('workloads.leader-election.io'),
          },
        ],
      },
    });
    // Webhook configurations reach the API server's admission chain asynchronously.
    await waitUntil('the webhook to be called', 60_000, async () => {
      const pod = await createPod(ns, podBody(uniq('probe'), OPTED_IN), true);
      return agentOf(pod) !== undefined;
    });
  });

  afterAll(async () => {
    if (mwcName) await client.request('DELETE', `${MWC}/${mwcName}`).catch(() => undefined);
    await app?.close();
    reloader?.stop();
    for (const n of [ns, nsOpt]) if (n) await deleteNamespace(client, n);
    client?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is ready once the certificate is loaded, over TLS', async () => {
    expect(await httpsGet('/readyz')).toMatchObject({ status: 200 });
    expect(await httpsGet('/healthz')).toMatchObject({ status: 200 });
  });

  it('creates an opted-in pod injected: agent sidecar, readiness gate, marker', async () => {
    const name = uniq('elected');
    const created = await createPod(ns, podBody(name, OPTED_IN));
    const pod = await client.get<Raw>(`/api/v1/namespaces/${ns}/pods/${name}`);
    for (const p of [created, pod]) {
      const agent = agentOf(p);
      expect(agent).toBeDefined();
      expect(agent.image).toBe(AGENT_IMAGE);
      expect(agent.restartPolicy).toBe('Always');
      expect(envOf(agent, 'LEASE_NAME')).toBe('group');
      expect(p.spec.readinessGates).toEqual([{ conditionType: CONDITION_LEADER }]);
      expect(p.metadata.annotations[ANNOTATION.status]).toBe('injected');
      expect(p.metadata.labels[LABEL_INJECTED]).toBe('true');
      // The app container is as it was.
      expect(p.spec.containers.map((c: Raw) => c.name)).toEqual(['app']);
    }
    expect(seen.some((s) => s.name === name && s.path === '/mutate' && !s.dryRun)).toBe(true);
  });

  it('refuses an invalid annotation with the key, the value and the rule in the API error', async () => {
    const name = uniq('invalid');
    const err = await refusal(
      createPod(ns, podBody(name, { ...OPTED_IN, [ANNOTATION.leaseDuration]: '5s' })),
    );
    expect(err.status).toBe(403);
    expect(err.message).toContain('denied the request');
    expect(err.message).toContain(ANNOTATION.leaseDuration);
    expect(err.message).toContain('"5s"');
    expect(err.message).toContain('rule: lease-duration > renew-deadline > 1.2 × retry-period');
    await expect(client.get(`/api/v1/namespaces/${ns}/pods/${name}`)).rejects.toMatchObject({ status: 404 });
  });

  // Issue 14: "yes", "TRUE", "1" or "" were admitted unchanged, without an agent and without a
  // word (the matchConditions sent only "true" to the webhook), here and in an opted-in namespace.
  it('refuses an enabled value other than "true" or "false", naming the key and the rule', async () => {
    for (const [namespace, value] of [
      [ns, 'yes'],
      [ns, 'TRUE'],
      [ns, '1'],
      [ns, ''],
      [nsOpt, 'yes'],
    ] as const) {
      const name = uniq('enabled-value');
      const err = await refusal(
        createPod(namespace, podBody(name, { ...OPTED_IN, [ANNOTATION.enabled]: value })),
      );
      expect(err.status, `enabled: "${value}" in ${namespace}`).toBe(403);
      expect(err.message).toContain(`${ANNOTATION.enabled}: "${value}" must be "true" or "false"`);
      // Seen once: the pod is sent to one webhook only, even in an opted-in namespace.
      expect(seen.filter((s) => s.name === name && !s.dryRun)).toHaveLength(1);
    }
  });

  it('refuses a Deployment whose pod template opts in with a bad value, and warns on a valid one', async () => {
    const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const body = (name: string, annotations: Record<string, string>) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name }, annotations },
          spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
        },
      },
    });
    const bad = uniq('tpl-bad');
    const err = await refusal(
      client.request('POST', path, { body: body(bad, { [ANNOTATION.enabled]: 'yes' }) }),
    );
    expect(err.status).toBe(403);
    expect(err.message).toContain(
      `Deployment ${bad}: ${ANNOTATION.enabled}: "yes" must be "true" or "false"`,
    );
    // A valid template opt-in is admitted unchanged, with the warnings a person needs.
    const good = uniq('tpl-good');
    const warnings: string[] = [];
    const made = await client.request<Raw>('POST', path, {
      body: body(good, { [ANNOTATION.enabled]: 'true', [ANNOTATION.leaseName]: 'tpl' }),
      onWarning: (w: string) => warnings.push(w),
    });
    expect(made.spec.template.metadata.annotations).toEqual({
      [ANNOTATION.enabled]: 'true',
      [ANNOTATION.leaseName]: 'tpl',
    });
    expect(warnings.join('\n')).toMatch(/maxUnavailable/);
  });

  it('refuses, naming what the product needs, a Windows pod, a Job-like pod in container mode, one with no room left for its annotations, and pod-level requests without room for the agent', async () => {
    const cases: [string, Raw, string][] = [
      ['windows', { os: { name: 'windows' } }, 'the agent is a Linux container'],
      ['job', { restartPolicy: 'Never' }, 'the pod could never complete'],
      ['big', {}, "would pass the API server's limit of 262144 bytes"],
      [
        'pod-resources',
        { resources: { requests: { memory: '64Mi' } } },
        'with the leader-election agent (requests memory 48Mi) the containers request 112Mi: raise it to at least 112Mi',
      ],
    ];
    for (const [what, spec, message] of cases) {
      const name = uniq(what);
      const annotations: Record<string, string> = { ...OPTED_IN };
      if (what === 'job') annotations[ANNOTATION.agentMode] = 'container';
      if (what === 'big') annotations['example.com/blob'] = 'x'.repeat(256 * 1024 - 400);
      const body = podBody(name, annotations);
      Object.assign(body.spec, spec);
      if (what === 'pod-resources') body.spec.containers[0].resources = { requests: { memory: '64Mi' } };
      const err = await refusal(createPod(ns, body));
      expect(err.status, what).toBe(403);
      expect(err.message, what).toContain(message);
    }
    // The value the message names is the one the API server's own validation accepts.
    const fits = podBody(uniq('pod-resources-fit'), OPTED_IN);
    fits.spec.resources = { requests: { memory: '112Mi' } };
    fits.spec.containers[0].resources = { requests: { memory: '64Mi' } };
    expect(agentOf(await createPod(ns, fits, true))).toBeDefined();
  });

  // Issue 14, item 2: for a sample of the property test's annotation sets, the pod the webhook
  // admits also passes the API server's own validation of the injected pod (server-side dry run),
  // and a set the parser refuses is refused by the webhook with the parser's message.
  it("a sample of the property test's annotation sets: admitted pods pass the API server's validation, refused ones are denied", async () => {
    const sample = fc.sample(annotationSets, { numRuns: 120, seed: 20261126 });
    const seen = { admitted: 0, refused: 0 };
    for (const [i, a] of sample.entries()) {
      const name = uniq(`sample-${i}`);
      const parsed = parseElectionConfig(a);
      const created = createPod(ns, podBody(name, { ...OPTED_IN, ...a }), true);
      if (parsed.ok) {
        seen.admitted++;
        const pod = await created.catch((err: Error) => {
          throw new Error(
            `${JSON.stringify(a)}: admitted by the parser, refused by the API server: ${err.message}`,
          );
        });
        expect(agentOf(pod), JSON.stringify(a)).toBeDefined();
      } else {
        seen.refused++;
        const err = await refusal(created);
        expect(err.status, JSON.stringify(a)).toBe(403);
        expect(err.message, JSON.stringify(a)).toContain(parsed.errors[0]!);
      }
    }
    expect(seen.admitted, JSON.stringify(seen)).toBeGreaterThan(20);
    expect(seen.refused, JSON.stringify(seen)).toBeGreaterThan(20);
  });

  it('never sees a pod without the annotation (or one opting out): the API server keeps it away', async () => {
    const plain = uniq('plain');
    const optedOut = uniq('opted-out');
    const a = await createPod(ns, podBody(plain, { 'example.com/other': 'x' }));
    const b = await createPod(ns, podBody(optedOut, { [ANNOTATION.enabled]: 'false' }));
    for (const p of [a, b]) {
      expect(agentOf(p)).toBeUndefined();
      expect(p.spec.readinessGates).toBeUndefined();
    }
    expect(seen.filter((s) => s.name === plain || s.name === optedOut)).toEqual([]);
    // ...while an opted-in pod created right after is seen: the webhook was live meanwhile.
    const control = uniq('control');
    await createPod(ns, podBody(control, OPTED_IN), true);
    expect(seen.some((s) => s.name === control)).toBe(true);
  });

  it('answers a dryRun create exactly as a real one', async () => {
    const dry = uniq('dry');
    const real = uniq('real');
    const dryPod = await createPod(ns, podBody(dry, OPTED_IN), true);
    const realPod = await createPod(ns, podBody(real, OPTED_IN));
    expect(seen.find((s) => s.name === dry)?.dryRun).toBe(true);
    // The service-account volume's name is random per pod; everything else is the same.
    const agent = (p: Raw) => ({ ...agentOf(p), volumeMounts: undefined });
    expect(agentOf(dryPod)).toBeDefined();
    expect(agent(dryPod)).toEqual(agent(realPod));
    expect(dryPod.spec.readinessGates).toEqual(realPod.spec.readinessGates);
    expect(dryPod.metadata.annotations).toEqual(realPod.metadata.annotations);
    await expect(client.get(`/api/v1/namespaces/${ns}/pods/${dry}`)).rejects.toMatchObject({ status: 404 });
  });

  it('rolls a Deployment’s pod template when the Deployment is annotated, and back when the annotation goes', async () => {
    const name = uniq('web');
    const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
    await client.request('POST', path, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    // Not opted in: the API server does not call us for it.
    expect(seen.filter((s) => s.kind === 'Deployment' && s.name === name)).toEqual([]);

    const annotated = await client.request<Raw>('PATCH', `${path}/${name}`, {
      contentType: PATCH.merge,
      body: { metadata: { annotations: { [ANNOTATION.enabled]: 'true' } } },
    });
    // Seen on the UPDATE (more than once if the API server retried the patch on a conflict).
    const calls = seen.filter((s) => s.kind === 'Deployment' && s.name === name).map((s) => s.operation);
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls)).toEqual(new Set(['UPDATE']));
    const stored = await client.get<Raw>(`${path}/${name}`);
    for (const d of [annotated, stored]) {
      expect(d.spec.template.metadata.annotations).toMatchObject({
        [ANNOTATION.enabled]: 'true',
        [ANNOTATION.workloadKeys]: 'enabled',
      });
    }
    // The new template rolls out: the ReplicaSet's pod is injected, its Lease named after the Deployment.
    const pod = await waitUntil('an injected pod of the new revision', 60_000, async () => {
      const list = await client.get<Raw>(`/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: `app=${name}` },
      });
      return list.items.find((p: Raw) => p.metadata.annotations?.[ANNOTATION.status] === 'injected');
    });
    expect(envOf(agentOf(pod), 'LEASE_NAME')).toBe(name);

    // Removing the opt-in reaches the webhook too (the template carries workload-keys), and the copied key goes.
    const removed = await client.request<Raw>('PATCH', `${path}/${name}`, {
      contentType: PATCH.merge,
      body: { metadata: { annotations: { [ANNOTATION.enabled]: null } } },
    });
    expect(removed.spec.template.metadata.annotations?.[ANNOTATION.enabled]).toBeUndefined();
    expect(removed.spec.template.metadata.annotations?.[ANNOTATION.workloadKeys]).toBeUndefined();
  });

  it('injects the pods of a namespace labelled leader-election/enabled=true', async () => {
    const name = uniq('ns-member');
    const pod = await createPod(nsOpt, podBody(name, { [ANNOTATION.leaseName]: 'members' }));
    expect(envOf(agentOf(pod), 'LEASE_NAME')).toBe('members');
    const paths = seen.filter((s) => s.name === name).map((s) => s.path);
    expect(paths.length).toBeGreaterThan(0);
    expect(new Set(paths)).toEqual(new Set(['/mutate-namespace']));
    // A pod of that namespace that opts out is left alone, without a call.
    const out = uniq('ns-out');
    const outPod = await createPod(nsOpt, podBody(out, { [ANNOTATION.enabled]: 'false' }));
    expect(agentOf(outPod)).toBeUndefined();
    expect(seen.filter((s) => s.name === out)).toEqual([]);
  });

  it('serves a certificate rotated on disk without a restart', async () => {
    const before = await servedSerial();
    expect(before).toBe(reloader.current()?.serial);
    const next = installCert(2);
    expect(next).not.toBe(before);
    await waitUntil(
      'the rotated certificate to be served',
      30_000,
      async () => (await servedSerial()) === next,
    );
    // The API server still trusts it (same CA) and admission goes on.
    const pod = await createPod(ns, podBody(uniq('after-rotation'), OPTED_IN), true);
    expect(agentOf(pod)).toBeDefined();
  });

  it('with the webhook stopped, refuses an opted-in pod and admits an unrelated one', async () => {
    const closing = closeGracefully(app, health, 200);
    // Not ready first, while still serving.
    expect(health.readiness()).toEqual({ ok: false, reason: 'shutting down' });
    await closing;
    const err = await refusal(createPod(ns, podBody(uniq('orphan'), OPTED_IN)));
    expect(err.message).toMatch(/failed calling webhook "pods\.leader-election\.test"/);
    const unrelated = await createPod(ns, podBody(uniq('unrelated')));
    expect(agentOf(unrelated)).toBeUndefined();
    expect(unrelated.metadata.name).toMatch(/^unrelated-/);
  });
});
