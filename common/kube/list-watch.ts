// List-then-watch with the behaviour client-go's reflector has: resume from the
// last resourceVersion, ask for bookmarks, re-list on 410 Gone, back off on
// errors, and a watchdog that restarts a watch which has gone silent (a proxy or
// a half-open TCP connection can leave a stream open that never delivers).
import { ApiError, type KubeClient, type WatchEvent } from './kube-client.ts';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface ListWatchHandlers<T> {
  /** The full state after every (re-)list; replaces what the caller knew. */
  onList(items: T[], resourceVersion: string): void;
  /** ADDED, MODIFIED, DELETED; bookmarks and errors are handled here. */
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void;
  /** A watch or list failed; the loop goes on after a backoff. */
  onError?(err: unknown): void;
}

export interface ListWatchOptions {
  /** e.g. `fieldSelector=metadata.name=foo` for a single-object watch. */
  query?: Record<string, string | undefined>;
  /** Restart a watch that delivered nothing (no event, no bookmark) for this long. */
  watchdogMs?: number;
  /** Server-side bound of one watch request, in seconds. */
  watchTimeoutSeconds?: number;
  requestTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface List<T> {
  items?: T[];
  metadata?: { resourceVersion?: string };
}

/** Runs until `signal` aborts. Never throws: errors go to onError and are retried. */
export async function listWatch<T extends { metadata?: ObjectMeta }>(
  client: KubeClient,
  path: string,
  handlers: ListWatchHandlers<T>,
  signal: AbortSignal,
  opts: ListWatchOptions = {},
): Promise<void> {
  const watchdogMs = opts.watchdogMs ?? 60_000;
  const backoff = opts.backoff ?? { initialMs: 200, maxMs: 5_000 };
  const sleep = opts.sleep ?? abortableSleep;
  let delay = backoff.initialMs;
  let rv: string | undefined;

  while (!signal.aborted) {
    try {
      if (rv === undefined) {
        const list = await client.get<List<T>>(path, {
          query: opts.query,
          timeoutMs: opts.requestTimeoutMs,
          signal,
        });
        rv = list.metadata?.resourceVersion ?? '0';
        handlers.onList(list.items ?? [], rv);
      }
      const local = new AbortController();
      const stop = () => local.abort();
      signal.addEventListener('abort', stop, { once: true });
      const watchStarted = Date.now();
      let lastHeard = watchStarted;
      const watchdog = setInterval(
        () => {
          if (Date.now() - lastHeard > watchdogMs) local.abort(new Error('watch silent'));
        },
        Math.min(watchdogMs, 1_000),
      );
      try {
        await client.watch<T | { code?: number; reason?: string; message?: string }>(
          path,
          {
            ...opts.query,
            resourceVersion: rv,
            allowWatchBookmarks: true,
            timeoutSeconds: opts.watchTimeoutSeconds ?? 300,
          },
          (ev: WatchEvent<unknown>) => {
            lastHeard = Date.now();
            delay = backoff.initialMs;
            if (ev.type === 'ERROR') {
              const st = ev.object as { code?: number };
              throw new ApiError(st.code ?? 500, 'WatchError', `watch ${path}: ${JSON.stringify(ev.object)}`);
            }
            const obj = ev.object as T;
            const objRv = obj.metadata?.resourceVersion;
            if (objRv) rv = objRv;
            if (ev.type !== 'BOOKMARK') handlers.onEvent(ev.type, obj);
          },
          local.signal,
        );
      } finally {
        clearInterval(watchdog);
        signal.removeEventListener('abort', stop);
      }
      // A clean end (server timeout or the watchdog fired): resume from rv at once, unless
      // the stream keeps ending as soon as it starts (a proxy closing it): then back off.
      if (Date.now() - watchStarted < 1_000 && !signal.aborted) {
        await sleep(delay, signal);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    } catch (err) {
      if (signal.aborted) return;
      if (
        err instanceof ApiError &&
        (err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone')
      ) {
        rv = undefined; // too old: list again
        continue;
      }
      handlers.onError?.(err);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, backoff.maxMs);
    }
  }
}
