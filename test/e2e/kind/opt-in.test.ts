// End to end on kind (issue 12, item 6): a Deployment running without leader election, with the
// default RollingUpdate strategy (25% / 25%: for 3 replicas, maxUnavailable 0), serving through
// its ClusterIP, is annotated as users do. The Deployment controller rolls out injected pods;
// only their leader is Ready, so on its own the rollout stalls with the old pods Ready beside the
// leader, for good. The webhook's opt-in migrator scales the old ReplicaSet to 0 once the leader
// is Ready: the group ends in exactly one Ready pod, the leader, and the overlap is measured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../common/kube/kube-client.ts';
import { ElectedGroup, longestGap, TIMINGS, waitUntil, type Raw } from '../../../local-cluster/index.ts';
import { appManifest, e2eClient, e2eCluster } from './e2e.ts';

/** Generous: the rollout, elections and the migration take about 10–20 s here. */
const CONVERGE_BOUND_MS = 120_000;
/** Generous bound on the time with more than one ready endpoint after the leader turned Ready. */
const OVERLAP_BOUND_MS = 10_000;

/** Not opted in, the default RollingUpdate strategy. */
const PLAIN = appManifest({ replicas: 3 });

describe('on kind: opting in a Deployment that is already running', () => {
  let client: KubeClient;
  let group: ElectedGroup;

  beforeAll(async () => {
    client = e2eClient();
    group = new ElectedGroup(e2eCluster(), 'e2e-opt-in', { manifest: PLAIN });
    await group.create();
    await waitUntil('3 Ready pods without the agent', 120_000, async () => {
      const pods = await group.pods();
      return pods.length === 3 && group.observer.currentReady().length === 3;
    });
  });

  afterAll(async () => {
    await group?.remove();
    client?.close();
  });

  it('ends by itself in exactly one Ready pod, the leader, with a short overlap', async () => {
    const t0 = Date.now();
    await group.cluster.kubectl(
      '-n',
      group.ns,
      'annotate',
      'deployment',
      'web',
      'leader-election/enabled=true',
      `leader-election/lease-duration=${TIMINGS.lease}`,
      `leader-election/renew-deadline=${TIMINGS.renew}`,
      `leader-election/retry-period=${TIMINGS.retry}`,
    );
    const leader = await waitUntil(
      'one Ready pod, the leader, and every pod injected',
      CONVERGE_BOUND_MS,
      async () => {
        const pods = (await group.pods()).filter((p: Raw) => !p.metadata.deletionTimestamp);
        const injected = pods.every((p: Raw) => p.metadata.labels?.['leader-election/injected'] === 'true');
        const ready = group.observer.currentReady();
        const holder = await group.holder().catch(() => '');
        return pods.length === 3 && injected && ready.length === 1 && ready[0] === holder
          ? holder
          : undefined;
      },
    );
    // The overlap: from the first injected pod Ready to the last moment with more than one ready endpoint.
    const events = group.observer.events.filter((e) => e.t >= t0);
    const firstLeaderReady = events.find(
      (e) => e.kind === 'pod' && e.gate === 'True' && e.ready === 'True' && !e.deleted,
    )?.t;
    expect(firstLeaderReady, 'an injected pod turned Ready as leader').toBeDefined();
    const endpoints = group.observer.endpointEvents(firstLeaderReady!);
    const lastCrowded = [...endpoints].reverse().find((e) => e.ready.length > 1);
    const settled = lastCrowded ? endpoints.find((e) => e.t > lastCrowded.t)!.t : firstLeaderReady!;
    const overlapMs = settled - firstLeaderReady!;
    expect(overlapMs, 'old pods leave the endpoints soon after the leader is Ready').toBeLessThan(
      OVERLAP_BOUND_MS,
    );

    const rsList = await client.get<Raw>(`/apis/apps/v1/namespaces/${group.ns}/replicasets`);
    const old = rsList.items.filter(
      (r: Raw) => !r.spec.template.metadata.annotations?.['leader-election/enabled'],
    );
    expect(old.map((r: Raw) => r.spec.replicas)).toEqual([0]);
    const ev = await client.get<Raw>(`${group.api}/events`, {
      query: {
        fieldSelector: 'involvedObject.kind=Deployment,involvedObject.name=web,reason=OptInCompleted',
      },
    });
    expect(ev.items.map((e: Raw) => e.message).join('\n')).toMatch(/to 0: the leader of Deployment web/);
    const got = await group.answers(t0);
    console.log(
      `[kind] opt-in of a running Deployment (default strategy): ${leader} the only Ready pod after ` +
        `${Date.now() - t0} ms; more than one ready endpoint for ${overlapMs} ms after the leader turned Ready; ` +
        `no pod answered for ${longestGap(got)} ms at most`,
    );
  });
});
