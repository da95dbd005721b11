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
