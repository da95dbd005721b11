// Unit tests of the admission decision: which requests are injected, skipped, copied or
// denied, checked by applying the returned patch to the object.
import jsonpatch from 'fast-json-patch';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ANNOTATION, CONDITION_LEADER } from '../../../common/contract/keys.ts';
import { handleAdmission, logDecision, type AdmissionDecision } from '../../../webhook/admission/handler.ts';
import type { AdmissionRequest } from '../../../webhook/admission/review.ts';
import type { JsonPatchOp } from '../../../webhook/injection/json-patch.ts';
import type { WebhookConfig } from '../../../webhook/injection/result.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are raw JSON, built and read freely
type Raw = any;

const CONFIG: WebhookConfig = { agentImage: 'registry.example/agent:1' };
const AGENT = 'leader-election-agent';

function podRequest(object: Raw, mutate?: (r: AdmissionRequest) => void): AdmissionRequest {
  const r: AdmissionRequest = {
    uid: 'uid-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: '',
    name: '',
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: {},
    object,
    oldObject: null,
    dryRun: false,
    options: null,
  };
  mutate?.(r);
  return r;
}

function deploymentPod(annotations: Record<string, string> | undefined): Raw {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'web-7d9f8b6c5d-',
      labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' },
      ...(annotations ? { annotations } : {}),
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f8b6c5d', uid: 'x', controller: true },
      ],
    },
    spec: { containers: [{ name: 'app', image: 'nginx' }] },
  };
}

function deployment(annotations: Record<string, string>): Raw {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', annotations },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'nginx' }] },
      },
    },
  };
}

function workloadRequest(object: Raw, kind: 'Deployment' | 'StatefulSet', operation: 'CREATE' | 'UPDATE') {
  return podRequest(object, (r) => {
    r.kind = { group: 'apps', version: 'v1', kind };
    r.resource = {
      group: 'apps',
      version: 'v1',
      resource: kind === 'Deployment' ? 'deployments' : 'statefulsets',
    };
    r.operation = operation;
    r.name = object.metadata.name;
    if (operation === 'UPDATE') r.oldObject = object;
  });
}

function patched(decision: AdmissionDecision, object: unknown): Raw {
  if (!decision.result.allowed) throw new Error(`denied: ${decision.result.status.message}`);
  return jsonpatch.applyPatch(structuredClone(object), decision.result.patch as JsonPatchOp[], true)
    .newDocument;
}

describe('handleAdmission: pods', () => {
  it('injects an opted-in pod: agent sidecar, readiness gate, marker', () => {
    const pod = deploymentPod({ [ANNOTATION.enabled]: 'true' });
    const d = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: false });
    expect(d.outcome).toBe('patched');
    expect(d.leaseName).toBe('web');
    expect(d.target).toBe('Pod shop/web-7d9f8b6c5d-*');
    expect(d.patchOps).toBeGreaterThan(0);
    const out = patched(d, pod);
    const agent = out.spec.initContainers.find((c: Raw) => c.name === AGENT);
    expect(agent.image).toBe(CONFIG.agentImage);
    expect(agent.restartPolicy).toBe('Always');
    expect(out.spec.readinessGates).toEqual([{ conditionType: CONDITION_LEADER }]);
    expect(out.metadata.annotations[ANNOTATION.status]).toBe('injected');
    // The app container is untouched.
    expect(out.spec.containers).toEqual(pod.spec.containers);
  });

  it('skips a pod that is not opted in, with no patch', () => {
    const pod = deploymentPod(undefined);
    const d = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: false });
    expect(d.outcome).toBe('skipped');
    expect(d.result).toEqual({ allowed: true, patch: [], warnings: [] });
    expect(d.reason).toMatch(/not opted in/);
  });

  it('injects a pod without the annotation when the route says the namespace opts in', () => {
    const pod = deploymentPod(undefined);
    const d = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: true });
    expect(d.outcome).toBe('patched');
    expect(patched(d, pod).metadata.annotations[ANNOTATION.status]).toBe('injected');
  });

  it('respects a pod opting out of its namespace', () => {
    const pod = deploymentPod({ [ANNOTATION.enabled]: 'false' });
    const d = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: true });
    expect(d.outcome).toBe('skipped');
  });

  it('is idempotent: an injected pod is skipped', () => {
    const pod = deploymentPod({ [ANNOTATION.enabled]: 'true' });
    const once = patched(handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: false }), pod);
    const twice = handleAdmission(podRequest(once), { config: CONFIG, namespaceOptIn: false });
    expect(twice.outcome).toBe('skipped');
    expect(twice.result.allowed && twice.result.patch).toEqual([]);
  });

  it('answers a dryRun request exactly as the real one', () => {
    const pod = deploymentPod({ [ANNOTATION.enabled]: 'true' });
    const real = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: false });
    const dry = handleAdmission(
      podRequest(pod, (r) => (r.dryRun = true)),
      { config: CONFIG, namespaceOptIn: false },
    );
    expect(dry.result).toEqual(real.result);
  });

  it('denies an invalid annotation with 403 and a message naming key, value and rule', () => {
    const pod = deploymentPod({ [ANNOTATION.enabled]: 'true', [ANNOTATION.leaseDuration]: '5s' });
    const d = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: false });
    expect(d.outcome).toBe('denied');
    if (d.result.allowed) throw new Error('expected a denial');
    expect(d.result.status.code).toBe(403);
    expect(d.result.status.reason).toBe('Forbidden');
    expect(d.result.status.message).toContain(ANNOTATION.leaseDuration);
    expect(d.result.status.message).toContain('"5s"');
    expect(d.result.status.message).toContain('rule: lease-duration > renew-deadline');
    expect(d.reason).toBe(d.result.status.message);
  });

  it('denies a bare pod without a lease name, saying to set it', () => {
    const pod = {
      metadata: { name: 'p', annotations: { [ANNOTATION.enabled]: 'true' } },
      spec: { containers: [] },
    };
    const d = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: false });
    expect(d.outcome).toBe('denied');
    expect(!d.result.allowed && d.result.status.message).toContain(ANNOTATION.leaseName);
  });

  it('denies a malformed pod with 400 BadRequest', () => {
    const pod = { metadata: { annotations: { [ANNOTATION.enabled]: 'true' } }, spec: 'nope' };
    const d = handleAdmission(podRequest(pod), { config: CONFIG, namespaceOptIn: false });
    expect(d.outcome).toBe('denied');
    expect(!d.result.allowed && d.result.status).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('takes the namespace from the request (a pod being created may not carry it)', () => {
    const pod = { metadata: { generateName: 'p-' }, spec: {} };
    const d = handleAdmission(
      podRequest(pod, (r) => (r.namespace = 'billing')),
      { config: CONFIG, namespaceOptIn: false },
    );
    expect(d.target).toBe('Pod billing/p-*');
    expect(d.reason).toBe('pod billing/p-* is not opted in');
  });

  it('allows a pod UPDATE and pod subresources unchanged', () => {
    const pod = deploymentPod({ [ANNOTATION.enabled]: 'true' });
    for (const mutate of [
      (r: AdmissionRequest) => (r.operation = 'UPDATE'),
      (r: AdmissionRequest) => (r.subResource = 'ephemeralcontainers'),
      (r: AdmissionRequest) => (r.subResource = 'status'),
    ]) {
      const d = handleAdmission(podRequest(pod, mutate), { config: CONFIG, namespaceOptIn: false });
      expect(d.outcome).toBe('skipped');
      expect(d.result).toEqual({ allowed: true, patch: [], warnings: [] });
    }
  });
});

describe('handleAdmission: workloads', () => {
  it.each(['CREATE', 'UPDATE'] as const)(
    'copies a Deployment’s annotations into its pod template on %s',
    (op) => {
      const dep = deployment({ [ANNOTATION.enabled]: 'true', [ANNOTATION.leaseName]: 'web-leader' });
      const d = handleAdmission(workloadRequest(dep, 'Deployment', op), {
        config: CONFIG,
        namespaceOptIn: false,
      });
      expect(d.outcome).toBe('patched');
      expect(d.leaseName).toBe('web-leader');
      const out = patched(d, dep);
      expect(out.spec.template.metadata.annotations).toMatchObject({
        [ANNOTATION.enabled]: 'true',
        [ANNOTATION.leaseName]: 'web-leader',
      });
      // The workload itself is not injected: its pods are, one by one.
      expect(out.spec.template.spec).toEqual(dep.spec.template.spec);
    },
  );

  it('copies a StatefulSet’s annotations and names the lease after it', () => {
    const sts = { ...deployment({ [ANNOTATION.enabled]: 'true' }), kind: 'StatefulSet' };
    sts.metadata = { ...sts.metadata, name: 'db' };
    const d = handleAdmission(workloadRequest(sts, 'StatefulSet', 'CREATE'), {
      config: CONFIG,
      namespaceOptIn: false,
    });
    expect(d.outcome).toBe('patched');
    expect(d.leaseName).toBe('db');
    expect(patched(d, sts).spec.template.metadata.annotations[ANNOTATION.enabled]).toBe('true');
  });

  it('passes the workload’s rollout warnings through', () => {
    const dep = deployment({ [ANNOTATION.enabled]: 'true' });
    dep.spec.replicas = 3;
    const d = handleAdmission(workloadRequest(dep, 'Deployment', 'CREATE'), {
      config: CONFIG,
      namespaceOptIn: false,
    });
    expect(d.result.warnings.length).toBeGreaterThan(0);
    expect(d.result.warnings[0]).toMatch(/maxUnavailable/);
  });

  it('skips a workload without leader-election annotations', () => {
    const dep = deployment({ other: 'x' });
    const d = handleAdmission(workloadRequest(dep, 'Deployment', 'UPDATE'), {
      config: CONFIG,
      namespaceOptIn: false,
    });
    expect(d.outcome).toBe('skipped');
    expect(d.result).toEqual({ allowed: true, patch: [], warnings: [] });
  });

  it('denies a workload with an invalid annotation, carrying the message', () => {
    const dep = deployment({ [ANNOTATION.enabled]: 'true', [ANNOTATION.routing]: 'dns' });
    const d = handleAdmission(workloadRequest(dep, 'Deployment', 'CREATE'), {
      config: CONFIG,
      namespaceOptIn: false,
    });
    expect(d.outcome).toBe('denied');
    if (d.result.allowed) throw new Error('expected a denial');
    expect(d.result.status.code).toBe(403);
    expect(d.result.status.message).toContain(
      `${ANNOTATION.routing}: "dns" must be one of readiness-gate, label`,
    );
    expect(d.result.status.message).toContain('Deployment web');
  });

  it('does not touch a workload DELETE', () => {
    const dep = deployment({ [ANNOTATION.enabled]: 'true' });
    const req = workloadRequest(dep, 'Deployment', 'CREATE');
    req.operation = 'DELETE';
    expect(handleAdmission(req, { config: CONFIG, namespaceOptIn: false }).outcome).toBe('skipped');
  });
});

describe('handleAdmission: anything else', () => {
  it.each([
    [
      'ConfigMap',
      { group: '', version: 'v1', resource: 'configmaps' },
      { kind: 'ConfigMap', data: { a: 'b' } },
    ],
    ['ReplicaSet', { group: 'apps', version: 'v1', resource: 'replicasets' }, { kind: 'ReplicaSet' }],
    ['Job', { group: 'batch', version: 'v1', resource: 'jobs' }, { kind: 'Job' }],
    [
      'Deployment in another group',
      { group: 'example.com', version: 'v1', resource: 'deployments' },
      { kind: 'Deployment', metadata: { annotations: { [ANNOTATION.enabled]: 'true' } } },
    ],
  ])('allows a %s unchanged with no patch', (_what, resource, object) => {
    const d = handleAdmission(
      podRequest(object, (r) => {
        r.resource = resource;
        r.kind = { group: resource.group, version: 'v1', kind: object.kind };
      }),
      { config: CONFIG, namespaceOptIn: true },
    );
    expect(d.outcome).toBe('skipped');
    expect(d.result).toEqual({ allowed: true, patch: [], warnings: [] });
    expect(d.reason).toMatch(/is not handled/);
  });
});

describe('logDecision', () => {
  it('writes one structured line with target, result and lease', () => {
    const lines: Raw[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString('utf8')));
        cb();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const pod = deploymentPod({ [ANNOTATION.enabled]: 'true' });
    const req = podRequest(pod);
    const d = handleAdmission(req, { config: CONFIG, namespaceOptIn: false });
    logDecision(log, req, d, { path: '/mutate', ms: 0.1234 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'admission decision',
      uid: 'uid-1',
      path: '/mutate',
      namespace: 'shop',
      target: 'Pod shop/web-7d9f8b6c5d-*',
      result: 'patched',
      lease: 'web',
      operation: 'CREATE',
    });
  });
});
