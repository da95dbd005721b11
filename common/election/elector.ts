// The elector: drives the pure state machine (election.ts) with the Lease client.
// One instance per Lease; many can share a process and a KubeClient (the
// webhook's own election, the scale benchmark).
//
// Timing rules (client-go's, plus ours):
// - At most one request in flight. Every request is bounded by the Lease client's
//   timeout (at most half the renew deadline), so a dead API server cannot hold
//   the loop past the renew deadline.
// - The leader renews every retry period with one update from its cached object;
//   on 409 it reads the Lease and, only if the Lease still names us in the same term
//   (someone touched metadata, our cache lagged, or a renew of ours was applied but
//   its answer lost), updates again.
// - Followers watch the Lease: a released or changed Lease is acted on at once.
//   Timers remain the ground truth for expiry; the watch only makes things sooner.
// - Leadership ends, with no API call, at lastRenewSentAt + renewDeadline (a timer
//   fires exactly then), and after an event-loop stall until a renew succeeds again.
import {
  initialState,
  isLeader,
  isOlder,
  leaderIdentity,
  leaseValidUntil,
  nextAction,
  observe,
  onHolderAttestedGone,
  onReadFailed,
  onWriteConflict,
  onWriteFailed,
  onWriteSucceeded,
  releaseRecord,
  sameTerm,
  type Action,
  type ElectionState,
  type LeaseRecord,
  type Timings,
} from './election.ts';
import { ApiError } from '../kube/kube-client.ts';
import type { LeaseClient, ObservedLease } from './lease-client.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';

export interface ElectorCallbacks {
  onStartedLeading?(): void;
  onStoppedLeading?(reason: string): void;
  /** The holder as we know it changed (undefined: nobody valid). */
  onNewLeader?(identity: string | undefined): void;
  /** Every request to the API server, for metrics. */
  onRequest?(verb: 'get' | 'create' | 'update' | 'release', ms: number, error?: ApiError | Error): void;
  /** A renew from the cached object got 409 and went the slow path (get, then update): client-go's slowpath. */
  onSlowPath?(): void;
  /** Another holder's record was read or watched (kubelet attestation judges it, agent/attestation.ts). */
  onLeaseRecord?(record: LeaseRecord, resourceVersion: string): void;
}

export interface ElectorOptions {
  identity: string;
  timings: Timings;
  leases: LeaseClient;
  log: Logger;
  callbacks?: ElectorCallbacks;
  clock?: Clock;
  /** Watch the Lease (default true); without it followers rely on timers alone, like client-go. */
  watch?: boolean;
  /** An event-loop gap longer than this is a stall (default 1 s). */
  stallThresholdMs?: number;
  /** This process's instance, `<pod UID>/<token>` (election.ts isOwnRecord); none: client-go's rule. */
  instance?: string;
  /**
   * Whether to take a free Lease now (health-aware election: a follower whose app is not
   * ready says no). A refused acquire is deferred, re-asked every retry period, and made
   * anyway once it has been deferred for a lease duration: deferring never blocks election
   * for good. Renewals are never deferred.
   */
  contend?: () => boolean;
  /** Send renews late in a wall-clock second (election.ts RENEW_PHASE), for kubelet attestation. */
  alignRenews?: boolean;
}

export interface ElectorSnapshot {
  self: string;
  isLeader: boolean;
  leader: string | undefined;
  leaseTransitions: number;
  /** Wall time we started leading, or the holder's acquireTime. */
  since: string | undefined;
}

const STALL_TICK_MS = 250;

export class Elector {
  private state: ElectionState;
  private readonly opts: ElectorOptions;
  private readonly clock: Clock;
  private cached: ObservedLease | undefined;
  /** The record of our last successful write, for the 409 fallback. */
  private lastWritten: LeaseRecord | undefined;
  private leading = false;
  private leadingSince: string | undefined;
  /** While leading: the monotonic instant our lease stops being valid unless renewed. */
  private validUntil: number | undefined;
  private knownLeader: string | undefined;
  /** Set by a stall: do not report leadership until a renew succeeds after it. */
  private needsVerify = false;
  /** A hand-off is under way: not leading, and the loop makes no request meanwhile. */
  private handingOff = false;
  private busy = false;
  private again = false;
  private stopped = true;
  /**
   * The holder our last acquire took the Lease from: by expiry, on the kubelet's word, or after it
   * released it (then the last holder seen before the release); undefined after a create.
   */
  private takenFrom: string | undefined;
  /** The last holder other than us seen in a record (a released record names nobody). */
  private lastOtherHolder: string | undefined;
  /** Since when (monotonic) an acquire has been deferred by `contend`. */
  private deferredSince: number | undefined;
  /** The stop under way, so that a second stop() waits for the first. */
  private stopping: Promise<void> | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private watchAbort: AbortController | undefined;
  private watchDone: Promise<void> | undefined;
  /** Monotonic instant the loop last made progress; /healthz reads it. */
  lastLoopAt = 0;

  constructor(opts: ElectorOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.state = initialState(opts.identity, opts.timings, opts.instance, {
      alignRenews: opts.alignRenews ?? false,
    });
  }

  get identity(): string {
    return this.opts.identity;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = undefined;
    this.lastLoopAt = this.clock.now();
    this.lastTick = this.clock.now();
    this.stallTimer = setInterval(() => this.checkStall(), STALL_TICK_MS);
    this.stallTimer.unref?.();
    if (this.opts.watch !== false) {
      this.watchAbort = new AbortController();
      this.watchDone = this.opts.leases.watch(
        (obs) => this.onObserved(obs),
        this.watchAbort.signal,
        (err) => this.opts.log.debug({ err: (err as Error).message }, 'lease watch error; retrying'),
      );
    }
    this.kick();
  }

  /**
   * The holder our last acquisition took the Lease from: by expiry (it had stopped renewing), on
   * the kubelet's word, or after its release (the last holder we saw before it); undefined when
   * we created the Lease. Break before make reads it: the new leader shows itself only once that
   * holder's pod no longer serves.
   */
  takenOverFrom(): string | undefined {
    return this.takenFrom;
  }

  /** The Lease's UID as last seen (Events name it, as client-go's do). */
  leaseUID(): string | undefined {
    return this.cached?.lease.metadata?.uid;
  }

  /** The Lease record as last observed, with its resourceVersion; undefined when unknown or absent. */
  observedLease(): { record: LeaseRecord; resourceVersion: string } | undefined {
    const obs = this.state.observed;
    return typeof obs === 'object' ? { record: obs.record, resourceVersion: obs.resourceVersion } : undefined;
  }

  /**
   * Kubelet attestation (agent/attestation.ts): the writer of the record at `resourceVersion`
   * is dead, so that record may be taken now instead of when it expires. Ignored unless it is
   * the current record of another holder. True when it was taken into account.
   */
  attestHolderGone(resourceVersion: string, why: string): boolean {
    if (this.stopped || this.state.attestedGone === resourceVersion) return false;
    const before = this.state;
    this.state = onHolderAttestedGone(this.state, resourceVersion);
    if (this.state === before) return false;
    const holder = typeof before.observed === 'object' ? before.observed.record.holderIdentity : undefined;
    this.opts.log.info(
      { holder, resourceVersion, why },
      'holder attested gone; taking the lease before it expires',
    );
    this.kick();
    return true;
  }

  /** Runs the loop again now: something `contend` reads has changed. */
  reconsider(): void {
    this.kick();
  }

  /** True while we hold a valid lease by our own clock (the fencing rule). */
  isLeader(): boolean {
    return !this.stopped && !this.needsVerify && !this.handingOff && isLeader(this.state, this.clock.now());
  }

  snapshot(): ElectorSnapshot {
    const obs = typeof this.state.observed === 'object' ? this.state.observed.record : undefined;
    const leader = this.isLeader() ? this.identity : this.otherLeader();
    return {
      self: this.identity,
      isLeader: this.isLeader(),
      leader,
      leaseTransitions: obs?.leaseTransitions ?? 0,
      since: leader === this.identity ? this.leadingSince : leader ? obs?.acquireTime : undefined,
    };
  }

  private otherLeader(): string | undefined {
    const id = leaderIdentity(this.state, this.clock.now());
    return id === this.identity ? undefined : id;
  }

  /** Liveness: the loop ran recently. An API outage does not stop it (requests time out). */
  loopAgeMs(): number {
    return this.clock.now() - this.lastLoopAt;
  }

  /**
   * Stops the election for good: no more acquiring. With release, a leader first stops
   * leading (callbacks run with `reason`, so the gate goes False), then hands the Lease back
   * as client-go's ReleaseOnCancel does, retrying a conflict while the Lease is still ours.
   * A second call while the first is under way waits for it (the agent's own pod deletion,
   * then SIGTERM).
   */
  stop(opts: { release: boolean; beforeRelease?: () => Promise<void>; reason?: string }): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.stopped) return Promise.resolve();
    this.stopping = this.doStop(opts);
    return this.stopping;
  }

  private async doStop(opts: {
    release: boolean;
    beforeRelease?: () => Promise<void>;
    reason?: string;
  }): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    clearTimeout(this.deadlineTimer);
    clearInterval(this.stallTimer);
    this.watchAbort?.abort();
    this.updateLeadership(opts.reason ?? 'stopping');
    // Let an in-flight request finish so we release from the newest version, and decide
    // whether we hold the Lease only then: an acquire in flight when the stop began may
    // land and make us the holder (nobody else could then take it for a lease duration).
    const deadline = this.clock.now() + this.opts.timings.renewDeadlineMs;
    while (this.busy && this.clock.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const holder =
      typeof this.state.observed === 'object' && this.state.observed.record.holderIdentity === this.identity;
    if (opts.release && holder) {
      await opts.beforeRelease?.();
      await this.release(deadline);
    }
    await this.watchDone;
  }

  /**
   * Rollout hand-off: stop leading (callbacks run: gate False), run
   * beforeRelease, then release the Lease reserved for `target`, which takes it
   * at once while the others wait the record's duration. We stay a candidate.
   */
  async handOff(target: string, beforeRelease?: () => Promise<void>, why?: string): Promise<boolean> {
    if (!this.isLeader()) return false;
    this.handingOff = true;
    try {
      this.updateLeadership(`handing over to ${target}${why ? `: ${why}` : ''}`);
      const deadline = this.clock.now() + this.opts.timings.renewDeadlineMs;
      while (this.busy && this.clock.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await beforeRelease?.();
      const released = await this.release(deadline, target);
      if (released) this.opts.log.info({ target }, 'handed the lease over');
      return released;
    } finally {
      this.handingOff = false;
      this.kick();
    }
  }

  private async release(deadline: number, preferredHolder?: string): Promise<boolean> {
    for (let attempt = 1; this.clock.now() < deadline; attempt++) {
      const rel = releaseRecord(this.state, this.clock.wall(), preferredHolder);
      if (!rel || !this.cached) return false;
      const sentAt = this.clock.now();
      try {
        const written = await this.opts.leases.update(rel.record, this.cached.lease, rel.resourceVersion);
        this.opts.callbacks?.onRequest?.('release', this.clock.now() - sentAt);
        this.cached = written;
        this.state = onWriteSucceeded(this.state, sentAt, written);
        this.opts.log.info({ attempt, preferredHolder }, 'released the lease');
        return true;
      } catch (err) {
        this.opts.callbacks?.onRequest?.('release', this.clock.now() - sentAt, err as Error);
        if (!ApiError.isConflict(err)) {
          this.opts.log.warn({ err: (err as Error).message, attempt }, 'release failed; retrying');
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        // Conflict: read again; release only if the Lease still names us.
        try {
          const fresh = await this.opts.leases.get();
          if (fresh === 'absent' || fresh.record.holderIdentity !== this.identity) return false;
          this.cached = fresh;
          this.state = observe(this.state, fresh, this.clock.now());
        } catch (readErr) {
          this.opts.log.warn({ err: (readErr as Error).message }, 'could not read the lease to release it');
        }
      }
    }
    this.opts.log.warn('gave up releasing the lease; others take over when it expires');
    return false;
  }

  private onObserved(obs: ObservedLease | 'absent'): void {
    if (this.stopped) return;
    this.remember(obs);
    this.state = observe(this.state, obs, this.clock.now());
    this.tellRecord();
    this.updateLeadership('lease changed');
    this.kick();
  }

  private tellRecord(): void {
    const obs = this.state.observed;
    if (typeof obs !== 'object') return;
    const holder = obs.record.holderIdentity;
    if (holder !== '' && holder !== this.identity) this.lastOtherHolder = holder;
    this.opts.callbacks?.onLeaseRecord?.(obs.record, obs.resourceVersion);
  }

  /**
   * Keeps the newest Lease object: writes are made from it, with its labels, annotations and
   * managedFields. A late watch event (an older resourceVersion) must not replace it: the next
   * write would carry the newer resourceVersion with the older metadata, undoing a change
   * made in between (issue 12, item 9).
   */
  private remember(obs: ObservedLease | 'absent'): void {
    if (obs === 'absent') return;
    if (this.cached && isOlder(obs.resourceVersion, this.cached.resourceVersion)) return;
    this.cached = obs;
  }

  private checkStall(): void {
    const now = this.clock.now();
    const gap = now - this.lastTick;
    this.lastTick = now;
    if (gap > STALL_TICK_MS + (this.opts.stallThresholdMs ?? 1000)) {
      const wasLeading = this.leading;
      if (wasLeading) this.needsVerify = true;
      this.opts.log.warn(
        { stalledMs: Math.round(gap - STALL_TICK_MS), wasLeading },
        'event loop stalled; re-verifying the lease',
      );
      this.updateLeadership('process was paused');
      this.kick();
    }
  }

  /** Runs the state machine until it says wait. Re-entrant calls just ask for another round. */
  private kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    void this.pump(); // pump catches its own errors (see its catch) and never rejects
  }

  private async pump(): Promise<void> {
    this.busy = true;
    clearTimeout(this.wakeTimer);
    try {
      for (;;) {
        this.again = false;
        if (this.stopped || this.handingOff) return;
        this.lastLoopAt = this.clock.now();
        this.updateLeadership('renew deadline passed');
        const action = nextAction(this.state, this.clock.now(), this.clock.wall());
        if (action.kind === 'wait') {
          if (this.again) continue;
          this.scheduleWake(action.untilMonotonic);
          return;
        }
        if (this.deferAcquire(action)) {
          this.scheduleWake(this.clock.now() + this.opts.timings.retryPeriodMs);
          return;
        }
        await this.execute(action);
        this.updateLeadership('lease lost');
      }
    } catch (err) {
      // A bug, not an API error (those are handled in execute): keep the loop alive.
      this.opts.log.error({ err: (err as Error).stack }, 'election loop error');
      this.scheduleWake(this.clock.now() + this.opts.timings.retryPeriodMs);
    } finally {
      this.busy = false;
    }
  }

  /** True while `contend` defers this acquire (at most a lease duration; see the option). */
  private deferAcquire(action: Exclude<Action, { kind: 'wait' }>): boolean {
    if (action.kind !== 'acquire' && action.kind !== 'create') {
      this.deferredSince = undefined;
      return false;
    }
    if (!this.opts.contend || this.opts.contend()) {
      this.deferredSince = undefined;
      return false;
    }
    const now = this.clock.now();
    if (this.deferredSince === undefined) {
      this.deferredSince = now;
      this.opts.log.info('not contending for the lease while the app is not ready');
    }
    if (now - this.deferredSince < this.opts.timings.leaseDurationMs) return true;
    this.opts.log.info('contending although the app is not ready: no healthy pod took the lease');
    return false;
  }

  private scheduleWake(at: number): void {
    // Wake at least once a lease duration, so liveness can tell a wedged loop from a quiet one.
    const delay = Math.min(Math.max(0, at - this.clock.now()), this.opts.timings.leaseDurationMs);
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.kick(), Math.ceil(delay));
  }

  private async execute(action: Exclude<Action, { kind: 'wait' }>): Promise<void> {
    const leases = this.opts.leases;
    const sentAt = this.clock.now();
    const verb = action.kind === 'get' ? 'get' : action.kind === 'create' ? 'create' : 'update';
    try {
      if (action.kind === 'get') {
        const obs = await leases.get();
        this.report(verb, sentAt);
        this.remember(obs);
        this.state = observe(this.state, obs, this.clock.now());
        this.tellRecord();
        return;
      }
      let written: ObservedLease;
      // Set when the write is SENT: an acquire whose answer is lost may still have applied, and
      // we then start leading from the record we read next, not from this answer.
      if (action.kind !== 'renew') {
        const from = typeof this.state.observed === 'object' ? this.state.observed.record.holderIdentity : '';
        // A released record names nobody: the releaser is the last holder we saw. Its pod may still
        // show Ready for as long as its kubelet has not recomputed it (a stalled kubelet).
        const previous = from !== '' ? from : this.lastOtherHolder;
        this.takenFrom = action.kind === 'acquire' && previous !== this.identity ? previous : undefined;
      }
      if (action.kind === 'create') {
        written = await leases.create(action.record);
      } else {
        written = await this.update(action.record, action.resourceVersion, action.kind === 'renew');
      }
      this.report(verb, sentAt);
      this.cached = written;
      this.lastWritten = written.record;
      this.state = onWriteSucceeded(this.state, sentAt, written);
      this.needsVerify = false;
      if (action.kind !== 'renew')
        this.opts.log.info(
          {
            transitions: written.record.leaseTransitions,
            ...(this.takenFrom ? { from: this.takenFrom } : {}),
            ...(action.kind === 'acquire' && this.state.attestedGone === action.resourceVersion
              ? { attested: true }
              : {}),
          },
          `acquired the lease (${action.kind})`,
        );
    } catch (err) {
      this.report(verb, sentAt, err as Error);
      if (action.kind === 'get') {
        this.state = onReadFailed(this.state, sentAt);
      } else if (ApiError.isConflict(err) || ApiError.isAlreadyExists(err) || ApiError.isNotFound(err)) {
        this.opts.log.debug({ action: action.kind }, 'conflict: someone else wrote the lease');
        // takenFrom stays: this 409 may answer a retry whose earlier, lost attempt applied (a
        // thawed API server applies queued requests in order); the next acquire overwrites it.
        this.state = onWriteConflict(this.state, sentAt);
      } else {
        this.opts.log.warn({ action: action.kind, err: (err as Error).message }, 'lease write failed');
        this.state = onWriteFailed(this.state, sentAt);
      }
    }
  }

  /** One update from the cached object; for a renew, a 409 falls back to get + update (see top). */
  private async update(record: LeaseRecord, resourceVersion: string, renew: boolean): Promise<ObservedLease> {
    const cached = this.cached;
    if (!cached) throw new ApiError(409, 'Conflict', 'no cached Lease to update');
    try {
      return await this.opts.leases.update(record, cached.lease, resourceVersion);
    } catch (err) {
      if (!renew || !ApiError.isConflict(err) || !this.lastWritten) throw err;
      this.opts.callbacks?.onSlowPath?.();
      const fresh = await this.opts.leases.get();
      if (fresh === 'absent' || !sameTerm(fresh.record, this.lastWritten)) throw err;
      this.cached = fresh;
      return await this.opts.leases.update(record, fresh.lease, fresh.resourceVersion);
    }
  }

  private report(verb: 'get' | 'create' | 'update', sentAt: number, err?: Error): void {
    this.opts.callbacks?.onRequest?.(verb, this.clock.now() - sentAt, err);
  }

  /** Emits started/stopped leading and new-leader transitions, and arms the fencing timer. */
  private updateLeadership(reason: string): void {
    const now = this.isLeader();
    if (now !== this.leading) {
      this.leading = now;
      if (now) {
        this.leadingSince = this.clock.wall().toISOString();
        this.opts.log.info('started leading');
        this.opts.callbacks?.onStartedLeading?.();
      } else {
        // Leadership ended at the renew deadline even if we notice later (a paused
        // process): log both, so a reader can line up leaders without guessing.
        const t = this.clock.now();
        const end = Math.min(t, this.validUntil ?? t);
        const leaderUntil = new Date(this.clock.wall().getTime() - (t - end)).toISOString();
        this.leadingSince = undefined;
        this.validUntil = undefined;
        this.opts.log.warn({ reason, leaderUntil, noticedLateMs: Math.round(t - end) }, 'stopped leading');
        this.opts.callbacks?.onStoppedLeading?.(reason);
      }
    }
    const leader = now ? this.identity : this.otherLeader();
    if (leader !== this.knownLeader) {
      this.knownLeader = leader;
      this.opts.callbacks?.onNewLeader?.(leader);
    }
    clearTimeout(this.deadlineTimer);
    const until = leaseValidUntil(this.state);
    if (now) this.validUntil = until;
    if (now && until !== undefined && !this.stopped) {
      // Fire exactly at the renew deadline: leadership ends then even if no request answers.
      this.deadlineTimer = setTimeout(
        () => this.updateLeadership('renew deadline passed'),
        Math.ceil(until - this.clock.now()) + 1,
      );
    }
  }
}
