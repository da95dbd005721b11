// Go's `time.Duration` text form: the timings are annotations written as Go durations
// (`15s`, `1m30s`), parsed and printed exactly as client-go users expect.

const NS = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
} as const;

/** Go's unitMap. A Map, not an object: a unit such as `constructor` must not find Object's. */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', NS.ns],
  ['us', NS.us],
  ['\u00b5s', NS.us], // MICRO SIGN
  ['\u03bcs', NS.us], // GREEK SMALL LETTER MU
  ['ms', NS.ms],
  ['s', NS.s],
  ['m', NS.m],
  ['h', NS.h],
]);

const MAX_INT64 = (1n << 63n) - 1n;

/**
 * Parses a duration exactly as Go's `time.ParseDuration` does (same grammar, same
 * units, same rounding of fractions, same int64 overflow bound) and returns it in
 * milliseconds (fractional below 1 ms). Unlike Go, negative durations are rejected:
 * none of our settings can be negative. Returns undefined for anything Go would reject.
 */
export function parseGoDuration(s: string): number | undefined {
  const ns = parseGoDurationNs(s);
  if (ns === undefined || ns < 0n) return undefined;
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/** Go's algorithm (src/time/format.go), on bigint nanoseconds; negative values allowed here. */
export function parseGoDurationNs(orig: string): bigint | undefined {
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let d = 0n;
  while (s !== '') {
    // The next character must be [0-9.].
    if (!/^[0-9.]/.test(s)) return undefined;
    // Integer part.
    const intMatch = /^[0-9]*/.exec(s)?.[0] ?? '';
    const pre = intMatch !== '';
    let v = 0n;
    if (pre) {
      v = BigInt(intMatch);
      if (v > 1n << 63n) return undefined; // Go: leadingInt overflow
    }
    s = s.slice(intMatch.length);
    // Fraction: Go keeps digits while they fit in an int64 and ignores the rest.
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      const fracMatch = /^[0-9]*/.exec(s)?.[0] ?? '';
      post = fracMatch !== '';
      let overflow = false;
      for (const c of fracMatch) {
        if (overflow) continue;
        if (f > MAX_INT64 / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(c);
        if (y > 1n << 63n) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      s = s.slice(fracMatch.length);
    }
    if (!pre && !post) return undefined; // no digits (e.g. ".s")
    // Unit: everything up to the next [0-9.].
    const unitMatch = /^[^0-9.]*/.exec(s)?.[0] ?? '';
    if (unitMatch === '') return undefined; // missing unit
    const unit = UNITS.get(unitMatch);
    if (unit === undefined) return undefined; // unknown unit
    s = s.slice(unitMatch.length);
    if (v > (1n << 63n) / unit) return undefined; // overflow
    v *= unit;
    if (f > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale)); float64 keeps fractions of hours exact to the ns.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > 1n << 63n) return undefined;
    }
    d += v;
    if (d > 1n << 63n) return undefined;
  }
  if (neg) return -d;
  if (d > MAX_INT64) return undefined;
  return d;
}

/** Formats milliseconds as Go's `time.Duration.String()` does: `15s`, `1m30s`, `1h0m0s`, `500ms`, `2.4s`. */
export function formatGoDuration(ms: number): string {
  let u = BigInt(Math.round(ms * 1e6));
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u < NS.s) {
    if (u === 0n) return '0s';
    if (u < NS.us) out = `${u}ns`;
    else if (u < NS.ms) out = `${fmtFrac(u, 3)}\u00b5s`;
    else out = `${fmtFrac(u, 6)}ms`;
  } else {
    const secs = u / NS.s;
    const frac = fmtFrac(u % NS.s, 9, true);
    out = `${secs % 60n}${frac}s`;
    const mins = secs / 60n;
    if (mins > 0n) {
      out = `${mins % 60n}m${out}`;
      const hours = mins / 60n;
      if (hours > 0n) out = `${hours}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** v / 10^prec with the fraction's trailing zeros (and a bare '.') omitted. */
function fmtFrac(v: bigint, prec: number, fractionOnly = false): string {
  const div = 10n ** BigInt(prec);
  const int = v / div;
  const frac = (v % div).toString().padStart(prec, '0').replace(/0+$/, '');
  const fracPart = frac === '' ? '' : `.${frac}`;
  return fractionOnly ? fracPart : `${int}${fracPart}`;
}
