// Unit tests of the JSON Patch helpers.
import { describe, expect, it } from 'vitest';
import { escapeJsonPointer } from '../../../webhook/injection/json-patch.ts';

describe('escapeJsonPointer', () => {
  it.each([
    ['leader-election/status', 'leader-election~1status'],
    ['x/y~z', 'x~1y~0z'],
    ['~1', '~01'],
    ['/~', '~1~0'],
    ['plain', 'plain'],
  ])('%j → %j', (s, want) => {
    expect(escapeJsonPointer(s)).toBe(want);
  });
});
