// Unit tests of every rule of parseElectionConfig, each checked for a message that names the
// key, the value and the rule.
import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../../common/contract/keys.ts';
import { DEFAULTS } from '../../../common/contract/defaults.ts';
import { parseElectionConfig, type ElectionConfig } from '../../../common/contract/election-config.ts';

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
      onDeletion: 'release',
      appUnreadyGrace: '10s',
      appUnreadyGraceMs: 10_000,
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
      [A.onDeletion]: 'hold',
      [A.appUnreadyGrace]: '0s',
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
      onDeletion: 'hold',
      appUnreadyGrace: '0s',
      appUnreadyGraceMs: 0,
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
    // Issue 14: admitted before, then the agent exited at start for ever (fractional lease), every
    // Lease write failed (beyond int32 seconds) or setTimeout overflowed and spun (beyond 2^31−1 ms).
    [
      { [A.leaseDuration]: '15.5s' },
      A.leaseDuration,
      '15.5s',
      'must be a whole number of seconds (the Lease stores leaseDurationSeconds), e.g. 16s',
    ],
    [{ [A.leaseDuration]: '12500ms' }, A.leaseDuration, '12500ms', 'must be a whole number of seconds'],
    [{ [A.leaseDuration]: '100000000s' }, A.leaseDuration, '100000000s', 'must be at most 24h'],
    [{ [A.renewDeadline]: '25h' }, A.renewDeadline, '25h', 'must be at most 24h'],
    [{ [A.routing]: 'labels' }, A.routing, 'labels', 'must be one of readiness-gate, label'],
    [{ [A.agentMode]: 'daemon' }, A.agentMode, 'daemon', 'must be one of sidecar, container'],
    [{ [A.onDeletion]: 'never' }, A.onDeletion, 'never', 'must be one of release, hold'],
    [
      { [A.appUnreadyGrace]: 'soon' },
      A.appUnreadyGrace,
      'soon',
      'must be a Go duration from 0s (off) to 24h',
    ],
    [{ [A.appUnreadyGrace]: '25h' }, A.appUnreadyGrace, '25h', 'must be a Go duration from 0s (off) to 24h'],
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
