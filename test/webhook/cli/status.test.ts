// Unit tests of the status CLI's pure parts: arguments, kubectl's AGE format, grouping,
// and the table. The command against a real API server: status-cli.int.test.ts.
import { describe, expect, it } from 'vitest';
import {
  alignTable,
  buildGroups,
  formatTable,
  humanDuration,
  parseStatusArgs,
  UsageError,
} from '../../../webhook/cli/status.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration (kubectl AGE)', () => {
  it.each([
    [0, '0s'],
    [-1500, '0s'],
    [-3000, '<invalid>'],
    [59 * S, '59s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [2 * M + 5 * S, '2m5s'],
    [10 * M + 30 * S, '10m'],
    [3 * H, '3h'],
    [3 * H + 20 * M, '3h20m'],
    [8 * H + 20 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [3 * D + 4 * H, '3d4h'],
    [30 * D, '30d'],
    [2 * 365 * D, '2y'],
    [3 * 365 * D + 10 * D, '3y10d'],
    [9 * 365 * D, '9y'],
  ])('%i ms → %s', (ms, text) => expect(humanDuration(ms)).toBe(text));
});

describe('parseStatusArgs', () => {
  it('reads kubectl-style flags', () => {
    expect(parseStatusArgs(['status'])).toEqual({ allNamespaces: false, output: 'table' });
    expect(parseStatusArgs(['status', '-n', 'a', '-o', 'json', '--kubeconfig=/k', '--context', 'c'])).toEqual(
      {
        namespace: 'a',
        allNamespaces: false,
        output: 'json',
        kubeconfig: '/k',
        context: 'c',
      },
    );
    expect(parseStatusArgs(['-A', 'status', '-o=wide'])).toEqual({ allNamespaces: true, output: 'wide' });
    expect(parseStatusArgs(['status', '--help'])).toBe('help');
  });

  it.each([
    [[], 'missing command'],
    [['get'], 'unknown command get'],
    [['status', '-n'], '-n needs a value'],
    [['status', '-n', 'a', '-A'], 'cannot be used together'],
    [['status', '-o', 'yaml'], 'wide or json'],
    [['status', '--watch'], 'unknown flag --watch'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseStatusArgs(argv)).toThrow(UsageError);
    expect(() => parseStatusArgs(argv)).toThrow(message);
  });
});

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
    });
    expect(groups[1]).toMatchObject({ leaseExists: false, holder: null, termMs: null, services: [] });
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

describe('alignTable', () => {
  it('pads every column but the last to its widest cell plus 3 spaces', () => {
    expect(
      alignTable([
        ['A', 'BB', 'C'],
        ['aaaa', 'b', ''],
      ]),
    ).toBe('A      BB   C\naaaa   b');
  });
});
