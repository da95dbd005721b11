// Unit tests of the Kubernetes quantity parser.
import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../../common/units/quantity.ts';

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
