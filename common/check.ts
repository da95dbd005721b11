// The answer of a health check (a readiness or liveness probe): whether it passes, and
// why, as the probe's body says it.
export interface Check {
  ok: boolean;
  reason: string;
}
