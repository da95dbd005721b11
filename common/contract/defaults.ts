// Defaults and bounds of the agent's settings, shared by the webhook (which validates
// annotations) and the agent (which validates its environment).
import { DNS1123_SUBDOMAIN_MAX_LENGTH } from '../units/dns-name.ts';
import type { AgentMode, OnDeletion, Routing } from './keys.ts';

/** client-go's JitterFactor: retries wait retryPeriod × [1, 1+1.2); the renew deadline must outlast that. */
export const JITTER_FACTOR = 1.2;

export const DEFAULTS = {
  leaseDuration: '15s',
  renewDeadline: '10s',
  retryPeriod: '2s',
  routing: 'readiness-gate' as Routing,
  agentMode: 'sidecar' as AgentMode,
  onDeletion: 'release' as OnDeletion,
  appUnreadyGrace: '10s',
  cpuRequest: '10m',
  memoryRequest: '48Mi',
  cpuLimit: '100m',
  memoryLimit: '96Mi',
  port: 4040,
} as const;

/**
 * The fencing's parts outside the agent: the readiness probe the webhook injects (the agent's
 * /readyz fails as soon as the lease is no longer valid by its clock), and the time until the
 * kubelet's Ready=False has taken the pod out of the Service (EndpointSlice, then kube-proxy,
 * which syncs at most once a second in iptables mode). timing-warnings.ts derives the timing
 * rule from them.
 */
export const FENCING = {
  readinessProbe: { periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1 },
  propagationMs: 1_000,
} as const;

/** The least lease-duration − renew-deadline that fences a lost leader before another may lead. */
export function fencingMarginMs(): number {
  const p = FENCING.readinessProbe;
  return (p.periodSeconds * p.failureThreshold + p.timeoutSeconds) * 1000 + FENCING.propagationMs;
}

/** Bounds enforced on the agent's overrides. */
export const LIMITS = {
  minTimingMs: 1000,
  /**
   * At most a day: far beyond any sensible election, and well inside what the runtime can
   * time (setTimeout spins on more than 2^31−1 ms, about 24.8 days) and what the Lease
   * stores (leaseDurationSeconds is an int32).
   */
  maxTimingMs: 24 * 3600 * 1000,
  maxTimingText: '24h',
  /** Renew-deadline must exceed JITTER_FACTOR × retry-period. */
  jitterFactor: JITTER_FACTOR,
  cpu: { min: 0.001, max: 4, minText: '1m', maxText: '4' },
  memory: { min: 16 * 2 ** 20, max: 2 ** 30, minText: '16Mi', maxText: '1Gi' },
  port: { min: 1024, max: 65535 },
  leaseNameMaxLength: DNS1123_SUBDOMAIN_MAX_LENGTH,
} as const;
