// The whole product on a local control plane, as the end-to-end tests, `make
// demo` and `make cluster-up` use it: the webhook as a real process (the
// production bundle) registered by URL with the plane's CA, running with its own
// ServiceAccount's RBAC from manifests/; the agent ClusterRole and the
// ValidatingAdmissionPolicies from manifests/; and the pod runner, which runs each
// injected pod's agent from the bundle as a real process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import type { KubeConnection } from '../../common/kube/kubeconfig.ts';
import { buildBinaries, freePort, repoRoot } from '../control-plane/control-plane.ts';
import { AGENT_IMAGE, localImages } from '../node/images.ts';
import { issueCert, type CertFiles } from '../control-plane/pki.ts';
import { PodRunner } from '../node/pod-runner.ts';

export const SYSTEM_NAMESPACE = 'leader-election-system';
const WEBHOOK_BUNDLE = join(repoRoot, 'dist/webhook.mjs');

type KubeObject = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

function manifest(file: string): KubeObject[] {
  return (yaml.loadAll(readFileSync(join(repoRoot, 'manifests/base', file), 'utf8')) as KubeObject[]).filter(
    Boolean,
  );
}

export interface LocalSetupOptions {
  /** Admin access to the plane. */
  client: KubeClient;
  connection: KubeConnection;
  kubeconfig: string;
  ca: CertFiles;
  /** Working directory for certificates, kubeconfigs and logs. */
  dir: string;
  nodeName?: string;
  restartBackoffMs?: number;
  log?: (m: string) => void;
}

export class LocalSetup {
  readonly runner: PodRunner;
  private readonly opts: LocalSetupOptions;
  private webhookProc: ChildProcess | undefined;
  webhookPort = 0;
  private healthPort = 0;
  private readonly kubectl: string;

  constructor(opts: LocalSetupOptions) {
    this.opts = opts;
    this.kubectl = join(buildBinaries(), 'kubectl');
    this.runner = new PodRunner({
      connection: opts.connection,
      images: localImages,
      nodeName: opts.nodeName ?? 'pod-runner',
      restartBackoffMs: opts.restartBackoffMs,
      logDir: join(opts.dir, 'pods'),
      log: opts.log,
    });
  }

  private apply(docs: KubeObject[]): void {
    execFileSync(
      this.kubectl,
      ['--kubeconfig', this.opts.kubeconfig, 'apply', '--server-side', '--force-conflicts', '-f', '-'],
      {
        input: docs.map((d) => yaml.dump(d)).join('---\n'),
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
  }

  async start(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    // What `make deploy` installs, minus the webhook Deployment and cert-manager objects:
    // here the webhook is a local process with a certificate from the plane's CA.
    this.apply([
      ...manifest('namespace.yaml'),
      ...manifest('agent-clusterrole.yaml'),
      ...manifest('webhook-rbac.yaml'),
      ...manifest('policy-require-agent.yaml'),
      ...manifest('policy-agent-scope.yaml'),
      ...manifest('policy-webhook-scope.yaml'),
    ]);
    await this.startWebhook();
    this.register();
    await this.waitForInjection();
    await this.runner.start();
  }

  /** Webhook configurations reach the API server's admission chain asynchronously: wait for it. */
  private async waitForInjection(): Promise<void> {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: 'probe-',
        annotations: { 'leader-election/enabled': 'true', 'leader-election/lease-name': 'probe' },
      },
      spec: { containers: [{ name: 'app', image: 'probe' }] },
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const created = await this.opts.client
        .request<{ spec?: { initContainers?: { name: string }[] } }>(
          'POST',
          '/api/v1/namespaces/default/pods',
          {
            query: { dryRun: 'All' },
            body: pod,
          },
        )
        .catch(() => undefined);
      if (created?.spec?.initContainers?.some((c) => c.name === 'leader-election-agent')) return;
      if (Date.now() > deadline) throw new Error('pods are not injected 30 s after registering the webhook');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A kubeconfig with a token of the webhook's own ServiceAccount: the webhook gets only its RBAC. */
  private async webhookKubeconfig(): Promise<string> {
    const tr = await this.opts.client.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${SYSTEM_NAMESPACE}/serviceaccounts/leader-election-webhook/token`,
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 86_400 },
        },
      },
    );
    const path = join(this.opts.dir, 'webhook.kubeconfig');
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'local',
            cluster: {
              server: this.opts.connection.server,
              'certificate-authority-data': this.opts.connection.ca?.toString('base64'),
            },
          },
        ],
        users: [{ name: 'webhook', user: { token: tr.status.token } }],
        contexts: [
          { name: 'webhook', context: { cluster: 'local', user: 'webhook', namespace: SYSTEM_NAMESPACE } },
        ],
        'current-context': 'webhook',
      }),
      { mode: 0o600 },
    );
    return path;
  }

  /** Starts (or restarts, on the same port) the webhook process and waits until it is ready. */
  async startWebhook(): Promise<void> {
    const certDir = join(this.opts.dir, 'webhook-tls');
    mkdirSync(certDir, { recursive: true });
    const cert = issueCert(certDir, this.opts.ca, 'serving', {
      cn: 'leader-election-webhook',
      sans: ['IP:127.0.0.1', 'DNS:localhost'],
    });
    writeFileSync(join(certDir, 'tls.crt'), readFileSync(cert.cert));
    writeFileSync(join(certDir, 'tls.key'), readFileSync(cert.key));
    this.webhookPort ||= await freePort();
    this.healthPort ||= await freePort();
    const kubeconfig = await this.webhookKubeconfig();
    const out = openSync(join(this.opts.dir, 'webhook.log'), 'a');
    this.webhookProc = spawn(
      process.execPath,
      [
        WEBHOOK_BUNDLE,
        `--port=${this.webhookPort}`,
        `--health-port=${this.healthPort}`,
        '--bind-address=127.0.0.1',
        `--cert-dir=${certDir}`,
        `--agent-image=${AGENT_IMAGE}`,
        `--namespace=${SYSTEM_NAMESPACE}`,
        '--identity=local-webhook',
        `--kubeconfig=${kubeconfig}`,
        '--shutdown-delay=0s',
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.webhookProc.exitCode !== null) {
        throw new Error(
          `the webhook exited (${this.webhookProc.exitCode}); see ${join(this.opts.dir, 'webhook.log')}`,
        );
      }
      const ok = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error('the webhook did not become ready within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    this.opts.log?.(`webhook ready on https://127.0.0.1:${this.webhookPort}`);
  }

  /** SIGTERM to the webhook; resolves when it exited. */
  async stopWebhook(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.webhookProc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }

  /** The manifests' MutatingWebhookConfiguration, pointed at the local process by URL. */
  private register(): void {
    const caBundle = readFileSync(this.opts.ca.cert).toString('base64');
    const docs = manifest('mutating-webhook.yaml').map((doc) => {
      const webhooks = (doc.webhooks as { clientConfig: { service?: { path?: string } } }[]).map((w) => ({
        ...w,
        clientConfig: {
          url: `https://127.0.0.1:${this.webhookPort}${w.clientConfig.service?.path ?? '/mutate'}`,
          caBundle,
        },
      }));
      const annotations = { ...(doc.metadata as { annotations?: Record<string, string> }).annotations };
      delete annotations['cert-manager.io/inject-ca-from'];
      return { ...doc, metadata: { ...doc.metadata, annotations }, webhooks };
    });
    this.apply(docs);
  }

  /** Removes what start() registered cluster-wide, so other tests' pods are not sent to a stopped webhook. */
  private unregister(): void {
    const docs = [
      ...manifest('mutating-webhook.yaml'),
      ...manifest('policy-require-agent.yaml'),
      ...manifest('policy-agent-scope.yaml'),
      ...manifest('policy-webhook-scope.yaml'),
    ];
    execFileSync(
      this.kubectl,
      ['--kubeconfig', this.opts.kubeconfig, 'delete', '--ignore-not-found', '--wait=false', '-f', '-'],
      {
        input: docs.map((d) => yaml.dump(d)).join('---\n'),
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
  }

  async stop(): Promise<void> {
    this.unregister();
    await this.runner.stop();
    await this.stopWebhook();
  }
}
