// End to end on a real cluster (kind): faults of the leader pod done the real way, inside the
// node (node-faults.ts: crictl, the cgroup freezer, nftables in the pod's network
// namespace), with traffic to the Service's ClusterIP from a pod in the cluster. In both
// routings, for each fault: clients never see two pods serving in turns, the Service
// never has two ready endpoints, and someone serves again. One group per routing, reused
// across the scenarios (each starts from one stable leader, every pod's containers ready).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../common/kube/kube-client.ts';
import {
  type Answer,
  apiServerAddresses,
  cutOffApiServer,
  ElectedGroup,
  freezePod,
  longestGap,
  healApiServer,
  killContainer,
  nodePod,
  pauseThenKill,
  type Raw,
  sleep,
  thawPod,
  timeline,
  TIMINGS,
  waitUntil,
} from '../../../local-cluster/index.ts';
import { e2eClient, e2eCluster, expectOneServerAtATime } from './e2e.ts';

const GRACE_S = 10;
/** Health-aware election: how long the leader's app may be unready before it hands over (short here). */
const APP_UNREADY_GRACE_MS = 3_000;
const AGENT = 'leader-election-agent';
/** Frozen or cut off for longer than the lease (6 s), so that another pod may take over. */
const FAULT_MS = 9_000;
/**
 * A kubelet bug that readiness-gate routing runs into after fencing (kubelet v1.36.3,
 * pkg/kubelet/status/status_manager.go; the symptom of kubernetes/kubernetes#122002).
 * The fenced leader's pod is not Ready because its agent container is not; its agent then
 * writes the gate False. The kubelet's status cache keeps the old gate True: a sync whose
 * kubelet-owned fields did not change is dropped ("Ignoring same status",
 * isPodStatusByKubeletEqual ignores other conditions). When the agent, now a follower,
 * turns ready 2 s later, SetContainerReadiness evaluates the readiness gate against that
 * cached True and writes Ready=True. The kubelet corrects it 10-25 ms later, but the
 * EndpointSlice (up to 1 s) and kube-proxy's rules (about 1 s) keep both pods, and clients
 * get the two in turns for about a second. Intermittent: in 6 of 10 runs of these two
 * scenarios here (freezing 2 of 5, cutting off 4 of 5), when a follower's agent was ready in
 * readiness-gate routing. Fixed in the product: there only a leading agent is ready now
 * (agent/fencing.ts, docs/architecture.md), and these scenarios pass (6 of 6 runs).
 */
const STALE_GATE_BUG = 'kubelet: Ready from a stale readiness gate after fencing';

/** Generous bounds: these tests check behaviour; speed is measured in make bench. */
const LEAVE_BOUND_MS = 10_000;
const RECOVERY_BOUND_MS = 90_000;

/** Runs a scenario's body; on failure, logs the timeline since `t0` first. */
async function explained(group: ElectedGroup, t0: () => number, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const since = t0() || Date.now() - 60_000;
    const got = await group.answers(since - 2_000).catch(() => []);
    // The kubelet bug below shows as a pod Ready while its own readiness gate is False.
    const readyWithGateFalse = group.observer.events.filter(
      (e) => e.kind === 'pod' && e.t >= since && e.gate === 'False' && e.ready === 'True' && !e.deleted,
    );
    console.log(
      `[kind] ${group.ns}: timeline of the failed scenario\n${timeline(group, got, since)}` +
        (readyWithGateFalse.length
          ? `\nthe kubelet marked a pod Ready while its readiness gate was False (${STALE_GATE_BUG})`
          : ''),
    );
    throw err;
  }
}

/** The first request that the given pod did not answer. */
const firstMiss = (got: Answer[], pod: string) => got.find((a) => a.pod !== pod);

/**
 * What the traffic client saw from just before the fault at `t0` (when only the stable
 * leader answered), so that the first stretch without answers counts in full.
 */
const seenFrom = (group: ElectedGroup, t0: number) => group.answers(t0 - 1_000);

const pod = (group: ElectedGroup, name: string) => group.client.get<Raw>(`${group.api}/pods/${name}`);

/** How the pod shows itself in the API: 'leader', 'follower' or '' (the agent's own writes). */
function shownRole(p: Raw, routing: string): string {
  if (routing === 'label') return p.metadata.labels?.['leader-election/role'] ?? '';
  const gate = p.status?.conditions?.find((c: Raw) => c.type === 'leader-election/leader')?.status;
  return gate === 'True' ? 'leader' : gate === 'False' ? 'follower' : '';
}

/** When the Lease moved to a holder other than `old` after `t0` (as the observer saw it), and any release before. */
function leaseMove(group: ElectedGroup, t0: number, old: string): { movedAt?: number; text: string } {
  const holders = group.observer.events.filter(
    (e): e is Extract<typeof e, { kind: 'holder' }> => e.kind === 'holder' && e.t >= t0,
  );
  const moved = holders.find((e) => e.holder && e.holder !== old);
  const released = holders.find((e) => e.holder === '' && (!moved || e.t <= moved.t));
  const text =
    (released ? `released after ${released.t - t0} ms, ` : '') +
    (moved ? `moved after ${moved.t - t0} ms` : 'not moved');
  return { movedAt: moved?.t, text: `Lease ${text}` };
}

const containerReady = (p: Raw, name: string) =>
  [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].find(
    (c: Raw) => c.name === name,
  )?.ready === true;

const isReady = (p: Raw) => p.status?.conditions?.find((c: Raw) => c.type === 'Ready')?.status === 'True';

for (const routing of ['readiness-gate', 'label'] as const) {
  describe(`on kind, ${routing} routing: faults of the leader pod, done inside the node`, () => {
    let client: KubeClient;
    let group: ElectedGroup;

    /** One stable leader to start a scenario from (ElectedGroup.stableLeader). */
    const stableLeader = () => group.stableLeader(3, 120_000);

    beforeAll(async () => {
      client = e2eClient();
      group = new ElectedGroup(e2eCluster(), `e2e-faults-${routing === 'label' ? 'label' : 'gate'}`, {
        routing,
        graceSeconds: GRACE_S,
        annotations: { 'leader-election/app-unready-grace': `${APP_UNREADY_GRACE_MS / 1000}s` },
      });
      await group.create();
    });

    afterAll(async () => {
      await group?.remove();
      client?.close();
    });

    /**
     * SIGKILLs `container` of a stable leader; waits until a pod answers again after the traffic
     * left the old leader, then checks one server at a time. `started` gets the fault's time.
     */
    async function killLeaderContainer(container: string, started: (t0: number) => void) {
      const old = await stableLeader();
      const target = nodePod(await pod(group, old));
      const t0 = Date.now();
      started(t0);
      await killContainer(target, container);
      const back = await waitUntil(
        `someone to answer again after the ${container} container was killed`,
        RECOVERY_BOUND_MS,
        async () => {
          const got = await group.answers(t0);
          const miss = firstMiss(got, old);
          return miss && got.find((a) => a.t > miss.t && a.pod);
        },
        250,
      );
      await sleep(2_000);
      const got = await seenFrom(group, t0);
      expectOneServerAtATime(group, got, t0);
      return { old, t0, back, got, miss: firstMiss(got, old)! };
    }

    it("SIGKILL of the leader's agent: traffic leaves it at once, someone serves again, one at a time", async () => {
      let t0 = 0;
      await explained(
        group,
        () => t0,
        async () => {
          const { old, back, got, miss } = await killLeaderContainer(AGENT, (t) => (t0 = t));
          const left = miss.t - t0;
          expect(left, 'the traffic leaves the old leader within a few seconds').toBeLessThan(LEAVE_BOUND_MS);
          const restarts = (await pod(group, old)).status.initContainerStatuses.find(
            (c: Raw) => c.name === AGENT,
          )?.restartCount;
          console.log(
            `[kind] ${routing}: agent of leader ${old} SIGKILLed: traffic left it after ${left} ms; ` +
              `${back.pod === old ? 'the same pod' : back.pod} answered after ${back.t - t0} ms ` +
              `(agent restarts ${restarts}); no pod answered for ${longestGap(got)} ms at most`,
          );
        },
      );
    });

    it("SIGKILL of the leader's app container: one server at a time, and someone serves again", async () => {
      let t0 = 0;
      await explained(
        group,
        () => t0,
        async () => {
          const { old, back, got, miss } = await killLeaderContainer('app', (t) => (t0 = t));
          console.log(
            `[kind] ${routing}: app of leader ${old} SIGKILLed: first unanswered request after ${miss.t - t0} ms; ` +
              `${back.pod === old ? 'the same pod' : back.pod} answered after ${back.t - t0} ms; ` +
              `no pod answered for ${longestGap(got)} ms at most; Lease holder now ${await group.holder()}`,
          );
        },
      );
    });

    // Issue 13, item 3, kubelet attestation. The agent is paused, then SIGKILLed once the node's
    // clock has entered a later second, so its death is provably after its last renew (the
    // kubelet's finishedAt has whole seconds; a death in the same second attests nothing and the
    // restarted agent takes its record back, the scenario above). Before: the Lease stayed with
    // the dead agent's pod until its restarted agent renewed it, or until it expired.
    it("SIGKILL of the leader's agent after its last renew: a follower takes over on the kubelet's word, before the lease expires", async () => {
      let t0 = 0;
      await explained(
        group,
        () => t0,
        async () => {
          const old = await stableLeader();
          const target = nodePod(await pod(group, old));
          t0 = Date.now();
          const stoppedAt = await pauseThenKill(target, AGENT);
          const next = await waitUntil('the Lease to move to another pod', RECOVERY_BOUND_MS, async () => {
            const h = await group.holder();
            return h && h !== old ? h : undefined;
          });
          const moved = leaseMove(group, t0, old);
          const log = await e2eCluster().kubectl('-n', group.ns, 'logs', next, '-c', AGENT);
          // The last such line: this pod may have taken over on the kubelet's word in an earlier scenario.
          const attested = log.split('\n').findLast((l) => l.includes('holder attested gone'));
          expect(attested, `${next}'s agent took the Lease on the kubelet's word:\n${log}`).toBeTruthy();
          expect(JSON.parse(attested!)).toMatchObject({ holder: old });
          expect(moved.movedAt! - stoppedAt, 'taken before the lease could expire').toBeLessThan(
            TIMINGS.leaseMs,
          );
          const back = await group.nextAnswerer(t0, old, RECOVERY_BOUND_MS);
          // The restarted agent of the old pod sees another holder's record: it stays a follower.
          await sleep(3_000);
          expect(await group.holder()).toBe(next);
          const got = await seenFrom(group, t0);
          expectOneServerAtATime(group, got, t0);
          console.log(
            `[kind] ${routing}: agent of leader ${old} paused then SIGKILLed: ${moved.text} (from the pause); ` +
              `${back} answered after ${got.find((a) => a.pod === back)!.t - t0} ms; ` +
              `no pod answered for ${longestGap(got)} ms at most`,
          );
        },
      );
    });

    // Issue 13, item 2. Before: the leader kept the Lease while its app failed its readiness, and
    // the Service had no ready endpoint for as long as that lasted (for ever here).
    it("the leader's app fails its readiness: after the grace, a follower whose app is ready leads and serves", async () => {
      let t0 = 0;
      let old = '';
      await explained(
        group,
        () => t0,
        async () => {
          old = await stableLeader();
          t0 = Date.now();
          await client.request('POST', `${group.api}/pods/${old}:8080/proxy/fail-readiness`);
          const next = await group.nextAnswerer(t0, old, APP_UNREADY_GRACE_MS + RECOVERY_BOUND_MS);
          await sleep(2_000);
          const got = await seenFrom(group, t0);
          expectOneServerAtATime(group, got, t0);
          const first = got.find((a) => a.pod === next)!.t - t0;
          expect(first, 'the grace, then a hand-over').toBeGreaterThan(APP_UNREADY_GRACE_MS);
          expect(first).toBeLessThan(APP_UNREADY_GRACE_MS + LEAVE_BOUND_MS);
          expect(await group.holder()).toBe(next);
          const events = await client.get<Raw>(`${group.api}/events`, {
            query: { fieldSelector: `involvedObject.name=${old},reason=HandedOver` },
          });
          expect(events.items.map((e: Raw) => e.message).join('\n')).toMatch(/app has not been ready/);
          console.log(
            `[kind] ${routing}: app of leader ${old} failing readiness: ${next} answered after ${first} ms ` +
              `(grace ${APP_UNREADY_GRACE_MS} ms); no pod answered for ${longestGap(got)} ms at most`,
          );
        },
      ).finally(() =>
        old
          ? client.request('POST', `${group.api}/pods/${old}:8080/proxy/recover`).catch(() => undefined)
          : undefined,
      );
    });

    // In readiness-gate routing this caught STALE_GATE_BUG (two ready endpoints), fixed in agent/fencing.ts.
    it('freezing the whole leader pod longer than the lease: a new leader serves, the old one never again after the thaw', async () => {
      let t0 = 0;
      await explained(
        group,
        () => t0,
        async () => {
          const old = await stableLeader();
          const target = nodePod(await pod(group, old));
          t0 = Date.now();
          await freezePod(target);
          let next: string;
          try {
            next = await group.nextAnswerer(t0, old, TIMINGS.leaseMs + RECOVERY_BOUND_MS);
            await sleep(t0 + FAULT_MS - Date.now());
          } finally {
            await thawPod(target);
          }
          const thawed = Date.now();
          // The old agent wakes up with its lease long gone (by its own monotonic clock).
          await sleep(5_000);
          expect(await group.leader(30_000)).toBe(next);
          const got = await seenFrom(group, t0);
          expectOneServerAtATime(group, got, t0);
          const firstNew = got.find((a) => a.pod === next)!.t;
          expect(got.filter((a) => a.t > firstNew && a.pod === old)).toEqual([]);
          expect(group.observer.endpointEvents(thawed).filter((e) => e.ready.includes(old))).toEqual([]);
          // Fencing: the frozen leader's probes time out, so it left the Service before the Lease could move.
          const out = group.observer.endpointEvents(t0).find((e) => !e.ready.includes(old))!.t;
          const lease = leaseMove(group, t0, old);
          expect(out, 'out of the Service before the Lease moved').toBeLessThan(lease.movedAt ?? Infinity);
          console.log(
            `[kind] ${routing}: leader ${old} frozen for ${thawed - t0} ms: not a ready endpoint after ` +
              `${out - t0} ms, ${lease.text}, ${next} answered after ${firstNew - t0} ms; ` +
              `no pod answered for ${longestGap(got)} ms at most; ${old} not served after the thaw`,
          );
        },
      );
    });

    // In readiness-gate routing this caught STALE_GATE_BUG (two ready endpoints), fixed in agent/fencing.ts.
    it('cutting the leader pod off from the API server: fenced by its probe, another takes over, one leader after healing', async () => {
      let t0 = 0;
      await explained(
        group,
        () => t0,
        async () => {
          const old = await stableLeader();
          const target = nodePod(await pod(group, old));
          const api = await apiServerAddresses(client);
          t0 = Date.now();
          await cutOffApiServer(target, api);
          let next: string;
          let unreadyAt: number;
          try {
            // Fencing: its agent cannot write, so its pod still shows it leader; its probe takes it out.
            unreadyAt = (
              await waitUntil(
                `${old} to leave the ready endpoints`,
                TIMINGS.leaseMs + 30_000,
                () => group.observer.endpointEvents(t0).find((e) => !e.ready.includes(old)),
                100,
              )
            ).t;
            const cut = await pod(group, old);
            expect(isReady(cut), 'the cut-off leader is not Ready').toBe(false);
            expect(shownRole(cut, routing), 'its agent could not write: the API still shows it leader').toBe(
              'leader',
            );
            // Only the API server is cut: the kubelet's probes still reach the pod (the app is ready).
            expect(containerReady(cut, 'app'), 'the app still answers the kubelet').toBe(true);
            expect(containerReady(cut, AGENT), 'the agent fails its readiness (fencing)').toBe(false);
            next = await group.nextAnswerer(t0, old, TIMINGS.leaseMs + RECOVERY_BOUND_MS);
            await sleep(t0 + FAULT_MS - Date.now());
          } finally {
            await healApiServer(target);
          }
          const healed = Date.now();
          // After healing the old agent writes itself a follower; one leader, the new one.
          await waitUntil(
            `${old} to show itself a follower after healing`,
            60_000,
            async () => shownRole(await pod(group, old), routing) === 'follower',
            250,
          );
          await sleep(3_000);
          expect(await group.leader(30_000)).toBe(next);
          const got = await seenFrom(group, t0);
          expectOneServerAtATime(group, got, t0);
          const firstNew = got.find((a) => a.pod === next)!.t;
          expect(got.filter((a) => a.t > firstNew && a.pod === old)).toEqual([]);
          const lease = leaseMove(group, t0, old);
          expect(unreadyAt, 'out of the Service before the Lease moved').toBeLessThan(
            lease.movedAt ?? Infinity,
          );
          console.log(
            `[kind] ${routing}: leader ${old} cut off from the API server for ${healed - t0} ms: ` +
              `not a ready endpoint after ${unreadyAt - t0} ms (still shown leader), ${lease.text}, ` +
              `${next} answered after ${firstNew - t0} ms; no pod answered for ${longestGap(got)} ms at most`,
          );
        },
      );
    });

    // Issue 12: the harness's lost-answer path, on the real node. Only the API server's packets
    // to the leader pod are dropped: its next renew, sent on the connection already open, is
    // applied while its answer is lost; nothing after it gets through. The agent cannot know its
    // write landed: it must fence itself at its renew deadline, and the Lease moves only once
    // that applied renew has expired.
    it("the leader's answers from the API server are lost while its writes land: fenced, then another leads", async () => {
      let t0 = 0;
      await explained(
        group,
        () => t0,
        async () => {
          const old = await stableLeader();
          const target = nodePod(await pod(group, old));
          const api = await apiServerAddresses(client);
          const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${group.ns}/leases/${group.name}`;
          t0 = Date.now();
          await cutOffApiServer(target, api, { answersOnly: true });
          let lastRenewByOld = 0;
          let next: string;
          let unreadyAt: number;
          try {
            // The renews of the old holder that landed after the cut, as the API server has them.
            const watchRenews = waitUntil(
              'the Lease to move',
              TIMINGS.leaseMs + RECOVERY_BOUND_MS,
              async () => {
                const spec = (await client.get<Raw>(leasePath)).spec;
                if (spec.holderIdentity === old)
                  lastRenewByOld = Math.max(lastRenewByOld, Date.parse(spec.renewTime));
                return spec.holderIdentity !== old ? spec.holderIdentity : undefined;
              },
              100,
            );
            unreadyAt = (
              await waitUntil(
                `${old} to leave the ready endpoints`,
                TIMINGS.leaseMs + 30_000,
                () => group.observer.endpointEvents(t0).find((e) => !e.ready.includes(old)),
                100,
              )
            ).t;
            await watchRenews;
            next = await group.nextAnswerer(t0, old, TIMINGS.leaseMs + RECOVERY_BOUND_MS);
            await sleep(t0 + FAULT_MS - Date.now());
          } finally {
            await healApiServer(target);
          }
          expect(lastRenewByOld, 'a renew sent after the cut was applied (its answer lost)').toBeGreaterThan(
            t0,
          );
          await waitUntil(
            `${old} to show itself a follower after healing`,
            60_000,
            async () => shownRole(await pod(group, old), routing) === 'follower',
            250,
          );
          await sleep(2_000);
          expect(await group.leader(30_000)).toBe(next);
          const got = await seenFrom(group, t0);
          expectOneServerAtATime(group, got, t0);
          const lease = leaseMove(group, t0, old);
          expect(unreadyAt, 'out of the Service before the Lease moved').toBeLessThan(
            lease.movedAt ?? Infinity,
          );
          console.log(
            `[kind] ${routing}: answers to leader ${old} lost (writes still landing): its last renew applied ` +
              `${lastRenewByOld - t0} ms after the cut; not a ready endpoint after ${unreadyAt - t0} ms, ` +
              `${lease.text}; no pod answered for ${longestGap(got)} ms at most`,
          );
        },
      );
    });

    it('forced deletion of the leader pod (grace 0): another pod serves within the lease and margins', async () => {
      let t0 = 0;
      await explained(
        group,
        () => t0,
        async () => {
          const old = await stableLeader();
          t0 = Date.now();
          await client.request('DELETE', `${group.api}/pods/${old}`, {
            body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 },
          });
          const next = await group.nextAnswerer(t0, old, TIMINGS.leaseMs + 30_000);
          await sleep(2_000);
          const got = await seenFrom(group, t0);
          expectOneServerAtATime(group, got, t0);
          expect(await group.holder()).toBe(next);
          const firstNew = got.find((a) => a.pod === next)!.t;
          console.log(
            `[kind] ${routing}: leader ${old} force-deleted: ${leaseMove(group, t0, old).text}, ` +
              `${next} answered after ${firstNew - t0} ms; no pod answered for ${longestGap(got)} ms at most`,
          );
        },
      );
    });
  });
}
