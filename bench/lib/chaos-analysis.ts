// The safety figures of the chaos run (bench/chaos.ts), computed from what was recorded:
// every version of the Lease, the Service's ready endpoints, and the faults' own times. Pure.
//
// One node (kind): every timestamp here comes from the same wall clock (the host's, shared by
// the node container), the electors' renewTime/acquireTime stamps included.

/** One version of the Lease as the watch delivered it. */
export interface LeaseVersion {
  /** When it was seen (ms). */
  t: number;
  holder: string;
  /** leader-election/holder-instance: `<pod UID>/<token>` (agents only). */
  instance?: string;
  renewTime?: string;
  acquireTime?: string;
}

/** An elector process killed by the run (SIGKILL), at the node's wall time right after the kill. */
export interface Death {
  pod: string;
  at: number;
}

export interface Handover {
  from: string;
  to: string;
  /** When the new holder's acquire was stamped. */
  at: number;
  how: 'release' | 'takeover';
  /**
   * Takeovers: the new holder's acquireTime minus the instant the previous holder stopped
   * believing it leads at the latest (its last applied renew + its renew deadline, or its
   * death if earlier). Negative: both may have believed they led (an overlap).
   */
  marginMs?: number;
}

const ms = (t: string | undefined) => (t ? Date.parse(t) : Number.NaN);

/**
 * Every change of holder, with how it happened. A holder believes it leads until its last
 * applied renew (renewTime, stamped when sent) plus its renew deadline, unless it released the
 * Lease (an empty holder in between: both agents and client-go stop leading before they
 * release) or its process died first. The next holder leads from its acquire, stamped before
 * it was sent. The margin is therefore a lower bound: a holder that saw a 409 or the new
 * record stopped earlier.
 */
export function handovers(
  versions: LeaseVersion[],
  renewDeadlineOf: (holder: string) => number,
  deaths: Death[],
): Handover[] {
  const out: Handover[] = [];
  let cur: LeaseVersion | undefined;
  let released = false;
  for (const v of versions) {
    if (v.holder === '') {
      if (cur) released = true;
      continue;
    }
    if (cur && v.holder !== cur.holder) {
      const acquired = ms(v.acquireTime);
      if (released) {
        out.push({ from: cur.holder, to: v.holder, at: acquired, how: 'release' });
      } else {
        const renewed = ms(cur.renewTime);
        const died = deaths
          .filter((d) => d.pod === cur!.holder && d.at > renewed && d.at <= acquired)
          .reduce((a, d) => Math.min(a, d.at), Number.POSITIVE_INFINITY);
        const end = Math.min(renewed + renewDeadlineOf(cur.holder), died);
        out.push({ from: cur.holder, to: v.holder, at: acquired, how: 'takeover', marginMs: acquired - end });
      }
    }
    cur = v;
    released = false;
  }
  return out;
}

/** A timeline of the Service's ready endpoints: each change, with the pods then ready. */
export interface EndpointsChange {
  t: number;
  ready: string[];
}

export interface Episodes {
  count: number;
  totalMs: number;
  longestMs: number;
  /** When the longest began. */
  longestAt?: number;
}

/** Stretches during which `bad` held for the endpoints (e.g. two or more ready), up to `end`. */
export function episodes(
  changes: EndpointsChange[],
  end: number,
  bad: (c: EndpointsChange) => boolean,
  excluded: (from: number, to: number) => number = () => 0,
): Episodes {
  const out: Episodes = { count: 0, totalMs: 0, longestMs: 0 };
  let since: number | undefined;
  const close = (t: number) => {
    if (since === undefined) return;
    const d = Math.max(0, t - since - excluded(since, t));
    if (d > 0) {
      out.count++;
      out.totalMs += d;
      if (d > out.longestMs) {
        out.longestMs = d;
        out.longestAt = since;
      }
    }
    since = undefined;
  };
  for (const c of changes) {
    if (c.t > end) break;
    if (bad(c)) since ??= c.t;
    else close(c.t);
  }
  close(end);
  return out;
}

/**
 * The time within [from, to] during which the Lease was held by a holder `isOther` says is not
 * one of the group's agents (a client-go elector): no ready endpoint is then expected.
 */
export function heldByOthersMs(
  versions: LeaseVersion[],
  isOther: (holder: string) => boolean,
  from: number,
  to: number,
): number {
  let total = 0;
  versions.forEach((v, i) => {
    const start = Math.max(v.t, from);
    const stop = Math.min(versions[i + 1]?.t ?? to, to);
    if (stop > start && isOther(v.holder)) total += stop - start;
  });
  return total;
}

/**
 * Answers that show two pods serving in turns: an answer by a pod after another pod answered
 * since its own last one, counted within each window (a pod may lead again after a later fault).
 */
export function interleavedAnswers(answers: { t: number; pod?: string }[], windows: number[]): number {
  let count = 0;
  let w = 0;
  let lastAt = new Map<string, number>();
  let prev: string | undefined;
  for (const a of answers) {
    while (w < windows.length && a.t >= windows[w]!) {
      w++;
      lastAt = new Map();
      prev = undefined;
    }
    if (!a.pod) continue;
    if (a.pod !== prev && lastAt.has(a.pod)) count++;
    lastAt.set(a.pod, a.t);
    prev = a.pod;
  }
  return count;
}
