// Unit tests of the rollout warnings of readiness-gate routing, through injectWorkload.
import { describe, expect, it } from 'vitest';
import { injectWorkload } from '../../../webhook/injection/workload.ts';
import { type Raw, A, CONFIG, expectPatch, deployment, statefulSet, copy, templateAnn } from './fixtures.ts';

describe('injectWorkload: rollout warnings for readiness-gate routing', () => {
  const warningsOf = (w: Raw, namespaceOptIn = false) =>
    expectPatch(injectWorkload(w, CONFIG, { namespaceOptIn })).warnings;

  it('warns for a multi-replica Deployment with the default RollingUpdate', () => {
    const [w, ...rest] = warningsOf(deployment((d) => (d.spec.replicas = 3)));
    expect(rest).toEqual([]);
    expect(w).toContain('Deployment web');
    expect(w).toContain('keeps at least 3 available (maxUnavailable 25%, the default)');
    expect(w).toContain('set spec.strategy.rollingUpdate.maxUnavailable to 2 (or 100%)');
    expect(w).toContain('hands the lease to a Ready pod of the new revision');
    expect(w).toContain('leader-election/routing: label');
  });

  it.each([
    ['one replica', (d: Raw) => (d.spec.replicas = 1)],
    ['replicas absent (1)', (d: Raw) => delete d.spec.replicas],
    ['Recreate', (d: Raw) => ((d.spec.replicas = 3), (d.spec.strategy = { type: 'Recreate' }))],
    [
      'maxUnavailable = replicas-1',
      (d: Raw) => ((d.spec.replicas = 3), (d.spec.strategy = { rollingUpdate: { maxUnavailable: 2 } })),
    ],
    [
      'maxUnavailable 100%',
      (d: Raw) => ((d.spec.replicas = 5), (d.spec.strategy = { rollingUpdate: { maxUnavailable: '100%' } })),
    ],
    [
      'maxUnavailable 75% of 4',
      (d: Raw) => ((d.spec.replicas = 4), (d.spec.strategy = { rollingUpdate: { maxUnavailable: '75%' } })),
    ],
    ['label routing', (d: Raw) => ((d.spec.replicas = 3), (d.metadata.annotations[A.routing] = 'label'))],
    ['opted out', (d: Raw) => ((d.spec.replicas = 3), (d.metadata.annotations[A.enabled] = 'false'))],
  ])('does not warn a Deployment with %s', (_what, mutate) => {
    expect(warningsOf(deployment(mutate))).toEqual([]);
  });

  it('rounds a percentage down as Kubernetes does (50% of 3 is 1)', () => {
    const w = deployment((d) => {
      d.spec.replicas = 3;
      d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } };
    });
    expect(warningsOf(w)).toEqual([
      expect.stringContaining('keeps at least 2 available (maxUnavailable 50%)'),
    ]);
  });

  // Found by the fuzz test (seed 379233339): an object whose toString is not a function made
  // String() throw, and the webhook answered 500.
  it('never throws on a maxUnavailable that is not an integer or a percentage', () => {
    const w = deployment((d) => {
      d.spec.replicas = 3;
      d.spec.strategy = { rollingUpdate: { maxUnavailable: { toString: 'x', valueOf: null } } };
    });
    expect(warningsOf(w)).toEqual([
      expect.stringContaining('(maxUnavailable not an integer or a percentage)'),
    ]);
  });

  it('warns when opted in by the namespace, not otherwise', () => {
    const w = deployment((d) => {
      d.spec.replicas = 3;
      delete d.metadata.annotations[A.enabled];
    });
    expect(warningsOf(w, false)).toEqual([]);
    expect(warningsOf(w, true)).toHaveLength(1);
  });

  it('warns for a StatefulSet with OrderedReady (the default), naming Parallel', () => {
    const [w, ...rest] = warningsOf(statefulSet());
    expect(rest).toEqual([]);
    expect(w).toContain('StatefulSet db');
    expect(w).toContain('podManagementPolicy OrderedReady');
    expect(w).toContain('spec.podManagementPolicy: Parallel');
    expect(w).toContain('maxUnavailable: 100%');
    expect(w).toContain('leader-election/routing: label');
  });

  it('warns for a Parallel StatefulSet whose RollingUpdate would wait for each pod', () => {
    const [w] = warningsOf(statefulSet((s) => (s.spec.podManagementPolicy = 'Parallel')));
    expect(w).toContain('spec.updateStrategy.rollingUpdate.maxUnavailable: 100%');
    expect(w).toContain('OnDelete');
  });

  it.each([
    [
      'Parallel, maxUnavailable 100%',
      (s: Raw) => (
        (s.spec.podManagementPolicy = 'Parallel'),
        (s.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%' } })
      ),
    ],
    [
      'Parallel, OnDelete',
      (s: Raw) => ((s.spec.podManagementPolicy = 'Parallel'), (s.spec.updateStrategy = { type: 'OnDelete' })),
    ],
    ['one replica', (s: Raw) => (s.spec.replicas = 1)],
    ['label routing', (s: Raw) => (s.metadata.annotations[A.routing] = 'label')],
  ])('does not warn a StatefulSet with %s', (_what, mutate) => {
    expect(warningsOf(statefulSet(mutate))).toEqual([]);
  });

  it('copies into a StatefulSet template too', () => {
    const { doc } = copy(statefulSet());
    expect(templateAnn(doc)).toEqual({ [A.enabled]: 'true', [A.workloadKeys]: 'enabled' });
  });
});
