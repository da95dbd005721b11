// Unit tests of the webhook's pure injection. Every patch is checked by APPLYING it
// (fast-json-patch, with validation) to the raw object and looking at the result, so the
// tests hold for what the API server will do, not for the shape of the operations.
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
