// The webhook's own metrics (docs/reference.md lists them).
import type { Counter, Histogram, Registry } from '../../common/metrics.ts';

export interface WebhookMetrics {
  requests: Counter;
  injections: Counter;
  duration: Histogram;
}

/** Sub-millisecond buckets: a decision takes tens of microseconds; the API server's budget is seconds. */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

export function webhookMetrics(registry: Registry): WebhookMetrics {
  return {
    requests: registry.counter(
      'webhook_admission_requests_total',
      'Admission requests by route and HTTP status code.',
    ),
    injections: registry.counter(
      'webhook_injections_total',
      'Admission decisions by namespace and result (patched, skipped, denied, error).',
    ),
    duration: registry.histogram(
      'webhook_admission_duration_seconds',
      'Time from request received to response sent, by route.',
      DURATION_BUCKETS,
    ),
  };
}

/**
 * The serving certificate's notAfter (seconds since the epoch), read at each scrape; absent until
 * a certificate is loaded. The certificate-expiry alert (manifests/monitoring) reads it.
 */
export function certificateExpiryMetric(
  registry: Registry,
  current: () => { notAfter: Date } | undefined,
): void {
  registry.collected(
    'webhook_serving_certificate_expiry_timestamp_seconds',
    "The serving certificate's notAfter, in seconds since the epoch.",
    'gauge',
    () => {
      const pair = current();
      return pair ? pair.notAfter.getTime() / 1000 : undefined;
    },
  );
}
