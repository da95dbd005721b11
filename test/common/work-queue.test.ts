// Unit tests of the work queue: dedup, requeue while active, backoff on failure.
import { describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../common/work-queue.ts';

describe('WorkQueue', () => {
  it('dedupes queued keys and hands them out in order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    q.done('a');
    q.done('b');
    expect(q.idle).toBe(true);
  });

  it('processes a key again when it was added while being processed, never concurrently', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a'); // while active: remembered, not queued
    expect(q.length).toBe(0);
    q.done(k!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('wakes a waiting worker', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.add('x');
    expect(await next).toBe('x');
  });

  it('retries with exponential backoff, capped, reset by forget()', () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue({ initialMs: 100, maxMs: 350 });
      expect(q.addRateLimited('a')).toBe(100);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(100);
      expect(q.length).toBe(1);
      expect(q.addRateLimited('a')).toBe(200);
      expect(q.addRateLimited('b')).toBe(100);
      vi.advanceTimersByTime(200);
      expect(q.addRateLimited('a')).toBe(350);
      q.forget('a');
      vi.advanceTimersByTime(400);
      expect(q.addRateLimited('a')).toBe(100);
      q.shutdown();
    } finally {
      vi.useRealTimers();
    }
  });

  it('shutdown releases waiting workers', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.shutdown();
    expect(await next).toBeUndefined();
    expect(await q.get()).toBeUndefined();
  });
});
