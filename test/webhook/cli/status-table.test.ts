// Unit tests of the status table: kubectl's AGE format and column alignment.
import { describe, expect, it } from 'vitest';
import { alignTable, humanDuration } from '../../../webhook/cli/status-table.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration (kubectl AGE)', () => {
  it.each([
    [0, '0s'],
    [-1500, '0s'],
    [-3000, '<invalid>'],
    [59 * S, '59s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [2 * M + 5 * S, '2m5s'],
    [10 * M + 30 * S, '10m'],
    [3 * H, '3h'],
    [3 * H + 20 * M, '3h20m'],
    [8 * H + 20 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [3 * D + 4 * H, '3d4h'],
    [30 * D, '30d'],
    [2 * 365 * D, '2y'],
    [3 * 365 * D + 10 * D, '3y10d'],
    [9 * 365 * D, '9y'],
  ])('%i ms → %s', (ms, text) => expect(humanDuration(ms)).toBe(text));
});

describe('alignTable', () => {
  it('pads every column but the last to its widest cell plus 3 spaces', () => {
    expect(
      alignTable([
        ['A', 'BB', 'C'],
        ['aaaa', 'b', ''],
      ]),
    ).toBe('A      BB   C\naaaa   b');
  });
});
