// Opting in a running Deployment (issue 12, item 6): which ReplicaSets the migrator scales to 0.
import { describe, expect, it } from 'vitest';
import { optInPlan, type Workload } from '../../../webhook/migration/opt-in-plan.ts';

const DEPLOYMENT_UID = 'd-uid';
const deployment = (
  annotations: Record<string, string> = { 'leader-election/enabled': 'true' },
  paused = false,
): Workload => ({
  metadata: { name: 'web', uid: DEPLOYMENT_UID },
  spec: { replicas: 3, paused, template: { metadata: { annotations } } },
});
const rs = (
  name: string,
  revision: number,
  replicas: number,
  injected: boolean,
  owner = DEPLOYMENT_UID,
): Workload => ({
  metadata: {
    name,
    resourceVersion: `${revision}00`,
    annotations: { 'deployment.kubernetes.io/revision': String(revision) },
    ownerReferences: [{ kind: 'Deployment', name: 'web', uid: owner, controller: true }],
  },
  spec: {
    replicas,
    template: { metadata: { annotations: injected ? { 'leader-election/enabled': 'true' } : {} } },
  },
});
const names = (p: ReturnType<typeof optInPlan>) =>
  p.kind === 'scale-to-zero' ? p.replicaSets.map((r) => r.metadata?.name) : [];

describe('optInPlan', () => {
  it("scales the earlier revisions without the agent to 0 once the injected revision's leader is Ready", () => {
    const sets = [rs('web-a', 1, 0, false), rs('web-b', 2, 2, false), rs('web-c', 3, 2, true)];
    const plan = optInPlan(deployment(), sets, 'web-c');
    expect(names(plan)).toEqual(['web-b']);
    expect(plan.kind === 'scale-to-zero' && plan.why).toMatch(
      /leader of Deployment web's injected revision 3/,
    );
  });

  it('leaves alone: injected earlier revisions (a normal rollout), other owners, newer revisions', () => {
    const sets = [
      rs('web-a', 1, 1, true), // an injected old revision: its pods are followers, the controller removes them
      rs('other', 1, 3, false, 'another-deployment'),
      rs('web-c', 3, 2, true),
      rs('web-d', 4, 1, false), // newer than the Ready pod's revision
    ];
    expect(optInPlan(deployment(), sets, 'web-c')).toMatchObject({ kind: 'none' });
  });

  it('does nothing for a paused Deployment, one no longer opted in (rollback), label routing, or a Ready pod of an un-injected ReplicaSet', () => {
    const sets = [rs('web-b', 2, 2, false), rs('web-c', 3, 2, true)];
    expect(optInPlan(deployment(undefined, true), sets, 'web-c').kind).toBe('none');
    expect(optInPlan(deployment({}), sets, 'web-c').kind).toBe('none');
    expect(
      optInPlan(
        deployment({ 'leader-election/enabled': 'true', 'leader-election/routing': 'label' }),
        sets,
        'web-c',
      ).kind,
    ).toBe('none');
    expect(optInPlan(deployment(), sets, 'web-b').kind).toBe('none');
    expect(optInPlan(deployment(), sets, 'unknown').kind).toBe('none');
  });
});
