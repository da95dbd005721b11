// The admission webhook: the production bundle (dist/webhook.mjs, built from
// webhook/main.ts) as a process pinned to core 0 (`taskset -c 0`), with a
// certificate from the plane's CA and the RBAC reconciler off.
//
// 1. AdmissionReview throughput and latency on that one core, for a ~5 KB and a
//    ~200 KB opted-in pod (every review injects: the full decision and patch),
//    from a closed-loop Go load generator pinned to core 1 (bench/webhook-load),
//    at 4 and 16 concurrent keep-alive connections. The (idle) plane's processes
//    are pinned to core 1 meanwhile. Against the same runs of a ceiling: a bare HTTPS
//    server on the same core replaying the webhook's answers (webhook-load/ceiling.mjs),
//    alternating, the whole matrix three times: figures as ratios to the ceiling.
// 2. Pod create latency through the real kube-apiserver with the webhook
//    registered by URL (a MutatingWebhookConfiguration scoped to one namespace)
//    against the same create in a namespace it does not cover, alternating,
//    timed by the client; plus kube-apiserver's own
//    apiserver_admission_webhook_admission_duration_seconds for the webhook, against the
//    webhook's own webhook_admission_duration_seconds over the same creates (what the API
//    server waits for beyond the webhook's time is its client, the network and our HTTP stack).
//    Here the webhook may run on either core, as a pod would (WEBHOOK_CREATES_PINNED=true keeps
//    it on core 0, as before).
// WEBHOOK_NODE_FLAGS adds Node flags to the webhook's process, e.g.
// `--cpu-prof --cpu-prof-dir=/tmp/prof` (a profile over the whole phase; for one load point,
// bench/webhook-profile.ts).
// Created pods name a scheduler nobody runs, so the pod runner leaves them alone.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { KubeClient } from '../common/kube/kube-client.ts';
import type { KubeConnection } from '../common/kube/kubeconfig.ts';
import { AGENT_IMAGE, freePort, issueCert, repoRoot } from '../local-cluster/index.ts';
import {
  bucketQuantile,
  histogram,
  histogramDiff,
  parse,
  scrape,
  type Histogram,
} from './lib/apiserver-metrics.ts';
import { createNamespace, deleteNamespace } from './lib/groups.ts';
import { cpuMs, progress, sleep, summarize, waitFor, type Summary } from './lib/util.ts';

const WEBHOOK_NAME = 'pods.bench.leader-election.io';
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const NS_ON = 'bench-webhook-on';
const NS_OFF = 'bench-webhook-off';

export interface LoadRun {
  /** 'webhook': ours; 'ceiling': a bare HTTPS server answering the same bytes (bench/webhook-load/ceiling.mjs). */
  server: 'webhook' | 'ceiling';
  /** 1-based repeat of the whole matrix. */
  repeat: number;
  podBytes: number;
  bodyBytes: number;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50us: number;
  p90us: number;
  p99us: number;
  p999us: number;
  maxus: number;
  /** Webhook process CPU over the run, in cores (≤ 1: pinned to one). */
  serverCores: number;
  /** Load generator CPU, in cores (near 1 means it, not the server, was the limit). */
  generatorCores: number;
}

export interface WebhookResult {
  available: true;
  source: string;
  load: LoadRun[];
  creates: {
    n: number;
    withWebhook: Summary;
    withoutWebhook: Summary;
    /** p50/p99 of with − without, from the two distributions. */
    addedP50Ms: number;
    addedP99Ms: number;
    /** The API server's histogram for our webhook (bucket upper bounds, seconds). */
    apiserverHistogram: Histogram;
    apiserverP50LeS: number;
    apiserverP99LeS: number;
    /** The webhook's own webhook_admission_duration_seconds over the same creates (absent in older results). */
    webhookHistogram?: Histogram;
    webhookP99LeS?: number;
    /** The webhook stayed pinned to core 0 through the creates (absent: it did when there is no webhookHistogram). */
    webhookPinned?: boolean;
    /** Pods in the "with" namespace that were injected (must be all). */
    injected: number;
    /** Each repeat of the alternating creates on its own (the figures above pool them). */
    repeats?: { addedP50Ms: number; addedP99Ms: number; withP99Ms: number; withoutP99Ms: number }[];
  };
}

/** Repeats of the pod-create measurement, as of the load matrix: a spread, not one run's p99. */
const CREATE_REPEATS = 3;

export type WebhookPhaseResult = WebhookResult | { available: false; reason: string };

export interface WebhookContext {
  client: KubeClient;
  connection: KubeConnection;
  caCertPath: string;
  caKeyPath: string;
  workDir: string;
  seconds: number;
  creates: number;
  /** etcd, kube-apiserver, kube-controller-manager: moved off core 0 while the load runs. */
  planePids: number[];
}

/** Sets the CPU affinity of every thread of each process (ours: the plane's). */
function pin(pids: number[], cpus: string): void {
  for (const pid of pids) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    } catch {
      /* gone, or not allowed: the run goes on, with more noise on core 0 */
    }
  }
}

/** An opted-in pod of about `bytes` bytes of JSON (the app's env carries the bulk). */
export function podOfSize(
  name: string,
  bytes: number,
  schedulerName = 'bench-nobody',
): Record<string, unknown> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app: 'bench', tier: 'backend' },
      annotations: {
        'leader-election/enabled': 'true',
        'leader-election/lease-name': 'bench',
        'leader-election/lease-duration': '15s',
      },
    },
    spec: {
      schedulerName,
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'app',
          image: 'registry.example/app:1.0',
          ports: [{ containerPort: 8080, name: 'http' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          env: [] as { name: string; value: string }[],
        },
      ],
    },
  };
  const env = pod.spec.containers[0]!.env;
  for (let i = 0; JSON.stringify(pod).length < bytes; i++) {
    env.push({ name: `SETTING_${i}`, value: `value-${i}-${'x'.repeat(48)}` });
  }
  return pod;
}

/** The AdmissionReview kube-apiserver sends for the CREATE of `pod` in `namespace`. */
export function review(pod: Record<string, unknown>, namespace: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: (pod.metadata as { name: string }).name,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });
}

/** One POST over HTTPS (the webhook's answer to a review, recorded for the ceiling). */
function httpsPost(url: string, body: Buffer, caPath: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: 'POST', ca: readFileSync(caPath), headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The webhook's own admission-duration histogram, from its plain-HTTP /metrics. */
async function webhookHistogram(healthPort: number): Promise<Histogram> {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  return histogram(parse(text, /^webhook_admission_duration_seconds/), 'webhook_admission_duration_seconds', {
    path: '/mutate',
  });
}

/** Extra Node flags for the webhook (WEBHOOK_NODE_FLAGS, space-separated). */
/** The webhook's flags in the benches: on loopback, the plane's certificate, no reconciler, no shutdown delay. */
export function benchWebhookFlags(port: number, healthPort: number, certDir: string): string[] {
  return [
    `--port=${port}`,
    `--health-port=${healthPort}`,
    '--bind-address=127.0.0.1',
    `--cert-dir=${certDir}`,
    `--agent-image=${AGENT_IMAGE}`,
    '--reconciler=false',
    '--shutdown-delay=0s',
  ];
}

function webhookNodeFlags(): string[] {
  return (process.env.WEBHOOK_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
}

function hasTaskset(): boolean {
  return ['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p));
}

export async function runWebhook(ctx: WebhookContext): Promise<WebhookPhaseResult> {
  const bundle = join(repoRoot, 'dist/webhook.mjs');
  for (const f of ['webhook/admission/server.ts', 'webhook/main.ts']) {
    if (!existsSync(join(repoRoot, f))) return { available: false, reason: `${f} does not exist` };
  }
  if (!existsSync(bundle)) return { available: false, reason: 'dist/webhook.mjs is not built (make build)' };
  if (!hasTaskset()) return { available: false, reason: 'taskset (util-linux) is not installed' };
  const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'bench/webhook-load/build.sh')], {
    timeout: 300_000,
  });
  const loadgen = stdout.trim().split('\n').pop()!;

  const dir = join(ctx.workDir, 'webhook');
  const certDir = join(dir, 'tls');
  mkdirSync(certDir, { recursive: true });
  const pair = issueCert(dir, { cert: ctx.caCertPath, key: ctx.caKeyPath }, 'serving', {
    cn: 'leader-election-webhook',
    sans: ['IP:127.0.0.1', 'DNS:localhost'],
  });
  writeFileSync(join(certDir, 'tls.crt'), readFileSync(pair.cert));
  writeFileSync(join(certDir, 'tls.key'), readFileSync(pair.key));
  const port = await freePort();
  const healthPort = await freePort();
  const logFd = openSync(join(dir, 'webhook.log'), 'a');
  const server: ChildProcess = spawn(
    'taskset',
    [
      '-c',
      '0',
      process.execPath,
      ...webhookNodeFlags(),
      bundle,
      ...benchWebhookFlags(port, healthPort, certDir),
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  try {
    await waitFor('webhook /readyz', 30_000, async () => {
      if (server.exitCode !== null)
        throw new Error(`the webhook exited (${server.exitCode}); see ${dir}/webhook.log`);
      return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok;
    });
    // taskset execs node in place: the pid is the webhook's.
    const serverPid = server.pid!;
    progress(`webhook: serving on 127.0.0.1:${port}, pinned to core 0 (pid ${serverPid})`);

    // --- 1. throughput and latency on one core ------------------------------------------------
    // The plane is idle meanwhile; keep its processes off the webhook's core (other users'
    // processes on this shared machine still run where the kernel puts them).
    pin(ctx.planePids, '1');
    const load: LoadRun[] = [];
    const ceilingServers = new Map<number, { proc: ChildProcess; port: number }>();
    try {
      const sizes = [5 * 1024, 200 * 1024];
      const bodies = new Map<number, { bodyFile: string; answerFile: string; podBytes: number }>();
      for (const size of sizes) {
        const pod = podOfSize('bench-pod', size);
        const bodyFile = join(dir, `review-${size}.json`);
        writeFileSync(bodyFile, review(pod, 'bench'));
        // The webhook's own answer to this review: what the ceiling replays.
        const answer = await httpsPost(
          `https://127.0.0.1:${port}/mutate`,
          readFileSync(bodyFile),
          ctx.caCertPath,
        );
        const answerFile = join(dir, `answer-${size}.json`);
        writeFileSync(answerFile, answer);
        bodies.set(size, { bodyFile, answerFile, podBytes: JSON.stringify(pod).length });
      }
      /** One closed-loop run of the generator (core 1) against a server (core 0). */
      const measure = async (
        server: LoadRun['server'],
        repeat: number,
        url: string,
        serverPid: number,
        size: number,
        concurrency: number,
      ): Promise<LoadRun> => {
        const { bodyFile, podBytes } = bodies.get(size)!;
        const gen = spawn(
          'taskset',
          [
            '-c',
            '1',
            loadgen,
            `--url=${url}`,
            `--body=${bodyFile}`,
            `--ca=${ctx.caCertPath}`,
            `--concurrency=${concurrency}`,
            `--duration=${ctx.seconds}s`,
            '--warmup=2s',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        gen.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        gen.stderr!.on('data', (c: Buffer) => (err += c.toString()));
        // Generator CPU, sampled just before it ends (after the warm-up, through the window).
        await sleep(2_000);
        const g0 = cpuMs(gen.pid!) ?? 0;
        const s1 = cpuMs(serverPid) ?? 0;
        let g1 = g0;
        const sampler = setInterval(() => (g1 = cpuMs(gen.pid!) ?? g1), 200);
        const code = await new Promise<number | null>((r) => gen.once('exit', (c) => r(c)));
        clearInterval(sampler);
        const s2 = cpuMs(serverPid) ?? 0;
        if (code !== 0) throw new Error(`load generator failed (${code}): ${err}`);
        const r = JSON.parse(out) as Omit<
          LoadRun,
          'server' | 'repeat' | 'podBytes' | 'serverCores' | 'generatorCores'
        >;
        const run: LoadRun = {
          ...r,
          server,
          repeat,
          podBytes,
          serverCores: (s2 - s1) / 1000 / r.seconds,
          generatorCores: (g1 - g0) / 1000 / r.seconds,
        };
        progress(
          `webhook #${repeat} ${server}: pod ${(run.podBytes / 1024).toFixed(0)} KB, ${concurrency} connections: ${run.rps.toFixed(0)} reviews/s, ` +
            `p50 ${(run.p50us / 1000).toFixed(2)} ms p99 ${(run.p99us / 1000).toFixed(2)} ms p99.9 ${(run.p999us / 1000).toFixed(2)} ms, ` +
            `errors ${run.errors}, server ${(run.serverCores * 100).toFixed(0)}% of core 0, generator ${(run.generatorCores * 100).toFixed(0)}%`,
        );
        return run;
      };
      // The ceiling: same core, certificate and Node, replaying the webhook's answers. Both
      // servers stay up; each run loads one of them, alternating, three repeats of the matrix.
      for (const size of sizes) {
        const cport = await freePort();
        const proc = spawn(
          'taskset',
          [
            '-c',
            '0',
            process.execPath,
            join(repoRoot, 'bench/webhook-load/ceiling.mjs'),
            String(cport),
            join(certDir, 'tls.crt'),
            join(certDir, 'tls.key'),
            bodies.get(size)!.answerFile,
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        await new Promise<void>((res, rej) => {
          proc.stdout!.once('data', () => res());
          proc.once('exit', (c) => rej(new Error(`the ceiling server exited (${c})`)));
        });
        ceilingServers.set(size, { proc, port: cport });
      }
      for (let repeat = 1; repeat <= 3; repeat++) {
        for (const size of sizes) {
          for (const concurrency of [4, 16]) {
            load.push(
              await measure(
                'webhook',
                repeat,
                `https://127.0.0.1:${port}/mutate`,
                serverPid,
                size,
                concurrency,
              ),
            );
            const c = ceilingServers.get(size)!;
            load.push(
              await measure(
                'ceiling',
                repeat,
                `https://127.0.0.1:${c.port}/mutate`,
                c.proc.pid!,
                size,
                concurrency,
              ),
            );
          }
        }
      }
    } finally {
      for (const c of ceilingServers.values()) c.proc.kill('SIGTERM');
      pin(ctx.planePids, '0,1');
    }
    // The creates measure latency through the API server, not one core's throughput: the webhook
    // may run on either core, as a pod would. Left on core 0 (shared with the plane and whatever
    // else runs), its own admission time was 5–10× its CPU per review: waits to be scheduled.
    const createsPinned = process.env.WEBHOOK_CREATES_PINNED === 'true';
    if (!createsPinned) pin([serverPid], '0,1');

    // --- 2. pod create latency through kube-apiserver ----------------------------------------
    const { client } = ctx;
    await createNamespace(client, NS_ON);
    await createNamespace(client, NS_OFF);
    await client.request('POST', MWC, {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'bench-leader-election' },
        webhooks: [
          {
            name: WEBHOOK_NAME,
            admissionReviewVersions: ['v1'],
            clientConfig: {
              url: `https://127.0.0.1:${port}/mutate`,
              caBundle: readFileSync(ctx.caCertPath).toString('base64'),
            },
            rules: [
              {
                apiGroups: [''],
                apiVersions: ['v1'],
                operations: ['CREATE'],
                resources: ['pods'],
                scope: 'Namespaced',
              },
            ],
            namespaceSelector: {
              matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [NS_ON] }],
            },
            // The manifests' condition (manifests/base/mutating-webhook.yaml).
            matchConditions: [
              {
                name: 'opted-in',
                expression:
                  "has(object.metadata.annotations) && 'leader-election/enabled' in object.metadata.annotations && " +
                  "object.metadata.annotations['leader-election/enabled'] == 'true'",
              },
            ],
            matchPolicy: 'Equivalent',
            failurePolicy: 'Fail',
            sideEffects: 'None',
            timeoutSeconds: 5,
            reinvocationPolicy: 'IfNeeded',
          },
        ],
      },
    });
    try {
      // The configuration reaches the admission chain asynchronously.
      await waitFor(
        'the webhook injects',
        30_000,
        async () => {
          const p = await client.request<{ spec?: { initContainers?: unknown[] } }>(
            'POST',
            `/api/v1/namespaces/${NS_ON}/pods`,
            { query: { dryRun: 'All' }, body: podOfSize('probe', 1000) },
          );
          return (p.spec?.initContainers?.length ?? 0) > 0;
        },
        200,
      );
      const pod5k = (name: string) => podOfSize(name, 5 * 1024);
      const create = async (ns: string, name: string): Promise<number> => {
        const t = performance.now();
        await client.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod5k(name) });
        return performance.now() - t;
      };
      for (let i = 0; i < 10; i++) {
        await create(NS_ON, `warm-${i}`);
        await create(NS_OFF, `warm-${i}`);
      }
      const h0 = histogram(
        await scrape(ctx.connection),
        'apiserver_admission_webhook_admission_duration_seconds',
        {
          name: WEBHOOK_NAME,
        },
      );
      const w0 = await webhookHistogram(healthPort);
      const on: number[] = [];
      const off: number[] = [];
      const repeats: NonNullable<WebhookResult['creates']['repeats']> = [];
      for (let r = 1; r <= CREATE_REPEATS; r++) {
        progress(`webhook #${r}: ${ctx.creates} pod creates per side through kube-apiserver, alternating`);
        const onR: number[] = [];
        const offR: number[] = [];
        for (let i = 0; i < ctx.creates; i++) {
          // Alternate which side goes first, so neither always follows the other.
          if (i % 2 === 0) {
            onR.push(await create(NS_ON, `p-${r}-${i}`));
            offR.push(await create(NS_OFF, `p-${r}-${i}`));
          } else {
            offR.push(await create(NS_OFF, `p-${r}-${i}`));
            onR.push(await create(NS_ON, `p-${r}-${i}`));
          }
        }
        const w = summarize(onR);
        const wo = summarize(offR);
        repeats.push({
          addedP50Ms: w.median - wo.median,
          addedP99Ms: w.p99 - wo.p99,
          withP99Ms: w.p99,
          withoutP99Ms: wo.p99,
        });
        progress(
          `webhook #${r}: create p50 ${w.median.toFixed(1)} / ${wo.median.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} / ${wo.p99.toFixed(1)} ms (with / without)`,
        );
        on.push(...onR);
        off.push(...offR);
      }
      const h1 = histogram(
        await scrape(ctx.connection),
        'apiserver_admission_webhook_admission_duration_seconds',
        {
          name: WEBHOOK_NAME,
        },
      );
      const h = histogramDiff(h1, h0);
      const wh = histogramDiff(await webhookHistogram(healthPort), w0);
      const pods = await client.get<{ items: { spec?: { initContainers?: { name: string }[] } }[] }>(
        `/api/v1/namespaces/${NS_ON}/pods`,
      );
      const injected = pods.items.filter((p) =>
        p.spec?.initContainers?.some((c) => c.name === 'leader-election-agent'),
      ).length;
      const withWebhook = summarize(on);
      const withoutWebhook = summarize(off);
      const result: WebhookResult = {
        available: true,
        source: 'dist/webhook.mjs (webhook/main.ts)',
        load,
        creates: {
          n: ctx.creates * CREATE_REPEATS,
          withWebhook,
          withoutWebhook,
          addedP50Ms: withWebhook.median - withoutWebhook.median,
          addedP99Ms: withWebhook.p99 - withoutWebhook.p99,
          apiserverHistogram: h,
          apiserverP50LeS: bucketQuantile(h, 0.5),
          apiserverP99LeS: bucketQuantile(h, 0.99),
          webhookHistogram: wh,
          webhookP99LeS: bucketQuantile(wh, 0.99),
          webhookPinned: createsPinned,
          injected,
          repeats,
        },
      };
      progress(
        `webhook: create p50 ${withWebhook.median.toFixed(1)} / ${withoutWebhook.median.toFixed(1)} ms, ` +
          `p99 ${withWebhook.p99.toFixed(1)} / ${withoutWebhook.p99.toFixed(1)} ms (with / without); ` +
          `apiserver's webhook histogram: ${h.count} calls, mean ${((h.sum / h.count) * 1000).toFixed(2)} ms, p99 ≤ ${result.creates.apiserverP99LeS} s; ` +
          `the webhook's own: ${wh.count} requests, mean ${((wh.sum / wh.count) * 1000).toFixed(2)} ms, p99 ≤ ${result.creates.webhookP99LeS} s`,
      );
      return result;
    } finally {
      await client.request('DELETE', `${MWC}/bench-leader-election`).catch(() => undefined);
      await deleteNamespace(client, NS_ON);
      await deleteNamespace(client, NS_OFF);
    }
  } finally {
    server.kill('SIGTERM');
    const t = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}
