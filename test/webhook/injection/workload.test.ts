// Unit tests of workload injection: the copy of a workload's annotations into its pod template,
// checked by applying each patch (test/webhook/injection/fixtures.ts).
import { describe, expect, it } from 'vitest';
import { injectWorkload } from '../../../webhook/injection/workload.ts';
import {
  A,
  IMAGE,
  CONFIG,
  AGENT,
  apply,
  deploymentPod,
  expectPatch,
  expectDeny,
  expectSkip,
  inject,
  envOf,
  agentOf,
  deployment,
  copy,
  templateAnn,
} from './fixtures.ts';

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
    expect(
      warnings.filter((x) => /^Deployment web: .*renew-deadline is 1s: a leader that lost/.test(x)),
    ).toHaveLength(1);
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

  // Issue 14: a template opting in by itself was skipped, so "yes" or bad timings showed up only
  // as the ReplicaSet's FailedCreate events, and warnings reached nobody.
  it('checks a pod template that opts in by itself: denies its invalid values, warns, patches nothing', () => {
    const templateOnly = (value: string, more: Record<string, string> = {}) =>
      deployment((d) => {
        d.metadata.annotations = {};
        Object.assign(templateAnn(d), { [A.enabled]: value, ...more });
        d.spec.replicas = 3;
      });
    expect(expectDeny(injectWorkload(templateOnly('yes'), CONFIG))).toBe(
      'Deployment web: leader-election/enabled: "yes" must be "true" or "false"',
    );
    expect(expectDeny(injectWorkload(templateOnly('true', { [A.leaseDuration]: '5s' }), CONFIG))).toContain(
      'leader-election/lease-duration: "5s"',
    );
    const { patch, warnings } = expectPatch(injectWorkload(templateOnly('true'), CONFIG));
    expect(patch).toEqual([]);
    expect(warnings.join('\n')).toMatch(/Deployment web: .*maxUnavailable/);
    // An opt-out in the template is left alone.
    expect(
      expectPatch(injectWorkload(templateOnly('false', { [A.leaseDuration]: 'soon' }), CONFIG)).patch,
    ).toEqual([]);
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
