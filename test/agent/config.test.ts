import { describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig } from '../../agent/config.ts';

const base = { POD_NAME: 'web-0', POD_NAMESPACE: 'prod', LEASE_NAME: 'web' };

function problems(env: Record<string, string>): string[] {
  try {
    loadAgentConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('agent configuration from the environment', () => {
  it('applies the defaults of the contract', () => {
    const c = loadAgentConfig(base);
    expect(c).toMatchObject({
      identity: 'web-0',
      leaseNamespace: 'prod',
      timings: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      routing: 'readiness-gate',
      onDeletion: 'release',
      appUnreadyGraceMs: 10_000,
      port: 4040,
      bindAddress: '0.0.0.0',
    });
  });

  it('reads Go durations and the other settings', () => {
    const c = loadAgentConfig({
      ...base,
      LEASE_DURATION: '1m',
      RENEW_DEADLINE: '45s',
      RETRY_PERIOD: '5s',
      ROUTING: 'label',
      ON_DELETION: 'hold',
      AGENT_PORT: '9000',
      IDENTITY: 'x',
      LEASE_NAMESPACE: 'ops',
    });
    expect(c.timings).toEqual({ leaseDurationMs: 60_000, renewDeadlineMs: 45_000, retryPeriodMs: 5_000 });
    expect(c).toMatchObject({
      routing: 'label',
      onDeletion: 'hold',
      port: 9000,
      identity: 'x',
      leaseNamespace: 'ops',
    });
  });

  it('reports every missing variable at once, naming it', () => {
    const p = problems({});
    expect(p).toHaveLength(3);
    expect(p.join('\n')).toMatch(/POD_NAME is required/);
    expect(p.join('\n')).toMatch(/POD_NAMESPACE is required/);
    expect(p.join('\n')).toMatch(/LEASE_NAME is required/);
  });

  it.each([
    [{ LEASE_DURATION: 'soon' }, /LEASE_DURATION="soon" is not a positive Go duration/],
    [{ RENEW_DEADLINE: '20s' }, /greater than renewDeadlineMs/],
    [{ RETRY_PERIOD: '9s' }, /1\.2 × retryPeriodMs/],
    [{ ROUTING: 'dns' }, /ROUTING="dns" must be readiness-gate or label/],
    [{ ON_DELETION: 'later' }, /ON_DELETION="later" must be release or hold/],
    [{ APP_UNREADY_GRACE: '-1s' }, /APP_UNREADY_GRACE="-1s" must be a Go duration from 0s/],
    [{ AGENT_PORT: '70000' }, /AGENT_PORT="70000"/],
    [{ LEASE_NAME: 'Not_Valid' }, /LEASE_NAME="Not_Valid" must be a DNS-1123 subdomain/],
  ])('rejects %o', (env, message) => {
    expect(problems({ ...base, ...env }).join('\n')).toMatch(message);
  });
});
