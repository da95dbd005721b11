// The parser of every `leader-election/*` annotation, shared by the webhook (which
// validates and injects) and, through the injected environment, the agent, so the two
// can never disagree on a default or a rule.
//
// Every error names the key, the value and the rule, because the webhook returns it
// verbatim as the admission denial that `kubectl` prints.
import { quote } from '../json.ts';
import { isDns1123Subdomain } from '../units/dns-name.ts';
import { formatGoDuration, parseGoDuration, parseGoDurationNs } from '../units/go-duration.ts';
import { parseQuantity } from '../units/quantity.ts';
import { ANNOTATIONS, KNOWN_KEYS } from './annotation-docs.ts';
import { DEFAULTS, LIMITS } from './defaults.ts';
import {
  AGENT_MODES,
  ANNOTATION,
  PREFIX,
  PULL_POLICIES,
  ROUTINGS,
  ON_DELETION_MODES,
  type OnDeletion,
  type AgentMode,
  type PullPolicy,
  type Routing,
} from './keys.ts';

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
  onDeletion: OnDeletion;
  /** The Go duration as given (or the default), passed on to the agent; '0s' turns health-awareness off. */
  appUnreadyGrace: string;
  appUnreadyGraceMs: number;
  agentMode: AgentMode;
  resources: AgentResources;
  port: number;
  /** Undefined when not annotated: the webhook's setting, else the Kubernetes default, applies. */
  pullPolicy: PullPolicy | undefined;
}

/** How long a leader's app may stay unready before the leader hands over (0: never, health-blind). */
export const APP_UNREADY_GRACE_RULE = `a Go duration from 0s (off) to ${LIMITS.maxTimingText}, whole milliseconds`;
export function parseAppUnreadyGrace(text: string): number | undefined {
  const ms = parseGoDuration(text);
  return ms !== undefined && Number.isInteger(ms) && ms <= LIMITS.maxTimingMs ? ms : undefined;
}

/** The agent's port: the webhook's annotation and the agent's AGENT_PORT obey the same rule. */
export const AGENT_PORT_RULE = `an integer between ${LIMITS.port.min} and ${LIMITS.port.max}`;
export function parseAgentPort(text: string): number | undefined {
  const n = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  return n >= LIMITS.port.min && n <= LIMITS.port.max ? n : undefined;
}

export type ParseResult = { ok: true; config: ElectionConfig } | { ok: false; errors: string[] };

/** `KEY ("VALUE")` or `KEY ("VALUE", the default)`, for the other side of a relational rule. */
function other(key: string, value: string, given: boolean): string {
  return `${key} (${quote(value)}${given ? '' : ', the default'})`;
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
  errors.push(`${key}: ${quote(v)} must be one of ${allowed.join(', ')}`);
  return fallback;
}

interface Timing {
  key: string;
  text: string;
  ms: number | undefined;
  given: boolean;
}

/** `wholeSeconds`: the lease duration, which the Lease stores as leaseDurationSeconds. */
function timing(
  errors: string[],
  a: Record<string, string>,
  key: string,
  fallback: string,
  wholeSeconds = false,
): Timing {
  const v = a[key];
  if (v === undefined) return { key, text: fallback, ms: parseGoDuration(fallback), given: false };
  const ms = parseGoDuration(v);
  if (ms === undefined) {
    if (parseGoDurationNs(v) !== undefined) errors.push(`${key}: ${quote(v)} must not be negative`);
    else errors.push(`${key}: ${quote(v)} is not a Go duration (e.g. 15s, 1m30s, 500ms, 1h)`);
    return { key, text: v, ms: undefined, given: true };
  }
  if (ms < LIMITS.minTimingMs) {
    errors.push(`${key}: ${quote(v)} must be at least 1s`);
    return { key, text: v, ms: undefined, given: true };
  }
  if (ms > LIMITS.maxTimingMs) {
    errors.push(`${key}: ${quote(v)} must be at most ${LIMITS.maxTimingText}`);
    return { key, text: v, ms: undefined, given: true };
  }
  if (wholeSeconds && ms % 1000 !== 0) {
    errors.push(
      `${key}: ${quote(v)} must be a whole number of seconds (the Lease stores leaseDurationSeconds), e.g. ${formatGoDuration(Math.round(ms / 1000) * 1000)}`,
    );
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
        `${renew.key}: ${quote(renew.text)} must be less than ${other(lease.key, lease.text, lease.given)} (${TIMING_RULE})`,
      );
    } else {
      errors.push(
        `${lease.key}: ${quote(lease.text)} must be greater than ${other(renew.key, renew.text, renew.given)} (${TIMING_RULE})`,
      );
    }
  }
  if (renew.ms !== undefined && retry.ms !== undefined && !(renew.ms > LIMITS.jitterFactor * retry.ms)) {
    const jittered = formatGoDuration(LIMITS.jitterFactor * retry.ms);
    if (retry.given || !renew.given) {
      errors.push(
        `${retry.key}: ${quote(retry.text)} is too long: 1.2 × retry-period (${jittered}) must be less than ${other(renew.key, renew.text, renew.given)} (${TIMING_RULE})`,
      );
    } else {
      errors.push(
        `${renew.key}: ${quote(renew.text)} must be greater than 1.2 × ${other(retry.key, retry.text, retry.given)} = ${jittered} (${TIMING_RULE})`,
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
    errors.push(`${key}: ${quote(v)} is not a Kubernetes quantity (${example})`);
    return { key, text: v, value: undefined, given: true };
  }
  // A relative tolerance absorbs float rounding of spellings like 0.001 vs 1m.
  const eps = 1e-9 * bounds.max;
  if (value < bounds.min - eps || value > bounds.max + eps) {
    errors.push(
      `${key}: ${quote(v)} must be a ${kind === 'cpu' ? 'CPU' : 'memory'} quantity between ${bounds.minText} and ${bounds.maxText}`,
    );
    return { key, text: v, value: undefined, given: true };
  }
  return { key, text: v, value, given: true };
}

function checkRequestLimit(errors: string[], req: Quantity, lim: Quantity): void {
  if (req.value === undefined || lim.value === undefined) return;
  if (req.value <= lim.value * (1 + 1e-9)) return;
  if (req.given || !lim.given) {
    errors.push(`${req.key}: ${quote(req.text)} must not exceed ${other(lim.key, lim.text, lim.given)}`);
  } else {
    errors.push(
      `${lim.key}: ${quote(lim.text)} must not be less than ${other(req.key, req.text, req.given)}`,
    );
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
        `${key}: ${quote(a[key] ?? '')} is set on an unknown annotation key (known keys: ${known.join(', ')})`,
      );
    }
  }

  let enabled: boolean | undefined;
  const en = a[ANNOTATION.enabled];
  if (en === 'true') enabled = true;
  else if (en === 'false') enabled = false;
  else if (en !== undefined) errors.push(`${ANNOTATION.enabled}: ${quote(en)} must be "true" or "false"`);

  const leaseName = a[ANNOTATION.leaseName];
  if (leaseName !== undefined && !isDns1123Subdomain(leaseName)) {
    errors.push(
      `${ANNOTATION.leaseName}: ${quote(leaseName)} must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );
  }

  const lease = timing(errors, a, ANNOTATION.leaseDuration, DEFAULTS.leaseDuration, true);
  const renew = timing(errors, a, ANNOTATION.renewDeadline, DEFAULTS.renewDeadline);
  const retry = timing(errors, a, ANNOTATION.retryPeriod, DEFAULTS.retryPeriod);
  checkTimings(errors, lease, renew, retry);

  const routing = oneOf(errors, a, ANNOTATION.routing, ROUTINGS, DEFAULTS.routing);
  const onDeletion = oneOf(errors, a, ANNOTATION.onDeletion, ON_DELETION_MODES, DEFAULTS.onDeletion);
  const graceText = a[ANNOTATION.appUnreadyGrace] ?? DEFAULTS.appUnreadyGrace;
  const graceMs = parseAppUnreadyGrace(graceText);
  if (graceMs === undefined)
    errors.push(`${ANNOTATION.appUnreadyGrace}: ${quote(graceText)} must be ${APP_UNREADY_GRACE_RULE}`);
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
    const n = parseAgentPort(p);
    if (n !== undefined) port = n;
    else errors.push(`${ANNOTATION.agentPort}: ${quote(p)} must be ${AGENT_PORT_RULE}`);
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
      onDeletion,
      appUnreadyGrace: graceText,
      appUnreadyGraceMs: graceMs ?? 0,
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
