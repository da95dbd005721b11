// Helpers for tests of elected pods: the agent's RBAC in a namespace, pods built
// by the real injection function, and reading each agent's /leader.
import jsonpatch from 'fast-json-patch';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../../common/kube/kube-client.ts';
import { injectPod } from '../../webhook/injection/pod.ts';
import { AGENT_IMAGE, ECHO_IMAGE } from '../node/images.ts';
import { grantAgentRole } from './agent-rbac.ts';
import type { PodRunner } from '../node/pod-runner.ts';
import type { LeaderSnapshot } from '../../agent/server.ts';

/** Creates the agent ClusterRole from manifests/ (once) and binds it in `ns`, as the reconciler would. */
export const grantAgent = grantAgentRole;

/** The app container of test pods: the echo server, answering with its pod name on 8080. */
export function echoApp(version?: string): V1Container {
  return {
    name: 'app',
    image: ECHO_IMAGE,
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ...(version ? [{ name: 'VERSION', value: version }] : []),
    ],
    ports: [{ containerPort: 8080 }],
  };
}

export interface ElectedPodOptions {
  leaseName: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A pod with the echo app, injected by the webhook's own injection function. */
export function electedPod(name: string, opts: ElectedPodOptions): V1Pod {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app: opts.leaseName, ...opts.labels },
      annotations: {
        'leader-election/enabled': 'true',
        'leader-election/lease-name': opts.leaseName,
        'leader-election/lease-duration': '2s',
        'leader-election/renew-deadline': '1500ms',
        'leader-election/retry-period': '1s',
        ...opts.annotations,
      },
    },
    spec: {
      terminationGracePeriodSeconds: 10,
      containers: [echoApp()],
    },
  };
  const result = injectPod(pod, { namespaceOptIn: false, config: { agentImage: AGENT_IMAGE } });
  if (result.kind !== 'patch') throw new Error(`injection did not patch: ${JSON.stringify(result)}`);
  return jsonpatch.applyPatch(structuredClone(pod), result.patch as jsonpatch.Operation[], true)
    .newDocument as V1Pod;
}

/** GET /leader of a pod's agent, or undefined if it does not answer in time. */
export async function agentLeader(
  runner: PodRunner,
  ns: string,
  pod: string,
  timeoutMs = 1000,
): Promise<LeaderSnapshot | undefined> {
  const running = runner.pod(ns, pod);
  if (!running) return undefined;
  try {
    const res = await fetch(`http://${running.listenAddress}:4040/leader`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    return (await res.json()) as LeaderSnapshot;
  } catch {
    return undefined;
  }
}

export async function agentReadyz(runner: PodRunner, ns: string, pod: string): Promise<number> {
  const running = runner.pod(ns, pod);
  if (!running) return 0;
  try {
    const res = await fetch(`http://${running.listenAddress}:4040/readyz`, {
      signal: AbortSignal.timeout(1000),
    });
    return res.status;
  } catch {
    return 0;
  }
}

export interface LeaseView {
  holder: string;
  transitions: number;
}

export async function leaseHolder(
  client: KubeClient,
  ns: string,
  name: string,
): Promise<LeaseView | undefined> {
  try {
    const l = await client.get<{ spec?: { holderIdentity?: string; leaseTransitions?: number } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
    );
    return { holder: l.spec?.holderIdentity ?? '', transitions: l.spec?.leaseTransitions ?? 0 };
  } catch (err) {
    if (ApiError.isNotFound(err)) return undefined;
    throw err;
  }
}

export async function gateStatus(client: KubeClient, ns: string, pod: string): Promise<string | undefined> {
  const p = await client.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/${pod}`);
  return p.status?.conditions?.find((c) => c.type === 'leader-election/leader')?.status;
}

/**
 * A pod template as the webhook would inject it into the pods made from it
 * (the template itself keeps its annotations; the Lease name must be given, as
 * a template has no owner yet). For tests and the demo that run without the webhook.
 */
export function injectedTemplate(template: Record<string, unknown>): object {
  const result = injectPod(template, { namespaceOptIn: false, config: { agentImage: AGENT_IMAGE } });
  if (result.kind !== 'patch') throw new Error(`injection did not patch: ${JSON.stringify(result)}`);
  return jsonpatch.applyPatch(structuredClone(template), result.patch as jsonpatch.Operation[]).newDocument;
}
