// examples/gitops/argocd-cm-health.yaml: Argo CD's health rule for Deployments, aware of
// readiness-gate routing, run by a Lua interpreter on Deployment statuses as the Deployment
// controller reports them (the ProgressDeadlineExceeded one as measured on kind: an elected
// group of 3, rolled out, its leader the one available pod).
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { runHealthScript } from '../../helpers/lua.ts';

const config = yaml.load(readFileSync('examples/gitops/argocd-cm-health.yaml', 'utf8')) as {
  data: Record<string, string>;
};
const script = config.data['resource.customizations.health.apps_Deployment']!;

interface Shape {
  elected?: boolean;
  routing?: string;
  replicas?: number;
  generation?: number;
  observedGeneration?: number;
  statusReplicas?: number;
  updated?: number;
  available?: number;
  deadlineExceeded?: boolean;
  paused?: boolean;
}

function deployment(s: Shape): unknown {
  const annotations: Record<string, string> = {};
  if (s.elected ?? true) annotations['leader-election/enabled'] = 'true';
  if (s.routing) annotations['leader-election/routing'] = s.routing;
  const replicas = s.replicas ?? 3;
  return {
    metadata: { name: 'web', generation: s.generation ?? 2 },
    spec: {
      replicas,
      paused: s.paused ?? false,
      template: { metadata: { annotations } },
    },
    status: {
      observedGeneration: s.observedGeneration ?? 2,
      replicas: s.statusReplicas ?? replicas,
      updatedReplicas: s.updated ?? replicas,
      availableReplicas: s.available ?? 1,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        s.deadlineExceeded
          ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }
          : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' },
      ],
    },
  };
}

describe('Argo CD health of a Deployment (examples/gitops/argocd-cm-health.yaml)', () => {
  it.each<[string, Shape, string, RegExp?]>([
    ['elected, rolled out, the leader available', {}, 'Healthy', /1 of 3 Ready by design/],
    ['elected, rolled out, past the progress deadline (as on kind)', { deadlineExceeded: true }, 'Healthy'],
    ['elected, mid-rollout', { updated: 1 }, 'Progressing', /1 out of 3 new replicas/],
    ['elected, old pods still terminating', { statusReplicas: 4 }, 'Progressing', /1 old replicas/],
    [
      'elected, a rollout that stalled (maxUnavailable too small)',
      { updated: 1, deadlineExceeded: true },
      'Degraded',
      /replicas - 1/,
    ],
    ['elected, no leader yet', { available: 0 }, 'Progressing', /waiting for a leader/],
    [
      'elected, no leader past the deadline',
      { available: 0, deadlineExceeded: true },
      'Degraded',
      /no pod of 3 leads/,
    ],
    ['a new generation not yet observed', { generation: 3 }, 'Progressing', /observed deployment generation/],
    ['paused', { paused: true }, 'Suspended'],
    [
      'label routing: every pod must be available',
      { routing: 'label' },
      'Progressing',
      /1 of 3 updated replicas are available/,
    ],
    ['label routing, all available', { routing: 'label', available: 3 }, 'Healthy'],
    ['not opted in: Argo CD’s own rules', { elected: false, available: 2 }, 'Progressing'],
    [
      'not opted in, past the deadline',
      { elected: false, deadlineExceeded: true },
      'Degraded',
      /progress deadline/,
    ],
    ['not opted in, all available', { elected: false, available: 3 }, 'Healthy'],
  ])('%s: %s', (_name, shape, status, message) => {
    const got = runHealthScript(script, deployment(shape));
    expect(got.status).toBe(status);
    if (message) expect(got.message).toMatch(message);
  });

  it('reads the opt-in on the Deployment itself too (before the webhook copied it)', () => {
    const d = deployment({ elected: false, deadlineExceeded: true }) as { metadata: Record<string, unknown> };
    d.metadata.annotations = { 'leader-election/enabled': 'true' };
    expect(runHealthScript(script, d).status).toBe('Healthy');
  });
});
