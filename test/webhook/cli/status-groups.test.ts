// Unit tests of the grouping of injected pods, Leases and EndpointSlices into election groups.
import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../webhook/cli/status-table.ts';
import { buildGroups } from '../../../webhook/cli/status-groups.ts';

const H = 60 * 60 * 1000;

describe('buildGroups', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const pod = (ns: string, name: string, extra: object = {}) => ({
    metadata: { name, namespace: ns, labels: { 'leader-election/injected': 'true' }, ...extra },
    status: { phase: 'Running' },
  });

  it('groups injected pods by namespace and Lease, with the agent’s LEASE_NAME as a fallback', () => {
    const groups = buildGroups(
      [
        pod('a', 'x-1', { annotations: { 'leader-election/lease-name': 'x' } }),
        {
          ...pod('a', 'x-2'),
          spec: {
            initContainers: [{ name: 'leader-election-agent', env: [{ name: 'LEASE_NAME', value: 'x' }] }],
          },
        },
        pod('b', 'x-1', { annotations: { 'leader-election/lease-name': 'x' } }),
        // Not injected: ignored.
        { metadata: { name: 'plain', namespace: 'a', annotations: { 'leader-election/lease-name': 'x' } } },
      ],
      [
        {
          metadata: { name: 'x', namespace: 'a' },
          spec: {
            holderIdentity: 'x-1',
            acquireTime: '2026-01-01T11:00:00.000000Z',
            renewTime: '2026-01-01T11:59:00.000000Z',
            leaseDurationSeconds: 15,
            leaseTransitions: 2,
          },
        },
      ],
      [
        {
          metadata: { namespace: 'a', labels: { 'kubernetes.io/service-name': 'svc' } },
          endpoints: [
            { conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'x-1' } },
            { conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'x-2' } },
            { conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'someone-else' } },
          ],
        },
      ],
      now,
    );
    expect(groups.map((g) => [g.namespace, g.lease, g.members.map((m) => m.name)])).toEqual([
      ['a', 'x', ['x-1', 'x-2']],
      ['b', 'x', ['x-1']],
    ]);
    expect(groups[0]).toMatchObject({
      holder: 'x-1',
      termMs: H,
      transitions: 2,
      // Renewed a minute ago with a 15 s lease: expired by this clock.
      expired: true,
      services: [{ service: 'svc', ready: ['x-1'], total: 2 }],
      // A Ready pod of the group's Service without the agent (running since before the opt-in).
      unelected: ['someone-else'],
    });
    expect(groups[1]).toMatchObject({
      leaseExists: false,
      holder: null,
      termMs: null,
      services: [],
      unelected: [],
    });
    expect(formatTable(groups, { allNamespaces: true, now })).toContain(
      'WARNING: a/x: 1 Ready pod(s) without the agent serve beside the leader: someone-else',
    );
  });

  it('a released Lease has no holder and no term', () => {
    const [g] = buildGroups(
      [pod('a', 'p', { annotations: { 'leader-election/lease-name': 'l' } })],
      [{ metadata: { name: 'l', namespace: 'a' }, spec: { holderIdentity: '', leaseTransitions: 5 } }],
      [],
      now,
    );
    expect(g).toMatchObject({
      leaseExists: true,
      holder: null,
      termMs: null,
      transitions: 5,
      expired: false,
    });
    expect(formatTable([g!], { allNamespaces: false, now })).toBe(
      'LEASE   HOLDER   TERM     TRANSITIONS   ENDPOINTS   MEMBERS\n' +
        'l       <none>   <none>   5             <none>      1\n',
    );
  });
});
