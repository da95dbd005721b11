// Annotation sets as people write them and mistype them (fast-check arbitraries): shared by the
// property test (test/common/contract/admitted-is-runnable.test.ts) and the server-side dry run
// of a sample of them through the real API server (test/integration/webhook-server.int.test.ts).
import fc from 'fast-check';
import { ANNOTATION } from '../../common/contract/keys.ts';

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
export const annotations = fc
  .tuple(timings, fc.boolean(), fc.boolean(), fc.boolean(), others)
  .map(([t, lease, renew, retry, rest]): Record<string, string> => ({
    ...(lease ? { [ANNOTATION.leaseDuration]: t.lease } : {}),
    ...(renew ? { [ANNOTATION.renewDeadline]: t.renew } : {}),
    ...(retry ? { [ANNOTATION.retryPeriod]: t.retry } : {}),
    ...rest,
  }));
