// End to end on a two-node kind cluster (issue 12, slow kubelet status): the leader's kubelet
// stalled (SIGSTOP: its node, runtime and pods run on, but nothing reports their status) while its
// agent releases the Lease (SIGTERM). The agent writes its gate False, but the pod's Ready is the
// kubelet's to recompute: it stays True in the API, and the pod a ready endpoint whose app still
// answers. The follower that takes the released Lease must not show itself leader meanwhile: it
// waits until the releaser's pod no longer shows Ready (break before make after a release, bounded
// by the lease duration). Before that, the two pods were ready endpoints together for as long as
// the kubelet stalled, and clients got both in turns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../common/kube/kube-client.ts';
import {
  longestGap,
  nodePod,
  signalContainer,
  sleep,
  stallKubelet,
  TIMINGS,
  waitUntil,
  type ElectedGroup,
} from '../../../local-cluster/index.ts';
import { e2eClient, e2eCluster, expectOneServerAtATime, leaderOnWorker, spreadGroup } from './e2e.ts';

/** Stalled for longer than the hand-off's own wait, shorter than the taker's bound (the lease, 6 s). */
const STALL_MS = 4_000;
const AGENT = 'leader-election-agent';

describe('on kind with two nodes: the leader’s kubelet stalled while its agent releases', () => {
  let client: KubeClient;
  let group: ElectedGroup | undefined;

  beforeAll(async () => {
    client = e2eClient();
    group = await spreadGroup(client, 'e2e-kubelet-stall');
  });

  afterAll(async () => {
    await group?.remove();
    client?.close();
  });

  it('the taker waits until the releaser’s pod no longer shows Ready: never two ready endpoints', async (ctx) => {
    if (!group) return ctx.skip(); // a cluster of one node (E2E_KUBECONFIG): make test's has two
    const g = group;
    const { old, node } = await leaderOnWorker(g, client);
    const target = nodePod(await client.get(`${g.api}/pods/${old}`));
    const t0 = Date.now();
    await stallKubelet(node, true);
    let next: string;
    try {
      await signalContainer(target, AGENT, 'TERM');
      next = await waitUntil('the released Lease taken by the other pod', 30_000, async () => {
        const h = await g.holder();
        return h && h !== old ? h : undefined;
      });
      await sleep(t0 + STALL_MS - Date.now());
    } finally {
      await stallKubelet(node, false);
    }
    await g.nextAnswerer(t0, old, 60_000);
    await sleep(3_000);
    const got = await g.answers(t0 - 1_000);
    expectOneServerAtATime(g, got, t0);
    const log = await e2eCluster().kubectl('-n', g.ns, 'logs', next, '-c', AGENT);
    const waited = log
      .split('\n')
      .findLast((l) => l.includes('took the lease over') || l.includes('previous holder still shown Ready'));
    expect(waited, `${next} waited for ${old}'s pod:\n${log}`).toBeDefined();
    const { waitedMs } = JSON.parse(waited!) as { waitedMs: number };
    expect(waitedMs, 'it waited for the stalled kubelet').toBeGreaterThan(1_000);
    expect(waitedMs).toBeLessThan(TIMINGS.leaseMs + 1_000);
    console.log(
      `[kind] kubelet of ${node} stalled ${STALL_MS} ms while leader ${old} released: ${next} waited ` +
        `${waitedMs} ms for the old pod to stop showing Ready; most ready endpoints at once ` +
        `${g.observer.maxReadyEndpoints(t0)}; no pod answered for ${longestGap(got)} ms at most`,
    );
  });
});
