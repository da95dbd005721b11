// The agent as real processes (the production bundle, run by the pod runner with
// each pod's own token) against the real control plane: one leader at every
// instant, and the right behaviour on SIGKILL, SIGTERM, SIGSTOP and partition.
// Timings: lease 2s, renew deadline 1.5s, retry 1s (each at least 1s, as the contract requires).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import {
  agentLeader,
  agentReadyz,
  electedPod,
  gateStatus,
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

const LEASE_MS = 2000;
const RETRY_MS = 1000;
const DEADLINE_MS = 1500;

/**
 * Leadership intervals of each agent from its own log (an agent killed with
 * SIGKILL cannot log: its interval ends at the kill, which the test recorded).
 */
function leadershipIntervals(
  runner: PodRunner,
  ns: string,
  pods: string[],
  dirs: Map<string, string>,
  kills: Map<string, number[]>,
): Interval[] {
  const out: Interval[] = [];
  for (const pod of pods) {
    const dir = runner.pod(ns, pod)?.dir ?? dirs.get(pod);
    if (!dir) continue;
    dirs.set(pod, dir);
    let text: string;
    try {
      text = readFileSync(join(dir, 'leader-election-agent.log'), 'utf8');
    } catch {
      continue; // not started yet
    }
    out.push(...intervalsFromLog(pod, text, kills.get(pod) ?? []));
  }
  return out;
}

describe('agent', () => {
  let client: KubeClient;
  let runner: PodRunner;
  let ns: string;
  const dirs = new Map<string, string>();
  const kills = new Map<string, number[]>();

  beforeAll(async () => {
    client = adminClient();
    runner = new PodRunner({
      connection: adminConnection(),
      images: localImages,
      nodeName: `agents-${process.pid}`,
      logDir: undefined,
    });
    await runner.start();
    ns = await createNamespace(client, 'agent');
    await grantAgent(client, ns);
  });

  afterAll(async () => {
    await runner?.stop();
    await deleteNamespace(client, ns);
    client?.close();
  });

  async function startGroup(lease: string, n: number): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${lease}-${i}`);
    for (const name of names) {
      await client.request('POST', `/api/v1/namespaces/${ns}/pods`, {
        body: electedPod(name, { leaseName: lease }),
      });
    }
    await waitUntil('every agent answering', 30_000, async () => {
      const all = await Promise.all(names.map((p) => agentLeader(runner, ns, p)));
      return all.every((s) => s !== undefined);
    });
    return names;
  }

  async function currentLeader(lease: string, names: string[]): Promise<string> {
    return waitUntil('one leader', 30_000, async () => {
      const l = await leaseHolder(client, ns, lease);
      if (!l?.holder) return undefined;
      const s = await agentLeader(runner, ns, l.holder);
      return s?.isLeader && names.includes(l.holder) ? l.holder : undefined;
    });
  }

  it('elects exactly one leader among 5 agents, and it is the Lease holder', async () => {
    const names = await startGroup('five', 5);
    const leader = await currentLeader('five', names);
    let seen = '';
    await waitUntil('every agent to know the leader', 10_000, async () => {
      const all = await Promise.all(names.map((p) => agentLeader(runner, ns, p)));
      seen = JSON.stringify(all.map((s) => [s?.self, s?.leader, s?.isLeader]));
      return all.every((s) => s?.leader === leader);
    }).catch((err: Error) => {
      throw new Error(`${err.message}; leader ${leader}, agents said ${seen}`);
    });
    // Sample every agent for a while: all agree, only the holder says it leads.
    for (let i = 0; i < 20; i++) {
      const all = await Promise.all(names.map((p) => agentLeader(runner, ns, p)));
      expect(all.filter((s) => s?.isLeader).map((s) => s!.self)).toEqual([leader]);
      for (const s of all) expect(s?.leader).toBe(leader);
      await sleep(100);
    }
    expect((await leaseHolder(client, ns, 'five'))?.holder).toBe(leader);
    await waitUntil(
      'the leader gate True',
      10_000,
      async () => (await gateStatus(client, ns, leader)) === 'True',
    );
    for (const p of names.filter((n) => n !== leader)) expect(await gateStatus(client, ns, p)).toBe('False');
    expect(overlaps(leadershipIntervals(runner, ns, names, dirs, kills))).toEqual([]);
    // client-go's Event on the Lease, which `kubectl describe lease` shows (its UID included).
    const lease = await client.get<{ metadata: { uid: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/five`,
    );
    const events = await waitUntil('a LeaderElection Event on the Lease', 10_000, async () => {
      const list = await client.get<{ items: { message: string }[] }>(`/api/v1/namespaces/${ns}/events`, {
        query: {
          fieldSelector: `reason=LeaderElection,involvedObject.kind=Lease,involvedObject.name=five,involvedObject.uid=${lease.metadata.uid}`,
        },
      });
      return list.items.length > 0 ? list.items : undefined;
    });
    expect(events.map((e) => e.message)).toContain(`${leader} became leader`);
  });

  // Issue 14: a copy made with `kubectl debug --copy-to` (labels and annotations dropped) keeps the
  // agent and joined the production election; it could win it.
  it('an agent whose pod lacks the injection marks (a debug copy) never campaigns, and says why', async () => {
    const pod = electedPod('copy-0', { leaseName: 'copied' });
    delete pod.metadata!.labels;
    delete pod.metadata!.annotations;
    await client.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod });
    const said = await waitUntil('the copy to step down', 30_000, async () => {
      const s = (await agentLeader(runner, ns, 'copy-0')) as { stepDown?: string | null } | undefined;
      return s?.stepDown ?? undefined;
    });
    expect(said).toMatch(/lacks the injection's label leader-election\/injected=true and annotation/);
    // Alone with a free Lease for longer than a lease duration, it never took it.
    await sleep(LEASE_MS + 1_000);
    expect((await leaseHolder(client, ns, 'copied'))?.holder ?? '').toBe('');
  });

  it('after SIGKILL of the leader, another takes over, no earlier than the lease allows', async () => {
    const names = ['five-0', 'five-1', 'five-2', 'five-3', 'five-4'];
    const old = await currentLeader('five', names);
    const before = await leaseHolder(client, ns, 'five');
    const killedAt = Date.now();
    expect(runner.signalPod(ns, old, 'SIGKILL', 'leader-election-agent').length).toBe(1);
    kills.set(old, [...(kills.get(old) ?? []), killedAt]);
    const next = await waitUntil('a new holder', 20_000, async () => {
      const l = await leaseHolder(client, ns, 'five');
      return l?.holder && l.holder !== old ? l : undefined;
    });
    const tookMs = Date.now() - killedAt;
    // The last renew was at most one retry period before the kill; nobody may take over
    // before a full lease duration after it.
    expect(tookMs).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 50);
    expect(next.transitions).toBe(before!.transitions + 1);
    await waitUntil(
      'the new leader gate True',
      10_000,
      async () => (await gateStatus(client, ns, next.holder)) === 'True',
    );
    expect(overlaps(leadershipIntervals(runner, ns, names, dirs, kills))).toEqual([]);
  });

  it('after SIGTERM of the leader, it releases the Lease and another takes over quickly', async () => {
    const names = ['five-0', 'five-1', 'five-2', 'five-3', 'five-4'];
    const old = await currentLeader('five', names);
    const stoppedAt = Date.now();
    runner.signalPod(ns, old, 'SIGTERM', 'leader-election-agent');
    const next = await waitUntil(
      'a new holder',
      10_000,
      async () => {
        const l = await leaseHolder(client, ns, 'five');
        return l?.holder && l.holder !== old ? l : undefined;
      },
      20,
    );
    // Well under a lease duration: the release is seen through the watch.
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS);
    await waitUntil(
      'the old gate False',
      10_000,
      async () => (await gateStatus(client, ns, old)) === 'False',
    );
    await waitUntil(
      'the new gate True',
      10_000,
      async () => (await gateStatus(client, ns, next.holder)) === 'True',
    );
    expect(overlaps(leadershipIntervals(runner, ns, names, dirs, kills))).toEqual([]);
  });

  it('a leader paused longer than the lease duration never leads again without holding the Lease', async () => {
    const names = await startGroup('pause', 3);
    const old = await currentLeader('pause', names);
    runner.signalPod(ns, old, 'SIGSTOP');
    await waitUntil('a new holder', 20_000, async () => {
      const l = await leaseHolder(client, ns, 'pause');
      return l?.holder && l.holder !== old ? l.holder : undefined;
    });
    await sleep(LEASE_MS);
    runner.signalPod(ns, old, 'SIGCONT');
    // From the moment it runs again, the old leader may claim the lead only while it holds the
    // Lease (on a loaded machine it may legitimately win it back later).
    for (let i = 0; i < 30; i++) {
      const s = await agentLeader(runner, ns, old, 2000);
      if (s?.isLeader) expect((await leaseHolder(client, ns, 'pause'))?.holder).toBe(old);
      await sleep(100);
    }
    const holder = (await leaseHolder(client, ns, 'pause'))?.holder;
    expect(holder).toBeTruthy();
    if (holder !== old) {
      await waitUntil(
        'its condition False',
        10_000,
        async () => (await gateStatus(client, ns, old)) === 'False',
      );
    }
    expect(overlaps(leadershipIntervals(runner, ns, names, dirs, kills))).toEqual([]);
  });

  it('a leader whose API relay is cut fails /readyz within the renew deadline, and is a follower after healing', async () => {
    const names = await startGroup('cut', 3);
    const old = await currentLeader('cut', names);
    await waitUntil('the leader ready', 10_000, async () => (await agentReadyz(runner, ns, old)) === 200);
    const relay = runner.pod(ns, old)!.relay;
    const cutAt = Date.now();
    relay.cutOff();
    await waitUntil('/readyz failing', 10_000, async () => (await agentReadyz(runner, ns, old)) === 503, 20);
    // The last renew was sent at most a retry period before the cut.
    expect(Date.now() - cutAt).toBeLessThan(DEADLINE_MS + 300);
    const next = await waitUntil('another holder', 20_000, async () => {
      const l = await leaseHolder(client, ns, 'cut');
      return l?.holder && l.holder !== old ? l.holder : undefined;
    });
    relay.heal();
    await waitUntil(
      'the old leader sees the new one',
      20_000,
      async () => (await agentLeader(runner, ns, old))?.leader === next,
    );
    expect((await agentLeader(runner, ns, old))?.isLeader).toBe(false);
    await waitUntil(
      'its condition False',
      20_000,
      async () => (await gateStatus(client, ns, old)) === 'False',
    );
    expect(overlaps(leadershipIntervals(runner, ns, names, dirs, kills))).toEqual([]);
  });
});
