import { describe, expect, it } from 'vitest';
import { ConfigError, parseWebhookArgs, usage, WEBHOOK_FLAGS } from '../../webhook/config.ts';

function config(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseWebhookArgs(argv, env);
  if (parsed.kind !== 'config') throw new Error('expected a configuration');
  return parsed.config;
}

function problems(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseWebhookArgs(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

describe('webhook flags', () => {
  it('applies the documented defaults', () => {
    const c = config(['--agent-image=ghcr.io/x/agent:1']);
    expect(c).toMatchObject({
      agentImage: 'ghcr.io/x/agent:1',
      port: 8443,
      bindAddress: '0.0.0.0',
      certDir: '/tls',
      healthPort: 8081,
      metrics: true,
      reconciler: true,
      leaseName: 'leader-election-webhook',
      shutdownDelayMs: 5000,
      certPollIntervalMs: 10_000,
    });
  });

  it('takes values from flags, and from the environment where a flag has one', () => {
    const c = config(['--port', '9443', '--reconciler=false', '--shutdown-delay=0s'], {
      AGENT_IMAGE: 'img:2',
      POD_NAMESPACE: 'ops',
    });
    expect(c).toMatchObject({
      agentImage: 'img:2',
      port: 9443,
      reconciler: false,
      shutdownDelayMs: 0,
      namespace: 'ops',
    });
    // A flag wins over the environment.
    expect(config(['--agent-image=flag'], { AGENT_IMAGE: 'env' }).agentImage).toBe('flag');
  });

  it('reports every problem at once, naming the flag', () => {
    const p = problems(['--port=http', '--cert-poll-interval=often', '--no-such-flag']);
    expect(p).toMatch(/agent-image/);
    expect(p).toMatch(/--port/);
    expect(p).toMatch(/--cert-poll-interval/);
    expect(p).toMatch(/no-such-flag/);
  });

  it('prints a usage text naming every flag for --help', () => {
    const parsed = parseWebhookArgs(['--help'], {});
    expect(parsed.kind).toBe('help');
    for (const f of WEBHOOK_FLAGS) expect(usage()).toContain(`--${f.name}`);
  });
});
