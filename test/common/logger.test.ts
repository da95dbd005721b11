// unredacted (common/logger.ts): the webhook's decision line skips the redaction's cost and
// nothing else: the same bytes for scalar fields, while the parent logger still redacts.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { unredacted } from '../../common/logger.ts';

function capture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { lines, sink };
}

// createLogger's settings, on a sink and without the clock.
function logger(sink: Writable) {
  return pino(
    {
      level: 'info',
      base: { component: 'webhook' },
      timestamp: false,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['*.authorization', '*.headers.authorization', 'token'], censor: '[redacted]' },
    },
    sink,
  );
}

describe('unredacted', () => {
  it('writes scalar fields exactly as the redacting logger does', () => {
    const { lines, sink } = capture();
    const log = logger(sink);
    const fields = {
      uid: 'u-1',
      path: '/mutate',
      target: 'Pod shop/web-*',
      dryRun: undefined,
      result: 'patched',
      patchOps: 6,
      reason: 'authorization: Bearer is text, not a key',
      ms: 0.123,
    };
    log.info(fields, 'admission decision');
    unredacted(log).info(fields, 'admission decision');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(lines[0]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', component: 'webhook', uid: 'u-1' });
  });

  it('leaves the parent redacting', () => {
    const { lines, sink } = capture();
    const log = logger(sink);
    unredacted(log);
    log.info({ req: { headers: { authorization: 'Bearer secret' } }, token: 't' }, 'call');
    expect(lines[0]).not.toContain('secret');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      req: { headers: { authorization: '[redacted]' } },
      token: '[redacted]',
    });
  });
});
