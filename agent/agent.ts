// The agent: one elector for the group's Lease, the readiness writer for its
// own pod, the fencing probe, Events, metrics and the HTTP endpoints.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AgentConfig } from './config.ts';
import { createAgentServer, type AgentView, type LeaderSnapshot } from './server.ts';
import type { Check } from '../common/check.ts';
import { ReadinessWriter } from './readiness-writer.ts';
import { RolloutWatcher } from './handoff.ts';
import { OwnPodWatcher } from './own-pod.ts';
import { appReady, leaderHealthDecision } from './health.ts';
import { waitPreviousHolderUnready } from './takeover.ts';
import { attestsHolderGone } from './attestation.ts';
import { HolderPodWatcher } from './holder-pod.ts';
import { Elector } from '../common/election/elector.ts';
import { systemClock, type Clock } from '../common/clock.ts';
import { fencingCheck } from './fencing.ts';
import { KubeClient } from '../common/kube/kube-client.ts';
import { recordEvent } from '../common/kube/events.ts';
import type { KubeConnection } from '../common/kube/kubeconfig.ts';
import { LeaseClient } from '../common/election/lease-client.ts';
import type { Logger } from '../common/logger.ts';
import { Registry } from '../common/metrics.ts';
import { registerProcessMetrics } from '../common/process-metrics.ts';

export interface AgentOptions {
  config: AgentConfig;
  connection: KubeConnection;
  log: Logger;
  /** The monotonic clock of the election and the fencing; the system's by default. */
  clock?: Clock;
}

/** The longest a new leader waits for the pod it took the Lease from to stop showing Ready. */
const TAKEOVER_WAIT_MAX_MS = 10_000;

/**
 * How long a hand-off waits for its pod to show Ready=False before it releases: the kubelet
 * marks it unready on the gate's change or on the agent's failing probe (period 1 s).
 */
const HANDOFF_UNREADY_BOUND_MS = 3_000;

/**
 * The reason label of leader_election_leadership_lost_total when the agent itself gives up
 * leadership; otherwise the elector's own reason (a bounded set: lease lost, renew deadline
 * passed, process was paused, stopping).
 */
type LostReason = 'handover' | 'app-unready' | 'pod-deleted' | 'not-injected';

export class Agent {
  readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly client: KubeClient;
  readonly elector: Elector;
  private readonly writer: ReadinessWriter;
  private readonly rollout: RolloutWatcher;
  private readonly ownPod: OwnPodWatcher;
  private readonly holderPod: HolderPodWatcher;
  /** leader_election_holder_attested_gone_total. */
  private readonly attested: ReturnType<Registry['counter']>;
  /** Why the agent left the election for good (its pod is going away); undefined while campaigning. */
  private stepDown: string | undefined;
  /** The app containers' readiness as the kubelet last reported it; undefined before the pod is seen. */
  private appIsReady: boolean | undefined;
  /** Monotonic time since which the app has been seen not ready. */
  private unreadySince: number | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly stopProcessMetrics: () => void;
  private readonly registry = new Registry();
  private readonly listeners = new Set<(s: LeaderSnapshot) => void>();
  private server: Server | undefined;
  private lastSnapshot = '';
  /** When (monotonic) the pod was confirmed to show this agent as a follower after it led. */
  private followerSince: number | undefined;

  constructor(opts: AgentOptions) {
    const { config, log } = opts;
    this.config = config;
    this.log = log;
    this.clock = opts.clock ?? systemClock;
    // Every request is bounded by half the renew deadline (at most 5 s), so a
    // hung connection cannot keep a leader past its deadline unnoticed.
    const timeoutMs = Math.min(Math.floor(config.timings.renewDeadlineMs / 2), 5_000);
    this.client = new KubeClient(opts.connection, { defaultTimeoutMs: timeoutMs });
    const leases = new LeaseClient(this.client, config.leaseNamespace, config.leaseName, timeoutMs);
    this.writer = new ReadinessWriter(this.client, {
      namespace: config.namespace,
      podName: config.podName,
      routing: config.routing,
      timeoutMs,
      log,
    });

    this.rollout = new RolloutWatcher({
      client: this.client,
      namespace: config.namespace,
      podName: config.podName,
      leaseName: config.leaseName,
      agentName: config.agentName,
      log,
      // From the watcher's timer: not awaited. handOff never rejects (the release retries and
      // logs API errors; the gate write is bounded and never rejects).
      onTarget: (target) => void this.handOff(target, 'a newer revision is ready (rollout)', 'handover'),
      onChange: () => this.checkHealth(),
    });

    this.ownPod = new OwnPodWatcher({
      client: this.client,
      namespace: config.namespace,
      podName: config.podName,
      podUID: config.podUID,
      log,
      onDeletion: (why) => this.onPodDeletion(why),
      onNotInjected: (why) => this.leaveElection(why, 'not-injected'),
      onPod: (pod) => this.onOwnPod(appReady(pod, config.agentName)),
    });

    // Kubelet attestation (agent/attestation.ts): a follower watches the holder's pod.
    this.holderPod = new HolderPodWatcher({
      client: this.client,
      namespace: config.namespace,
      log,
      onPod: () => this.judgeHolder(),
    });

    this.stopProcessMetrics = registerProcessMetrics(this.registry);
    const labels = { name: config.leaseName };
    const slowPath = this.registry.counter(
      'leader_election_slowpath_total',
      'Renewals that got a 409 from the cached object and read the Lease before updating (client-go name).',
    );
    const masterStatus = this.registry.gauge(
      'leader_election_master_status',
      'Whether this agent leads the named Lease (1) or not (0); client-go name.',
    );
    const becameLeader = this.registry.counter(
      'leader_election_leadership_acquired_total',
      'Times this agent started leading.',
    );
    const lostLeader = this.registry.counter(
      'leader_election_leadership_lost_total',
      'Times this agent stopped leading, by reason.',
    );
    const requestSeconds = this.registry.histogram(
      'leader_election_api_request_duration_seconds',
      'Lease API request latency by verb.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    );
    const apiErrors = this.registry.counter(
      'leader_election_api_errors_total',
      'Lease API errors by verb and reason.',
    );
    this.attested = this.registry.counter(
      'leader_election_holder_attested_gone_total',
      "Times the holder's kubelet reported its agent dead and this agent took the Lease before it expired.",
    );
    const leaseTransitions = this.registry.gauge(
      'leader_election_lease_transitions',
      'leaseTransitions of the Lease as last seen.',
    );
    masterStatus.set(labels, 0);

    this.elector = new Elector({
      identity: config.identity,
      timings: config.timings,
      // This pod and this process (election.ts isOwnRecord): a restarted agent of this pod
      // takes its own record back at once; another pod of the same name waits for it to expire.
      instance: config.podUID ? `${config.podUID}/${randomUUID().slice(0, 8)}` : undefined,
      leases,
      log,
      clock: this.clock,
      // Health-aware election (agent/health.ts): a follower whose app is not ready lets
      // healthy ones take a free Lease first. Before the pod is seen, contend.
      contend: () => config.appUnreadyGraceMs === 0 || this.appIsReady !== false,
      // Kubelet attestation proves a crash only in a later whole second than the last renew.
      alignRenews: true,
      callbacks: {
        onStartedLeading: () => {
          masterStatus.set(labels, 1);
          becameLeader.inc(labels);
          void this.showLeader(); // never rejects (see showLeader)
          // The leader watches its group's pods: a newer revision to hand over to (rollout),
          // a healthy follower to hand over to (health-aware election).
          if (config.leaseNamespace === config.namespace) this.rollout.start();
          this.checkHealth();
          this.event('BecameLeader', `${config.identity} became leader of Lease ${config.leaseName}`);
          this.leaseEvent(`${config.identity} became leader`);
          this.publish();
        },
        onStoppedLeading: (reason) => {
          masterStatus.set(labels, 0);
          // Bounded label values: a hand-off names its target only in the log and the Event.
          lostLeader.inc({ ...labels, reason: this.giving ?? reason });
          // False first: whatever comes next, this pod must stop looking like the leader.
          this.followerSince = undefined;
          // Not awaited (a callback of the election loop); the writer never rejects.
          void this.writer.set(false).then(() => {
            if (!this.elector.isLeader()) this.followerSince = this.clock.now();
          });
          this.rollout.stop();
          clearTimeout(this.healthTimer);
          this.event(
            'StoppedLeading',
            `${config.identity} stopped leading Lease ${config.leaseName}: ${reason}`,
          );
          this.leaseEvent(`${config.identity} stopped leading`);
          this.publish();
        },
        onNewLeader: (leader) => {
          log.info({ leader: leader ?? null }, 'leader changed');
          leaseTransitions.set(labels, this.elector.snapshot().leaseTransitions);
          this.publish();
        },
        onSlowPath: () => slowPath.inc(labels),
        onLeaseRecord: (record) => {
          // Followers watch the holder's pod, when it is a pod of this namespace named by the
          // holder identity (the agents' default); leaders and stepped-down agents watch none.
          const other =
            !this.stepDown &&
            config.leaseNamespace === config.namespace &&
            record.holderIdentity !== '' &&
            record.holderIdentity !== config.identity;
          this.holderPod.follow(other ? record.holderIdentity : undefined);
          this.judgeHolder();
        },
        onRequest: (verb, ms, err) => {
          requestSeconds.observe({ verb }, ms / 1000);
          if (err) apiErrors.inc({ verb, reason: (err as { reason?: string }).reason ?? err.name });
        },
      },
    });
  }

  /** Kubelet attestation: the holder's record, judged against its pod as last seen. */
  private judgeHolder(): void {
    const obs = this.elector.observedLease();
    const pod = this.holderPod.last();
    if (!obs || !pod) return;
    const why = attestsHolderGone(obs.record, pod, this.config.agentName);
    if (why && this.elector.attestHolderGone(obs.resourceVersion, why))
      this.attested.inc({ name: this.config.leaseName });
  }

  private handingOff = false;
  /** Why the agent itself is giving leadership up, while it does (the lost-leadership label). */
  private giving: LostReason | undefined;

  /** Hands the Lease to `target` (a newer revision, a healthy follower): gate False first, then a reserved release. */
  private async handOff(target: string, why: string, cause: LostReason): Promise<void> {
    if (this.handingOff) return;
    this.handingOff = true;
    this.giving = cause;
    try {
      this.log.info({ target, why }, 'handing the lease over');
      const done = await this.elector.handOff(target, () => this.stopShowingLeader(), why);
      if (done)
        this.event(
          'HandedOver',
          `${this.config.identity} handed Lease ${this.config.leaseName} to ${target}: ${why}`,
        );
    } finally {
      this.handingOff = false;
      this.giving = undefined;
    }
  }

  /**
   * Gate True (label leader): at once after creating the Lease; after taking it from a pod of our
   * namespace (by expiry, on the kubelet's word, or after its release), only once that pod no
   * longer serves (agent/takeover.ts), at most a lease duration (or 10 s) later. Never rejects.
   */
  private async showLeader(): Promise<void> {
    const previous = this.elector.takenOverFrom();
    if (
      previous &&
      previous !== this.config.identity &&
      this.config.leaseNamespace === this.config.namespace
    ) {
      const boundMs = Math.min(this.config.timings.leaseDurationMs, TAKEOVER_WAIT_MAX_MS);
      const started = this.clock.now();
      const seen = await waitPreviousHolderUnready(this.client, this.config.namespace, previous, boundMs, {
        routing: this.config.routing,
      }).catch(() => 'still ready' as const);
      const waitedMs = Math.round(this.clock.now() - started);
      if (seen === 'still ready')
        this.log.warn({ previous, waitedMs }, 'previous holder still shown Ready; showing leader anyway');
      else
        this.log.info({ previous, seen, waitedMs }, 'took the lease over; previous holder no longer serving');
      if (!this.elector.isLeader()) return; // lost it meanwhile: the follower path wrote False
    }
    await this.writer.set(true); // the writer retries by itself and never rejects
  }

  /** The own pod's app readiness changed (or was seen again). */
  private onOwnPod(ready: boolean): void {
    const was = this.appIsReady;
    this.appIsReady = ready;
    if (ready) this.unreadySince = undefined;
    else this.unreadySince ??= this.clock.now();
    if (was !== ready) {
      this.log.info(
        { appReady: ready, leading: this.elector.isLeader() },
        `app ${ready ? 'ready' : 'not ready'}`,
      );
      this.elector.reconsider(); // a follower may contend again
    }
    this.checkHealth();
  }

  /** While leading: hand over when the app has been unready past the grace (agent/health.ts). */
  private checkHealth(): void {
    clearTimeout(this.healthTimer);
    if (!this.elector.isLeader() || this.stepDown) return;
    const d = leaderHealthDecision({
      graceMs: this.config.appUnreadyGraceMs,
      unreadySince: this.unreadySince,
      now: this.clock.now(),
      self: this.config.podName,
      leaseName: this.config.leaseName,
      pods: this.rollout.snapshot(),
    });
    if (d.kind === 'recheck') {
      this.healthTimer = setTimeout(() => this.checkHealth(), Math.ceil(d.at - this.clock.now()) + 1);
    } else if (d.kind === 'hand-over') {
      void this.handOff(d.target, d.reason, 'app-unready'); // never rejects (see handOff)
    }
  }

  /**
   * The pod is going away (agent/own-pod.ts). With on-deletion `release` the agent leaves
   * the election at once: a leader writes its gate False and releases the Lease, so a
   * follower takes over within about a second instead of when the app has exited and
   * SIGTERM reaches this sidecar; a follower stops campaigning, so a terminating pod never
   * takes the Lease. The process goes on serving its endpoints until SIGTERM.
   */
  private onPodDeletion(why: string): void {
    if (this.config.onDeletion === 'hold') {
      this.log.info({ why }, 'pod going away; keeping the lease until SIGTERM (on-deletion: hold)');
      return;
    }
    this.leaveElection(why, 'pod-deleted');
  }

  /**
   * Leaves the election for good (the pod is going away, or is not one the webhook injected): a
   * leader writes False and releases; a follower never campaigns again. /leader says why.
   */
  private leaveElection(why: string, cause: LostReason): void {
    if (this.stepDown) return;
    this.stepDown = why;
    this.giving = cause; // for good: the agent never leads again
    this.holderPod.stop();
    const leading = this.elector.isLeader();
    this.log.info({ why, leading }, 'leaving the election');
    // The elector's stop never rejects; agent.stop() (SIGTERM) waits for this same stop.
    void this.elector.stop({ release: true, beforeRelease: () => this.writeFalseBounded(), reason: why });
    this.publish();
  }

  /**
   * Before a hand-off's release: gate False, then, in readiness-gate routing, until the pod is
   * seen not Ready (bounded: lease expiry stays the fallback). Two kubelets update two pods'
   * Ready independently: releasing on the gate write's answer alone let the target turn Ready
   * through its kubelet while this pod's kubelet still showed this one Ready (issue 12, item 4).
   */
  private async stopShowingLeader(): Promise<void> {
    await this.writeFalseBounded();
    if (this.config.routing !== 'readiness-gate') return;
    // Within the hand-off's budget: the release must still go out before the renew deadline.
    const boundMs = Math.min(HANDOFF_UNREADY_BOUND_MS, this.config.timings.renewDeadlineMs / 2);
    const seen = await this.ownPod.whenNotReady(boundMs);
    if (!seen) this.log.warn({ boundMs }, 'pod still shown Ready; releasing anyway');
  }

  /** Bounded: a partitioned pod must still hand over or exit in time. */
  private async writeFalseBounded(): Promise<void> {
    await Promise.race([this.writer.set(false), new Promise((r) => setTimeout(r, 2_000))]);
  }

  /** The view the HTTP endpoints serve. */
  view(): AgentView {
    return {
      snapshot: () => this.snapshot(),
      subscribe: (fn) => {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
      },
      readiness: () => this.readiness(),
      liveness: () => this.liveness(),
    };
  }

  snapshot(): LeaderSnapshot {
    const s = this.elector.snapshot();
    return {
      leader: s.leader ?? null,
      self: s.self,
      isLeader: s.isLeader,
      leaseName: this.config.leaseName,
      leaseTransitions: s.leaseTransitions,
      since: s.since ?? null,
      stepDown: this.stepDown ?? null,
    };
  }

  /** The fencing probe (agent/fencing.ts). */
  readiness(): Check {
    return fencingCheck(
      {
        routing: this.config.routing,
        leading: this.elector.isLeader(),
        podMayShowLeader: this.writer.mayShowLeader,
        followerSince: this.followerSince,
      },
      this.clock.now(),
    );
  }

  /** Fails only if the election loop is wedged; an unreachable API server is not a reason to restart. */
  liveness(): Check {
    const t = this.config.timings;
    const limit = t.leaseDurationMs + 2 * t.retryPeriodMs + 10_000;
    const age = this.elector.loopAgeMs();
    return age < limit
      ? { ok: true, reason: 'election loop running' }
      : { ok: false, reason: `election loop silent for ${Math.round(age)} ms` };
  }

  private publish(): void {
    const s = this.snapshot();
    const key = JSON.stringify(s);
    if (key === this.lastSnapshot) return;
    this.lastSnapshot = key;
    for (const fn of this.listeners) fn(s);
  }

  /** An Event on the pod (why its leadership changed). */
  private event(reason: string, message: string): void {
    const { namespace, podName, podUID } = this.config;
    this.postEvent(namespace, reason, message, {
      apiVersion: 'v1',
      kind: 'Pod',
      name: podName,
      namespace,
      ...(podUID ? { uid: podUID } : {}),
    });
  }

  /**
   * The Event client-go records on the Lease (reason LeaderElection, "<identity> became leader"),
   * so `kubectl describe lease` and tools written for client-go show the same history.
   */
  private leaseEvent(message: string): void {
    const { leaseNamespace: namespace, leaseName: name } = this.config;
    const uid = this.elector.leaseUID();
    this.postEvent(namespace, 'LeaderElection', message, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      name,
      namespace,
      ...(uid ? { uid } : {}),
    });
  }

  private postEvent(namespace: string, reason: string, message: string, involvedObject: object): void {
    const source = { component: 'leader-election-agent', instance: this.config.podName };
    recordEvent(this.client, this.log, source, { namespace, involvedObject, reason, message });
  }

  async start(): Promise<void> {
    // The pod starts as a follower: False before anything else. Not awaited: the writer
    // retries until the API server has it, and never rejects.
    void this.writer.set(false);
    this.server = createAgentServer(this.view(), this.registry);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.config.port, this.config.bindAddress, () => resolve());
    });
    this.log.info(
      {
        address: `${this.config.bindAddress}:${this.config.port}`,
        timings: this.config.timings,
        routing: this.config.routing,
      },
      'agent started',
    );
    this.elector.start();
    this.ownPod.start();
  }

  /**
   * Graceful stop (SIGTERM): stop leading, write False, then release the Lease
   * (empty holder, leaseDurationSeconds 1) so a standby takes over at once.
   */
  async stop(): Promise<void> {
    const started = this.clock.now();
    await this.elector.stop({
      release: true,
      beforeRelease: () => this.writeFalseBounded(),
    });
    this.rollout.stop();
    clearTimeout(this.healthTimer);
    this.ownPod.stop();
    this.holderPod.stop();
    this.stopProcessMetrics();
    this.writer.stop();
    for (const fn of this.listeners) fn(this.snapshot());
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.client.close();
    this.log.info({ ms: Math.round(this.clock.now() - started) }, 'agent stopped');
  }
}
