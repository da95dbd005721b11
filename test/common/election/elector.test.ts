// The elector runtime with an in-memory Lease store and fake timers: the
// request flow around the pure state machine (renew fallback on 409, release,
// fencing timer, stall detection), with no real sleeps.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Elector } from '../../../common/election/elector.ts';
import { type Clock } from '../../../common/clock.ts';
import type { LeaseRecord, Timings } from '../../../common/election/election.ts';
import { ApiError } from '../../../common/kube/kube-client.ts';
import type { Lease, LeaseClient, ObservedLease } from '../../../common/election/lease-client.ts';
import { silentLogger } from '../../../common/logger.ts';

const timings: Timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** A Lease store with resourceVersion checks, like the API server's optimistic concurrency. */
class FakeLeases {
  rv = 0;
  record: LeaseRecord | undefined;
  calls: string[] = [];
  /**
   * Fail the next requests of a verb: an ApiError, 'hang' (never answers), or 'lost' (an
   * update applied whose answer is lost: a timeout after the API server wrote it).
   */
  failures: { verb: string; error: Error | 'hang' | 'lost' }[] = [];
  watchers: ((l: ObservedLease | 'absent') => void)[] = [];
  /** While set, updates wait for it before they are applied (a slow API server). */
  block: Promise<void> | undefined;
  /** The Lease's labels (metadata a person or a tool may change), and those each update carried. */
  labels: Record<string, string> = {};
  sentLabels: Record<string, string>[] = [];

  private fail(verb: string, apply?: () => void): Promise<never> | undefined {
    const i = this.failures.findIndex((f) => f.verb === verb);
    if (i < 0) return undefined;
    const [f] = this.failures.splice(i, 1);
    if (f!.error === 'hang') return new Promise<never>(() => {});
    if (f!.error === 'lost') {
      apply?.();
      return Promise.reject(new ApiError(0, 'Timeout', 'no answer'));
    }
    return Promise.reject(f!.error);
  }

  private observed(): ObservedLease {
    const lease: Lease = {
      metadata: { name: 'l', resourceVersion: String(this.rv), labels: { ...this.labels } },
      spec: {},
    };
    return { record: { ...this.record! }, resourceVersion: String(this.rv), lease };
  }

  /** A person labels the Lease: a new resourceVersion, the same record. */
  label(key: string, value: string): void {
    this.labels[key] = value;
    this.rv++;
    for (const w of this.watchers) w(this.observed());
  }

  /** Someone else writes the Lease (another candidate, or a person). */
  write(record: LeaseRecord): void {
    this.record = record;
    this.rv++;
    for (const w of this.watchers) w(this.observed());
  }

  client(): LeaseClient {
    const api = {
      get: async () => {
        this.calls.push('get');
        const f = this.fail('get');
        if (f) return f;
        return this.record ? this.observed() : 'absent';
      },
      create: async (record: LeaseRecord) => {
        this.calls.push('create');
        const f = this.fail('create');
        if (f) return f;
        if (this.record) throw new ApiError(409, 'AlreadyExists', 'exists');
        this.write(record);
        return this.observed();
      },
      update: async (record: LeaseRecord, cached: Lease, resourceVersion: string) => {
        this.calls.push('update');
        this.sentLabels.push({ ...cached.metadata?.labels });
        if (this.block) await this.block;
        const f = this.fail('update', () => {
          if (resourceVersion === String(this.rv)) this.write(record);
        });
        if (f) return f;
        if (resourceVersion !== String(this.rv)) throw new ApiError(409, 'Conflict', 'stale');
        this.write(record);
        return this.observed();
      },
      watch: (onChange: (l: ObservedLease | 'absent') => void, signal: AbortSignal) => {
        this.watchers.push(onChange);
        return new Promise<void>((r) => signal.addEventListener('abort', () => r()));
      },
    };
    // The elector uses these four methods only.
    return api as unknown as LeaseClient;
  }
}

const clock: Clock = { now: () => Date.now(), wall: () => new Date() };

function elector(store: FakeLeases, identity = 'me', events: string[] = []): Elector {
  return new Elector({
    identity,
    timings,
    leases: store.client(),
    log: silentLogger(),
    clock,
    callbacks: {
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: (reason) => events.push(`stopped: ${reason}`),
    },
  });
}

/** An elector that asks `contend` before each acquire (health-aware election). */
function contending(store: FakeLeases, contend: () => boolean): Elector {
  return new Elector({
    identity: 'me',
    timings,
    leases: store.client(),
    log: silentLogger(),
    clock,
    contend,
  });
}

describe('Elector', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-22T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('creates an absent Lease, leads, and renews every retry period with one update each', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(store.calls).toEqual(['get', 'create']);
    expect(e.isLeader()).toBe(true);
    expect(events).toEqual(['started']);
    store.calls = [];
    await vi.advanceTimersByTimeAsync(10 * timings.retryPeriodMs);
    // No get before a renew: one update from the cached object, every retry period.
    expect(store.calls).toEqual(Array(10).fill('update'));
    expect(store.record?.holderIdentity).toBe('me');
    await e.stop({ release: false });
  });

  it('falls back to get + update when a renew meets a 409 but the Lease still holds our record', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    // Someone bumps the resourceVersion without changing the record (e.g. a label edit),
    // and our watch has not shown it yet.
    store.rv++;
    store.calls = [];
    await vi.advanceTimersByTimeAsync(timings.retryPeriodMs);
    expect(store.calls).toEqual(['update', 'get', 'update']);
    expect(e.isLeader()).toBe(true);
    expect(events).toEqual(['started']);
    await e.stop({ release: false });
  });

  // Issue 12, item 3: a renew the API server applied but whose answer was lost. The next
  // renew, from the cached object, meets a 409; the fallback read the fresh record, which is
  // OUR applied renew (newer renewTime than the last acknowledged one), and gave up, so the
  // leader stepped down. client-go renews whenever the record names it; we do when it names
  // us in the same term (holder, acquireTime and leaseTransitions unchanged).
  it('keeps leading after a renew whose answer was lost: the fresh record is ours, in our term', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    store.watchers = []; // the watch misses our own applied write
    store.failures.push({ verb: 'update', error: 'lost' });
    const acquired = store.record!.acquireTime;
    store.calls = [];
    await vi.advanceTimersByTimeAsync(2 * timings.retryPeriodMs);
    expect(store.calls.slice(0, 4)).toEqual(['update', 'update', 'get', 'update']);
    expect(e.isLeader()).toBe(true);
    expect(events).toEqual(['started']);
    expect(store.record?.acquireTime).toBe(acquired);
    await e.stop({ release: false });
  });

  it('stops leading on a 409 when someone else holds the Lease', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    store.watchers = []; // the watch misses it
    store.rv++;
    store.record = { ...store.record!, holderIdentity: 'other', leaseTransitions: 1 };
    await vi.advanceTimersByTimeAsync(timings.retryPeriodMs);
    expect(e.isLeader()).toBe(false);
    expect(events).toEqual(['started', 'stopped: lease lost']);
    await e.stop({ release: false });
  });

  it('stops leading exactly at the renew deadline when renews hang, with no API answer', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    const sentAt = Date.now() - 1;
    store.failures.push({ verb: 'update', error: 'hang' });
    await vi.advanceTimersByTimeAsync(timings.renewDeadlineMs - 10);
    expect(e.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(20);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(timings.renewDeadlineMs);
    expect(e.isLeader()).toBe(false);
    expect(events).toEqual(['started', 'stopped: renew deadline passed']);
    // stop() waits (bounded) for the hung request before it returns.
    const stopped = e.stop({ release: false });
    await vi.advanceTimersByTimeAsync(timings.renewDeadlineMs + 10);
    await stopped;
  });

  it('takes a released Lease at once when the watch shows it', async () => {
    const store = new FakeLeases();
    store.write({
      holderIdentity: 'other',
      leaseDurationSeconds: 15,
      leaseTransitions: 4,
      renewTime: 'x',
      acquireTime: 'x',
    });
    const e = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(e.isLeader()).toBe(false);
    expect(e.snapshot().leader).toBe('other');
    store.calls = [];
    store.write({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 4,
      renewTime: 'y',
      acquireTime: 'y',
    });
    await vi.advanceTimersByTimeAsync(1);
    expect(store.calls).toEqual(['update']);
    expect(e.isLeader()).toBe(true);
    expect(store.record?.leaseTransitions).toBe(5);
    await e.stop({ release: false });
  });

  // Issue 13, item 1: the agent stops the election when its pod is being deleted, and SIGTERM
  // calls stop() again while that release is still under way: the second call must wait for
  // the first (before, it returned at once and the agent closed its client mid-release).
  it('a second stop() waits for the release of the first, and gives the reason to the callbacks', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(e.isLeader()).toBe(true);
    let unblock!: () => void;
    store.block = new Promise((r) => (unblock = r));
    let firstDone = false;
    let secondDone = false;
    void e.stop({ release: true, reason: 'the pod is being deleted' }).then(() => (firstDone = true));
    const second = e.stop({ release: true }).then(() => (secondDone = true));
    await vi.advanceTimersByTimeAsync(100);
    expect(events).toEqual(['started', 'stopped: the pod is being deleted']);
    expect(secondDone).toBe(false); // the release is waiting for the API server
    store.block = undefined;
    unblock();
    await second;
    expect(firstDone && secondDone).toBe(true);
    expect(store.record?.holderIdentity).toBe('');
  });

  it('a stopped elector never takes the Lease again, however long it stays', async () => {
    const store = new FakeLeases();
    const e = elector(store, 'me');
    await e.stop({ release: false }); // never started: nothing to do
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    await e.stop({ release: true, reason: 'the pod is being deleted' });
    expect(store.record?.holderIdentity).toBe('');
    store.calls = [];
    await vi.advanceTimersByTimeAsync(10 * timings.leaseDurationMs);
    expect(store.calls).toEqual([]);
    expect(e.isLeader()).toBe(false);
  });

  // Issue 13, item 2 (health-aware election): a follower whose app is not ready lets others
  // take a free Lease first, for at most a lease duration; renewals are never deferred.
  it('defers an acquire while contend() says no, for at most a lease duration', async () => {
    const store = new FakeLeases();
    let healthy = false;
    const e = contending(store, () => healthy);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(store.calls).toEqual(['get']); // absent: would create, but defers
    await vi.advanceTimersByTimeAsync(timings.leaseDurationMs - 100);
    expect(store.calls.filter((c) => c !== 'get')).toEqual([]);
    expect(e.isLeader()).toBe(false);
    // A lease duration of deferring: it contends anyway (an app whose readiness needs leading).
    await vi.advanceTimersByTimeAsync(timings.retryPeriodMs + 100);
    expect(store.calls).toContain('create');
    expect(e.isLeader()).toBe(true);
    // As the leader it renews whatever contend() says.
    store.calls = [];
    await vi.advanceTimersByTimeAsync(3 * timings.retryPeriodMs);
    expect(store.calls).toEqual(['update', 'update', 'update']);
    healthy = true;
    await e.stop({ release: false });
  });

  it('contends at once when contend() turns true (reconsider)', async () => {
    const store = new FakeLeases();
    let healthy = false;
    const e = contending(store, () => healthy);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(e.isLeader()).toBe(false);
    healthy = true;
    e.reconsider();
    await vi.advanceTimersByTimeAsync(1);
    expect(e.isLeader()).toBe(true);
    await e.stop({ release: false });
  });

  // Issue 12, item 9: a late watch event (an older resourceVersion) replaced the cached object,
  // so the next renew carried the newer resourceVersion with older metadata, undoing a label a
  // person had added in between.
  it('renews from the newest object it has seen, never from a late event', async () => {
    const store = new FakeLeases();
    const e = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(e.isLeader()).toBe(true);
    const before = store.client();
    const lateEvent = await before.get(); // the Lease as it is now
    store.label('team', 'payments'); // a person labels it: newer resourceVersion
    await vi.advanceTimersByTimeAsync(1);
    for (const w of store.watchers) w(lateEvent as ObservedLease); // a late, older event arrives
    store.sentLabels = [];
    await vi.advanceTimersByTimeAsync(timings.retryPeriodMs);
    expect(store.sentLabels).toEqual([{ team: 'payments' }]);
    expect(e.isLeader()).toBe(true);
    await e.stop({ release: false });
  });

  // Issue 12, item 8: break before make needs to know whether the Lease was taken from a holder
  // that stopped renewing, rather than created or taken released.
  it('says whom it took the Lease from by expiry, and nobody after a create or a release', async () => {
    /** An elector on a store holding `record` (none: absent), run until it leads. */
    const leadingOn = async (record?: LeaseRecord, lostAnswer = false): Promise<Elector> => {
      const store = new FakeLeases();
      if (record) store.write(record);
      if (lostAnswer) store.failures.push({ verb: 'update', error: 'lost' });
      const e = elector(store, 'me');
      e.start();
      // No watch event shows an applied write: a retry after a lost answer meets a 409.
      if (lostAnswer) store.watchers = [];
      await vi.advanceTimersByTimeAsync(timings.leaseDurationMs + 3 * timings.retryPeriodMs);
      expect(e.isLeader()).toBe(true);
      return e;
    };
    const held = (holderIdentity: string): LeaseRecord => ({
      holderIdentity,
      leaseDurationSeconds: holderIdentity ? 15 : 1,
      leaseTransitions: 1,
      renewTime: 'x',
      acquireTime: 'x',
    });
    for (const [what, e, from] of [
      ['created', await leadingOn(), undefined],
      ['taken from an expired holder', await leadingOn(held('old')), 'old'],
      // A released Lease seen with no holder before it: nobody to wait for.
      ['taken released', await leadingOn(held('')), undefined],
      // An acquire applied whose answer was lost, then a retry answered 409 (seen on kind after
      // the API server was frozen: it applied the queued requests in order): leading starts from
      // the record read next, and it was still a takeover.
      ['taken from an expired holder, answer lost', await leadingOn(held('old'), true), 'old'],
    ] as const) {
      expect(e.takenOverFrom(), what).toBe(from);
      await e.stop({ release: false });
    }
  });

  const attestedHolder: LeaseRecord = {
    holderIdentity: 'old',
    leaseDurationSeconds: 15,
    leaseTransitions: 2,
    renewTime: 'a',
    acquireTime: 'a',
    holderInstance: 'pod-9/x',
  };

  // Issue 13, item 3: the agent tells the elector that the holder's kubelet attested the
  // writer of one record dead; the elector takes that record at once, and not a newer one.
  it('takes an attested record before it expires, and only that record', async () => {
    const store = new FakeLeases();
    const held = attestedHolder;
    store.write(held);
    const seen: string[] = [];
    const e = new Elector({
      identity: 'me',
      timings,
      leases: store.client(),
      log: silentLogger(),
      clock,
      callbacks: { onLeaseRecord: (r, rv) => seen.push(`${r.holderIdentity}@${rv}`) },
    });
    e.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toEqual(['old@1']);
    // A restarted writer renews before the attestation about its predecessor's record arrives.
    store.write({ ...held, renewTime: 'b', holderInstance: 'pod-9/y' });
    expect(e.attestHolderGone('1', 'stale')).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(e.isLeader()).toBe(false);
    store.calls = [];
    expect(e.attestHolderGone('2', 'the kubelet says so')).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.calls).toEqual(['update']);
    expect(e.isLeader()).toBe(true);
    expect(e.takenOverFrom()).toBe('old');
    expect(store.record).toMatchObject({ holderIdentity: 'me', leaseTransitions: 3 });
    await e.stop({ release: false });
  });

  it('an attested acquire that meets a renew of the restarted writer fails (409) and follows it', async () => {
    const store = new FakeLeases();
    const held = attestedHolder;
    store.write(held);
    const e = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(1_000);
    // The renew lands between the attestation and our acquire (no watch event yet).
    const watchers = store.watchers;
    store.watchers = [];
    store.write({ ...held, renewTime: 'b', holderInstance: 'pod-9/y' });
    store.watchers = watchers;
    expect(e.attestHolderGone('1', 'the kubelet says so')).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(e.isLeader()).toBe(false);
    expect(store.record?.holderIdentity).toBe('old');
    expect(e.snapshot().leader).toBe('old');
    await e.stop({ release: false });
  });

  // A stalled kubelet keeps a releaser's pod Ready in the API: the taker of a released Lease
  // also waits for the releaser's pod (break before make), so it must know who released.
  it('says whom it took a released Lease from: the last holder it saw before the release', async () => {
    const store = new FakeLeases();
    store.write({
      holderIdentity: 'old',
      leaseDurationSeconds: 15,
      leaseTransitions: 1,
      renewTime: 'a',
      acquireTime: 'a',
    });
    const e = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(e.isLeader()).toBe(false);
    store.write({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 1,
      renewTime: 'b',
      acquireTime: 'b',
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(e.isLeader()).toBe(true);
    expect(e.takenOverFrom()).toBe('old');
    await e.stop({ release: false });
  });

  // Issue 12, item 2: SIGTERM while an acquire is in flight. stop() decided whether to
  // release from the state BEFORE the acquire landed ("not the holder"), so the acquire then
  // took the Lease and nobody led for a lease duration.
  it('on stop, releases a Lease whose acquire was in flight when the stop began', async () => {
    const store = new FakeLeases();
    store.write({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 2,
      renewTime: 'x',
      acquireTime: 'x',
    });
    let unblock!: () => void;
    store.block = new Promise((r) => (unblock = r));
    const e = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(store.calls).toEqual(['get', 'update']); // the acquire, waiting for the API server
    const stopped = e.stop({ release: true });
    store.block = undefined;
    unblock();
    await vi.advanceTimersByTimeAsync(50);
    await stopped;
    expect(store.record?.holderIdentity).toBe('');
    expect(store.record?.leaseTransitions).toBe(3); // it was ours (acquired), then released
    expect(e.isLeader()).toBe(false);
  });

  // The same with the acquire's answer lost (applied, then a timeout): stop() waits for the
  // loop, which reads the Lease again after the failed write, before it decides.
  it('on stop, releases a Lease whose acquire was applied but whose answer was lost', async () => {
    const store = new FakeLeases();
    store.write({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 2,
      renewTime: 'x',
      acquireTime: 'x',
    });
    store.watchers = []; // no watch event tells us either
    store.failures.push({ verb: 'update', error: 'lost' });
    const e = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(store.record?.holderIdentity).toBe('me'); // applied, answer lost
    const stopped = e.stop({ release: true });
    await vi.advanceTimersByTimeAsync(50);
    await stopped;
    expect(store.record?.holderIdentity).toBe('');
  });

  it('on stop: stops leading first, runs beforeRelease, then releases with an empty holder', async () => {
    const store = new FakeLeases();
    const order: string[] = [];
    const e = new Elector({
      identity: 'me',
      timings,
      leases: store.client(),
      log: silentLogger(),
      clock,
      callbacks: {
        onStoppedLeading: () => order.push(`stopped leading (holder ${store.record?.holderIdentity})`),
      },
    });
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    const transitions = store.record!.leaseTransitions;
    await e.stop({
      release: true,
      beforeRelease: async () => {
        order.push(`before release (leader ${e.isLeader()})`);
      },
    });
    expect(order).toEqual(['stopped leading (holder me)', 'before release (leader false)']);
    expect(store.record).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: transitions,
    });
  });

  it('hands over: stops leading, writes False first, releases reserved for the target, stays a candidate', async () => {
    const store = new FakeLeases();
    const order: string[] = [];
    const e = new Elector({
      identity: 'me',
      timings,
      leases: store.client(),
      log: silentLogger(),
      clock,
      callbacks: { onStoppedLeading: (reason) => order.push(`stopped: ${reason}`) },
    });
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    const done = await e.handOff('next', async () => {
      order.push(`gate False while leader=${e.isLeader()}`);
    });
    expect(done).toBe(true);
    expect(order).toEqual(['stopped: handing over to next', 'gate False while leader=false']);
    expect(store.record).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      preferredHolder: 'next',
    });
    // The target takes it; we remain a follower that knows the new leader.
    store.write({
      holderIdentity: 'next',
      leaseDurationSeconds: 15,
      leaseTransitions: 1,
      renewTime: 'z',
      acquireTime: 'z',
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(e.isLeader()).toBe(false);
    expect(e.snapshot().leader).toBe('next');
    expect(store.record?.holderIdentity).toBe('next');
    await e.stop({ release: false });
  });

  it('does not report leadership after an event-loop stall until a renew succeeds', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    // A 3 s pause: shorter than the renew deadline, but the loop saw nothing happen meanwhile.
    vi.setSystemTime(Date.now() + 3_000);
    store.calls = [];
    await vi.advanceTimersByTimeAsync(300);
    // It dropped leadership on noticing the stall and took it back only with a successful renew.
    expect(events).toEqual(['started', 'stopped: process was paused', 'started']);
    expect(store.calls[0]).toBe('update');
    expect(e.isLeader()).toBe(true);
    await e.stop({ release: false });
  });

  it('after a stall, stays a follower while the re-verifying renew does not succeed', async () => {
    const store = new FakeLeases();
    const events: string[] = [];
    const e = elector(store, 'me', events);
    e.start();
    await vi.advanceTimersByTimeAsync(1);
    vi.setSystemTime(Date.now() + 3_000);
    store.failures.push({ verb: 'update', error: 'hang' });
    await vi.advanceTimersByTimeAsync(300);
    expect(e.isLeader()).toBe(false);
    expect(events).toEqual(['started', 'stopped: process was paused']);
    const stopped = e.stop({ release: false });
    await vi.advanceTimersByTimeAsync(timings.renewDeadlineMs + 10);
    await stopped;
  });

  it('is healthy while the API server is down: requests fail, the loop goes on', async () => {
    const store = new FakeLeases();
    const e = elector(store, 'me');
    for (let i = 0; i < 50; i++)
      store.failures.push({ verb: 'get', error: new ApiError(0, 'Transport', 'connection refused') });
    e.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(e.loopAgeMs()).toBeLessThan(timings.retryPeriodMs + 1);
    expect(store.calls.filter((c) => c === 'get').length).toBeGreaterThan(10);
    await e.stop({ release: false });
  });
});
