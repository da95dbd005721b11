// The `leader-election/*` keys are the product's API. This file is their single
// source: the reference table in the docs is generated from ANNOTATIONS below, and
// the webhook (which validates and injects) and the agent (which reads the same
// values back from its environment) both parse them with parseElectionConfig, so
// the two can never disagree on a default or a rule.
//
// Every error names the key, the value and the rule, because the webhook returns
// it verbatim as the admission denial that `kubectl` prints.

export const PREFIX = 'leader-election/';

/** Annotation keys (on pods, pod templates, Deployments and StatefulSets). */
export const ANNOTATION = {
  enabled: 'leader-election/enabled',
  leaseName: 'leader-election/lease-name',
  leaseDuration: 'leader-election/lease-duration',
  renewDeadline: 'leader-election/renew-deadline',
  retryPeriod: 'leader-election/retry-period',
  routing: 'leader-election/routing',
  agentMode: 'leader-election/agent-mode',
  agentCpuRequest: 'leader-election/agent-cpu-request',
  agentMemoryRequest: 'leader-election/agent-memory-request',
  agentCpuLimit: 'leader-election/agent-cpu-limit',
  agentMemoryLimit: 'leader-election/agent-memory-limit',
  agentPort: 'leader-election/agent-port',
  agentImagePullPolicy: 'leader-election/agent-image-pull-policy',
  status: 'leader-election/status',
  workloadKeys: 'leader-election/workload-keys',
} as const;

export type AnnotationKey = (typeof ANNOTATION)[keyof typeof ANNOTATION];

/** Value of ANNOTATION.status once the webhook has injected a pod: the idempotency marker. */
export const STATUS_INJECTED = 'injected';

/** Pod condition type listed in `spec.readinessGates`; True only on the pod holding a valid lease. */
export const CONDITION_LEADER = 'leader-election/leader';

/** Pod label used by `routing: label`: the Service selects `leader-election/role: leader`. */
export const LABEL_ROLE = 'leader-election/role';
export const ROLE_LEADER = 'leader';
export const ROLE_FOLLOWER = 'follower';

/** Pod label set by the webhook on every injected pod, so controllers can select them. */
export const LABEL_INJECTED = 'leader-election/injected';

/** Namespace label: `"true"` opts every pod of the namespace in (a pod can still say `"false"`). */
export const NAMESPACE_LABEL_ENABLED = 'leader-election/enabled';

export const ROUTINGS = ['readiness-gate', 'label'] as const;
export type Routing = (typeof ROUTINGS)[number];
export const AGENT_MODES = ['sidecar', 'container'] as const;
export type AgentMode = (typeof AGENT_MODES)[number];
export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export const DEFAULTS = {
  leaseDuration: '15s',
  renewDeadline: '10s',
  retryPeriod: '2s',
  routing: 'readiness-gate' as Routing,
  agentMode: 'sidecar' as AgentMode,
  cpuRequest: '10m',
  memoryRequest: '48Mi',
  cpuLimit: '100m',
  memoryLimit: '96Mi',
  port: 4040,
} as const;

/** Bounds enforced on the agent's overrides. */
export const LIMITS = {
  minTimingMs: 1000,
  /** client-go's JitterFactor: renew-deadline must exceed 1.2 × retry-period. */
  jitterFactor: 1.2,
  cpu: { min: 0.001, max: 4, minText: '1m', maxText: '4' },
  memory: { min: 16 * 2 ** 20, max: 2 ** 30, minText: '16Mi', maxText: '1Gi' },
  port: { min: 1024, max: 65535 },
  leaseNameMaxLength: 253,
} as const;

export interface AnnotationDoc {
  key: AnnotationKey;
  /** Accepted values, as the docs print them. */
  values: string;
  meaning: string;
  /** Default as the docs print it ('—' when there is none). */
  default: string;
  /** Who writes it: users, or the webhook itself (users should not set these). */
  writtenBy: 'user' | 'webhook';
}

/** The reference table. Keep the keys stable: they are the API. */
export const ANNOTATIONS: readonly AnnotationDoc[] = [
  {
    key: ANNOTATION.enabled,
    values: '`true` | `false`',
    meaning:
      'Opt in. Also accepted as a label on the Namespace (every pod of it opts in); `"false"` on a pod opts it out of a namespace-wide opt-in.',
    default: 'off (or the namespace label)',
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.leaseName,
    values: 'DNS-1123 subdomain, at most 253 characters',
    meaning: 'Name of the coordination.k8s.io/v1 Lease the group shares, in the pod’s namespace.',
    default:
      'the owning workload’s name (the Deployment’s, recovered from the ReplicaSet owner and `pod-template-hash`; the StatefulSet’s; otherwise the controller owner’s); a pod without owner must set it',
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.leaseDuration,
    values: 'Go duration (`15s`, `1m30s`), ≥ 1s',
    meaning: 'How long a lease is valid after its last renewal (client-go `LeaseDuration`).',
    default: DEFAULTS.leaseDuration,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.renewDeadline,
    values: 'Go duration, ≥ 1s, less than lease-duration',
    meaning:
      'How long the leader keeps trying to renew before it stops leading (client-go `RenewDeadline`). Must hold lease-duration > renew-deadline > 1.2 × retry-period.',
    default: DEFAULTS.renewDeadline,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.retryPeriod,
    values: 'Go duration, ≥ 1s, with 1.2 × retry-period less than renew-deadline',
    meaning: 'Interval between renewals and acquisition attempts (client-go `RetryPeriod`).',
    default: DEFAULTS.retryPeriod,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.routing,
    values: '`readiness-gate` | `label`',
    meaning:
      '`readiness-gate`: only the leader is Ready, so only it is in the Service’s endpoints. `label`: every replica is Ready; the leader carries the label `leader-election/role=leader` (the others `follower`) and the Service selects on it.',
    default: DEFAULTS.routing,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentMode,
    values: '`sidecar` | `container`',
    meaning:
      '`sidecar`: the agent is a native sidecar (an init container with `restartPolicy: Always`). `container`: a regular container, for clusters or tools that do not handle native sidecars.',
    default: DEFAULTS.agentMode,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentCpuRequest,
    values: 'CPU quantity, 1m to 4, ≤ the CPU limit',
    meaning: 'The agent container’s CPU request.',
    default: DEFAULTS.cpuRequest,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentMemoryRequest,
    values: 'memory quantity, 16Mi to 1Gi, ≤ the memory limit',
    meaning: 'The agent container’s memory request.',
    default: DEFAULTS.memoryRequest,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentCpuLimit,
    values: 'CPU quantity, 1m to 4',
    meaning: 'The agent container’s CPU limit.',
    default: DEFAULTS.cpuLimit,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentMemoryLimit,
    values: 'memory quantity, 16Mi to 1Gi',
    meaning: 'The agent container’s memory limit.',
    default: DEFAULTS.memoryLimit,
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentPort,
    values: 'integer, 1024 to 65535',
    meaning:
      'Port of the agent’s HTTP server (`/leader`, `/leader/watch`, `/readyz`, `/healthz`, `/metrics`), on 127.0.0.1 and the pod IP; must not be used by another container of the pod.',
    default: String(DEFAULTS.port),
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.agentImagePullPolicy,
    values: '`Always` | `IfNotPresent` | `Never`',
    meaning: 'The agent container’s `imagePullPolicy`.',
    default: 'the webhook’s setting, else the Kubernetes default',
    writtenBy: 'user',
  },
  {
    key: ANNOTATION.status,
    values: '`injected`',
    meaning: 'Written by the webhook on every pod it injected: the idempotency marker.',
    default: '—',
    writtenBy: 'webhook',
  },
  {
    key: ANNOTATION.workloadKeys,
    values: 'comma-separated key names without the prefix',
    meaning:
      'Written by the webhook on a Deployment’s or StatefulSet’s pod template: the keys it copied from the workload’s own annotations, so that it can remove them from the template when they are removed from the workload.',
    default: '—',
    writtenBy: 'webhook',
  },
];

const KNOWN_KEYS: ReadonlySet<string> = new Set(ANNOTATIONS.map((a) => a.key));

export function isKnownAnnotation(key: string): boolean {
  return KNOWN_KEYS.has(key);
}

export interface AgentResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export interface ElectionConfig {
  /** The `enabled` annotation as given; undefined when absent (the namespace decides). */
  enabled: boolean | undefined;
  /** Undefined when not annotated: the webhook derives it from the pod's owner. */
  leaseName: string | undefined;
  /** The Go duration strings as given (or the defaults), passed on to the agent unchanged. */
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  routing: Routing;
  agentMode: AgentMode;
  resources: AgentResources;
  port: number;
  /** Undefined when not annotated: the webhook's setting, else the Kubernetes default, applies. */
  pullPolicy: PullPolicy | undefined;
}

/**
 * Timings that are valid but leave little margin for the kubelet to take a lost
 * leader out of the Service before another may become Ready (the fencing works
 * through the agent's readiness probe: period 1 s, timeout 1 s, plus the kubelet's
 * status write). Two cases:
 * - a frozen leader pod (SIGSTOP, node freeze) is only noticed when its probe times
 *   out, about 2 s; others take over no earlier than leaseDuration − retryPeriod
 *   after the freeze;
 * - a leader cut off from the API server fails its probe at its renew deadline;
 *   others take over no earlier than leaseDuration − renewDeadline later.
 */
export const FENCING_MARGIN = { frozenMs: 5_000, partitionedMs: 3_000 };

export function timingWarnings(
  c: Pick<ElectionConfig, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>,
): string[] {
  const w: string[] = [];
  const show = (ms: number) => formatGoDuration(ms);
  if (c.leaseDurationMs - c.retryPeriodMs < FENCING_MARGIN.frozenMs) {
    w.push(
      `${ANNOTATION.leaseDuration} − ${ANNOTATION.retryPeriod} is ${show(c.leaseDurationMs - c.retryPeriodMs)}: a frozen leader pod is ` +
        `taken out of the Service only when its readiness probe times out (about 2 s); keep at least ` +
        `${show(FENCING_MARGIN.frozenMs)} between them so a new leader cannot be Ready first`,
    );
  }
  if (c.leaseDurationMs - c.renewDeadlineMs < FENCING_MARGIN.partitionedMs) {
    w.push(
      `${ANNOTATION.leaseDuration} − ${ANNOTATION.renewDeadline} is ${show(c.leaseDurationMs - c.renewDeadlineMs)}: a leader cut off ` +
        `from the API server leaves the Service one readiness probe (about 1 s) after its renew deadline; keep at least ` +
        `${show(FENCING_MARGIN.partitionedMs)} between them so a new leader cannot be Ready first`,
    );
  }
  return w;
}

export type ParseResult = { ok: true; config: ElectionConfig } | { ok: false; errors: string[] };

/**
 * Whether a pod takes part. `"true"` → in; `"false"` → out, even in an opted-in namespace;
 * absent → the namespace decides. Any other value counts as in, so that the pod reaches
 * parseElectionConfig and is denied with a clear message: failing closed beats silently running
 * a pod its owner believes to be leader-elected without an agent (a second leader).
 */
export function isOptedIn(
  podAnnotations: Record<string, string> | undefined,
  namespaceOptIn: boolean,
): boolean {
  const v = podAnnotations?.[ANNOTATION.enabled];
  if (v === undefined) return namespaceOptIn;
  return v !== 'false';
}

// ---------------------------------------------------------------------------
// Go durations

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
function parseGoDurationNs(orig: string): bigint | undefined {
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

// ---------------------------------------------------------------------------
// Kubernetes quantities

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

// ---------------------------------------------------------------------------
// Names

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= LIMITS.leaseNameMaxLength && DNS1123_SUBDOMAIN.test(s);
}

// ---------------------------------------------------------------------------
// The parser

const q = (v: string) => JSON.stringify(v);

/** `KEY ("VALUE")` or `KEY ("VALUE", the default)`, for the other side of a relational rule. */
function other(key: string, value: string, given: boolean): string {
  return `${key} (${q(value)}${given ? '' : ', the default'})`;
}

function oneOf<T extends string>(
  errors: string[],
  a: Record<string, string>,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T;
function oneOf<T extends string>(
  errors: string[],
  a: Record<string, string>,
  key: string,
  allowed: readonly T[],
  fallback: undefined,
): T | undefined;
function oneOf<T extends string>(
  errors: string[],
  a: Record<string, string>,
  key: string,
  allowed: readonly T[],
  fallback: T | undefined,
): T | undefined {
  const v = a[key];
  if (v === undefined) return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  errors.push(`${key}: ${q(v)} must be one of ${allowed.join(', ')}`);
  return fallback;
}

interface Timing {
  key: string;
  text: string;
  ms: number | undefined;
  given: boolean;
}

function timing(errors: string[], a: Record<string, string>, key: string, fallback: string): Timing {
  const v = a[key];
  if (v === undefined) return { key, text: fallback, ms: parseGoDuration(fallback), given: false };
  const ms = parseGoDuration(v);
  if (ms === undefined) {
    if (parseGoDurationNs(v) !== undefined) errors.push(`${key}: ${q(v)} must not be negative`);
    else errors.push(`${key}: ${q(v)} is not a Go duration (e.g. 15s, 1m30s, 500ms, 1h)`);
    return { key, text: v, ms: undefined, given: true };
  }
  if (ms < LIMITS.minTimingMs) {
    errors.push(`${key}: ${q(v)} must be at least 1s`);
    return { key, text: v, ms: undefined, given: true };
  }
  return { key, text: v, ms, given: true };
}

const TIMING_RULE = 'rule: lease-duration > renew-deadline > 1.2 × retry-period';

function checkTimings(errors: string[], lease: Timing, renew: Timing, retry: Timing): void {
  if (lease.ms !== undefined && renew.ms !== undefined && !(lease.ms > renew.ms)) {
    // Blame the key the user set; when both are set, the one further down the chain.
    if (renew.given || !lease.given) {
      errors.push(
        `${renew.key}: ${q(renew.text)} must be less than ${other(lease.key, lease.text, lease.given)} (${TIMING_RULE})`,
      );
    } else {
      errors.push(
        `${lease.key}: ${q(lease.text)} must be greater than ${other(renew.key, renew.text, renew.given)} (${TIMING_RULE})`,
      );
    }
  }
  if (renew.ms !== undefined && retry.ms !== undefined && !(renew.ms > LIMITS.jitterFactor * retry.ms)) {
    const jittered = formatGoDuration(LIMITS.jitterFactor * retry.ms);
    if (retry.given || !renew.given) {
      errors.push(
        `${retry.key}: ${q(retry.text)} is too long: 1.2 × retry-period (${jittered}) must be less than ${other(renew.key, renew.text, renew.given)} (${TIMING_RULE})`,
      );
    } else {
      errors.push(
        `${renew.key}: ${q(renew.text)} must be greater than 1.2 × ${other(retry.key, retry.text, retry.given)} = ${jittered} (${TIMING_RULE})`,
      );
    }
  }
}

interface Quantity {
  key: string;
  text: string;
  value: number | undefined;
  given: boolean;
}

function quantity(
  errors: string[],
  a: Record<string, string>,
  key: string,
  fallback: string,
  kind: 'cpu' | 'memory',
): Quantity {
  const v = a[key];
  if (v === undefined) return { key, text: fallback, value: parseQuantity(fallback), given: false };
  const value = parseQuantity(v);
  const bounds = LIMITS[kind];
  const example = kind === 'cpu' ? 'e.g. 10m, 0.5' : 'e.g. 48Mi, 1Gi';
  if (value === undefined) {
    errors.push(`${key}: ${q(v)} is not a Kubernetes quantity (${example})`);
    return { key, text: v, value: undefined, given: true };
  }
  // A relative tolerance absorbs float rounding of spellings like 0.001 vs 1m.
  const eps = 1e-9 * bounds.max;
  if (value < bounds.min - eps || value > bounds.max + eps) {
    errors.push(
      `${key}: ${q(v)} must be a ${kind === 'cpu' ? 'CPU' : 'memory'} quantity between ${bounds.minText} and ${bounds.maxText}`,
    );
    return { key, text: v, value: undefined, given: true };
  }
  return { key, text: v, value, given: true };
}

function checkRequestLimit(errors: string[], req: Quantity, lim: Quantity): void {
  if (req.value === undefined || lim.value === undefined) return;
  if (req.value <= lim.value * (1 + 1e-9)) return;
  if (req.given || !lim.given) {
    errors.push(`${req.key}: ${q(req.text)} must not exceed ${other(lim.key, lim.text, lim.given)}`);
  } else {
    errors.push(`${lim.key}: ${q(lim.text)} must not be less than ${other(req.key, req.text, req.given)}`);
  }
}

/**
 * Validates every `leader-election/*` annotation and fills in the defaults. Keys outside the
 * prefix are ignored; unknown keys inside it are errors (a typo such as `lease-duraton` would
 * otherwise be silently ignored). Errors are collected, not short-circuited, so a user sees all
 * of them at once.
 */
export function parseElectionConfig(annotations: Record<string, string> | undefined): ParseResult {
  const a = annotations ?? {};
  const errors: string[] = [];

  for (const key of Object.keys(a)) {
    if (key.startsWith(PREFIX) && !KNOWN_KEYS.has(key)) {
      const known = ANNOTATIONS.filter((d) => d.writtenBy === 'user').map((d) => d.key.slice(PREFIX.length));
      errors.push(
        `${key}: ${q(a[key] ?? '')} is set on an unknown annotation key (known keys: ${known.join(', ')})`,
      );
    }
  }

  let enabled: boolean | undefined;
  const en = a[ANNOTATION.enabled];
  if (en === 'true') enabled = true;
  else if (en === 'false') enabled = false;
  else if (en !== undefined) errors.push(`${ANNOTATION.enabled}: ${q(en)} must be "true" or "false"`);

  const leaseName = a[ANNOTATION.leaseName];
  if (leaseName !== undefined && !isDns1123Subdomain(leaseName)) {
    errors.push(
      `${ANNOTATION.leaseName}: ${q(leaseName)} must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );
  }

  const lease = timing(errors, a, ANNOTATION.leaseDuration, DEFAULTS.leaseDuration);
  const renew = timing(errors, a, ANNOTATION.renewDeadline, DEFAULTS.renewDeadline);
  const retry = timing(errors, a, ANNOTATION.retryPeriod, DEFAULTS.retryPeriod);
  checkTimings(errors, lease, renew, retry);

  const routing = oneOf(errors, a, ANNOTATION.routing, ROUTINGS, DEFAULTS.routing);
  const agentMode = oneOf(errors, a, ANNOTATION.agentMode, AGENT_MODES, DEFAULTS.agentMode);
  const pullPolicy = oneOf(errors, a, ANNOTATION.agentImagePullPolicy, PULL_POLICIES, undefined);

  const cpuReq = quantity(errors, a, ANNOTATION.agentCpuRequest, DEFAULTS.cpuRequest, 'cpu');
  const cpuLim = quantity(errors, a, ANNOTATION.agentCpuLimit, DEFAULTS.cpuLimit, 'cpu');
  const memReq = quantity(errors, a, ANNOTATION.agentMemoryRequest, DEFAULTS.memoryRequest, 'memory');
  const memLim = quantity(errors, a, ANNOTATION.agentMemoryLimit, DEFAULTS.memoryLimit, 'memory');
  checkRequestLimit(errors, cpuReq, cpuLim);
  checkRequestLimit(errors, memReq, memLim);

  let port: number = DEFAULTS.port;
  const p = a[ANNOTATION.agentPort];
  if (p !== undefined) {
    const n = /^[0-9]{1,5}$/.test(p) ? Number(p) : NaN;
    if (n >= LIMITS.port.min && n <= LIMITS.port.max) port = n;
    else {
      errors.push(
        `${ANNOTATION.agentPort}: ${q(p)} must be an integer between ${LIMITS.port.min} and ${LIMITS.port.max}`,
      );
    }
  }

  if (errors.length > 0 || lease.ms === undefined || renew.ms === undefined || retry.ms === undefined) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    config: {
      enabled,
      leaseName,
      leaseDuration: lease.text,
      renewDeadline: renew.text,
      retryPeriod: retry.text,
      leaseDurationMs: lease.ms,
      renewDeadlineMs: renew.ms,
      retryPeriodMs: retry.ms,
      routing,
      agentMode,
      resources: {
        requests: { cpu: cpuReq.text, memory: memReq.text },
        limits: { cpu: cpuLim.text, memory: memLim.text },
      },
      port,
      pullPolicy,
    },
  };
}
