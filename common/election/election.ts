// The leader-election state machine, compatible with client-go's
// tools/leaderelection (leaderelection.go + resourcelock/leaselock.go).
//
// Pure code: no I/O, no timers, no Date.now(). The runtime passes in two clocks:
//   - `now`: a LOCAL MONOTONIC clock in ms (performance.now()). All expiry and
//     deadline decisions use it. It is never compared with another process's
//     clock, so wall-clock skew between nodes cannot break mutual exclusion.
//   - `wallNow`: a Date, only written into acquireTime / renewTime for humans and
//     for other candidates to notice that the record changed. Its VALUE is never
//     used for a decision (same as client-go).
//
// The runtime drives it like this, with at most one request in flight:
//   loop: a = nextAction(state, now, wallNow)
//     'wait'   → sleep until a.untilMonotonic, or until the watch calls observe()
//     'get'    → GET the Lease; 200 → observe(record); 404 → observe('absent');
//                other error → onReadFailed
//     'create' / 'acquire' / 'renew' → send it, remembering sentAt = now at send;
//                success → onWriteSucceeded; 409 → onWriteConflict; other → onWriteFailed
//   and, independently, stop leading as soon as isLeader(state, now) turns false
//   (leaseValidUntil(state) says exactly when that happens if nothing changes).

import { JITTER_FACTOR, LIMITS } from '../contract/defaults.ts';

export interface LeaseRecord {
  /** '' when released (client-go writes an empty holder on ReleaseOnCancel). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** MicroTime: `2026-11-22T01:02:03.123456Z`. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
  /**
   * Set only on a released Lease (empty holder) by a leader handing over during a
   * rollout (annotation leader-election/preferred-holder): the Lease is reserved
   * for this candidate for the record's leaseDurationSeconds. Others wait that
   * long; client-go electors ignore it, which is safe (they just take it).
   */
  preferredHolder?: string;
  /**
   * Who wrote this holder's record: `<pod UID>/<process token>` (annotation
   * leader-election/holder-instance, contract/keys.ts). Absent when written by client-go or
   * by an elector without an instance.
   */
  holderInstance?: string;
}

export interface Timings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface Observed {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
  /** Monotonic instant at which THIS record content was first seen. */
  readonly observedAt: number;
}

export interface ElectionState {
  readonly identity: string;
  /**
   * This process's instance (`<pod UID>/<token>`), written with each record; undefined: the
   * client-go rule (every record naming our identity is ours).
   */
  readonly instance?: string | undefined;
  readonly timings: Timings;
  /** undefined: unknown, read it. 'absent': the Lease does not exist (404). */
  readonly observed: Observed | 'absent' | undefined;
  /** Monotonic instant the last SUCCESSFUL create/acquire/renew of ours was sent. */
  readonly lastRenewSentAt?: number | undefined;
  /** Monotonic instant the last create/acquire/renew was sent, whatever its outcome. */
  readonly lastWriteAt?: number | undefined;
  /** Monotonic instant the last failed GET was sent. */
  readonly lastReadFailedAt?: number | undefined;
  /**
   * The resourceVersion of another holder's record whose writer is attested dead (kubelet
   * attestation, agent/attestation.ts): that exact record may be taken before it expires.
   * Any newer record (a restarted agent's renew) does not match, so the attestation lapses.
   */
  readonly attestedGone?: string | undefined;
  /** Renews are sent late in a wall-clock second (RENEW_PHASE); agents set it, client-go has no such rule. */
  readonly alignRenews?: boolean | undefined;
}

/**
 * Where in a wall-clock second renews go out when aligned (kubelet attestation,
 * agent/attestation.ts): the kubelet's finishedAt has whole seconds, so a crash proves the
 * writer dead only when it falls in a later second than the last renew. Renews sent at
 * .85–.99 of a second make that true for every crash but those in the next ~100 ms; at a
 * random phase, for about half of them with a 1 s retry period. A scheduling choice only:
 * nothing about safety depends on the wall clock.
 */
export const RENEW_PHASE = { fromMs: 850, targetMs: 900 } as const;

export type Action =
  /** Nothing known (start, or after a conflict): read the Lease. */
  | { kind: 'get' }
  | { kind: 'create'; record: LeaseRecord }
  | { kind: 'acquire'; record: LeaseRecord; resourceVersion: string }
  | { kind: 'renew'; record: LeaseRecord; resourceVersion: string }
  /** Nothing to do before this monotonic instant, unless observe() brings a change. */
  | { kind: 'wait'; untilMonotonic: number };

export interface Written {
  record: LeaseRecord;
  resourceVersion: string;
}

/**
 * client-go's NewLeaderElector checks, plus:
 * - each at least 1 s (the Lease stores whole seconds),
 * - leaseDurationMs a whole number of seconds: others expire us after the STORED
 *   leaseDurationSeconds, which must stay above our renew deadline.
 */
export function validateTimings(t: Timings): string | undefined {
  for (const name of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    const v = t[name];
    if (!Number.isFinite(v) || v < LIMITS.minTimingMs) return `${name} must be at least 1000 ms (got ${v})`;
    if (v > LIMITS.maxTimingMs) return `${name} must be at most ${LIMITS.maxTimingText} (got ${v} ms)`;
  }
  if (t.leaseDurationMs % 1000 !== 0) {
    return `leaseDurationMs must be a whole number of seconds, as the Lease stores leaseDurationSeconds (got ${t.leaseDurationMs})`;
  }
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    return `leaseDurationMs (${t.leaseDurationMs}) must be greater than renewDeadlineMs (${t.renewDeadlineMs})`;
  }
  // renewDeadline > 1.2 × retryPeriod, in integers (5·d > 6·r) to avoid 1.2·3000 = 3599.999….
  if (t.renewDeadlineMs * 5 <= t.retryPeriodMs * 6) {
    return `renewDeadlineMs (${t.renewDeadlineMs}) must be greater than ${JITTER_FACTOR} × retryPeriodMs (${t.retryPeriodMs} × ${JITTER_FACTOR} = ${(t.retryPeriodMs * 6) / 5})`;
  }
  return undefined;
}

/** Throws on invalid timings: a misconfigured elector must not start. */
export function initialState(
  identity: string,
  timings: Timings,
  instance?: string,
  opts: { alignRenews?: boolean } = {},
): ElectionState {
  if (identity === '') throw new Error('identity must not be empty (an empty holderIdentity means released)');
  const err = validateTimings(timings);
  if (err !== undefined) throw new Error(err);
  return {
    identity,
    timings: { ...timings },
    observed: undefined,
    ...(instance ? { instance } : {}),
    ...(opts.alignRenews ? { alignRenews: true } : {}),
  };
}

/**
 * When a due renew goes out: at `writeAt`, or, with alignRenews, at the next RENEW_PHASE of the
 * wall clock when `writeAt` falls early in a second. Only after a successful write (a retry goes
 * out as due), and only if a retry period still fits before the renew deadline afterwards.
 */
function renewAt(state: ElectionState, writeAt: number, now: number, wallNow: Date): number {
  const last = state.lastRenewSentAt;
  if (!state.alignRenews || last === undefined || state.lastWriteAt !== last) return writeAt;
  const phase = (((wallNow.getTime() + (writeAt - now)) % 1000) + 1000) % 1000;
  if (phase >= RENEW_PHASE.fromMs) return writeAt;
  const aligned = writeAt + (RENEW_PHASE.targetMs - phase);
  return aligned <= last + state.timings.renewDeadlineMs - state.timings.retryPeriodMs ? aligned : writeAt;
}

/** The pod part of an instance (`<pod UID>/<token>`). */
const podOf = (instance: string | undefined) => instance?.split('/')[0] || undefined;

/**
 * A record naming our identity that we may treat as ours: written by this process, or by an
 * earlier run of this same pod's agent (its process is gone: the container restarted). A
 * record naming our identity from another pod of the same name, or with no instance (client-go,
 * an older agent), is someone else's: it expires like any other holder's. Without an instance
 * of our own, client-go's rule: every record naming us is ours.
 */
export function isOwnRecord(state: ElectionState, record: LeaseRecord): boolean {
  if (record.holderIdentity !== state.identity) return false;
  if (state.instance === undefined) return true;
  return record.holderInstance === state.instance || podOf(record.holderInstance) === podOf(state.instance);
}

/** metav1.MicroTime as the API server writes it: UTC, exactly 6 fractional digits. */
export function formatMicroTime(d: Date): string {
  // toISOString always has 3 digits of ms; the Date has no finer resolution.
  return d.toISOString().replace(/Z$/, '000Z');
}

/** Same election content (client-go compares the raw record bytes). */
export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    (a.acquireTime ?? '') === (b.acquireTime ?? '') &&
    (a.renewTime ?? '') === (b.renewTime ?? '') &&
    a.leaseTransitions === b.leaseTransitions &&
    (a.preferredHolder ?? '') === (b.preferredHolder ?? '') &&
    (a.holderInstance ?? '') === (b.holderInstance ?? '')
  );
}

/**
 * The same holder's same term: only renewTime (and metadata) may differ. A renew the API
 * server applied but whose answer was lost leaves exactly this: our record with a newer
 * renewTime. client-go renews whenever the record names it; we also require the term
 * (acquireTime, leaseTransitions) so that a record written by another incarnation of our
 * identity after someone else held the Lease is not renewed as ours.
 */
export function sameTerm(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.holderIdentity !== '' &&
    (a.acquireTime ?? '') === (b.acquireTime ?? '') &&
    a.leaseTransitions === b.leaseTransitions &&
    (a.preferredHolder ?? '') === (b.preferredHolder ?? '') &&
    (a.holderInstance ?? '') === (b.holderInstance ?? '')
  );
}

/**
 * resourceVersions are opaque, but when both are decimal (etcd revisions, always
 * in practice) an older one means a late watch event for a record we already
 * replaced (typically our own previous renew). Taking it would resurrect a stale
 * resourceVersion (next write: 409) and reset observedAt.
 */
export function isOlder(rv: string, than: string): boolean {
  if (!/^\d+$/.test(rv) || !/^\d+$/.test(than)) return false;
  return BigInt(rv) < BigInt(than);
}

/**
 * Take in what a GET or the watch returned. Like client-go's
 * `if !bytes.Equal(observedRawRecord, raw) { observedTime = now }`: the lease
 * duration is counted from when the CONTENT last changed as seen by us, on our
 * monotonic clock. A candidate that first sees a record therefore waits a full
 * lease duration, whatever renewTime says.
 */
export function observe(
  state: ElectionState,
  observation: { record: LeaseRecord; resourceVersion: string } | 'absent',
  now: number,
): ElectionState {
  const rest = { ...state, lastReadFailedAt: undefined };
  if (observation === 'absent') return { ...rest, observed: 'absent', lastRenewSentAt: undefined };
  const prev = state.observed;
  if (typeof prev === 'object' && isOlder(observation.resourceVersion, prev.resourceVersion)) return state;
  const observedAt =
    typeof prev === 'object' && sameRecord(prev.record, observation.record) ? prev.observedAt : now;
  return {
    ...rest,
    // The newest resourceVersion is kept even when the content did not change
    // (e.g. a label edit): the next write must carry it.
    observed: { record: { ...observation.record }, resourceVersion: observation.resourceVersion, observedAt },
    // Someone else's record (another pod of our name included): whatever we sent before no
    // longer makes us leader.
    lastRenewSentAt: isOwnRecord(state, observation.record) ? state.lastRenewSentAt : undefined,
  };
}

/** What to do at `now`. `wallNow` only fills acquireTime/renewTime. */
export function nextAction(state: ElectionState, now: number, wallNow: Date): Action {
  const { identity, timings } = state;
  const obs = state.observed;

  if (obs === undefined) {
    // A failed GET is retried after a retry period, like client-go's next tick.
    const readAt =
      state.lastReadFailedAt === undefined ? now : state.lastReadFailedAt + timings.retryPeriodMs;
    return now < readAt ? { kind: 'wait', untilMonotonic: readAt } : { kind: 'get' };
  }

  // At most one write per retry period, counted from when the last one was SENT
  // (success or not): renews are due every retryPeriod, and a failed or conflicting
  // write is retried no sooner (client-go: wait.JitterUntil(retryPeriod)).
  const writeAt = state.lastWriteAt === undefined ? now : state.lastWriteAt + timings.retryPeriodMs;
  // The record client-go writes for create/acquire; renew keeps two fields.
  const mine = (leaseTransitions: number): LeaseRecord => {
    const stamp = formatMicroTime(wallNow);
    return {
      holderIdentity: identity,
      // int(LeaseDuration / time.Second), as client-go writes it.
      leaseDurationSeconds: Math.floor(timings.leaseDurationMs / 1000),
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions,
      ...(state.instance ? { holderInstance: state.instance } : {}),
    };
  };

  if (obs === 'absent') {
    return now < writeAt ? { kind: 'wait', untilMonotonic: writeAt } : { kind: 'create', record: mine(0) };
  }

  const { record, resourceVersion, observedAt } = obs;
  if (isOwnRecord(state, record)) {
    // Ours (this run, or a previous run of this pod's agent): renew, keeping
    // acquireTime (as is) and leaseTransitions. Past the renew deadline too: the
    // resourceVersion makes it fail (409) if anyone acquired in between.
    const at = renewAt(state, writeAt, now, wallNow);
    if (now < at) return { kind: 'wait', untilMonotonic: at };
    return {
      kind: 'renew',
      resourceVersion,
      record: { ...mine(record.leaseTransitions), acquireTime: record.acquireTime },
    };
  }

  if (record.holderIdentity === '' && record.preferredHolder && record.preferredHolder !== identity) {
    // Handed over to another candidate: reserved for it for the record's duration.
    const reservedUntil = observedAt + record.leaseDurationSeconds * 1000;
    if (now < reservedUntil) return { kind: 'wait', untilMonotonic: Math.max(reservedUntil, writeAt) };
  }

  if (record.holderIdentity !== '' && state.attestedGone !== resourceVersion) {
    // Held by someone else: valid until observedAt + the RECORD's duration, not
    // ours (client-go isLeaseValid). renewTime plays no part: another clock.
    // Unless the kubelet attests that this record's writer is dead (attestedGone): then
    // nobody can renew it, and the acquire carries its resourceVersion, so it fails (409)
    // if a restarted writer renewed meanwhile.
    const expiresAt = observedAt + record.leaseDurationSeconds * 1000;
    if (now < expiresAt) return { kind: 'wait', untilMonotonic: Math.max(expiresAt, writeAt) };
  }

  // Released (empty holder) or expired: take it. client-go increments
  // leaseTransitions whenever we were not the leader, released lease included.
  if (now < writeAt) return { kind: 'wait', untilMonotonic: writeAt };
  return {
    kind: 'acquire',
    resourceVersion,
    record: mine(record.leaseTransitions + 1),
  };
}

/**
 * A create/acquire/renew/release we sent at `sentAt` succeeded. Leadership is
 * counted from the SEND instant: the server applied it at some point after, so
 * others saw it, and started their lease-duration countdown, no earlier.
 */
export function onWriteSucceeded(state: ElectionState, sentAt: number, written: Written): ElectionState {
  const ours = written.record.holderIdentity === state.identity;
  return {
    ...state,
    observed: { record: { ...written.record }, resourceVersion: written.resourceVersion, observedAt: sentAt },
    lastRenewSentAt: ours ? Math.max(state.lastRenewSentAt ?? sentAt, sentAt) : undefined,
    lastWriteAt: Math.max(state.lastWriteAt ?? sentAt, sentAt),
  };
}

/**
 * 409 on create/acquire/renew: the Lease changed under us, someone else may
 * hold it. Not leader from now on; forget the record so the next action is a GET
 * (at once). The next write still waits a retry period after this one.
 */
export function onWriteConflict(state: ElectionState, sentAt: number): ElectionState {
  return {
    ...state,
    observed: undefined,
    lastRenewSentAt: undefined,
    lastWriteAt: Math.max(state.lastWriteAt ?? sentAt, sentAt),
  };
}

/**
 * Any other failure (timeout, 5xx, connection refused). The outcome is unknown:
 * the server may even have applied it, so nothing is assumed. A leader stays
 * leader until its renew deadline; the write is retried after a retry period.
 */
export function onWriteFailed(state: ElectionState, sentAt: number): ElectionState {
  return { ...state, lastWriteAt: Math.max(state.lastWriteAt ?? sentAt, sentAt) };
}

/**
 * The kubelet attests that the writer of the record at `resourceVersion` is dead
 * (agent/attestation.ts). Recorded only if that is the record we hold as current, of another
 * holder: an attestation about an older record, our own, or a released one changes nothing.
 */
export function onHolderAttestedGone(state: ElectionState, resourceVersion: string): ElectionState {
  const obs = state.observed;
  if (typeof obs !== 'object' || obs.resourceVersion !== resourceVersion) return state;
  if (obs.record.holderIdentity === '' || isOwnRecord(state, obs.record)) return state;
  return { ...state, attestedGone: resourceVersion };
}

/** A GET failed (not 404): retried after a retry period. */
export function onReadFailed(state: ElectionState, sentAt: number): ElectionState {
  return { ...state, lastReadFailedAt: sentAt };
}

function holdsRecord(state: ElectionState): boolean {
  return typeof state.observed === 'object' && isOwnRecord(state, state.observed.record);
}

/**
 * The instant leadership ends unless a renew succeeds first: lastRenewSentAt +
 * renewDeadline. Since renewDeadline < leaseDuration and every other candidate
 * counts leaseDuration from when it SAW that write (after we sent it), we stop
 * leading at least leaseDuration − renewDeadline before anyone may take over.
 * This fencing needs no API call: a lost network or a SIGSTOP just moves `now`.
 */
export function leaseValidUntil(state: ElectionState): number | undefined {
  if (!holdsRecord(state) || state.lastRenewSentAt === undefined) return undefined;
  return state.lastRenewSentAt + state.timings.renewDeadlineMs;
}

export function isLeader(state: ElectionState, now: number): boolean {
  const until = leaseValidUntil(state);
  return until !== undefined && now < until;
}

/** When the next renew is due (leading, i.e. after a successful write of ours). */
export function nextRenewDue(state: ElectionState): number | undefined {
  if (!holdsRecord(state) || state.lastRenewSentAt === undefined) return undefined;
  return (
    Math.max(state.lastWriteAt ?? state.lastRenewSentAt, state.lastRenewSentAt) + state.timings.retryPeriodMs
  );
}

/**
 * Who leads as far as we know: ourselves only while isLeader; another holder
 * until its lease expires on our clock; undefined if released, expired or unknown.
 */
export function leaderIdentity(state: ElectionState, now: number): string | undefined {
  const obs = state.observed;
  if (typeof obs !== 'object' || obs.record.holderIdentity === '') return undefined;
  if (obs.record.holderIdentity === state.identity) return isLeader(state, now) ? state.identity : undefined;
  return now < obs.observedAt + obs.record.leaseDurationSeconds * 1000
    ? obs.record.holderIdentity
    : undefined;
}

/**
 * ReleaseOnCancel: the update that hands the Lease back, or undefined when there
 * is nothing to release. Like client-go's release(), this requires only that the
 * last record we know of names us (even past the renew deadline): the
 * resourceVersion makes it fail with 409 if anyone took over meanwhile.
 * The runtime must stop leading BEFORE sending it (another candidate may take
 * the Lease the moment it is applied), then may pass the result to onWriteSucceeded.
 */
export function releaseRecord(
  state: ElectionState,
  wallNow: Date,
  preferredHolder?: string,
): Written | undefined {
  if (!holdsRecord(state) || typeof state.observed !== 'object') return undefined;
  const stamp = formatMicroTime(wallNow);
  return {
    resourceVersion: state.observed.resourceVersion,
    record: {
      holderIdentity: '',
      // Short, so candidates that miss the empty holder still move on quickly.
      leaseDurationSeconds: 1,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: state.observed.record.leaseTransitions,
      ...(preferredHolder ? { preferredHolder } : {}),
    },
  };
}
