// Kubelet attestation (issue 13, item 3): when the holder's kubelet proves the record's writer
// dead. Each case is one reason the rule must say no, or the one way it may say yes.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { attestsHolderGone } from '../../agent/attestation.ts';
import type { LeaseRecord } from '../../common/election/election.ts';

const AGENT = 'leader-election-agent';
const UID = '0b5c6f1e-uid-of-web-a';

const record = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: 'web-a',
  leaseDurationSeconds: 15,
  acquireTime: '2026-11-26T08:00:00.100000Z',
  renewTime: '2026-11-26T08:00:04.300000Z',
  leaseTransitions: 3,
  holderInstance: `${UID}/1a2b3c4d`,
  ...over,
});

type Terminated = { finishedAt?: string; exitCode?: number; reason?: string };

/** The holder's pod with its agent (a native sidecar) in the given states. */
function pod(
  agent: { state?: object; lastState?: object },
  over: { uid?: string; name?: string } = {},
): V1Pod {
  return {
    metadata: { name: over.name ?? 'web-a', uid: over.uid ?? UID },
    status: {
      initContainerStatuses: [
        { name: AGENT, image: 'a', imageID: '', ready: false, restartCount: 1, ...agent },
      ],
      containerStatuses: [
        { name: 'app', image: 'b', imageID: '', ready: true, restartCount: 0, state: { running: {} } },
      ],
    },
  } as V1Pod;
}
const terminated = (t: Terminated) => ({ terminated: { exitCode: 137, reason: 'Error', ...t } });

describe('attestsHolderGone', () => {
  it('attests a termination later than the last renew, as the current or the last state', () => {
    const ended = terminated({ finishedAt: '2026-11-26T08:00:05Z' });
    // Killed, not yet restarted (or in back-off).
    expect(attestsHolderGone(record(), pod({ state: ended }), AGENT)).toMatch(
      /agent container ended at 2026-11-26T08:00:05.000Z/,
    );
    expect(
      attestsHolderGone(
        record(),
        pod({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: ended }),
        AGENT,
      ),
    ).toBeTruthy();
    // Already restarted: the running agent is a new process; the writer at renewTime is dead,
    // and if the new one renews first the acquire's resourceVersion makes it fail.
    expect(
      attestsHolderGone(record(), pod({ state: { running: {} }, lastState: ended }), AGENT),
    ).toBeTruthy();
  });

  it('attests nothing about a termination in the same second as the renew, or before it', () => {
    // finishedAt is rounded down to the second: 08:00:04 may be 08:00:04.9, after the renew at .3.
    for (const finishedAt of ['2026-11-26T08:00:04Z', '2026-11-26T08:00:03Z'])
      expect(
        attestsHolderGone(record(), pod({ state: terminated({ finishedAt }) }), AGENT),
        finishedAt,
      ).toBeUndefined();
    // A restarted agent renewed after the last termination: its record is newer than the death.
    const restarted = record({ renewTime: '2026-11-26T08:00:06.200000Z', holderInstance: `${UID}/9f8e7d6c` });
    expect(
      attestsHolderGone(
        restarted,
        pod({ state: { running: {} }, lastState: terminated({ finishedAt: '2026-11-26T08:00:05Z' }) }),
        AGENT,
      ),
    ).toBeUndefined();
  });

  it('attests nothing the kubelet inferred without seeing it (no finishedAt), nor a running agent', () => {
    const inferred = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown' } };
    expect(attestsHolderGone(record(), pod({ state: inferred }), AGENT)).toBeUndefined();
    expect(
      attestsHolderGone(record(), pod({ lastState: inferred, state: { running: {} } }), AGENT),
    ).toBeUndefined();
    expect(attestsHolderGone(record(), pod({ state: { running: {} } }), AGENT)).toBeUndefined();
    expect(attestsHolderGone(record(), pod({}), AGENT)).toBeUndefined();
  });

  it('attests nothing about another pod: another UID of the same name, another name, no instance', () => {
    const ended = { state: terminated({ finishedAt: '2026-11-26T08:00:09Z' }) };
    expect(attestsHolderGone(record(), pod(ended, { uid: 'another-uid' }), AGENT)).toBeUndefined();
    expect(attestsHolderGone(record(), pod(ended, { name: 'web-b' }), AGENT)).toBeUndefined();
    // client-go wrote it (no holder-instance): its process is not an agent container.
    expect(attestsHolderGone(record({ holderInstance: undefined }), pod(ended), AGENT)).toBeUndefined();
    expect(attestsHolderGone(record({ holderIdentity: '' }), pod(ended), AGENT)).toBeUndefined();
    expect(attestsHolderGone(record({ renewTime: undefined }), pod(ended), AGENT)).toBeUndefined();
    expect(attestsHolderGone(record(), undefined, AGENT)).toBeUndefined();
    // Another container ended: only the agent writes the record.
    expect(attestsHolderGone(record(), pod(ended), 'another-agent-name')).toBeUndefined();
  });
});
