// Time, injected: the election and the fencing read a monotonic clock (never the wall
// clock, which can jump), and the wall clock only for what goes on the wire (MicroTime,
// Event timestamps). Tests pass a fake one and need no real sleeps.
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  wall(): Date;
}

export const systemClock: Clock = { now: () => performance.now(), wall: () => new Date() };
