// kube-apiserver's own /metrics, read with the admin certificate: request
// counters by resource and verb, long-running request gauges, and the
// admission-webhook latency histogram, with differences between two scrapes.
import https from 'node:https';
import type { KubeConnection } from '../../common/kube/kubeconfig.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export async function scrape(conn: KubeConnection): Promise<Sample[]> {
  const url = new URL('/metrics', conn.server);
  const text = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        ca: conn.ca,
        cert: conn.cert,
        key: conn.key,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks).toString('utf8'))
            : reject(new Error(`/metrics: HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('/metrics: timeout')));
    req.on('error', reject);
    req.end();
  });
  return parse(text, /^(apiserver_request_total|apiserver_longrunning_requests|apiserver_admission_webhook)/);
}

/** Prometheus text format, only the families matching `keep`. */
export function parse(text: string, keep: RegExp): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || !keep.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[lm[1]!] = lm[2]!;
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples: Sample[], name: string, match: Record<string, string>): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** apiserver_request_total by verb for one resource (and subresource, '' for none). */
export function requestsByVerb(
  samples: Sample[],
  resource: string,
  subresource = '',
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== 'apiserver_request_total' || s.labels.resource !== resource) continue;
    if ((s.labels.subresource ?? '') !== subresource) continue;
    const verb = s.labels.verb ?? '?';
    out[verb] = (out[verb] ?? 0) + s.value;
  }
  return out;
}

/** after − before, per key (keys of either). */
export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Open long-running requests (watches) for a resource right now. */
export function openWatches(samples: Sample[], resource: string): number {
  return sum(samples, 'apiserver_longrunning_requests', { resource, verb: 'WATCH' });
}

export interface Histogram {
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/** A histogram family's buckets summed over the samples matching `match`. */
export function histogram(samples: Sample[], name: string, match: Record<string, string>): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return {
    buckets: [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count })),
    count: sum(samples, `${name}_count`, match),
    sum: sum(samples, `${name}_sum`, match),
  };
}

export function histogramDiff(after: Histogram, before: Histogram): Histogram {
  return {
    buckets: after.buckets.map((b) => ({
      le: b.le,
      count: b.count - (before.buckets.find((x) => x.le === b.le)?.count ?? 0),
    })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** The upper bound of the bucket holding quantile q: "p99 ≤ X" as Prometheus buckets allow. */
export function bucketQuantile(h: Histogram, q: number): number {
  if (h.count <= 0) return Number.NaN;
  const rank = q * h.count;
  for (const b of h.buckets) if (b.count >= rank) return b.le;
  return Number.POSITIVE_INFINITY;
}
