// Fixtures of the injection's unit tests: raw pods and workloads as the API server sends
// them, and helpers that APPLY a patch (fast-json-patch, with validation) and look at the
// result, so the tests hold for what the API server will do, not for the shape of the
// operations.
import jsonpatch from 'fast-json-patch';
import { expect } from 'vitest';
import { ANNOTATION, CONDITION_LEADER } from '../../../common/contract/keys.ts';
import type { JsonPatchOp } from '../../../webhook/injection/json-patch.ts';
import { injectPod, type PodContext } from '../../../webhook/injection/pod.ts';
import type { InjectionResult, WebhookConfig } from '../../../webhook/injection/result.ts';
import { injectWorkload } from '../../../webhook/injection/workload.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are raw JSON, built and read freely
export type Raw = any;

export const A = ANNOTATION;
export const IMAGE = 'registry.example/leader-election-agent:0.1.0';
export const CONFIG: WebhookConfig = { agentImage: IMAGE };
export const CTX: PodContext = { namespaceOptIn: false, namespace: 'shop', config: CONFIG };
export const GATE = { conditionType: CONDITION_LEADER };
export const AGENT = 'leader-election-agent';

export function apply(doc: unknown, patch: JsonPatchOp[]): Raw {
  return jsonpatch.applyPatch(structuredClone(doc), patch, true).newDocument;
}

/** A pod as a Deployment's ReplicaSet creates it: generateName only, no name, no namespace. */
export function deploymentPod(mutate?: (p: Raw) => void): Raw {
  const p: Raw = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'web-7d9f8b6c5d-',
      labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' },
      annotations: { [A.enabled]: 'true' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-7d9f8b6c5d',
          uid: '11111111-2222-3333-4444-555555555555',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
  };
  mutate?.(p);
  return p;
}

export function expectPatch(r: InjectionResult): { patch: JsonPatchOp[]; warnings: string[] } {
  if (r.kind !== 'patch') throw new Error(`expected a patch, got ${JSON.stringify(r)}`);
  return r;
}

export function expectDeny(r: InjectionResult): string {
  if (r.kind !== 'deny') throw new Error(`expected a denial, got ${JSON.stringify(r)}`);
  return r.message;
}

export function expectSkip(r: InjectionResult): string {
  if (r.kind !== 'skip') throw new Error(`expected a skip, got ${JSON.stringify(r)}`);
  return r.reason;
}

/** Injects, checks the patch is add-only and idempotent, and returns the patched pod. */
export function inject(
  pod: Raw,
  ctx: PodContext = CTX,
): { doc: Raw; patch: JsonPatchOp[]; warnings: string[] } {
  const { patch, warnings } = expectPatch(injectPod(pod, ctx));
  expect(patch.every((op) => op.op === 'add')).toBe(true);
  const doc = apply(pod, patch);
  expect(expectSkip(injectPod(doc, ctx))).toContain('already injected');
  return { doc, patch, warnings };
}

export function envOf(container: Raw): Record<string, unknown> {
  return Object.fromEntries(
    (container.env as Raw[]).map((e) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]),
  );
}

export function agentOf(doc: Raw): Raw {
  const all: Raw[] = [...(doc.spec.initContainers ?? []), ...doc.spec.containers];
  const found = all.filter((c) => c.name === AGENT);
  expect(found).toHaveLength(1);
  return found[0];
}

export function deployment(mutate?: (d: Raw) => void): Raw {
  const d: Raw = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      annotations: {
        [A.enabled]: 'true',
        [A.leaseDuration]: '30s',
        'deployment.kubernetes.io/revision': '3',
      },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, annotations: { 'prometheus.io/scrape': 'true' } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], someFutureField: 1 },
      },
    },
  };
  mutate?.(d);
  return d;
}

export function statefulSet(mutate?: (d: Raw) => void): Raw {
  const s: Raw = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', annotations: { [A.enabled]: 'true' } },
    spec: {
      replicas: 3,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { containers: [{ name: 'db', image: 'pg:17' }] },
      },
    },
  };
  mutate?.(s);
  return s;
}

/** Runs injectWorkload, applies the patch, and checks that a second run changes nothing. */
export function copy(w: Raw): { doc: Raw; patch: JsonPatchOp[]; warnings: string[] } {
  const { patch, warnings } = expectPatch(injectWorkload(w, CONFIG));
  const doc = apply(w, patch);
  expect(expectPatch(injectWorkload(doc, CONFIG)).patch).toEqual([]);
  return { doc, patch, warnings };
}

export const templateAnn = (w: Raw) => w.spec.template.metadata.annotations;

/** The parsed default configuration, for comparing against agentContainer(). */
export function okConfig() {
  return {
    enabled: true,
    leaseName: undefined,
    leaseDuration: '15s',
    renewDeadline: '10s',
    retryPeriod: '2s',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    routing: 'readiness-gate' as const,
    onDeletion: 'release' as const,
    appUnreadyGrace: '10s',
    appUnreadyGraceMs: 10_000,
    agentMode: 'sidecar' as const,
    resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '96Mi' } },
    port: 4040,
    pullPolicy: undefined,
  };
}
