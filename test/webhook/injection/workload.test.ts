// Unit tests of the webhook's pure injection. Every patch is checked by APPLYING it
// (fast-json-patch, with validation) to the raw object and looking at the result, so the
// tests hold for what the API server will do, not for the shape of the operations.
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../../common/contract/keys.ts';
import { type JsonPatchOp } from '../../../webhook/injection/json-patch.ts';
import { injectPod, type PodContext } from '../../../webhook/injection/pod.ts';
import { injectWorkload } from '../../../webhook/injection/workload.ts';
import { type InjectionResult, type WebhookConfig } from '../../../webhook/injection/result.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are raw JSON, built and read freely
type Raw = any;

const A = ANNOTATION;
const IMAGE = 'registry.example/leader-election-agent:0.1.0';
const CONFIG: WebhookConfig = { agentImage: IMAGE };
const CTX: PodContext = { namespaceOptIn: false, namespace: 'shop', config: CONFIG };
const AGENT = 'leader-election-agent';

function apply(doc: unknown, patch: JsonPatchOp[]): Raw {
  return jsonpatch.applyPatch(structuredClone(doc), patch, true).newDocument;
}

/** A pod as a Deployment's ReplicaSet creates it: generateName only, no name, no namespace. */
function deploymentPod(mutate?: (p: Raw) => void): Raw {
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

function expectPatch(r: InjectionResult): { patch: JsonPatchOp[]; warnings: string[] } {
  if (r.kind !== 'patch') throw new Error(`expected a patch, got ${JSON.stringify(r)}`);
  return r;
}

function expectDeny(r: InjectionResult): string {
  if (r.kind !== 'deny') throw new Error(`expected a denial, got ${JSON.stringify(r)}`);
  return r.message;
}

function expectSkip(r: InjectionResult): string {
  if (r.kind !== 'skip') throw new Error(`expected a skip, got ${JSON.stringify(r)}`);
  return r.reason;
}

/** Injects, checks the patch is add-only and idempotent, and returns the patched pod. */
function inject(pod: Raw, ctx: PodContext = CTX): { doc: Raw; patch: JsonPatchOp[]; warnings: string[] } {
  const { patch, warnings } = expectPatch(injectPod(pod, ctx));
  expect(patch.every((op) => op.op === 'add')).toBe(true);
  const doc = apply(pod, patch);
  expect(expectSkip(injectPod(doc, ctx))).toContain('already injected');
  return { doc, patch, warnings };
}

function envOf(container: Raw): Record<string, unknown> {
  return Object.fromEntries(
    (container.env as Raw[]).map((e) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]),
  );
}

function agentOf(doc: Raw): Raw {
  const all: Raw[] = [...(doc.spec.initContainers ?? []), ...doc.spec.containers];
  const found = all.filter((c) => c.name === AGENT);
  expect(found).toHaveLength(1);
  return found[0];
}

function deployment(mutate?: (d: Raw) => void): Raw {
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

/** Runs injectWorkload, applies the patch, and checks that a second run changes nothing. */
function copy(w: Raw): { doc: Raw; patch: JsonPatchOp[]; warnings: string[] } {
  const { patch, warnings } = expectPatch(injectWorkload(w, CONFIG));
  const doc = apply(w, patch);
  expect(expectPatch(injectWorkload(doc, CONFIG)).patch).toEqual([]);
  return { doc, patch, warnings };
}

const templateAnn = (w: Raw) => w.spec.template.metadata.annotations;

describe('injectWorkload: copying annotations into the pod template', () => {
  it('copies every leader-election/* annotation with add, and records them', () => {
    const w = deployment();
    const { doc, patch, warnings } = copy(w);
    expect(patch.every((op) => op.op === 'add')).toBe(true);
    expect(patch.map((op) => op.path)).toEqual([
      '/spec/template/metadata/annotations/leader-election~1enabled',
      '/spec/template/metadata/annotations/leader-election~1lease-duration',
      '/spec/template/metadata/annotations/leader-election~1workload-keys',
    ]);
    expect(templateAnn(doc)).toEqual({
      'prometheus.io/scrape': 'true',
      [A.enabled]: 'true',
      [A.leaseDuration]: '30s',
      [A.workloadKeys]: 'enabled,lease-duration',
    });
    expect(warnings).toEqual([]);
    // Everything else as it was.
    expect({ ...doc, spec: { ...doc.spec, template: undefined } }).toEqual({
      ...w,
      spec: { ...w.spec, template: undefined },
    });
    expect(doc.spec.template.spec).toEqual(w.spec.template.spec);
  });

  it('warns, naming the workload, when the timings leave the kubelet too little time to fence', () => {
    const w = deployment((d) => {
      d.metadata.annotations[A.leaseDuration] = '4s';
      d.metadata.annotations[A.renewDeadline] = '3s';
      d.metadata.annotations[A.retryPeriod] = '1s';
    });
    const { warnings } = copy(w);
    expect(warnings.some((x) => /^Deployment web: .*renew-deadline is 1s: a leader cut off/.test(x))).toBe(
      true,
    );
    expect(warnings.some((x) => /^Deployment web: .*retry-period is 3s: a frozen leader pod/.test(x))).toBe(
      true,
    );
  });

  it('creates the template annotations, or the template metadata, when absent', () => {
    const a = copy(deployment((d) => delete d.spec.template.metadata.annotations));
    expect(a.patch).toEqual([
      {
        op: 'add',
        path: '/spec/template/metadata/annotations',
        value: { [A.enabled]: 'true', [A.leaseDuration]: '30s', [A.workloadKeys]: 'enabled,lease-duration' },
      },
    ]);
    const b = copy(deployment((d) => delete d.spec.template.metadata));
    expect(b.patch.map((op) => op.path)).toEqual(['/spec/template/metadata']);
    expect(templateAnn(b.doc)[A.enabled]).toBe('true');
  });

  it('updates a changed key with replace', () => {
    const first = copy(deployment()).doc;
    first.metadata.annotations[A.leaseDuration] = '45s';
    const { doc, patch } = copy(first);
    expect(patch).toEqual([
      {
        op: 'replace',
        path: '/spec/template/metadata/annotations/leader-election~1lease-duration',
        value: '45s',
      },
    ]);
    expect(templateAnn(doc)[A.leaseDuration]).toBe('45s');
  });

  it('lets the workload win over a value written in the template directly', () => {
    const { doc, patch } = copy(deployment((d) => (templateAnn(d)[A.leaseDuration] = '20s')));
    expect(patch).toContainEqual({
      op: 'replace',
      path: '/spec/template/metadata/annotations/leader-election~1lease-duration',
      value: '30s',
    });
    expect(templateAnn(doc)[A.workloadKeys]).toBe('enabled,lease-duration');
  });

  it('removes the copied keys when the workload opts out by removing its annotations', () => {
    const first = copy(deployment((d) => (templateAnn(d)[A.routing] = 'label'))).doc;
    first.metadata.annotations = { 'deployment.kubernetes.io/revision': '4' };
    const { patch } = expectPatch(injectWorkload(first, CONFIG));
    const doc = apply(first, patch);
    expect(patch.map((op) => op.op)).toEqual(['remove', 'remove', 'remove']);
    // Keys written in the template directly stay: they are the template's own opt-in.
    expect(templateAnn(doc)).toEqual({ 'prometheus.io/scrape': 'true', [A.routing]: 'label' });
    // From then on the workload is not ours.
    expect(expectSkip(injectWorkload(doc, CONFIG))).toContain('has no leader-election/* annotations');
  });

  it('removes one key dropped from the workload and updates the record', () => {
    const first = copy(deployment()).doc;
    delete first.metadata.annotations[A.leaseDuration];
    const { doc, patch } = copy(first);
    expect(patch).toEqual([
      { op: 'remove', path: '/spec/template/metadata/annotations/leader-election~1lease-duration' },
      {
        op: 'replace',
        path: '/spec/template/metadata/annotations/leader-election~1workload-keys',
        value: 'enabled',
      },
    ]);
    expect(templateAnn(doc)).toEqual({
      'prometheus.io/scrape': 'true',
      [A.enabled]: 'true',
      [A.workloadKeys]: 'enabled',
    });
  });

  it('copies an explicit opt-out and does not validate the rest', () => {
    const { doc } = copy(
      deployment((d) => {
        d.metadata.annotations[A.enabled] = 'false';
        d.metadata.annotations[A.leaseDuration] = 'bogus';
      }),
    );
    expect(templateAnn(doc)[A.enabled]).toBe('false');
  });

  it('lets a workload opt out even if its template would be refused', () => {
    const w = deployment((d) => {
      d.metadata.annotations[A.enabled] = 'false';
      templateAnn(d)[A.status] = 'injected';
      d.spec.template.spec.containers.push({ name: AGENT, image: IMAGE });
    });
    expect(templateAnn(copy(w).doc)[A.enabled]).toBe('false');
  });

  it('never copies the webhook’s own keys', () => {
    const { doc } = copy(
      deployment((d) => {
        d.metadata.annotations[A.status] = 'injected';
        d.metadata.annotations[A.workloadKeys] = 'bogus';
      }),
    );
    expect(templateAnn(doc)[A.status]).toBeUndefined();
    expect(templateAnn(doc)[A.workloadKeys]).toBe('enabled,lease-duration');
  });

  it('skips workloads without leader-election annotations, and other kinds', () => {
    expect(
      expectSkip(
        injectWorkload(
          deployment((d) => (d.metadata.annotations = {})),
          CONFIG,
        ),
      ),
    ).toContain('Deployment web has no leader-election/* annotations');
    expect(
      expectSkip(
        injectWorkload(
          deployment((d) => (d.kind = 'DaemonSet')),
          CONFIG,
        ),
      ),
    ).toContain('kind DaemonSet is not a Deployment or StatefulSet');
  });

  it('denies invalid annotations, naming the key, the value and the rule', () => {
    const w = deployment((d) => (d.metadata.annotations[A.renewDeadline] = '40s'));
    expect(expectDeny(injectWorkload(w, CONFIG))).toBe(
      'Deployment web: leader-election/renew-deadline: "40s" must be less than leader-election/lease-duration ("30s") ' +
        '(rule: lease-duration > renew-deadline > 1.2 × retry-period)',
    );
  });

  it('validates the template as its pods will see it (workload and template keys together)', () => {
    const w = deployment((d) => (templateAnn(d)[A.renewDeadline] = '40s'));
    expect(expectDeny(injectWorkload(w, CONFIG))).toContain('"40s" must be less than');
  });

  it('denies a template copied from an injected pod', () => {
    const w = deployment((d) => {
      templateAnn(d)[A.status] = 'injected';
      d.spec.template.spec.initContainers = [{ name: AGENT, image: IMAGE, restartPolicy: 'Always' }];
    });
    const message = expectDeny(injectWorkload(w, CONFIG));
    expect(message).toContain('2 problems');
    expect(message).toContain(`carries ${A.status}`);
    expect(message).toContain(`already has a container named "${AGENT}"`);
  });
});

describe('workload then pod', () => {
  it('a pod made from the patched template is injected with the workload’s settings', () => {
    const d = copy(deployment((x) => (x.metadata.annotations[A.routing] = 'label'))).doc;
    const pod = deploymentPod((p) => (p.metadata.annotations = structuredClone(templateAnn(d))));
    const { doc } = inject(pod);
    expect(envOf(agentOf(doc))).toMatchObject({ LEASE_NAME: 'web', LEASE_DURATION: '30s', ROUTING: 'label' });
  });
});
