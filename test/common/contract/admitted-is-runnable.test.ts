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

const RUNS = 10_000;

/** Go durations as people write them, and as they mistype them; sensible ones most often. */
const goDuration = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.oneof(
      fc.integer({ min: 1, max: 40 }).map((n) => `${n}s`),
      fc.integer({ min: 1, max: 40 }).map((n) => `${n * 1000}ms`),
    ),
  },
  fc
    .tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom('ns', 'us', 'ms', 's', 'm', 'h'))
    .map(([n, u]) => `${n}${u}`),
  fc
    .tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom('s', 'm', 'h'))
    .map(([n, f, u]) => `${n}.${f}${u}`),
  fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 59 })).map(([m, s]) => `${m}m${s}s`),
  fc.constantFrom(
    '15s',
    '10s',
    '2s',
    '1s',
    '6s',
    '3s',
    '0',
    '',
    '-5s',
    '15',
    'fast',
    '1e3s',
    '100000000s',
    '25h',
    '24h',
  ),
);

/** Timings that hold lease > renew > 1.2 × retry, or three independent durations. */
const timings = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 20 }))
      .map(([retry, extra, margin]) => {
        const renew = Math.ceil(retry * 1.2) + extra;
        return { lease: `${renew + margin}s`, renew: `${renew}s`, retry: `${retry}s` };
      }),
  },
  { weight: 2, arbitrary: fc.record({ lease: goDuration, renew: goDuration, retry: goDuration }) },
);

const others = fc.record(
  {
    [ANNOTATION.routing]: fc.constantFrom('readiness-gate', 'label', 'readiness-gate', 'label', 'dns', ''),
    [ANNOTATION.onDeletion]: fc.constantFrom('release', 'hold', 'release', 'hold', 'never', ''),
    [ANNOTATION.appUnreadyGrace]: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('10s', '0s', '3s', '500ms') },
      goDuration,
    ),
    [ANNOTATION.agentPort]: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1024, max: 65_535 }).map(String) },
      fc.integer({ min: -1, max: 70_000 }).map(String),
      fc.constantFrom('4040', '08080', 'http', '', '1e3'),
    ),
  },
  { requiredKeys: [] },
);

/** Annotation sets: each timing present or left to its default, and the other keys. */
const annotations = fc
  .tuple(timings, fc.boolean(), fc.boolean(), fc.boolean(), others)
  .map(([t, lease, renew, retry, rest]): Record<string, string> => ({
    ...(lease ? { [ANNOTATION.leaseDuration]: t.lease } : {}),
    ...(renew ? { [ANNOTATION.renewDeadline]: t.renew } : {}),
    ...(retry ? { [ANNOTATION.retryPeriod]: t.retry } : {}),
    ...rest,
  }));

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
