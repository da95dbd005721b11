// Unit tests of the annotation contract: Go durations, quantities, and every rule of
// parseElectionConfig, each checked for a message that names the key, the value and the rule.
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION,
  ANNOTATIONS,
  CONDITION_LEADER,
  DEFAULTS,
  LABEL_ROLE,
  NAMESPACE_LABEL_ENABLED,
  PREFIX,
  formatGoDuration,
  isDns1123Subdomain,
  isOptedIn,
  parseElectionConfig,
  parseGoDuration,
  parseQuantity,
  type ElectionConfig,
  timingWarnings,
} from '../../../common/annotations.ts';

const A = ANNOTATION;

function ok(annotations: Record<string, string> | undefined): ElectionConfig {
  const r = parseElectionConfig(annotations);
  if (!r.ok) throw new Error(`expected ok, got: ${r.errors.join(' | ')}`);
  return r.config;
}

function errors(annotations: Record<string, string>): string[] {
  const r = parseElectionConfig(annotations);
  if (r.ok) throw new Error('expected errors, got ok');
  return r.errors;
}

describe('parseGoDuration', () => {
  // Expected values produced by Go 1.26's time.ParseDuration and Duration.String() on the same
  // inputs (null: Go returns an error). Negative durations parse in Go but are rejected here.
  const GO: [input: string, ns: bigint | null, goString: string][] = [
    ['15s', 15_000_000_000n, '15s'],
    ['1m30s', 90_000_000_000n, '1m30s'],
    ['500ms', 500_000_000n, '500ms'],
    ['1h', 3_600_000_000_000n, '1h0m0s'],
    ['1.5h', 5_400_000_000_000n, '1h30m0s'],
    ['300ms', 300_000_000n, '300ms'],
    ['0', 0n, '0s'],
    ['-0', 0n, '0s'],
    ['+15s', 15_000_000_000n, '15s'],
    ['1.s', 1_000_000_000n, '1s'],
    ['.5s', 500_000_000n, '500ms'],
    ['15\u00b5s', 15_000n, '15\u00b5s'],
    ['15\u03bcs', 15_000n, '15\u00b5s'],
    ['15us', 15_000n, '15\u00b5s'],
    ['1ns', 1n, '1ns'],
    ['0.1ns', 0n, '0s'],
    ['1.0000000001h', 3_600_000_000_360n, '1h0m0.00000036s'],
    ['1.123456789012345678901234567890s', 1_123_456_789n, '1.123456789s'],
    ['3h2m1.5s', 10_921_500_000_000n, '3h2m1.5s'],
    ['1h1h', 7_200_000_000_000n, '2h0m0s'],
    ['00001s', 1_000_000_000n, '1s'],
    ['0.000000001s', 1n, '1ns'],
    ['0.0000000001s', 0n, '0s'],
    ['1.9999999999999999999h', 7_200_000_000_000n, '2h0m0s'],
    ['7.123456789h', 25_644_444_440_400n, '7h7m24.4444404s'],
    ['1.5m', 90_000_000_000n, '1m30s'],
    ['0.3333333333333333333h', 1_200_000_000_000n, '20m0s'],
    ['2562047h', 9_223_369_200_000_000_000n, '2562047h0m0s'],
    ['9223372036854775807ns', 9_223_372_036_854_775_807n, '2562047h47m16.854775807s'],
    ['', null, ''],
    ['s', null, ''],
    ['1', null, ''],
    ['1.', null, ''],
    ['..5s', null, ''],
    ['1.5.5s', null, ''],
    ['1e3s', null, ''],
    ['1 s', null, ''],
    [' 1s', null, ''],
    ['1s ', null, ''],
    ['1S', null, ''],
    ['1sec', null, ''],
    ['1m1', null, ''],
    ['2562048h', null, ''],
    ['9223372036854775808ns', null, ''],
    ['100000000000000000000000s', null, ''],
    ['constructor', null, ''],
    ['1constructor', null, ''],
    ['1m-1s', null, ''],
    ['+', null, ''],
    ['-', null, ''],
  ];

  it.each(GO)('%j parses as Go does', (input, ns) => {
    const want = ns === null ? undefined : Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
    expect(parseGoDuration(input)).toBe(want);
  });

  it.each(GO.filter(([, ns]) => ns !== null && ns < 2n ** 53n))(
    '%j formats back as Go does',
    (_input, ns, goString) => {
      expect(formatGoDuration(Number(ns) / 1e6)).toBe(goString);
    },
  );

  it('rejects negative durations, which Go accepts', () => {
    expect(parseGoDuration('-5s')).toBeUndefined();
    expect(parseGoDuration('-1m30s')).toBeUndefined();
  });

  it('formats common values', () => {
    expect(formatGoDuration(15_000)).toBe('15s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
    expect(formatGoDuration(2_400)).toBe('2.4s');
    expect(formatGoDuration(0.5)).toBe('500\u00b5s');
    expect(formatGoDuration(-1_500)).toBe('-1.5s');
  });
});

describe('parseQuantity', () => {
  it.each([
    ['10m', 0.01],
    ['0.5', 0.5],
    ['4', 4],
    ['.5', 0.5],
    ['1.', 1],
    ['+1', 1],
    ['-1', -1],
    ['48Mi', 48 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1k', 1e3],
    ['1e3', 1e3],
    ['1E3', 1e3],
    ['1e-3', 1e-3],
    ['100u', 1e-4],
  ])('%s = %d', (s, v) => {
    expect(parseQuantity(s)).toBeCloseTo(v, 12);
  });

  it.each(['', 'abc', '1K', '1mi', '1 Mi', 'Mi', '.', '1e', '1..2', '1Mib', '0x10'])('rejects %j', (s) => {
    expect(parseQuantity(s)).toBeUndefined();
  });
});

describe('isDns1123Subdomain', () => {
  it.each(['a', 'my-app', 'my.app-1', '0abc', 'a'.repeat(253)])('accepts %j', (s) => {
    expect(isDns1123Subdomain(s)).toBe(true);
  });
  it.each(['', 'My-App', 'my_app', '-a', 'a-', 'a..b', '.a', 'a.', 'a'.repeat(254), 'a/b'])(
    'rejects %j',
    (s) => {
      expect(isDns1123Subdomain(s)).toBe(false);
    },
  );
});

describe('the contract constants and table', () => {
  it('exposes the stable names', () => {
    expect(PREFIX).toBe('leader-election/');
    expect(CONDITION_LEADER).toBe('leader-election/leader');
    expect(LABEL_ROLE).toBe('leader-election/role');
    expect(NAMESPACE_LABEL_ENABLED).toBe('leader-election/enabled');
    expect(A.status).toBe('leader-election/status');
  });

  it('documents every annotation key once, with a meaning and a default', () => {
    const keys = ANNOTATIONS.map((a) => a.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(Object.values(A).sort());
    for (const a of ANNOTATIONS) {
      expect(a.key.startsWith(PREFIX)).toBe(true);
      expect(a.meaning.length).toBeGreaterThan(10);
      expect(a.default.length).toBeGreaterThan(0);
    }
    const byKey = Object.fromEntries(ANNOTATIONS.map((a) => [a.key, a]));
    expect(byKey[A.leaseDuration]?.default).toBe('15s');
    expect(byKey[A.renewDeadline]?.default).toBe('10s');
    expect(byKey[A.retryPeriod]?.default).toBe('2s');
    expect(byKey[A.routing]?.default).toBe('readiness-gate');
    expect(byKey[A.agentPort]?.default).toBe('4040');
  });
});

describe('isOptedIn', () => {
  it.each([
    [undefined, false, false],
    [undefined, true, true],
    [{}, true, true],
    [{ [A.enabled]: 'true' }, false, true],
    [{ [A.enabled]: 'true' }, true, true],
    [{ [A.enabled]: 'false' }, true, false],
    [{ [A.enabled]: 'false' }, false, false],
    // Invalid values count as in so that the parser denies them (fail closed).
    [{ [A.enabled]: 'yes' }, false, true],
    [{ [A.enabled]: 'False' }, true, true],
  ] as const)('%j with namespace opt-in %s → %s', (ann, ns, want) => {
    expect(isOptedIn(ann, ns)).toBe(want);
  });
});

describe('parseElectionConfig', () => {
  it('fills every default', () => {
    expect(ok(undefined)).toEqual({
      enabled: undefined,
      leaseName: undefined,
      leaseDuration: '15s',
      renewDeadline: '10s',
      retryPeriod: '2s',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      routing: 'readiness-gate',
      agentMode: 'sidecar',
      resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '96Mi' } },
      port: 4040,
      pullPolicy: undefined,
    } satisfies ElectionConfig);
    expect(ok({ 'app.kubernetes.io/name': 'x', 'other/enabled': 'maybe' }).routing).toBe(DEFAULTS.routing);
  });

  it('takes every override', () => {
    const c = ok({
      [A.enabled]: 'true',
      [A.leaseName]: 'my-lease.v1',
      [A.leaseDuration]: '1m30s',
      [A.renewDeadline]: '1m',
      [A.retryPeriod]: '1.5s',
      [A.routing]: 'label',
      [A.agentMode]: 'container',
      [A.agentCpuRequest]: '0.05',
      [A.agentMemoryRequest]: '64Mi',
      [A.agentCpuLimit]: '1',
      [A.agentMemoryLimit]: '1Gi',
      [A.agentPort]: '8081',
      [A.agentImagePullPolicy]: 'Never',
      [A.status]: 'injected',
      [A.workloadKeys]: 'enabled,routing',
    });
    expect(c).toMatchObject({
      enabled: true,
      leaseName: 'my-lease.v1',
      leaseDuration: '1m30s',
      renewDeadline: '1m',
      retryPeriod: '1.5s',
      leaseDurationMs: 90_000,
      renewDeadlineMs: 60_000,
      retryPeriodMs: 1_500,
      routing: 'label',
      agentMode: 'container',
      resources: { requests: { cpu: '0.05', memory: '64Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      port: 8081,
      pullPolicy: 'Never',
    });
    expect(ok({ [A.enabled]: 'false' }).enabled).toBe(false);
  });

  it('accepts the bounds themselves', () => {
    ok({
      [A.agentCpuRequest]: '1m',
      [A.agentCpuLimit]: '4',
      [A.agentMemoryRequest]: '16Mi',
      [A.agentMemoryLimit]: '1Gi',
    });
    ok({ [A.agentCpuRequest]: '0.001', [A.agentCpuLimit]: '4000m' });
    ok({ [A.agentPort]: '1024' });
    ok({ [A.agentPort]: '65535' });
    ok({ [A.agentCpuRequest]: '100m', [A.agentMemoryRequest]: '96Mi' }); // request == limit
    ok({ [A.leaseDuration]: '3s', [A.renewDeadline]: '2.5s', [A.retryPeriod]: '1s' });
    ok({ [A.leaseName]: 'a'.repeat(253) });
  });

  // Every invalid value: [annotations, key, value, a fragment of the rule].
  const INVALID: [Record<string, string>, string, string, string][] = [
    [{ [A.enabled]: 'yes' }, A.enabled, 'yes', 'must be "true" or "false"'],
    [{ [A.enabled]: '' }, A.enabled, '', 'must be "true" or "false"'],
    [{ [A.leaseName]: 'My_Lease' }, A.leaseName, 'My_Lease', 'DNS-1123 subdomain'],
    [{ [A.leaseName]: '' }, A.leaseName, '', 'DNS-1123 subdomain'],
    [{ [A.leaseName]: 'a'.repeat(254) }, A.leaseName, 'a'.repeat(254), 'at most 253'],
    [{ [A.leaseDuration]: '15' }, A.leaseDuration, '15', 'is not a Go duration'],
    [{ [A.leaseDuration]: '' }, A.leaseDuration, '', 'is not a Go duration'],
    [{ [A.leaseDuration]: 'fifteen' }, A.leaseDuration, 'fifteen', 'is not a Go duration'],
    [{ [A.leaseDuration]: '-15s' }, A.leaseDuration, '-15s', 'must not be negative'],
    [{ [A.renewDeadline]: '10 s' }, A.renewDeadline, '10 s', 'is not a Go duration'],
    [{ [A.retryPeriod]: '2sec' }, A.retryPeriod, '2sec', 'is not a Go duration'],
    [{ [A.retryPeriod]: '500ms' }, A.retryPeriod, '500ms', 'must be at least 1s'],
    [{ [A.retryPeriod]: '0' }, A.retryPeriod, '0', 'must be at least 1s'],
    [{ [A.routing]: 'labels' }, A.routing, 'labels', 'must be one of readiness-gate, label'],
    [{ [A.agentMode]: 'daemon' }, A.agentMode, 'daemon', 'must be one of sidecar, container'],
    [
      { [A.agentImagePullPolicy]: 'always' },
      A.agentImagePullPolicy,
      'always',
      'must be one of Always, IfNotPresent, Never',
    ],
    [{ [A.agentCpuRequest]: 'lots' }, A.agentCpuRequest, 'lots', 'is not a Kubernetes quantity'],
    [{ [A.agentCpuRequest]: '0.0001' }, A.agentCpuRequest, '0.0001', 'between 1m and 4'],
    [{ [A.agentCpuRequest]: '-10m' }, A.agentCpuRequest, '-10m', 'between 1m and 4'],
    [{ [A.agentCpuLimit]: '5' }, A.agentCpuLimit, '5', 'between 1m and 4'],
    [{ [A.agentMemoryRequest]: '8Mi' }, A.agentMemoryRequest, '8Mi', 'between 16Mi and 1Gi'],
    [{ [A.agentMemoryLimit]: '2Gi' }, A.agentMemoryLimit, '2Gi', 'between 16Mi and 1Gi'],
    [{ [A.agentMemoryLimit]: '96MB' }, A.agentMemoryLimit, '96MB', 'is not a Kubernetes quantity'],
    [{ [A.agentPort]: '80' }, A.agentPort, '80', 'between 1024 and 65535'],
    [{ [A.agentPort]: '70000' }, A.agentPort, '70000', 'between 1024 and 65535'],
    [{ [A.agentPort]: '4040.5' }, A.agentPort, '4040.5', 'between 1024 and 65535'],
    [{ [A.agentPort]: 'http' }, A.agentPort, 'http', 'between 1024 and 65535'],
    [{ [A.agentPort]: '' }, A.agentPort, '', 'between 1024 and 65535'],
    [
      { 'leader-election/lease-duraton': '30s' },
      'leader-election/lease-duraton',
      '30s',
      'unknown annotation key',
    ],
  ];

  it.each(INVALID)('%j is denied naming the key, the value and the rule', (ann, key, value, rule) => {
    const errs = errors(ann);
    expect(errs).toHaveLength(1);
    const e = errs[0] ?? '';
    expect(e.startsWith(`${key}: `)).toBe(true);
    expect(e).toContain(JSON.stringify(value));
    expect(e).toContain(rule);
  });

  describe('timing rules: lease-duration > renew-deadline > 1.2 × retry-period', () => {
    it('blames renew-deadline against the default lease-duration (the contract’s example)', () => {
      expect(errors({ [A.renewDeadline]: '20s' })).toEqual([
        'leader-election/renew-deadline: "20s" must be less than leader-election/lease-duration ("15s", the default) ' +
          '(rule: lease-duration > renew-deadline > 1.2 × retry-period)',
      ]);
    });

    it('blames renew-deadline when both are set', () => {
      const [e] = errors({ [A.leaseDuration]: '15s', [A.renewDeadline]: '20s' });
      expect(e).toContain(
        'leader-election/renew-deadline: "20s" must be less than leader-election/lease-duration ("15s")',
      );
    });

    it('blames lease-duration when only it is set', () => {
      const [e] = errors({ [A.leaseDuration]: '5s' });
      expect(e).toContain(
        'leader-election/lease-duration: "5s" must be greater than leader-election/renew-deadline ("10s", the default)',
      );
    });

    it('rejects equality of lease-duration and renew-deadline', () => {
      const [e] = errors({ [A.leaseDuration]: '10s', [A.renewDeadline]: '10s' });
      expect(e).toContain('leader-election/renew-deadline: "10s" must be less than');
    });

    it('blames retry-period when it is set', () => {
      const [e] = errors({ [A.retryPeriod]: '9s' });
      expect(e).toContain(
        'leader-election/retry-period: "9s" is too long: 1.2 × retry-period (10.8s) must be less than ' +
          'leader-election/renew-deadline ("10s", the default)',
      );
    });

    it('blames renew-deadline when only it is set against the retry period', () => {
      const [e] = errors({ [A.renewDeadline]: '2s' });
      expect(e).toContain(
        'leader-election/renew-deadline: "2s" must be greater than 1.2 × leader-election/retry-period ("2s", the default) = 2.4s',
      );
    });

    it('treats exactly 1.2 × retry-period as too short (client-go uses <=)', () => {
      expect(errors({ [A.renewDeadline]: '2.4s' })[0]).toContain('must be greater than 1.2 ×');
      ok({ [A.renewDeadline]: '2.401s' });
    });

    it('reports both relations when both fail', () => {
      const errs = errors({ [A.leaseDuration]: '3s', [A.renewDeadline]: '4s', [A.retryPeriod]: '4s' });
      expect(errs).toHaveLength(2);
      expect(errs[0]).toContain(A.renewDeadline);
      expect(errs[1]).toContain(A.retryPeriod);
    });

    it('skips the relations of a value that did not parse', () => {
      expect(errors({ [A.leaseDuration]: 'x', [A.renewDeadline]: '20s' })).toEqual([
        expect.stringContaining(`${A.leaseDuration}: "x" is not a Go duration`),
      ]);
    });

    it('requires each to be at least 1s', () => {
      expect(errors({ [A.leaseDuration]: '999ms' })[0]).toContain('must be at least 1s');
      expect(errors({ [A.renewDeadline]: '0.5s' })[0]).toContain('must be at least 1s');
    });
  });

  describe('request ≤ limit', () => {
    it('blames the request against the default limit', () => {
      expect(errors({ [A.agentMemoryRequest]: '128Mi' })).toEqual([
        'leader-election/agent-memory-request: "128Mi" must not exceed leader-election/agent-memory-limit ("96Mi", the default)',
      ]);
      expect(errors({ [A.agentCpuRequest]: '200m' })).toEqual([
        'leader-election/agent-cpu-request: "200m" must not exceed leader-election/agent-cpu-limit ("100m", the default)',
      ]);
    });

    it('blames the limit when only it is set', () => {
      expect(errors({ [A.agentCpuLimit]: '5m' })).toEqual([
        'leader-election/agent-cpu-limit: "5m" must not be less than leader-election/agent-cpu-request ("10m", the default)',
      ]);
    });

    it('compares across spellings', () => {
      ok({ [A.agentCpuRequest]: '0.1', [A.agentCpuLimit]: '100m' });
      ok({ [A.agentMemoryRequest]: '1e8', [A.agentMemoryLimit]: '100M' });
      expect(errors({ [A.agentMemoryRequest]: '100M', [A.agentMemoryLimit]: '95Mi' })[0]).toContain(
        'must not exceed',
      );
    });
  });

  it('collects every error at once', () => {
    const errs = errors({
      [A.enabled]: 'on',
      [A.routing]: 'x',
      [A.agentPort]: '1',
      [A.leaseDuration]: '-1s',
      [A.agentMemoryLimit]: '1Ti',
    });
    expect(errs.map((e) => e.split(':')[0])).toEqual([
      A.enabled,
      A.leaseDuration,
      A.routing,
      A.agentMemoryLimit,
      A.agentPort,
    ]);
  });

  it('names the known keys when a key is unknown', () => {
    const [e] = errors({ 'leader-election/lease-duraton': '30s' });
    expect(e).toContain('known keys: enabled, lease-name, lease-duration');
  });
});

describe('timingWarnings (fencing margins)', () => {
  it('says nothing for the defaults', () => {
    expect(
      timingWarnings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toEqual([]);
  });

  it('warns when a frozen leader could still be Ready when another takes over', () => {
    const w = timingWarnings({ leaseDurationMs: 4_000, renewDeadlineMs: 1_000, retryPeriodMs: 1_000 });
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(
      /leader-election\/lease-duration − leader-election\/retry-period is 3s: a frozen leader pod/,
    );
  });

  it('warns when a partitioned leader could still be Ready when another takes over', () => {
    const w = timingWarnings({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 });
    expect(w.some((x) => /renew-deadline is 1s: a leader cut off/.test(x))).toBe(true);
  });
});
