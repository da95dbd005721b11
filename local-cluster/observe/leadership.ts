// Leadership intervals read from electors' JSON logs (our agent and the
// client-go elector log "started leading" / "stopped leading" with leaderUntil),
// all on this machine's wall clock, and the check that no two overlap.

/** An instant on the machine's wall clock in ms, keeping the microseconds that Date.parse drops. */
export function parseLogTime(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return Number.NaN;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  return whole + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

export interface Interval {
  who: string;
  start: number;
  end: number;
}

export interface LogLine {
  msg: string;
  time: string;
  leaderUntil?: string;
  wasLeading?: boolean;
}

export function jsonLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by SIGKILL
    }
  }
  return out;
}

/**
 * Leadership intervals from one process's log: "started leading" … "stopped
 * leading" (its leaderUntil when present, else its time). A run that never
 * logged the stop ends at the first SIGKILL recorded after its start (a killed
 * process cannot log), or is still open. `restartMsg` marks a new run of the
 * same identity (our agent logs "agent started").
 */
export function intervalsFromLog(
  who: string,
  text: string,
  kills: number[],
  restartMsg = 'agent started',
): Interval[] {
  const out: Interval[] = [];
  let start: number | undefined;
  const openEnd = (s: number) => kills.find((k) => k >= s) ?? Number.POSITIVE_INFINITY;
  for (const e of jsonLines(text)) {
    if (e.msg === restartMsg && start !== undefined) {
      out.push({ who, start, end: openEnd(start) });
      start = undefined;
    }
    if (e.msg === 'started leading') start = parseLogTime(e.time);
    if (e.msg === 'stopped leading' && start !== undefined) {
      out.push({ who, start, end: parseLogTime(e.leaderUntil ?? e.time) });
      start = undefined;
    }
  }
  if (start !== undefined) out.push({ who, start, end: openEnd(start) });
  return out;
}

/** Every pair of intervals of different processes that share an instant. */
export function overlaps(intervals: Interval[]): string[] {
  const found: string[] = [];
  const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : 'still leading');
  for (const a of intervals) {
    for (const b of intervals) {
      if (a.who < b.who && a.start < b.end && b.start < a.end) {
        found.push(
          `${a.who} [${iso(a.start)}, ${iso(a.end)}] overlaps ${b.who} [${iso(b.start)}, ${iso(b.end)}]`,
        );
      }
    }
  }
  return found;
}
