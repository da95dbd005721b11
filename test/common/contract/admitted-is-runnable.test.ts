// One validation (issue 14): what the webhook admits, the agent runs, and what it refuses, the
// agent would refuse too. Property-tested over generated annotation sets: the webhook's parser
// (common/contract/election-config.ts) admits them ⇔ the agent's loader (agent/config.ts)
// accepts the environment the injection gives it (webhook/injection/agent-container.ts), and
// then both read the same settings. Found by it and fixed: a fractional or day-long lease
// duration admitted then refused by the agent at every start; agent ports below 1024.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../../agent/config.ts';
import { parseElectionConfig } from '../../../common/contract/election-config.ts';
import { ANNOTATION } from '../../../common/contract/keys.ts';
import { agentContainer } from '../../../webhook/injection/agent-container.ts';
import { annotations } from '../../helpers/annotation-sets.ts';

const RUNS = 10_000;

/** What the downward API would give the agent, and the env the injection wrote. */
function agentEnv(container: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = { POD_NAME: 'web-0', POD_NAMESPACE: 'shop', POD_UID: 'u1' };
  for (const e of container.env as { name: string; value?: string }[]) {
    if (e.value !== undefined) env[e.name] = e.value;
  }
  return env;
}

/**
 * The env a refused pod would have given its agent, had it been injected: the annotation values
 * where the injection would have put them.
 */
function envOfAnnotations(a: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { POD_NAME: 'web-0', POD_NAMESPACE: 'shop', LEASE_NAME: 'web' };
  const map: [string, string][] = [
    [ANNOTATION.leaseDuration, 'LEASE_DURATION'],
    [ANNOTATION.renewDeadline, 'RENEW_DEADLINE'],
    [ANNOTATION.retryPeriod, 'RETRY_PERIOD'],
    [ANNOTATION.routing, 'ROUTING'],
    [ANNOTATION.onDeletion, 'ON_DELETION'],
    [ANNOTATION.appUnreadyGrace, 'APP_UNREADY_GRACE'],
    [ANNOTATION.agentPort, 'AGENT_PORT'],
  ];
  for (const [key, name] of map) if (a[key] !== undefined) env[name] = a[key];
  return env;
}

function agentAccepts(env: Record<string, string>): boolean {
  try {
    loadAgentConfig(env);
    return true;
  } catch {
    return false;
  }
}

describe('what the webhook admits, the agent runs (property, fast-check)', () => {
  it(`admitted ⇔ the agent accepts its environment, with the same settings (${RUNS} annotation sets)`, () => {
    const seen = { admitted: 0, refused: 0, compared: 0 };
    fc.assert(
      fc.property(annotations, (a) => {
        const parsed = parseElectionConfig(a);
        if (parsed.ok) seen.admitted++;
        else seen.refused++;
        if (!parsed.ok) {
          // An empty value is the agent's "unset" (the default), the webhook's error: only
          // values the agent would also see as given are compared.
          const given = Object.fromEntries(Object.entries(a).filter(([, v]) => v.trim() !== ''));
          if (Object.keys(given).length === Object.keys(a).length) {
            seen.compared++;
            expect(agentAccepts(envOfAnnotations(a)), parsed.errors.join('; ')).toBe(false);
          }
          return;
        }
        const c = parsed.config;
        const env = agentEnv(agentContainer(c, 'web', { agentImage: 'agent:1' }, true));
        const loaded = loadAgentConfig(env);
        expect(loaded.timings).toEqual({
          leaseDurationMs: c.leaseDurationMs,
          renewDeadlineMs: c.renewDeadlineMs,
          retryPeriodMs: c.retryPeriodMs,
        });
        expect(loaded).toMatchObject({
          routing: c.routing,
          onDeletion: c.onDeletion,
          appUnreadyGraceMs: c.appUnreadyGraceMs,
          port: c.port,
        });
      }),
      { numRuns: RUNS },
    );
    // Both sides well sampled (fast-check also replays its shrinking runs: counts are at least RUNS).
    expect(seen.admitted, JSON.stringify(seen)).toBeGreaterThan(RUNS / 10);
    expect(seen.compared, JSON.stringify(seen)).toBeGreaterThan(RUNS / 10);
  });
});
