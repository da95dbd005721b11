// Wire compatibility with client-go: our agents (the production bundle, run by
// the pod runner with each pod's own token) and client-go electors
// (k8s.io/client-go v0.36.3 tools/leaderelection with a LeaseLock, local-cluster/clientgo,
// run as plain processes with the admin kubeconfig) compete for the SAME Lease
// with the same timings, against the real control plane. Never two leaders; a
// crash or a graceful stop on either side is taken over by the other side.
// Timings: lease 2s, renew deadline 1.5s, retry 1s (each at least 1s, as our agent requires).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { listWatch } from '../../common/kube/list-watch.ts';
import {
  AGENT_BUNDLE,
  agentLeader,
  buildClientGoElector,
  electedPod,
  GoElector,
  grantAgent,
  type Interval,
  intervalsFromLog,
  leaseHolder,
  localImages,
  overlaps,
  PodRunner,
} from '../../local-cluster/index.ts';
import {
  adminClient,
  adminConnection,
  createNamespace,
  deleteNamespace,
  sleep,
  waitUntil,
} from '../helpers/kube.ts';

const LEASE = 'mixed';
const LEASE_MS = 2000;
const RETRY_MS = 1000;
/** client-go waits retryPeriod × [1, 1 + JitterFactor) between acquire attempts. */
const GO_MAX_WAIT_MS = RETRY_MS * 2.2;
const AGENT = 'leader-election-agent';
/** metav1.MicroTime as the API server writes it. */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

type Side = 'ours' | 'go';

interface Candidate {
  side: Side;
  id: string;
  go?: GoElector;
  /** Our agent's pod directory (its log), kept after the process is gone. */
  dir?: string;
}

interface LeaseVersion {
  at: number;
  resourceVersion: string;
  holder: string;
  transitions: number;
  leaseDurationSeconds: number | undefined;
  acquireTime: string | undefined;
  renewTime: string | undefined;
}

interface RawLease {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

interface Handover {
  step: string;
  signal: 'SIGKILL' | 'SIGTERM';
  from: string;
  to: string;
  signalledAt: number;
  /** Signal → the Lease names the new holder (polled every 20 ms). */
  holderMs: number;
  /** The old holder's last record → the new holder's first, as the test's watch received them. */
  lastRenewToHolderMs: number;
}

describe('wire compatibility with client-go leaderelection on one Lease', () => {
  let client: KubeClient;
  let runner: PodRunner;
  let ns: string;
  let goBinary: string;
  let logBase: string;
  const candidates: Candidate[] = [];
  const agentKills = new Map<string, number[]>();
  const history: LeaseVersion[] = [];
  const handovers: Handover[] = [];
  const watchAbort = new AbortController();
  let watchDone: Promise<void> | undefined;
  const counter = { ours: 0, go: 0 };

  beforeAll(async () => {
    if (!existsSync(AGENT_BUNDLE)) {
      throw new Error(
        `${AGENT_BUNDLE} is missing: run \`make build\` (or \`node scripts/bundle.mjs\`) before the integration tests`,
      );
    }
    goBinary = await buildClientGoElector();
    logBase = mkdtempSync(join(tmpdir(), 'le-clientgo-'));
    client = adminClient();
    runner = new PodRunner({
      connection: adminConnection(),
      images: localImages,
      nodeName: `clientgo-${process.pid}`,
      // A stopped or killed agent stays down: the test decides who competes.
      restartBackoffMs: 600_000,
      logDir: join(logBase, 'pods'),
    });
    await runner.start();
    ns = await createNamespace(client, 'clientgo');
    await grantAgent(client, ns);
    // Every version of the Lease, as the API server stores it.
    let synced!: () => void;
    const listed = new Promise<void>((r) => (synced = r));
    const record = (l: RawLease) =>
      history.push({
        at: Date.now(),
        resourceVersion: l.metadata?.resourceVersion ?? '',
        holder: l.spec?.holderIdentity ?? '',
        transitions: l.spec?.leaseTransitions ?? 0,
        leaseDurationSeconds: l.spec?.leaseDurationSeconds,
        acquireTime: l.spec?.acquireTime,
        renewTime: l.spec?.renewTime,
      });
    watchDone = listWatch<RawLease>(
      client,
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
      {
        onList: (items) => {
          items.forEach(record);
          synced();
        },
        onEvent: (type, l) => {
          if (type !== 'DELETED') record(l);
        },
      },
      watchAbort.signal,
      { query: { fieldSelector: `metadata.name=${LEASE}` } },
    );
    await listed;
  });

  afterAll(async () => {
    watchAbort.abort();
    await watchDone;
    await Promise.all(candidates.map((c) => c.go?.kill()));
    await runner?.stop();
    if (ns) await deleteNamespace(client, ns);
    client?.close();
    if (logBase && !process.env.LE_KEEP_LOGS) rmSync(logBase, { recursive: true, force: true });
    else if (logBase) console.log(`[clientgo-compat] logs kept in ${logBase}`);
  });

  function agentProc(pod: string) {
    return runner.pod(ns, pod)?.containers.get(AGENT)?.proc;
  }

  function alive(c: Candidate): boolean {
    if (c.go) return c.go.alive;
    const p = agentProc(c.id);
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** What a candidate says about itself: our /leader, or client-go's IsLeader()/GetLeader() and callbacks. */
  async function view(
    c: Candidate,
  ): Promise<{ isLeader: boolean; leader: string; leading: boolean } | undefined> {
    if (c.go) {
      const v = await c.go.leader();
      return v && { isLeader: v.isLeader, leader: v.leader, leading: v.leading };
    }
    const s = await agentLeader(runner, ns, c.id);
    return s && { isLeader: s.isLeader, leader: s.leader ?? '', leading: s.isLeader };
  }

  /** Starts one more candidate on a side and waits until it answers (and has seen `holder`, if given). */
  async function addCandidate(side: Side, holder?: string): Promise<Candidate> {
    const n = counter[side]++;
    let c: Candidate;
    if (side === 'go') {
      const go = await GoElector.start({
        binary: goBinary,
        kubeconfig: inject('kubeconfig'),
        namespace: ns,
        lease: LEASE,
        identity: `${LEASE}-go-${n}`,
        leaseDuration: '2s',
        renewDeadline: '1500ms',
        retryPeriod: '1s',
        releaseOnCancel: true,
        logDir: logBase,
      });
      c = { side, id: go.identity, go };
    } else {
      const name = `${LEASE}-ours-${n}`;
      await client.request('POST', `/api/v1/namespaces/${ns}/pods`, {
        body: electedPod(name, { leaseName: LEASE }),
      });
      c = { side, id: name };
      await waitUntil(`agent ${name} running`, 30_000, async () => {
        c.dir = runner.pod(ns, name)?.dir;
        return c.dir !== undefined && alive(c);
      });
    }
    candidates.push(c);
    await waitUntil(`${c.id} answering${holder ? ` and seeing ${holder}` : ''}`, 30_000, async () => {
      const v = await view(c);
      return v !== undefined && (holder === undefined || v.leader === holder);
    });
    return c;
  }

  function send(c: Candidate, sig: 'SIGKILL' | 'SIGTERM'): void {
    if (c.go) return c.go.signal(sig);
    const at = Date.now();
    expect(runner.signalPod(ns, c.id, sig, AGENT)).toHaveLength(1);
    if (sig === 'SIGKILL') agentKills.set(c.id, [...(agentKills.get(c.id) ?? []), at]);
  }

  /** Waits for the process to end; a SIGTERM must end it with status 0. */
  async function waitGone(c: Candidate, sig: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    if (c.go) {
      const r = await c.go.waitExit(10_000);
      if (sig === 'SIGTERM')
        expect(r, `${c.id} after SIGTERM: ${c.go.stderrTail()}`).toEqual({ code: 0, signal: null });
      return;
    }
    await waitUntil(`${c.id} to exit`, 10_000, async () => !alive(c));
    if (sig === 'SIGTERM') expect(agentProc(c.id)?.exitCode, `${c.id} exit status`).toBe(0);
  }

  /** A graceful exit of a follower: it leaves the election without touching the Lease. */
  async function retire(c: Candidate): Promise<void> {
    send(c, 'SIGTERM');
    await waitGone(c, 'SIGTERM');
  }

  async function currentLeader(): Promise<Candidate> {
    return waitUntil('a leader that holds the Lease', 20_000, async () => {
      const l = await leaseHolder(client, ns, LEASE);
      const c = candidates.find((x) => x.id === l?.holder && alive(x));
      return c && (await view(c))?.leading ? c : undefined;
    });
  }

  /**
   * For longer than a lease duration: the Lease keeps naming `leader`, which
   * renews it, and it is the only candidate that says it leads. A follower of
   * the other side that did not see the renewals would have taken over.
   */
  async function steady(leader: Candidate, ms = LEASE_MS + RETRY_MS): Promise<void> {
    const from = history.length;
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const live = candidates.filter(alive);
      const [lease, ...views] = await Promise.all([leaseHolder(client, ns, LEASE), ...live.map(view)]);
      expect(lease?.holder).toBe(leader.id);
      expect(live.filter((_, j) => views[j]?.isLeader).map((c) => c.id)).toEqual([leader.id]);
      for (const [j, v] of views.entries()) if (v) expect(v.leader, live[j]!.id).toBe(leader.id);
      await sleep(200);
    }
    const renews = history.slice(from).filter((v) => v.holder === leader.id);
    expect(renews.length, `renewals by ${leader.id} in ${ms} ms`).toBeGreaterThanOrEqual(2);
  }

  /**
   * Signals the leader so that the `next` side takes over: first the leader's own
   * side is reduced to the leader (its followers leave gracefully), and `next` is
   * given a candidate if it has none, which follows the leader for a while. Checks
   * the new holder, leaseTransitions +1, and a clean exit on SIGTERM.
   */
  async function handOver(step: string, sig: 'SIGKILL' | 'SIGTERM', next: Side): Promise<Handover> {
    const from = await currentLeader();
    expect(from.side, `${step}: the leader's side`).not.toBe(next);
    for (const c of candidates.filter((x) => x !== from && x.side !== next && alive(x))) await retire(c);
    if (!candidates.some((x) => x.side === next && alive(x))) await addCandidate(next, from.id);
    // The followers (of the other side, now) watch the leader renew for longer
    // than a lease duration, and stay followers.
    await steady(from);
    const before = await leaseHolder(client, ns, LEASE);
    expect(before?.holder).toBe(from.id);
    const signalledAt = Date.now();
    send(from, sig);
    const after = await waitUntil(
      `${step}: a new holder after ${sig} of ${from.id}`,
      20_000,
      async () => {
        const l = await leaseHolder(client, ns, LEASE);
        return l && l.holder !== '' && l.holder !== from.id ? l : undefined;
      },
      20,
    );
    const holderMs = Date.now() - signalledAt;
    const to = candidates.find((x) => x.id === after.holder);
    expect(to?.side, `${step}: ${after.holder} took over`).toBe(next);
    expect(after.transitions, `${step}: leaseTransitions`).toBe(before!.transitions + 1);
    await waitUntil(`${step}: ${to!.id} leading`, 10_000, async () => (await view(to!))?.leading);
    await waitGone(from, sig);
    const first = await waitUntil(`${step}: the watch delivering ${to!.id}'s record`, 5_000, async () => {
      const i = history.findIndex((v) => v.at >= signalledAt && v.holder === to!.id);
      return i > 0 ? i : undefined;
    });
    const lastOld = history.slice(0, first).findLast((v) => v.holder === from.id)!;
    const lastRenewToHolderMs = history[first]!.at - lastOld.at;
    const h = { step, signal: sig, from: from.id, to: to!.id, signalledAt, holderMs, lastRenewToHolderMs };
    handovers.push(h);
    return h;
  }

  function allIntervals(): Interval[] {
    return candidates.flatMap((c) => {
      if (c.go) return c.go.intervals();
      const path = join(c.dir ?? '', `${AGENT}.log`);
      return existsSync(path)
        ? intervalsFromLog(c.id, readFileSync(path, 'utf8'), agentKills.get(c.id) ?? [])
        : [];
    });
  }

  it('(a) two agents and two client-go electors: exactly one leader at every sample, the Lease holder', async () => {
    // Ours first, so that our agent creates the Lease and the client-go electors
    // start by decoding a record written by us.
    await addCandidate('ours');
    await addCandidate('ours');
    const leader = await currentLeader();
    expect(leader.side).toBe('ours');
    await addCandidate('go', leader.id);
    await addCandidate('go', leader.id);
    for (let i = 0; i < 20; i++) {
      const [lease, ...views] = await Promise.all([leaseHolder(client, ns, LEASE), ...candidates.map(view)]);
      expect(views.every((v) => v !== undefined)).toBe(true);
      const leaders = candidates.filter((_, j) => views[j]!.isLeader).map((c) => c.id);
      expect(leaders).toEqual([lease!.holder]);
      expect(leaders).toEqual([leader.id]);
      // client-go's GetLeader() and our agents' leader agree on the holder.
      for (const v of views) expect(v!.leader).toBe(leader.id);
      await sleep(100);
    }
    expect(overlaps(allIntervals())).toEqual([]);
  });

  it('(b) SIGKILL of the leader, alternating sides: client-go takes over from ours, ours from client-go', async () => {
    for (const [i, next] of (['go', 'ours', 'go', 'ours'] as const).entries()) {
      const h = await handOver(`kill ${i + 1}`, 'SIGKILL', next);
      // Nobody takes over before a full lease duration after the last renew (as
      // the test's own watch saw it; the margin is for event-loop delays).
      expect(h.lastRenewToHolderMs).toBeGreaterThanOrEqual(LEASE_MS - 200);
      // The last renew was at most a retry period (plus its request) before the kill.
      expect(h.holderMs).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 250);
      if (next === 'ours') {
        // Ours watches the Lease: it takes over when the lease expires on its clock.
        expect(h.lastRenewToHolderMs).toBeLessThan(LEASE_MS + 750);
      } else {
        // client-go polls: it sees the last renew up to a jittered retry period late,
        // and retries up to a jittered retry period after expiry.
        expect(h.lastRenewToHolderMs).toBeLessThan(LEASE_MS + 2 * GO_MAX_WAIT_MS + 1500);
      }
    }
    expect(overlaps(allIntervals())).toEqual([]);
  });

  it('(c) SIGTERM: ours releases and client-go takes over at its next retry; client-go releases and ours takes over at once', async () => {
    const toGo = await handOver('terminate ours', 'SIGTERM', 'go');
    // Released (empty holder): client-go takes it at its next attempt, no expiry to wait.
    expect(toGo.holderMs).toBeLessThan(GO_MAX_WAIT_MS + 1500);
    const toOurs = await handOver('terminate client-go', 'SIGTERM', 'ours');
    // ReleaseOnCancel, seen by our agent's watch: well within a lease duration.
    expect(toOurs.holderMs).toBeLessThan(LEASE_MS);
    expect(overlaps(allIntervals())).toEqual([]);
  });

  it('(d) across it all: never two leaders, leaseTransitions +1 per change of holder, MicroTime records', async () => {
    // Let the watch deliver the last versions.
    await sleep(300);
    const intervals = allIntervals().sort((a, b) => a.start - b.start);
    expect(overlaps(intervals)).toEqual([]);

    // The holders, in order, as the Lease recorded them (releases are empty holders).
    const holders: string[] = [];
    for (const v of history) if (v.holder !== '' && v.holder !== holders.at(-1)) holders.push(v.holder);
    expect(holders).toHaveLength(1 + handovers.length);
    // Each of them led, in that order, and only the last still leads. A holder may step down and
    // resume within its own term (a stall makes our agent re-verify with a renew before it leads
    // again): consecutive intervals of one holder are one term.
    const terms = intervals.map((i) => i.who).filter((who, k, all) => k === 0 || who !== all[k - 1]);
    expect(terms).toEqual(holders);
    expect(intervals.slice(0, -1).every((i) => Number.isFinite(i.end))).toBe(true);
    expect(intervals.at(-1)!.end).toBe(Number.POSITIVE_INFINITY);

    // leaseTransitions: +1 whenever a (non-empty) holder differs from the previous
    // version's holder, released lease included; unchanged otherwise.
    for (let i = 1; i < history.length; i++) {
      const prev = history[i - 1]!;
      const cur = history[i]!;
      const changed = cur.holder !== '' && cur.holder !== prev.holder;
      expect(cur.transitions, `${prev.holder}@${prev.transitions} → ${cur.holder}`).toBe(
        prev.transitions + (changed ? 1 : 0),
      );
    }
    expect(history[0]!.transitions).toBe(0);
    expect(history.at(-1)!.transitions).toBe(handovers.length);

    // Both sides write the same record shape: leaseDurationSeconds 2 while held,
    // released as client-go's ReleaseOnCancel does (empty holder, 1 s).
    const side = (id: string) => candidates.find((c) => c.id === id)?.side;
    const released = history.filter((v) => v.holder === '');
    expect(released.length).toBe(2);
    for (const v of released) expect(v.leaseDurationSeconds).toBe(1);
    for (const v of history.filter((x) => x.holder !== '')) expect(v.leaseDurationSeconds).toBe(2);

    // MicroTime with 6 decimals, on records of both sides.
    const ours = history.filter((v) => side(v.holder) === 'ours');
    const theirs = history.filter((v) => side(v.holder) === 'go');
    expect(ours.length).toBeGreaterThan(5);
    expect(theirs.length).toBeGreaterThan(5);
    for (const v of history) {
      expect(v.acquireTime).toMatch(MICRO_TIME);
      expect(v.renewTime).toMatch(MICRO_TIME);
    }
    // ...which client-go decoded: it never failed to read the Lease (klog would say so).
    for (const c of candidates.filter((x) => x.go)) {
      expect(c.go!.stderr(), c.id).not.toMatch(/Error retrieving|unmarshal|cannot parse|decode/i);
    }

    // Figures for the record: signal → new holder in the Lease → new leader's "started leading".
    const rows = handovers.map((h) => {
      const next = intervals.find((i) => i.who === h.to && i.start >= h.signalledAt - 5);
      const prev = intervals.find((i) => i.who === h.from && i.start < h.signalledAt);
      return {
        step: h.step,
        [`from → to`]: `${h.from} → ${h.to}`,
        'signal→holder ms': h.holderMs,
        'last renew→holder ms': h.lastRenewToHolderMs,
        'signal→started leading ms': next ? Math.round(next.start - h.signalledAt) : undefined,
        'no-leader gap ms': next && prev ? Math.round(next.start - prev.end) : undefined,
      };
    });
    console.table(rows);
    writeFileSync(
      join(logBase, 'lease-history.json'),
      JSON.stringify({ history, handovers, intervals, agentKills: Object.fromEntries(agentKills) }, null, 1),
    );
  });
});
