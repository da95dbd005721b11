// Finishes the opt-in of running Deployments (opt-in-plan.ts decides). Runs beside the RBAC
// reconciler, only in the webhook replica that leads, fed by the reconciler's cluster-wide watch
// of injected pods (see()); when one is Ready in readiness-gate routing, its ReplicaSet goes on a
// work queue; the worker
// reads the ReplicaSet, its Deployment and the Deployment's ReplicaSets, and scales the old
// un-injected ones to 0 (each write conditional on the resourceVersion it read), with an Event
// on the Deployment. A ValidatingAdmissionPolicy (manifests/base/policy-webhook-scope.yaml)
// lets the webhook's ServiceAccount make no other ReplicaSet change.
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';
import { recordEvent } from '../../common/kube/events.ts';
import { ANNOTATION } from '../../common/contract/keys.ts';
import type { Logger } from '../../common/logger.ts';
import { WorkQueue, type Backoff } from '../../common/work-queue.ts';
import { controllingDeployment, optInPlan, type Workload } from './opt-in-plan.ts';

interface Selector {
  matchLabels?: Record<string, string>;
}

export interface OptInMigratorOptions {
  client: KubeClient;
  log: Logger;
  backoff?: Backoff;
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class OptInMigrator {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly backoff: Backoff | undefined;
  private queue: WorkQueue;
  /** ReplicaSets (`ns/name`) already handled: a Ready pod's later events change nothing. */
  private readonly done = new Set<string>();
  private controller: AbortController | undefined;
  private running: Promise<unknown> | undefined;

  constructor(opts: OptInMigratorOptions) {
    this.client = opts.client;
    this.log = opts.log;
    this.backoff = opts.backoff;
    this.queue = new WorkQueue(opts.backoff);
  }

  start(): void {
    if (this.controller) return;
    this.queue = new WorkQueue(this.backoff);
    this.done.clear();
    const controller = new AbortController();
    this.controller = controller;
    this.running = this.work(controller.signal);
    this.log.info('opt-in migrator started');
  }

  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    controller.abort();
    this.queue.shutdown();
    await this.running;
    this.controller = undefined;
    this.running = undefined;
    this.log.info('opt-in migrator stopped');
  }

  /** True when nothing is queued or in flight (for tests). */
  get idle(): boolean {
    return this.queue.idle;
  }

  /**
   * An injected pod as the RBAC reconciler's cluster-wide watch delivers it (the migrator has
   * none of its own: one watch of injected pods per process).
   */
  see(pod: V1Pod): void {
    if (!this.controller) return;
    const ns = pod.metadata?.namespace;
    const rs = pod.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'ReplicaSet')?.name;
    if (!ns || !rs) return;
    if ((pod.metadata?.annotations?.[ANNOTATION.routing] ?? 'readiness-gate') !== 'readiness-gate') return;
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const key = `${ns}/${rs}`;
    if (ready && !this.done.has(key)) this.queue.add(key);
  }

  private async work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined || signal.aborted) return;
      try {
        await this.migrate(key);
        this.done.add(key);
        this.queue.forget(key);
      } catch (err) {
        if (signal.aborted) return;
        // Retried with the queue's backoff (a 409 reads everything again).
        const retryMs = this.queue.addRateLimited(key);
        this.log.warn({ replicaSet: key, err: errText(err), retryMs }, 'opt-in migrator: failed, will retry');
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async migrate(key: string): Promise<void> {
    const [ns, rsName] = key.split('/') as [string, string];
    const apps = `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}`;
    const rs = await this.client.get<Workload>(`${apps}/replicasets/${encodeURIComponent(rsName)}`);
    const deploymentName = controllingDeployment(rs);
    if (!deploymentName) return;
    const deployment = await this.client.get<Workload & { spec?: { selector?: Selector } }>(
      `${apps}/deployments/${encodeURIComponent(deploymentName)}`,
    );
    const labels = deployment.spec?.selector?.matchLabels ?? {};
    const labelSelector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = await this.client.get<{ items: Workload[] }>(`${apps}/replicasets`, {
      query: labelSelector ? { labelSelector } : {},
    });
    const plan = optInPlan(deployment, list.items, rsName);
    if (plan.kind === 'none') {
      this.log.debug({ replicaSet: key, why: plan.why }, 'opt-in migrator: nothing to do');
      return;
    }
    for (const old of plan.replicaSets) {
      const name = old.metadata?.name ?? '';
      try {
        await this.client.request('PATCH', `${apps}/replicasets/${encodeURIComponent(name)}`, {
          contentType: 'application/merge-patch+json',
          body: { metadata: { resourceVersion: old.metadata?.resourceVersion }, spec: { replicas: 0 } },
        });
      } catch (err) {
        // Gone meanwhile: nothing to scale. A 409 (changed since read) is retried from a fresh read.
        if (ApiError.isNotFound(err)) continue;
        throw err;
      }
      const message = `scaled ReplicaSet ${name} (${old.spec?.replicas} pods without the leader-election agent) to 0: ${plan.why}`;
      this.log.info(
        { namespace: ns, deployment: deploymentName, replicaSet: name, pods: old.spec?.replicas },
        message,
      );
      this.event(ns, deploymentName, deployment.metadata?.uid, message);
    }
  }

  private event(ns: string, deployment: string, uid: string | undefined, message: string): void {
    recordEvent(
      this.client,
      this.log,
      { component: 'leader-election-webhook', instance: process.env.POD_NAME ?? 'leader-election-webhook' },
      {
        namespace: ns,
        involvedObject: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: deployment,
          namespace: ns,
          ...(uid ? { uid } : {}),
        },
        reason: 'OptInCompleted',
        message,
      },
    );
  }
}
