// Structured JSON logs, one event per line (pino), with the pod and the Lease
// bound once so every line says which election it is about.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(
  bindings: Record<string, string | undefined>,
  level = process.env.LOG_LEVEL ?? 'info',
): Logger {
  return pino({
    level,
    base: Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined)),
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Tokens never belong in logs, even if an error object carries request headers.
    redact: { paths: ['*.authorization', '*.headers.authorization', 'token'], censor: '[redacted]' },
  });
}

/** A logger that drops everything, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * The same logger without the redaction, for hot lines whose fields are scalars the code builds
 * itself (the webhook's decision line, one per admission request). Redaction matches keys
 * (`*.authorization`), never text, so on such a line it changes nothing; but its wildcard wraps
 * every top-level field and took about two thirds of the line's cost (issue 16's profile).
 */
export function unredacted(log: Logger): Logger {
  return log.child({}, { redact: [] });
}
