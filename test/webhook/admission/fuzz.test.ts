// The webhook server against bad input: first its HTTP contract (status codes, bodies,
// probes, metrics, TLS floor), then a seeded fuzz run of thousands of malformed or random
// AdmissionReviews with hostile annotation values. The server must never crash; every
// answer is a valid AdmissionReview with the request's uid (and a patch that applies to
// the object it was computed from) or an HTTP 400/413/415 with a Status body; the heap
// does not grow without bound; Object.prototype is never touched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import v8 from 'node:v8';
import vm from 'node:vm';
import jsonpatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../../common/contract/keys.ts';
import { silentLogger } from '../../../common/logger.ts';
import { Registry } from '../../../common/metrics.ts';
import { RESPONSE_LIMITS } from '../../../webhook/admission/review.ts';
import type { JsonPatchOp } from '../../../webhook/injection/json-patch.ts';
import {
  buildWebhookServer,
  closeGracefully,
  MAX_NAMESPACE_LABELS,
  type WebhookApp,
} from '../../../webhook/admission/server.ts';
import { WebhookHealth } from '../../../webhook/admission/health.ts';
import { createCa, issueCert } from '../../../local-cluster/index.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fuzz documents are raw JSON, built and read freely
type Raw = any;

const CONFIG = { agentImage: 'registry.example/agent:1' };
const JSON_CT = { 'content-type': 'application/json' };

function review(object: unknown, mutate?: (r: Raw) => void): Raw {
  const request: Raw = {
    uid: 'c0ffee00-0000-4000-8000-000000000001',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: { username: 'tester' },
    object,
    dryRun: false,
  };
  mutate?.(request);
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

function optedInPod(annotations: Record<string, unknown> = {}): Raw {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'web-5d8f-',
      labels: { 'pod-template-hash': '5d8f' },
      annotations: { [ANNOTATION.enabled]: 'true', ...annotations },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'u', controller: true },
      ],
    },
    spec: { containers: [{ name: 'app', image: 'nginx' }] },
  };
}

async function post(
  app: WebhookApp,
  body: unknown,
  opts: { url?: string; headers?: Record<string, string> } = {},
) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return app.inject({
    method: 'POST',
    url: opts.url ?? '/mutate',
    headers: opts.headers ?? JSON_CT,
    payload,
  });
}

function decodePatch(response: Raw): JsonPatchOp[] {
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as JsonPatchOp[];
}

describe('webhook server: HTTP contract', () => {
  let app: WebhookApp;
  let registry: Registry;
  let health: WebhookHealth;

  beforeAll(async () => {
    registry = new Registry();
    health = new WebhookHealth(() => true);
    app = buildWebhookServer({ config: CONFIG, log: silentLogger(), registry, health });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('injects an opted-in pod, echoing the uid, with a patch that applies', async () => {
    const pod = optedInPod();
    const res = await post(app, review(pod));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(body.apiVersion).toBe('admission.k8s.io/v1');
    expect(body.kind).toBe('AdmissionReview');
    expect(body.response.uid).toBe('c0ffee00-0000-4000-8000-000000000001');
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe('JSONPatch');
    const out = jsonpatch.applyPatch(pod, decodePatch(body.response), true, false).newDocument;
    expect(out.metadata.annotations[ANNOTATION.status]).toBe('injected');
  });

  it('uses the route for namespace opt-in: /mutate skips a pod without the annotation, /mutate-namespace injects it', async () => {
    const pod = optedInPod();
    delete pod.metadata.annotations;
    const plain = (await post(app, review(pod))).json();
    expect(plain.response).toEqual({ uid: 'c0ffee00-0000-4000-8000-000000000001', allowed: true });
    const ns = (await post(app, review(pod), { url: '/mutate-namespace' })).json();
    expect(ns.response.allowed).toBe(true);
    expect(ns.response.patch).toBeDefined();
  });

  it('denies an invalid annotation with the key, the value and the rule', async () => {
    const res = await post(app, review(optedInPod({ [ANNOTATION.retryPeriod]: '9s' })));
    expect(res.statusCode).toBe(200);
    const r = res.json().response;
    expect(r.allowed).toBe(false);
    expect(r.status.code).toBe(403);
    expect(r.status.message).toContain(`${ANNOTATION.retryPeriod}: "9s"`);
    expect(r.status.message).toContain('rule: lease-duration > renew-deadline > 1.2 × retry-period');
  });

  it('allows an object it does not handle unchanged', async () => {
    const res = await post(
      app,
      review(
        { kind: 'ConfigMap', metadata: { name: 'c' } },
        (r) => (r.resource = { group: '', version: 'v1', resource: 'configmaps' }),
      ),
    );
    expect(res.json().response).toEqual({ uid: 'c0ffee00-0000-4000-8000-000000000001', allowed: true });
  });

  it('answers a malformed AdmissionReview with 400 and a Status naming the problem', async () => {
    for (const [body, message] of [
      [
        { ...review(optedInPod()), apiVersion: 'admission.k8s.io/v1beta1' },
        /apiVersion must be admission\.k8s\.io\/v1/,
      ],
      [review(optedInPod(), (r) => delete r.uid), /request\.uid must be a non-empty string/],
      [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request must be an object/],
      ['[1,2,3]', /the body must be a JSON object/],
      ['{"apiVersion": ', /the body is not valid JSON/],
    ] as const) {
      const res = await post(app, body);
      expect(res.statusCode).toBe(400);
      const status = res.json();
      expect(status).toMatchObject({ kind: 'Status', status: 'Failure', code: 400, reason: 'BadRequest' });
      expect(status.message).toMatch(message);
    }
  });

  it('answers 415 unless the content type is application/json', async () => {
    const body = JSON.stringify(review(optedInPod()));
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/yaml' },
      { 'content-type': 'application/jsonx' },
      {} as Record<string, string>,
    ]) {
      const res = await post(app, body, { headers });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ kind: 'Status', code: 415, reason: 'UnsupportedMediaType' });
    }
    // Without a body and without a content type: still 415, not a crash.
    const empty = await app.inject({ method: 'POST', url: '/mutate' });
    expect(empty.statusCode).toBe(415);
    // Parameters are fine.
    const ok = await post(app, body, { headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.statusCode).toBe(200);
  });

  it('accepts 3 MiB objects and refuses bodies over 4 MiB with 413', async () => {
    const big = optedInPod({ 'example.com/blob': 'x'.repeat(3 * 1024 * 1024) });
    expect((await post(app, review(big))).statusCode).toBe(200);
    const huge = optedInPod({ 'example.com/blob': 'x'.repeat(4 * 1024 * 1024) });
    const res = await post(app, review(huge));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ kind: 'Status', code: 413 });
  });

  it('answers unknown routes with 404 and GET on /mutate with 404', async () => {
    expect((await app.inject({ method: 'GET', url: '/mutate' })).statusCode).toBe(404);
    const res = await post(app, review(optedInPod()), { url: '/validate' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ kind: 'Status', code: 404 });
  });

  it('exports request, injection and latency metrics with sub-millisecond buckets', async () => {
    await post(
      app,
      review(optedInPod(), (r) => (r.namespace = 'metrics-ns')),
    );
    await post(
      app,
      review(optedInPod({ [ANNOTATION.routing]: 'x' }), (r) => (r.namespace = 'metrics-ns')),
    );
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/^webhook_admission_requests_total\{code="200",path="\/mutate"\} \d+$/m);
    expect(text).toMatch(/^webhook_admission_requests_total\{code="400",path="\/mutate"\} \d+$/m);
    expect(text).toMatch(/^webhook_admission_requests_total\{code="415",path="\/mutate"\} \d+$/m);
    expect(text).toContain('webhook_injections_total{namespace="metrics-ns",result="patched"} 1');
    expect(text).toContain('webhook_injections_total{namespace="metrics-ns",result="denied"} 1');
    expect(text).toContain('webhook_admission_duration_seconds_bucket{path="/mutate",le="0.0001"}');
    expect(text).toContain('webhook_admission_duration_seconds_count{path="/mutate"}');
  });

  it('bounds the namespace label cardinality', async () => {
    const reg = new Registry();
    const a = buildWebhookServer({ config: CONFIG, log: silentLogger(), registry: reg });
    for (let i = 0; i < MAX_NAMESPACE_LABELS + 50; i++) {
      await post(
        a,
        review(optedInPod(), (r) => (r.namespace = `ns-${i}`)),
      );
    }
    await post(
      a,
      review(optedInPod(), (r) => (r.namespace = 'Not A Namespace')),
    );
    const text = reg.render();
    const series = text.split('\n').filter((l) => l.startsWith('webhook_injections_total{'));
    expect(series.length).toBeLessThanOrEqual(MAX_NAMESPACE_LABELS + 2);
    expect(text).toContain('webhook_injections_total{namespace="_other",result="patched"} 50');
    expect(text).toContain('webhook_injections_total{namespace="_invalid",result="patched"} 1');
    await a.close();
  });

  it('serves /healthz, and /readyz that fails without a certificate and while shutting down', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    const noCert = buildWebhookServer({ config: CONFIG, log: silentLogger() });
    const r = await noCert.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('no serving certificate loaded yet');
    expect((await noCert.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await noCert.close();

    const h = new WebhookHealth(() => true);
    const s = buildWebhookServer({ config: CONFIG, log: silentLogger(), health: h });
    const closing = closeGracefully(s, h, 50);
    // Not ready at once, while the server still answers during the delay.
    const during = await s.inject({ method: 'GET', url: '/readyz' });
    expect(during.statusCode).toBe(503);
    expect(during.body).toContain('shutting down');
    expect((await post(s, review(optedInPod()))).statusCode).toBe(200);
    await closing;
  });

  it('refuses TLS below 1.2 on a real HTTPS port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'le-fuzz-tls-'));
    try {
      const ca = createCa(dir);
      const pair = issueCert(dir, ca, 'tls', { cn: 'webhook', sans: ['IP:127.0.0.1'] });
      const s = buildWebhookServer({
        config: CONFIG,
        log: silentLogger(),
        certs: { cert: readFileSync(pair.cert), key: readFileSync(pair.key) },
      });
      await s.listen({ port: 0, host: '127.0.0.1' });
      const port = (s.server.address() as { port: number }).port;
      const handshake = (version: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3') =>
        new Promise<string>((resolve) => {
          const sock = connect({
            host: '127.0.0.1',
            port,
            ca: readFileSync(ca.cert),
            minVersion: 'TLSv1',
            maxVersion: version,
            ciphers: 'DEFAULT:@SECLEVEL=0',
          });
          sock.once('secureConnect', () => {
            resolve(sock.getProtocol() ?? '');
            sock.end();
          });
          sock.once('error', (e) => resolve(`error: ${e.message}`));
        });
      expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
      expect(await handshake('TLSv1.2')).toBe('TLSv1.2');
      expect(await handshake('TLSv1.1')).toMatch(/^error: .*(protocol|version)/i);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// Fuzz

/** mulberry32: a small seeded PRNG, so a failure can be replayed with FUZZ_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}

type Rng = ReturnType<typeof prng>;

const NASTY_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
];
const DURATIONS = [
  '15s',
  '10s',
  '2s',
  '1m30s',
  '500ms',
  '0',
  '-1s',
  '1e3s',
  '1.5h',
  '9223372036854775807ns',
  '.s',
  's',
  '1µs',
  '1 s',
];

function randomString(rng: Rng): string {
  switch (rng.int(12)) {
    case 0:
      return '';
    case 1:
      // Huge, now and then.
      return 'x'.repeat(rng.chance(0.02) ? 200_000 + rng.int(300_000) : 1000 + rng.int(10_000));
    case 2:
      return '💥'.repeat(1 + rng.int(200)) + '\u202e\u200b';
    case 3:
      return '\u0000\n\t\r\u0007\u001b[31m' + '\u0085';
    case 4:
      return '\ud800' + 'a' + '\udfff'; // lone surrogates
    case 5:
      return rng.pick(DURATIONS);
    case 6:
      return rng.pick(['true', 'false', 'TRUE', 'yes', '1', 'null']);
    case 7:
      return rng.pick(NASTY_KEYS);
    case 8:
      return rng.pick([
        'readiness-gate',
        'label',
        'sidecar',
        'container',
        'Always',
        'Never',
        '4040',
        '80',
        '65536',
      ]);
    case 9:
      return rng.pick(['10m', '48Mi', '1e9', '-1', '5Gi', '0.0000001', 'NaN']);
    case 10:
      return rng.pick(['web', 'a.b', 'UPPER', '-bad-', 'a'.repeat(254), '../../etc/passwd']);
    default:
      return Array.from({ length: rng.int(40) }, () => String.fromCodePoint(rng.int(0x2ffff))).join('');
  }
}

function randomKey(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return rng.pick(NASTY_KEYS);
    case 1:
    case 2:
      return rng.pick(Object.values(ANNOTATION));
    case 3:
      return `leader-election/${randomString(rng).slice(0, 50)}`;
    default:
      return randomString(rng).slice(0, 100);
  }
}

/** Own properties only: a `__proto__` key becomes a real key, as JSON.parse makes it. */
function obj(entries: [string, unknown][]): Raw {
  return Object.fromEntries(entries);
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -1e-308, 2 ** 53 + 1, 4040]);
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
    case 6:
      return obj(Array.from({ length: rng.int(5) }, () => [randomKey(rng), randomValue(rng, depth + 1)]));
    default: {
      // Deep nesting.
      const n = 50 + rng.int(2000);
      return JSON.parse('['.repeat(n) + '1' + ']'.repeat(n)) as unknown;
    }
  }
}

function randomAnnotations(rng: Rng): Raw {
  const entries: [string, unknown][] = [];
  if (rng.chance(0.3)) {
    // Opted in, with hostile keys and values outside our prefix: these must be injected.
    entries.push([ANNOTATION.enabled, 'true']);
    if (rng.chance(0.5)) entries.push([ANNOTATION.leaseName, 'web']);
    for (let i = rng.int(6); i > 0; i--) {
      const key = rng.chance(0.5) ? rng.pick(NASTY_KEYS) : randomString(rng).slice(0, 100);
      if (!key.startsWith('leader-election/'))
        entries.push([key, rng.chance(0.7) ? randomString(rng) : randomValue(rng)]);
    }
    return obj(entries);
  }
  if (!rng.chance(0.1)) entries.push([ANNOTATION.enabled, rng.chance(0.8) ? 'true' : randomValue(rng)]);
  for (let i = rng.int(6); i > 0; i--) {
    const key = rng.chance(0.7) ? rng.pick(Object.values(ANNOTATION)) : randomKey(rng);
    entries.push([key, rng.chance(0.7) ? randomString(rng) : randomValue(rng)]);
  }
  return obj(entries);
}

function randomContainers(rng: Rng): unknown {
  if (rng.chance(0.15)) return randomValue(rng);
  return Array.from({ length: rng.int(3) }, () =>
    rng.chance(0.8)
      ? obj([
          [
            'name',
            rng.chance(0.9) ? `c${rng.int(5)}` : rng.pick(['leader-election-agent', randomValue(rng)]),
          ],
          ['image', 'nginx'],
          ...(rng.chance(0.3)
            ? ([
                [
                  'ports',
                  rng.chance(0.8) ? [{ containerPort: rng.pick([80, 4040, 8080]) }] : randomValue(rng),
                ],
              ] as [string, unknown][])
            : []),
        ])
      : randomValue(rng),
  );
}

function randomPod(rng: Rng): Raw {
  const metadata: [string, unknown][] = [
    [rng.chance(0.5) ? 'generateName' : 'name', rng.chance(0.9) ? 'web-5d8f-' : randomValue(rng)],
    ['annotations', rng.chance(0.9) ? randomAnnotations(rng) : randomValue(rng)],
  ];
  if (rng.chance(0.8))
    metadata.push(['labels', rng.chance(0.8) ? { 'pod-template-hash': '5d8f' } : randomValue(rng)]);
  if (rng.chance(0.7)) {
    metadata.push([
      'ownerReferences',
      rng.chance(0.8)
        ? [
            obj([
              ['kind', rng.pick(['ReplicaSet', 'StatefulSet', 'Job'])],
              ['name', rng.chance(0.8) ? 'web-5d8f' : randomValue(rng)],
              ['controller', rng.chance(0.9) ? true : randomValue(rng)],
            ]),
          ]
        : randomValue(rng),
    ]);
  }
  const spec: [string, unknown][] = [['containers', randomContainers(rng)]];
  if (rng.chance(0.3)) spec.push(['initContainers', randomContainers(rng)]);
  if (rng.chance(0.2))
    spec.push([
      'readinessGates',
      rng.chance(0.5) ? [{ conditionType: 'leader-election/leader' }] : randomValue(rng),
    ]);
  if (rng.chance(0.1)) spec.push(['automountServiceAccountToken', randomValue(rng)]);
  if (rng.chance(0.1)) spec.push(['hostNetwork', true]);
  if (rng.chance(0.05)) spec.push([rng.pick(NASTY_KEYS), randomValue(rng)]);
  return obj([
    ['apiVersion', 'v1'],
    ['kind', 'Pod'],
    ['metadata', rng.chance(0.95) ? obj(metadata) : randomValue(rng)],
    ['spec', rng.chance(0.95) ? obj(spec) : randomValue(rng)],
  ]);
}

function randomWorkload(rng: Rng): Raw {
  const pod = randomPod(rng);
  return obj([
    ['apiVersion', 'apps/v1'],
    ['kind', rng.chance(0.9) ? rng.pick(['Deployment', 'StatefulSet']) : randomValue(rng)],
    [
      'metadata',
      obj([
        ['name', rng.chance(0.9) ? 'web' : randomValue(rng)],
        ['annotations', rng.chance(0.9) ? randomAnnotations(rng) : randomValue(rng)],
      ]),
    ],
    [
      'spec',
      rng.chance(0.9)
        ? obj([
            ['replicas', rng.pick([1, 3, randomValue(rng)])],
            [
              'strategy',
              rng.chance(0.5)
                ? { rollingUpdate: { maxUnavailable: rng.pick([0, 1, '50%', '100%', randomValue(rng)]) } }
                : randomValue(rng),
            ],
            [
              'template',
              rng.chance(0.9)
                ? obj([
                    ['metadata', pod.metadata],
                    ['spec', pod.spec],
                  ])
                : randomValue(rng),
            ],
          ])
        : randomValue(rng),
    ],
  ]);
}

interface Case {
  /** The body as sent. */
  payload: string;
  headers: Record<string, string>;
  url: string;
  /** The uid, when the body is an AdmissionReview with a string uid. */
  uid?: string;
}

function randomCase(rng: Rng, i: number): Case {
  const url = rng.chance(0.5) ? '/mutate' : '/mutate-namespace';
  const headers = rng.chance(0.97)
    ? JSON_CT
    : {
        'content-type': rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/yaml', '']),
      };
  const kind = rng.int(20);
  if (kind === 0) return { payload: JSON.stringify(randomValue(rng)), headers, url };
  if (kind === 1) {
    const text = JSON.stringify(review(randomPod(rng)));
    return { payload: text.slice(0, rng.int(text.length)), headers, url }; // truncated JSON
  }
  if (kind === 2) return { payload: randomString(rng), headers, url };
  const uid = `uid-${i}-${rng.int(1e9)}`;
  const workload = kind < 7;
  const body = review(workload ? randomWorkload(rng) : randomPod(rng), (r) => {
    r.uid = uid;
    if (workload) {
      r.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
      r.resource = { group: 'apps', version: 'v1', resource: rng.pick(['deployments', 'statefulsets']) };
      r.operation = rng.pick(['CREATE', 'UPDATE']);
    }
    r.namespace = rng.chance(0.9) ? rng.pick(['shop', 'billing', 'default']) : randomString(rng);
    r.dryRun = rng.chance(0.2);
    // Break the envelope now and then.
    if (rng.chance(0.08)) {
      const field = rng.pick([
        'uid',
        'kind',
        'resource',
        'operation',
        'object',
        'namespace',
        'dryRun',
        'userInfo',
        'subResource',
      ]);
      r[field] = randomValue(rng);
    }
  });
  if (rng.chance(0.03)) body.apiVersion = randomValue(rng);
  if (rng.chance(0.03)) body.kind = randomValue(rng);
  if (rng.chance(0.02)) body.request = randomValue(rng);
  return {
    payload: JSON.stringify(body),
    headers,
    url,
    uid: typeof body.request?.uid === 'string' ? body.request.uid : undefined,
  };
}

function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('webhook server: fuzz', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const TOTAL = Number(process.env.FUZZ_CASES ?? 5000);

  it(
    `survives ${TOTAL} malformed and hostile AdmissionReviews (seed ${seed})`,
    { timeout: 60_000 },
    async () => {
      const rng = prng(seed);
      const app = buildWebhookServer({ config: CONFIG, log: silentLogger(), registry: new Registry() });
      await app.ready();
      const gc = gcFunction();
      const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
      const counts: Record<string, number> = {};
      const count = (k: string) => void (counts[k] = (counts[k] ?? 0) + 1);
      const started = Date.now();
      let heapBefore = 0;
      const warmup = Math.min(500, Math.floor(TOTAL / 5));

      for (let i = 0; i < TOTAL; i++) {
        if (i === warmup) {
          gc();
          heapBefore = process.memoryUsage().heapUsed;
        }
        const c = randomCase(rng, i);
        const res = await app.inject({ method: 'POST', url: c.url, headers: c.headers, payload: c.payload });
        const where = `case ${i} (seed ${seed}): ${c.payload.slice(0, 300)}`;
        if (res.statusCode !== 200) {
          expect([400, 413, 415], where).toContain(res.statusCode);
          expect(res.json(), where).toMatchObject({ kind: 'Status', code: res.statusCode });
          count(`http ${res.statusCode}`);
          continue;
        }
        const body = res.json();
        expect(body.apiVersion, where).toBe('admission.k8s.io/v1');
        expect(body.kind, where).toBe('AdmissionReview');
        const r = body.response;
        expect(r.uid, where).toBe(c.uid);
        expect(typeof r.allowed, where).toBe('boolean');
        if (r.warnings !== undefined) {
          expect(r.warnings.length, where).toBeLessThanOrEqual(RESPONSE_LIMITS.maxWarnings);
          for (const w of r.warnings) {
            expect(w.length, where).toBeLessThanOrEqual(RESPONSE_LIMITS.maxWarningLength);
            // eslint-disable-next-line no-control-regex -- no control characters may reach an HTTP header
            expect(w, where).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
          }
        }
        if (!r.allowed) {
          // Never an internal error: every input has a deliberate answer.
          expect([400, 403], `${where}\n${r.status?.message}`).toContain(r.status.code);
          expect(typeof r.status.message).toBe('string');
          expect(r.status.message.length, where).toBeLessThanOrEqual(RESPONSE_LIMITS.maxMessageLength);
          count(`denied ${r.status.code}`);
        } else if (r.patch !== undefined) {
          expect(r.patchType, where).toBe('JSONPatch');
          // The patch applies to the object it was computed from (as the API server will apply it).
          const object = (JSON.parse(c.payload) as Raw).request.object;
          const ops = decodePatch(r);
          expect(Array.isArray(ops), where).toBe(true);
          expect(() => jsonpatch.applyPatch(object, ops, true, true), where).not.toThrow();
          count('patched');
        } else {
          count('allowed unchanged');
        }
      }
      gc();
      const growthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `fuzz seed ${seed}: ${TOTAL} cases in ${seconds.toFixed(1)} s, heap +${growthMb.toFixed(1)} MiB`,
        counts,
      );

      // Every path was exercised, so the generator is not degenerate.
      for (const k of ['http 400', 'http 415', 'denied 403', 'patched', 'allowed unchanged']) {
        expect(counts[k] ?? 0, `no "${k}" answers in ${JSON.stringify(counts)}`).toBeGreaterThan(0);
      }
      // The heap is back where it was: nothing is retained per request.
      expect(growthMb).toBeLessThan(48);
      // Nothing reached Object.prototype.
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys);
      expect(({} as Raw).polluted).toBeUndefined();
      // Still serving.
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      await app.close();
    },
  );
});
