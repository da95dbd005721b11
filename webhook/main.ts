// Entry point of the webhook: flags → certificate reloader → HTTPS server (+ plain-HTTP
// health port) → the RBAC reconciler, run only while this replica leads the Lease
// `leader-election-webhook` (--lease-name) in its namespace.
//
// SIGTERM/SIGINT: /readyz fails at once; the elector stops (the reconciler first, then the
// Lease is released so another replica takes over at once); requests are still served for
// --shutdown-delay so that endpoints drop this pod; then the server closes (drain); exit 0.
//
// With --reconciler=false, or when no cluster credentials are found (a laptop), only the
// webhook runs: admission itself needs no API access.
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Elector } from '../common/election/elector.ts';
import { KubeClient } from '../common/kube/kube-client.ts';
import {
  connectionFromKubeconfig,
  inClusterConnection,
  KubeConfigError,
  type KubeConnection,
} from '../common/kube/kubeconfig.ts';
import { LeaseClient } from '../common/election/lease-client.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { registerProcessMetrics } from '../common/process-metrics.ts';
import { Registry } from '../common/metrics.ts';
import { certificateExpiryMetric } from './admission/metrics.ts';
import { CertReloader } from './tls/cert-reloader.ts';
import { ConfigError, parseWebhookArgs, type WebhookFlags } from './config.ts';
import { RbacReconciler } from './rbac/reconciler.ts';
import { OptInMigrator } from './migration/opt-in-migrator.ts';
import { buildHealthServer, WebhookHealth } from './admission/health.ts';
import { buildWebhookServer, TLS_MIN_VERSION, type WebhookApp } from './admission/server.ts';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
export const DEFAULT_NAMESPACE = 'leader-election-system';

/** client-go's defaults: the reconciler's leadership is not latency-critical. */
export const WEBHOOK_ELECTION_TIMINGS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface RunningWebhook {
  app: WebhookApp;
  health: WebhookHealth;
  /** The plain-HTTP health server, when --health-port is not 0. */
  healthServer: HttpServer | undefined;
  /** The elector, when the reconciler runs. */
  elector: Elector | undefined;
  /** Graceful stop (see top). Idempotent. */
  stop(): Promise<void>;
}

/** The cluster connection for the reconciler, or undefined (with the reason) when there is none. */
export function findConnection(
  flags: Pick<WebhookFlags, 'kubeconfig'>,
  env: NodeJS.ProcessEnv,
): { conn: KubeConnection } | { missing: string } {
  try {
    // KUBECONFIG may list several files; like the agent, we use the first.
    const path = flags.kubeconfig?.split(':').find((p) => p !== '');
    if (path) return { conn: connectionFromKubeconfig(path) };
    return { conn: inClusterConnection(env) };
  } catch (err) {
    if (err instanceof KubeConfigError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { missing: (err as Error).message };
    }
    throw err;
  }
}

function leaseNamespace(flags: WebhookFlags): string {
  if (flags.namespace) return flags.namespace;
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || DEFAULT_NAMESPACE;
  } catch {
    return DEFAULT_NAMESPACE;
  }
}

/**
 * Runs the reconciler only while leading. Leadership changes are applied one after the other
 * (a new term waits for the previous reconciler to have stopped), and each term gets a fresh
 * reconciler, so no state leaks from one term into the next.
 */
function leaderOnlyReconciler(client: KubeClient, log: Logger) {
  let current: RbacReconciler | undefined;
  let migrator: OptInMigrator | undefined;
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (what: string, fn: () => Promise<void> | void) => {
    chain = chain
      .then(fn)
      .catch((err: Error) => log.error({ err: err.message }, `rbac reconciler ${what} failed`));
  };
  return {
    start(): void {
      enqueue('start', () => {
        if (current) return;
        // Finishes the opt-in of running Deployments (webhook/migration/opt-in-plan.ts), fed by
        // the reconciler's watch of injected pods.
        const m = new OptInMigrator({ client, log: log.child({ subsystem: 'opt-in-migrator' }) });
        migrator = m;
        m.start();
        current = new RbacReconciler({
          client,
          log: log.child({ subsystem: 'rbac-reconciler' }),
          onPod: (pod) => m.see(pod),
        });
        current.start();
      });
    },
    stop(): void {
      enqueue('stop', async () => {
        const r = current;
        const m = migrator;
        current = undefined;
        migrator = undefined;
        await Promise.all([r?.stop(), m?.stop()]);
      });
    },
    /** Resolves once every queued start/stop has run. */
    settled(): Promise<void> {
      return chain;
    },
  };
}

export async function startWebhook(
  flags: WebhookFlags,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<RunningWebhook> {
  const registry = new Registry();
  const stopProcessMetrics = registerProcessMetrics(registry);
  const reloader = new CertReloader({
    certFile: flags.certFile,
    keyFile: flags.keyFile,
    log: log.child({ subsystem: 'cert-reloader' }),
    pollIntervalMs: flags.certPollIntervalMs,
    secureOptions: { minVersion: TLS_MIN_VERSION },
  });
  await reloader.start();
  certificateExpiryMetric(registry, () => reloader.current());
  const health = new WebhookHealth(() => reloader.ready());
  const app = buildWebhookServer({
    config: {
      agentImage: flags.agentImage,
      ...(flags.agentImagePullPolicy ? { imagePullPolicy: flags.agentImagePullPolicy } : {}),
    },
    log,
    certs: reloader,
    health,
    registry,
    metrics: flags.metrics,
  });
  await app.listen({ port: flags.port, host: flags.bindAddress });
  if (!reloader.ready()) {
    log.warn(
      { certFile: flags.certFile, keyFile: flags.keyFile },
      'no certificate yet: not ready until one appears',
    );
  }

  let healthServer: HttpServer | undefined;
  if (flags.healthPort !== 0) {
    const hs = buildHealthServer({ health, registry, metrics: flags.metrics });
    healthServer = hs;
    await new Promise<void>((resolve, reject) => {
      hs.once('error', reject);
      hs.listen(flags.healthPort, flags.bindAddress, () => {
        hs.off('error', reject);
        resolve();
      });
    });
  }
  log.info(
    { port: flags.port, healthPort: flags.healthPort || null, agentImage: flags.agentImage },
    'webhook serving',
  );

  let elector: Elector | undefined;
  let client: KubeClient | undefined;
  let reconciler: ReturnType<typeof leaderOnlyReconciler> | undefined;
  if (!flags.reconciler) {
    log.info('rbac reconciler disabled (--reconciler=false)');
  } else {
    const found = findConnection(flags, env);
    if ('missing' in found) {
      log.warn(
        { reason: found.missing },
        'no cluster credentials: the rbac reconciler is not started (the webhook runs alone; pass --reconciler=false to silence this)',
      );
    } else {
      const namespace = leaseNamespace(flags);
      // Unique per process: a restarted container must not take over its predecessor's term.
      const identity = `${flags.identity}_${randomBytes(4).toString('hex')}`;
      const electionLog = log.child({ subsystem: 'election', lease: `${namespace}/${flags.leaseName}` });
      const timeoutMs = WEBHOOK_ELECTION_TIMINGS.renewDeadlineMs / 2;
      client = new KubeClient(found.conn, { defaultTimeoutMs: 10_000 });
      const r = leaderOnlyReconciler(client, log);
      reconciler = r;
      elector = new Elector({
        identity,
        timings: WEBHOOK_ELECTION_TIMINGS,
        leases: new LeaseClient(client, namespace, flags.leaseName, timeoutMs),
        log: electionLog,
        callbacks: {
          onStartedLeading: () => r.start(),
          onStoppedLeading: () => r.stop(),
        },
      });
      elector.start();
      electionLog.info({ identity }, 'rbac reconciler runs while this replica leads');
    }
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const started = Date.now();
      health.beginShutdown();
      log.info({ shutdownDelayMs: flags.shutdownDelayMs }, 'shutting down: not ready');
      // Stop leading: the reconciler stops before the Lease is released.
      await elector?.stop({ release: true, beforeRelease: () => reconciler?.settled() ?? Promise.resolve() });
      await reconciler?.settled();
      const left = flags.shutdownDelayMs - (Date.now() - started);
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      await app.close();
      if (healthServer) {
        const hs = healthServer;
        const closed = new Promise<void>((r) => hs.close(() => r()));
        hs.closeAllConnections(); // a scraper's keep-alive connection must not hold the exit
        await closed;
      }
      reloader.stop();
      stopProcessMetrics();
      client?.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { app, health, healthServer, elector, stop };
}

async function main(): Promise<void> {
  let flags: WebhookFlags;
  try {
    const parsed = parseWebhookArgs(process.argv.slice(2), process.env);
    if (parsed.kind === 'help') {
      process.stdout.write(parsed.text);
      return;
    }
    flags = parsed.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`leader-election-webhook: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ component: 'webhook', pod: process.env.POD_NAME }, flags.logLevel);
  const running = await startWebhook(flags, process.env, log);
  const onSignal = (signal: string) => {
    log.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`leader-election-webhook: stop after ${signal} failed: ${err.stack}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}

if (import.meta.main) {
  main().catch((err: Error) => {
    process.stderr.write(`leader-election-webhook: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
