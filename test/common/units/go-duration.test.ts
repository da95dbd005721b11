// Unit tests of the Go duration parser and formatter: the same grammar, rounding and bounds as Go.
import { describe, expect, it } from 'vitest';
import { formatGoDuration, parseGoDuration } from '../../../common/units/go-duration.ts';

describe('parseGoDuration', () => {
  // Expected values produced by Go 1.26's time.ParseDuration and Duration.String() on the same
  // inputs (null: Go returns an error). Negative durations parse in Go but are rejected here.
  const GO: [input: string, ns: bigint | null, goString: string][] = [
    ['15s', 15_000_000_000n, '15s'],
    ['1m30s', 90_000_000_000n, '1m30s'],
    ['500ms', 500_000_000n, '500ms'],
    ['1h', 3_600_000_000_000n, '1h0m0s'],
    ['1.5h', 5_400_000_000_000n, '1h30m0s'],
    ['300ms', 300_000_000n, '300ms'],
    ['0', 0n, '0s'],
    ['-0', 0n, '0s'],
    ['+15s', 15_000_000_000n, '15s'],
    ['1.s', 1_000_000_000n, '1s'],
    ['.5s', 500_000_000n, '500ms'],
    ['15\u00b5s', 15_000n, '15\u00b5s'],
    ['15\u03bcs', 15_000n, '15\u00b5s'],
    ['15us', 15_000n, '15\u00b5s'],
    ['1ns', 1n, '1ns'],
    ['0.1ns', 0n, '0s'],
    ['1.0000000001h', 3_600_000_000_360n, '1h0m0.00000036s'],
    ['1.123456789012345678901234567890s', 1_123_456_789n, '1.123456789s'],
    ['3h2m1.5s', 10_921_500_000_000n, '3h2m1.5s'],
    ['1h1h', 7_200_000_000_000n, '2h0m0s'],
    ['00001s', 1_000_000_000n, '1s'],
    ['0.000000001s', 1n, '1ns'],
    ['0.0000000001s', 0n, '0s'],
    ['1.9999999999999999999h', 7_200_000_000_000n, '2h0m0s'],
    ['7.123456789h', 25_644_444_440_400n, '7h7m24.4444404s'],
    ['1.5m', 90_000_000_000n, '1m30s'],
    ['0.3333333333333333333h', 1_200_000_000_000n, '20m0s'],
    ['2562047h', 9_223_369_200_000_000_000n, '2562047h0m0s'],
    ['9223372036854775807ns', 9_223_372_036_854_775_807n, '2562047h47m16.854775807s'],
    ['', null, ''],
    ['s', null, ''],
    ['1', null, ''],
    ['1.', null, ''],
    ['..5s', null, ''],
    ['1.5.5s', null, ''],
    ['1e3s', null, ''],
    ['1 s', null, ''],
    [' 1s', null, ''],
    ['1s ', null, ''],
    ['1S', null, ''],
    ['1sec', null, ''],
    ['1m1', null, ''],
    ['2562048h', null, ''],
    ['9223372036854775808ns', null, ''],
    ['100000000000000000000000s', null, ''],
    ['constructor', null, ''],
    ['1constructor', null, ''],
    ['1m-1s', null, ''],
    ['+', null, ''],
    ['-', null, ''],
  ];

  it.each(GO)('%j parses as Go does', (input, ns) => {
    const want = ns === null ? undefined : Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
    expect(parseGoDuration(input)).toBe(want);
  });

  it.each(GO.filter(([, ns]) => ns !== null && ns < 2n ** 53n))(
    '%j formats back as Go does',
    (_input, ns, goString) => {
      expect(formatGoDuration(Number(ns) / 1e6)).toBe(goString);
    },
  );

  it('rejects negative durations, which Go accepts', () => {
    expect(parseGoDuration('-5s')).toBeUndefined();
    expect(parseGoDuration('-1m30s')).toBeUndefined();
  });

  it('formats common values', () => {
    expect(formatGoDuration(15_000)).toBe('15s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
    expect(formatGoDuration(2_400)).toBe('2.4s');
    expect(formatGoDuration(0.5)).toBe('500\u00b5s');
    expect(formatGoDuration(-1_500)).toBe('-1.5s');
  });
});
