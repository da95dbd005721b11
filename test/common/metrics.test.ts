import { describe, expect, it } from 'vitest';
import { Registry } from '../../common/metrics.ts';

describe('Prometheus registry', () => {
  it('renders counters, gauges and histograms in the text format', () => {
    const r = new Registry();
    const c = r.counter('requests_total', 'Requests.');
    c.inc({ code: '200' });
    c.inc({ code: '200' }, 2);
    r.gauge('up', 'Up.').set({}, 1);
    const h = r.histogram('latency_seconds', 'Latency.', [0.1, 1]);
    h.observe({ path: '/m' }, 0.05);
    h.observe({ path: '/m' }, 0.5);
    h.observe({ path: '/m' }, 5);
    expect(r.render()).toBe(
      [
        '# HELP requests_total Requests.',
        '# TYPE requests_total counter',
        'requests_total{code="200"} 3',
        '# HELP up Up.',
        '# TYPE up gauge',
        'up 1',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{path="/m",le="0.1"} 1',
        'latency_seconds_bucket{path="/m",le="1"} 2',
        'latency_seconds_bucket{path="/m",le="+Inf"} 3',
        'latency_seconds_sum{path="/m"} 5.55',
        'latency_seconds_count{path="/m"} 3',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values', () => {
    const r = new Registry();
    r.counter('x_total', 'X.').inc({ ns: 'a"b\\c\nd' });
    expect(r.render()).toContain('x_total{ns="a\\"b\\\\c\\nd"} 1');
  });
});
