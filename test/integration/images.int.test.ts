// The container images' entrypoints, run here without a container engine: the final
// stage's ENTRYPOINT + CMD of agent.Dockerfile and webhook.Dockerfile is read from the
// Dockerfile and run EXACTLY as written, with two substitutions only: the base image's
// node (/nodejs/bin/node) is the local node, and /app/*.mjs is the bundle from dist/,
// copied into a temporary directory where no node_modules can be found (as in the image,
// which holds Node and that one file). The agent gets the env the webhook injects (its
// container spec from webhook/injection/agent-container.ts, downward API resolved from a real pod)
// and the admin kubeconfig; the webhook gets --agent-image, --cert-dir with a certificate
// issued by the plane's CA, and --kubeconfig. Both must start, serve, and stop on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ANNOTATION, CONDITION_LEADER, LABEL_INJECTED, STATUS_INJECTED } from '../../common/contract/keys.ts';
import { parseElectionConfig } from '../../common/contract/election-config.ts';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { agentContainer } from '../../webhook/injection/agent-container.ts';
import { AGENT_NODE_FLAGS, freePort, issueCert, repoRoot } from '../../local-cluster/index.ts';
import { adminClient, createNamespace, deleteNamespace, waitUntil } from '../helpers/kube.ts';
import { imageCommand, parseDockerfile } from '../../scripts/dockerfile.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
type Raw = any;

/** Where each run-time base image keeps node. */
const BASE_NODE: Record<string, string> = {
  'gcr.io/distroless/nodejs24-debian12': '/nodejs/bin/node',
};
const AGENT_IMAGE = 'ghcr.io/leader-election/agent:0.1.0';

interface Started {
  proc: ChildProcess;
  argv: string[];
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * The image's command for `dockerfile` (plus container `args`), with the base image's node
 * and /app/ mapped to this machine, run from a fresh directory without node_modules.
 */
function runImage(dockerfile: string, args: string[] | undefined, env: Record<string, string>): Started {
  const df = parseDockerfile(readFileSync(join(repoRoot, dockerfile), 'utf8'));
  const final = df.stages[df.stages.length - 1]!;
  const base = final.from.split(':')[0]!.split('@')[0]!;
  const nodePath = BASE_NODE[base];
  if (!nodePath) throw new Error(`${dockerfile}: unknown run-time base ${final.from}`);
  const { argv, user } = imageCommand(df, args);
  expect(user, `${dockerfile}: USER of the final stage`).toBe('65532:65532');
  expect(argv[0], `${dockerfile}: the entrypoint runs the base image's node`).toBe(nodePath);

  const dir = mkdtempSync(join(tmpdir(), 'le-image-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (let d = dir; ; d = dirname(d)) {
    expect(existsSync(join(d, 'node_modules')), `no node_modules in ${d}`).toBe(false);
    if (dirname(d) === d) break;
  }
  const mapped = argv.map((a, i) => {
    if (i === 0) return process.execPath;
    const m = /^\/app\/([^/]+\.mjs)$/.exec(a);
    if (!m) return a;
    const bundle = join(repoRoot, 'dist', m[1]!);
    if (!existsSync(bundle)) throw new Error(`${bundle} missing: run make build (node scripts/bundle.mjs)`);
    mkdirSync(join(dir, 'app'), { recursive: true });
    copyFileSync(bundle, join(dir, 'app', basename(bundle)));
    return join(dir, 'app', basename(bundle));
  });
  // A container's environment: the image's PATH and HOME, and what the pod spec sets. Nothing
  // of this test process (NODE_OPTIONS, vitest's variables) leaks in.
  const proc = spawn(mapped[0]!, mapped.slice(1), {
    cwd: dir,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const started: Started = { proc, argv: mapped, output: () => out, exited };
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return started;
}

const cleanups: (() => void)[] = [];

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: await res.text() };
}

function httpsCall(
  port: number,
  path: string,
  ca: Buffer,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: payload ? 'POST' : 'GET',
        ca,
        servername: 'leader-election-webhook.leader-election-system.svc',
        headers: payload ? { 'content-type': 'application/json' } : {},
        timeout: 2000,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

/** Resolves the downward-API env of a container spec against a pod, as the kubelet does. */
function resolveEnv(container: Raw, pod: Raw): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value;
      continue;
    }
    const path: string = e.valueFrom?.fieldRef?.fieldPath ?? '';
    const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
    if (path === 'metadata.name') env[e.name] = pod.metadata.name;
    else if (path === 'metadata.namespace') env[e.name] = pod.metadata.namespace;
    else if (path === 'metadata.uid') env[e.name] = pod.metadata.uid;
    else if (path === 'status.podIP') env[e.name] = pod.status?.podIP ?? '';
    else if (label) env[e.name] = pod.metadata.labels?.[label[1]!] ?? '';
    else throw new Error(`unhandled fieldRef ${path}`);
  }
  return env;
}

async function stop(s: Started): Promise<number | null> {
  s.proc.kill('SIGTERM');
  const code = await Promise.race([
    s.exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000)),
  ]);
  if (code === 'timeout') throw new Error(`did not exit within 15 s of SIGTERM:\n${s.output()}`);
  return code;
}

describe('container images: the Dockerfiles’ entrypoints on the bundles', () => {
  const kubeconfig = inject('kubeconfig');
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = adminClient();
    ns = await createNamespace(client, 'images');
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) c();
    await deleteNamespace(client, ns);
    client?.close();
  });

  it('agent.Dockerfile: starts with the injected env, takes the Lease, serves /leader, /readyz, /healthz, releases on SIGTERM', async () => {
    const port = await freePort();
    const annotations = {
      [ANNOTATION.leaseDuration]: '2s',
      [ANNOTATION.renewDeadline]: '1500ms',
      [ANNOTATION.retryPeriod]: '1s',
      [ANNOTATION.agentPort]: String(port),
    };
    const parsed = parseElectionConfig(annotations);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    // The pod the agent belongs to (not run by anyone: the agent only writes its status).
    const pod = await client.request<Raw>('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        // The marks the webhook puts on the pods it injects: an agent in a pod without them
        // (a kubectl debug copy) does not campaign (agent/own-pod.ts).
        metadata: {
          name: 'image-agent-0',
          labels: { app: 'image-agent', [LABEL_INJECTED]: 'true' },
          annotations: { ...annotations, [ANNOTATION.status]: STATUS_INJECTED },
        },
        spec: {
          readinessGates: [{ conditionType: CONDITION_LEADER }],
          containers: [{ name: 'app', image: 'registry.example/app:1' }],
        },
      },
    });
    const container = agentContainer(parsed.config, 'image-agent', { agentImage: AGENT_IMAGE }, true) as Raw;
    expect(container.command, 'the injected agent container runs the image ENTRYPOINT').toBeUndefined();
    const env = { ...resolveEnv(container, pod), KUBECONFIG: kubeconfig };
    expect(Object.keys(env).sort()).toEqual(
      expect.arrayContaining(['POD_NAME', 'POD_NAMESPACE', 'LEASE_NAME', 'KUBECONFIG']),
    );

    const agent = runImage('agent.Dockerfile', container.args, env);
    // The ENTRYPOINT's flags are the local images' (AGENT_NODE_FLAGS), then the bundle.
    expect(agent.argv.slice(1)).toEqual([...AGENT_NODE_FLAGS, expect.stringMatching(/\/app\/agent\.mjs$/)]);
    const base = `http://127.0.0.1:${port}`;
    const leader = await waitUntil(`agent leads (${agent.output()})`, 30_000, async () => {
      if (agent.proc.exitCode !== null)
        throw new Error(`agent exited ${agent.proc.exitCode}: ${agent.output()}`);
      const r = await httpGet(`${base}/leader`);
      const body = JSON.parse(r.body) as Raw;
      return body.isLeader ? body : undefined;
    });
    expect(leader).toMatchObject({
      leader: 'image-agent-0',
      self: 'image-agent-0',
      leaseName: 'image-agent',
    });
    expect((await httpGet(`${base}/readyz`)).status).toBe(200);
    expect((await httpGet(`${base}/healthz`)).status).toBe(200);
    const metrics = await httpGet(`${base}/metrics`);
    expect(metrics.body).toContain('leader_election_master_status{name="image-agent"} 1');

    const lease = await client.get<Raw>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/image-agent`);
    expect(lease.spec.holderIdentity).toBe('image-agent-0');
    await waitUntil('the pod’s leader-election/leader condition True', 15_000, async () => {
      const p = await client.get<Raw>(`/api/v1/namespaces/${ns}/pods/image-agent-0`);
      return p.status?.conditions?.some((c: Raw) => c.type === CONDITION_LEADER && c.status === 'True');
    });

    expect(await stop(agent)).toBe(0);
    const released = await client.get<Raw>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/image-agent`,
    );
    expect(released.spec.holderIdentity ?? '').toBe('');
  });

  it('webhook.Dockerfile: starts with --agent-image, --cert-dir and --kubeconfig, serves HTTPS admission and /readyz, /healthz', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'le-image-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pair = issueCert(dir, { cert: inject('caCert'), key: inject('caKey') }, 'serving', {
      cn: 'leader-election-webhook',
      sans: ['DNS:leader-election-webhook.leader-election-system.svc', 'IP:127.0.0.1'],
    });
    const certDir = join(dir, 'tls');
    mkdirSync(certDir);
    copyFileSync(pair.cert, join(certDir, 'tls.crt'));
    copyFileSync(pair.key, join(certDir, 'tls.key'));
    const [port, healthPort] = [await freePort(), await freePort()];
    const args = [
      `--agent-image=${AGENT_IMAGE}`,
      `--cert-dir=${certDir}`,
      `--kubeconfig=${kubeconfig}`,
      `--port=${port}`,
      `--health-port=${healthPort}`,
      '--bind-address=127.0.0.1',
      '--shutdown-delay=0s',
    ];
    // POD_NAME and POD_NAMESPACE as the Deployment sets them (downward API).
    const webhook = runImage('webhook.Dockerfile', args, { POD_NAME: 'webhook-0', POD_NAMESPACE: ns });
    expect(webhook.argv.slice(1, 2)).toEqual([expect.stringMatching(/\/app\/webhook\.mjs$/)]);

    const health = `http://127.0.0.1:${healthPort}`;
    await waitUntil(`webhook ready (${webhook.output()})`, 30_000, async () => {
      if (webhook.proc.exitCode !== null) {
        throw new Error(`webhook exited ${webhook.proc.exitCode}: ${webhook.output()}`);
      }
      return (await httpGet(`${health}/readyz`)).status === 200;
    });
    expect((await httpGet(`${health}/healthz`)).status).toBe(200);
    const ca = readFileSync(inject('caCert'));
    expect((await httpsCall(port, '/healthz', ca)).status).toBe(200);
    expect((await httpsCall(port, '/readyz', ca)).status).toBe(200);

    // One AdmissionReview, as kube-apiserver sends it: the pod gets the agent image.
    const uid = randomUUID();
    const review = await httpsCall(port, '/mutate', ca, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: ns,
        operation: 'CREATE',
        userInfo: { username: 'admin' },
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: 'p',
            namespace: ns,
            annotations: { [ANNOTATION.enabled]: 'true', [ANNOTATION.leaseName]: 'g' },
          },
          spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
        },
        oldObject: null,
        dryRun: false,
      },
    });
    expect(review.status).toBe(200);
    const response = (JSON.parse(review.body) as Raw).response;
    expect(response).toMatchObject({ uid, allowed: true, patchType: 'JSONPatch' });
    expect(Buffer.from(response.patch, 'base64').toString()).toContain(AGENT_IMAGE);

    // The reconciler's election ran with the kubeconfig, in POD_NAMESPACE, as POD_NAME_<random>.
    const lease = await waitUntil('the webhook’s Lease', 30_000, async () => {
      const l = await client.get<Raw>(
        `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/leader-election-webhook`,
      );
      return l.spec?.holderIdentity ? l : undefined;
    });
    expect(lease.spec.holderIdentity).toMatch(/^webhook-0_[0-9a-f]{8}$/);

    expect(await stop(webhook)).toBe(0);
  });
});
