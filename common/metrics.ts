// A minimal Prometheus registry (text exposition format 0.0.4): counters,
// gauges and histograms with labels. Small on purpose: it runs in every pod.
type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys
    .map(
      (k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',');
}

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

/** One number per label set: what counters and gauges share. */
abstract class Scalar implements Metric {
  abstract readonly type: 'counter' | 'gauge';
  protected readonly values = new Map<string, number>();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Counter extends Scalar {
  readonly type = 'counter';
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
}

export class Gauge extends Scalar {
  readonly type = 'gauge';
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  get(labels: Labels = {}): number | undefined {
    return this.values.get(labelKey(labels));
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram';
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly name: string;
  readonly help: string;
  readonly buckets: number[];
  constructor(name: string, help: string, buckets: number[]) {
    this.name = name;
    this.help = help;
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(labels: Labels, value: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

/** One unlabelled value read when scraped (process and runtime figures). */
export class Collected implements Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  private readonly read: () => number | undefined;
  constructor(name: string, help: string, type: 'counter' | 'gauge', read: () => number | undefined) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.read = read;
  }
  render(): string[] {
    const v = this.read();
    return v === undefined || !Number.isFinite(v) ? [] : [`${this.name} ${v}`];
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<T extends Metric>(m: T): T {
    this.metrics.push(m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.register(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }
  /** A value read at each scrape; nothing is written when `read` has none. */
  collected(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    read: () => number | undefined,
  ): Collected {
    return this.register(new Collected(name, help, type, read));
  }
  /** The text exposition format. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.render());
    }
    return lines.join('\n') + '\n';
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
