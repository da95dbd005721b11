import { describe, expect, it } from 'vitest';
import { ApiError, type KubeClient, type WatchEvent } from '../../../common/kube/kube-client.ts';
import { listWatch } from '../../../common/kube/list-watch.ts';

interface Obj {
  metadata: { name: string; resourceVersion: string };
}

const obj = (name: string, rv: string): Obj => ({ metadata: { name, resourceVersion: rv } });

/** A scripted API: each watch call plays the next script (events, then an end or an error). */
function fakeClient(
  scripts: ((emit: (e: WatchEvent<unknown>) => void, signal?: AbortSignal) => Promise<void>)[],
) {
  const calls: string[] = [];
  let listRv = 10;
  const client = {
    async get() {
      calls.push('list');
      return { items: [obj('a', String(listRv))], metadata: { resourceVersion: String(listRv++) } };
    },
    async watch(
      _path: string,
      query: Record<string, unknown>,
      onEvent: (e: WatchEvent<unknown>) => void,
      signal?: AbortSignal,
    ) {
      calls.push(`watch@${String(query.resourceVersion)}`);
      const script = scripts.shift();
      if (!script) return new Promise<void>((r) => signal?.addEventListener('abort', () => r()));
      return script(onEvent, signal);
    },
  };
  // listWatch uses get and watch only.
  return { client: client as unknown as KubeClient, calls };
}

describe('listWatch', () => {
  it('lists, watches from the list resourceVersion, resumes from the last event, and re-lists on 410', async () => {
    const seen: string[] = [];
    const { client, calls } = fakeClient([
      async (emit) => {
        emit({ type: 'MODIFIED', object: obj('a', '11') });
        emit({ type: 'BOOKMARK', object: obj('', '15') });
      }, // clean end: resume from 15
      async (emit) => {
        emit({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
      },
    ]);
    const ac = new AbortController();
    const done = listWatch<Obj>(
      client,
      '/x',
      {
        onList: (items, rv) => seen.push(`list ${items.length} @${rv}`),
        onEvent: (type, o) => seen.push(`${type} ${o.metadata.resourceVersion}`),
      },
      ac.signal,
      { sleep: async () => {} },
    );
    for (let i = 0; i < 50 && calls.length < 5; i++) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await done;
    expect(calls.slice(0, 5)).toEqual(['list', 'watch@10', 'watch@15', 'list', 'watch@11']);
    expect(seen.slice(0, 3)).toEqual(['list 1 @10', 'MODIFIED 11', 'list 1 @11']);
  });

  it('backs off and retries when the list fails, reporting the error', async () => {
    const errors: string[] = [];
    let failures = 2;
    const sleeps: number[] = [];
    const client = {
      async get() {
        if (failures-- > 0) throw new ApiError(0, 'Transport', 'connection refused');
        return { items: [], metadata: { resourceVersion: '1' } };
      },
      watch: (_p: string, _q: unknown, _e: unknown, signal?: AbortSignal) =>
        new Promise<void>((r) => signal?.addEventListener('abort', () => r())),
    } as unknown as KubeClient;
    const ac = new AbortController();
    let listed = false;
    const done = listWatch(
      client,
      '/x',
      { onList: () => (listed = true), onEvent: () => {}, onError: (e) => errors.push((e as Error).message) },
      ac.signal,
      {
        backoff: { initialMs: 100, maxMs: 150 },
        sleep: async (ms) => void sleeps.push(ms),
      },
    );
    for (let i = 0; i < 50 && !listed; i++) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await done;
    expect(listed).toBe(true);
    expect(errors).toEqual(['connection refused', 'connection refused']);
    expect(sleeps).toEqual([100, 150]);
  });

  it('restarts a watch that stays silent past the watchdog', async () => {
    const { client, calls } = fakeClient([
      // Never sends anything and never ends, until aborted (by the watchdog).
      (_emit, signal) => new Promise<void>((r) => signal?.addEventListener('abort', () => r())),
    ]);
    const ac = new AbortController();
    const done = listWatch<Obj>(client, '/x', { onList: () => {}, onEvent: () => {} }, ac.signal, {
      watchdogMs: 50,
      sleep: async () => {},
    });
    for (let i = 0; i < 200 && calls.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await done;
    expect(calls.slice(0, 3)).toEqual(['list', 'watch@10', 'watch@10']);
  });
});
