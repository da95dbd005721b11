// Kubernetes resource quantities (`10m`, `48Mi`, `1e9`), for range checks of the agent's
// resource overrides.

const QUANTITY = /^([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * Parses a Kubernetes resource quantity (`10m`, `0.5`, `48Mi`, `1e9`, `1G`) into its value in
 * base units (cores, bytes) as a float: precise enough for range checks. Follows the grammar of
 * `resource.ParseQuantity`; returns undefined for anything it would reject.
 */
export function parseQuantity(s: string): number | undefined {
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const [, sign, mantissa = '', suffix = ''] = m;
  let mult: number | undefined;
  if (suffix[0] === 'e' || suffix[0] === 'E') mult = 10 ** Number(suffix.slice(1));
  else mult = SUFFIX[suffix];
  if (mult === undefined) return undefined;
  const v = Number(mantissa) * mult;
  return sign === '-' ? -v : v;
}
