import { describe, expect, it } from 'vitest';
import { Registry } from '../../common/metrics.ts';
import { anonymousBytes, registerProcessMetrics } from '../../common/process-metrics.ts';

describe('process metrics', () => {
  it('reads Anonymous from /proc/self/smaps_rollup text', () => {
    const text = 'Rss:               67000 kB\nAnonymous:         19660 kB\nSwap:    0 kB\n';
    expect(anonymousBytes(text)).toBe(19660 * 1024);
    expect(anonymousBytes('Rss: 1 kB\n')).toBeUndefined();
  });

  it('renders each figure at scrape time, under the client libraries’ names', async () => {
    const registry = new Registry();
    const stop = registerProcessMetrics(registry);
    try {
      // Block the event loop for ~120 ms: the delay since the last scrape shows it.
      registry.render();
      await new Promise((r) => setTimeout(r, 60));
      const until = Date.now() + 120;
      while (Date.now() < until) {
        /* busy */
      }
      await new Promise((r) => setTimeout(r, 60));
      const text = registry.render();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(value('process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20);
      expect(value('nodejs_heap_used_bytes')).toBeGreaterThan(0);
      expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(value('process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
      expect(value('nodejs_eventloop_delay_max_seconds')).toBeGreaterThan(0.08);
      if (process.platform === 'linux') expect(value('process_anonymous_memory_bytes')).toBeGreaterThan(0);
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    } finally {
      stop();
    }
  });
});
