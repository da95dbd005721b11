import { describe, expect, it } from 'vitest';
import {
  LABEL_MANAGED_BY,
  MANAGED_BY,
  OWNED_LABELS,
  desiredRoleBinding,
  planRoleBinding,
  updatedRoleBinding,
  type PodLike,
  type RoleBinding,
} from '../../../webhook/rbac/role-binding.ts';

function pod(
  name: string,
  opts: { ns?: string; sa?: string; injected?: string | null; phase?: string; deleting?: boolean } = {},
): PodLike {
  const labels: Record<string, string> = {};
  if (opts.injected !== null) labels['leader-election/injected'] = opts.injected ?? 'true';
  return {
    metadata: {
      name,
      namespace: opts.ns ?? 'team-a',
      labels,
      ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: opts.sa === undefined ? {} : { serviceAccountName: opts.sa },
    status: { phase: opts.phase ?? 'Running' },
  };
}

function binding(
  subjects: string[],
  opts: { owned?: boolean; role?: string; ns?: string } = {},
): RoleBinding {
  const ns = opts.ns ?? 'team-a';
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: 'leader-election-agent',
      namespace: ns,
      uid: 'u1',
      resourceVersion: '42',
      labels: opts.owned === false ? { other: 'x' } : { ...OWNED_LABELS, other: 'x' },
      annotations: { keep: 'me' },
    },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: opts.role ?? 'leader-election-agent',
    },
    // As the API server returns them: no apiGroup on ServiceAccount subjects.
    subjects: subjects.map((name) => ({ kind: 'ServiceAccount', name, namespace: ns })),
  };
}

describe('desiredRoleBinding', () => {
  it('binds the distinct service accounts of injected pods, sorted, to the agent ClusterRole', () => {
    const rb = desiredRoleBinding('team-a', [
      pod('a', { sa: 'zeta' }),
      pod('b', { sa: 'alpha' }),
      pod('c', { sa: 'zeta' }),
      pod('d'), // no serviceAccountName: the API server's default
    ]);
    expect(rb).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {
        name: 'leader-election-agent',
        namespace: 'team-a',
        labels: {
          'app.kubernetes.io/managed-by': 'leader-election-webhook',
          'app.kubernetes.io/name': 'leader-election',
          'app.kubernetes.io/component': 'agent',
        },
      },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'leader-election-agent' },
      subjects: [
        { kind: 'ServiceAccount', name: 'alpha', namespace: 'team-a' },
        { kind: 'ServiceAccount', name: 'default', namespace: 'team-a' },
        { kind: 'ServiceAccount', name: 'zeta', namespace: 'team-a' },
      ],
    });
  });

  it('is deterministic: the order of pods does not matter', () => {
    const pods = [pod('a', { sa: 'c' }), pod('b', { sa: 'a' }), pod('c', { sa: 'b' })];
    expect(desiredRoleBinding('team-a', pods)).toEqual(desiredRoleBinding('team-a', [...pods].reverse()));
  });

  it('honours the legacy spec.serviceAccount field', () => {
    const p = pod('a');
    p.spec = { serviceAccount: 'legacy' };
    expect(desiredRoleBinding('team-a', [p])?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'legacy', namespace: 'team-a' },
    ]);
  });

  it('keeps terminating pods (their agent must still release the Lease)', () => {
    const rb = desiredRoleBinding('team-a', [pod('a', { sa: 'going', deleting: true })]);
    expect(rb?.subjects?.map((s) => s.name)).toEqual(['going']);
  });

  it('ignores pods in a terminal phase, not injected, or of another namespace', () => {
    expect(
      desiredRoleBinding('team-a', [
        pod('done', { sa: 's1', phase: 'Succeeded' }),
        pod('failed', { sa: 's2', phase: 'Failed' }),
        pod('plain', { sa: 's3', injected: null }),
        pod('false', { sa: 's4', injected: 'false' }),
        pod('elsewhere', { sa: 's5', ns: 'team-b' }),
      ]),
    ).toBeUndefined();
    expect(desiredRoleBinding('team-a', [])).toBeUndefined();
    expect(
      desiredRoleBinding('team-a', [pod('pending', { sa: 's6', phase: 'Pending' })])?.subjects,
    ).toHaveLength(1);
  });

  it('uses the configured names', () => {
    const rb = desiredRoleBinding('team-a', [pod('a')], {
      clusterRole: 'my-agent',
      roleBindingName: 'my-rb',
    });
    expect(rb?.metadata.name).toBe('my-rb');
    expect(rb?.roleRef.name).toBe('my-agent');
  });
});

describe('planRoleBinding', () => {
  const desired = (...sas: string[]) =>
    desiredRoleBinding(
      'team-a',
      sas.map((sa, i) => pod(`p${i}`, { sa })),
    );

  it('creates when missing and wanted, does nothing when neither', () => {
    expect(planRoleBinding(undefined, desired('a'))).toBe('create');
    expect(planRoleBinding(undefined, undefined)).toBe('none');
  });

  it('does nothing when the subjects match (whatever the apiGroup spelling)', () => {
    expect(planRoleBinding(binding(['a', 'b']), desired('b', 'a'))).toBe('none');
    const withGroup = binding(['a']);
    withGroup.subjects = [{ kind: 'ServiceAccount', apiGroup: '', name: 'a', namespace: 'team-a' }];
    expect(planRoleBinding(withGroup, desired('a'))).toBe('none');
  });

  it('updates when the set of service accounts changes, grows or shrinks', () => {
    expect(planRoleBinding(binding(['a']), desired('a', 'b'))).toBe('update');
    expect(planRoleBinding(binding(['a', 'b']), desired('a'))).toBe('update');
    expect(planRoleBinding(binding(['a']), desired('b'))).toBe('update');
    expect(planRoleBinding(binding([]), desired('a'))).toBe('update');
  });

  it('updates a subject of the wrong kind or namespace', () => {
    const rb = binding(['a']);
    rb.subjects = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'a' }];
    expect(planRoleBinding(rb, desired('a'))).toBe('update');
    rb.subjects = [{ kind: 'ServiceAccount', name: 'a', namespace: 'elsewhere' }];
    expect(planRoleBinding(rb, desired('a'))).toBe('update');
  });

  it('restores our labels', () => {
    const rb = binding(['a']);
    rb.metadata.labels = { [LABEL_MANAGED_BY]: MANAGED_BY };
    expect(planRoleBinding(rb, desired('a'))).toBe('update');
  });

  it('deletes ours when no elected pod remains', () => {
    expect(planRoleBinding(binding(['a']), undefined)).toBe('delete');
  });

  it('deletes ours when its roleRef is wrong (roleRef is immutable: it is created again)', () => {
    expect(planRoleBinding(binding(['a'], { role: 'admin' }), desired('a'))).toBe('delete');
  });

  it('never touches a RoleBinding it does not own', () => {
    expect(planRoleBinding(binding(['x'], { owned: false }), desired('a'))).toBe('none');
    expect(planRoleBinding(binding(['x'], { owned: false }), undefined)).toBe('none');
    expect(planRoleBinding(binding(['x'], { owned: false, role: 'admin' }), desired('a'))).toBe('none');
  });
});

describe('updatedRoleBinding', () => {
  it('keeps the current object (resourceVersion, other labels, annotations) and sets subjects and labels', () => {
    const current = binding(['old']);
    current.metadata.labels = { other: 'x' };
    const want = desiredRoleBinding('team-a', [pod('a', { sa: 'new' })])!;
    const out = updatedRoleBinding(current, want);
    expect(out.metadata.resourceVersion).toBe('42');
    expect(out.metadata.annotations).toEqual({ keep: 'me' });
    expect(out.metadata.labels).toMatchObject({ other: 'x', [LABEL_MANAGED_BY]: MANAGED_BY });
    expect(out.subjects).toEqual([{ kind: 'ServiceAccount', name: 'new', namespace: 'team-a' }]);
    expect(current.subjects?.[0]?.name).toBe('old'); // not mutated
  });
});
