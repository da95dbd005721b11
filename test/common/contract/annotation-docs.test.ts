// Unit tests of the contract constants and the reference table.
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION,
  CONDITION_LEADER,
  LABEL_ROLE,
  NAMESPACE_LABEL_ENABLED,
  PREFIX,
} from '../../../common/contract/keys.ts';
import { ANNOTATIONS } from '../../../common/contract/annotation-docs.ts';

const A = ANNOTATION;

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
