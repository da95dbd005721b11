// The webhook's configuration, from command-line flags and environment variables.
// WEBHOOK_FLAGS is the single list of flags: the usage text and the docs are
// generated from it. A flag given on the command line wins over its variable.
// Every invalid value is reported at once; main exits with code 2.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseGoDuration } from '../common/units/go-duration.ts';
import { PULL_POLICIES, type PullPolicy } from '../common/contract/keys.ts';

export type FlagType = 'string' | 'int' | 'bool' | 'duration' | 'enum';

export interface FlagDoc {
  /** Without the leading `--`. */
  name: string;
  type: FlagType;
  /** As the docs print it; absent when the flag has no default. */
  default?: string;
  /** Environment variable read when the flag is not given. */
  env?: string;
  required?: boolean;
  /** Accepted values of an enum. */
  values?: readonly string[];
  meaning: string;
}

export const WEBHOOK_FLAGS = [
  {
    name: 'agent-image',
    type: 'string',
    env: 'AGENT_IMAGE',
    required: true,
    meaning: 'Image of the injected agent container (pin it by digest in production).',
  },
  {
    name: 'agent-image-pull-policy',
    type: 'enum',
    env: 'AGENT_IMAGE_PULL_POLICY',
    values: PULL_POLICIES,
    meaning:
      'imagePullPolicy of the agent container, unless a pod overrides it with leader-election/agent-image-pull-policy; the Kubernetes default when unset.',
  },
  { name: 'port', type: 'int', default: '8443', meaning: 'HTTPS port of the admission endpoints.' },
  {
    name: 'bind-address',
    type: 'string',
    default: '0.0.0.0',
    meaning: 'Address the HTTPS and health ports listen on (`::` for IPv6).',
  },
  {
    name: 'cert-dir',
    type: 'string',
    default: '/tls',
    meaning: 'Directory of the serving certificate (a cert-manager Secret volume), reloaded when it changes.',
  },
  { name: 'cert-name', type: 'string', default: 'tls.crt', meaning: 'Certificate file name in --cert-dir.' },
  { name: 'key-name', type: 'string', default: 'tls.key', meaning: 'Private key file name in --cert-dir.' },
  {
    name: 'cert-poll-interval',
    type: 'duration',
    default: '10s',
    meaning: 'How often the certificate files are re-read, as a fallback to watching the directory.',
  },
  {
    name: 'health-port',
    type: 'int',
    default: '8081',
    meaning:
      'Plain-HTTP port of /healthz, /readyz and /metrics for probes and scrapers (the HTTPS port serves them too, once a certificate is loaded); 0 turns it off.',
  },
  { name: 'metrics', type: 'bool', default: 'true', meaning: 'Serve Prometheus metrics on /metrics.' },
  {
    name: 'reconciler',
    type: 'bool',
    default: 'true',
    meaning:
      'Run the RBAC reconciler (only while this replica leads the Lease --lease-name). Skipped with a warning when no cluster credentials are found.',
  },
  {
    name: 'namespace',
    type: 'string',
    env: 'POD_NAMESPACE',
    meaning:
      'Namespace of the webhook’s own Lease; the in-cluster service account’s namespace when unset, else leader-election-system.',
  },
  {
    name: 'lease-name',
    type: 'string',
    default: 'leader-election-webhook',
    meaning: 'The Lease the webhook replicas elect the reconciler’s leader with.',
  },
  {
    name: 'identity',
    type: 'string',
    env: 'POD_NAME',
    meaning: 'Holder identity in the Lease; the host name when unset.',
  },
  {
    name: 'shutdown-delay',
    type: 'duration',
    default: '5s',
    meaning:
      'On SIGTERM, how long /readyz fails while requests are still served, so that endpoints drop the pod before the server closes.',
  },
  {
    name: 'kubeconfig',
    type: 'string',
    env: 'KUBECONFIG',
    meaning: 'kubeconfig file for the reconciler; the in-cluster service account when unset.',
  },
  {
    name: 'log-level',
    type: 'enum',
    env: 'LOG_LEVEL',
    default: 'info',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    meaning: 'pino log level.',
  },
  { name: 'help', type: 'bool', default: 'false', meaning: 'Print this help and exit.' },
] as const satisfies readonly FlagDoc[];

export type FlagName = (typeof WEBHOOK_FLAGS)[number]['name'];

export interface WebhookFlags {
  agentImage: string;
  agentImagePullPolicy?: PullPolicy;
  port: number;
  bindAddress: string;
  certDir: string;
  certFile: string;
  keyFile: string;
  certPollIntervalMs: number;
  /** 0: off. */
  healthPort: number;
  metrics: boolean;
  reconciler: boolean;
  /** undefined: decided at start (service account namespace, else leader-election-system). */
  namespace?: string;
  leaseName: string;
  identity: string;
  shutdownDelayMs: number;
  kubeconfig?: string;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid webhook configuration:\n  - ${problems.join('\n  - ')}\n(see --help)`);
    this.problems = problems;
  }
}

export type ParsedArgs = { kind: 'help'; text: string } | { kind: 'config'; config: WebhookFlags };

function flagDoc(name: string): FlagDoc | undefined {
  return (WEBHOOK_FLAGS as readonly FlagDoc[]).find((f) => f.name === name);
}

/** The usage text, generated from WEBHOOK_FLAGS. */
export function usage(): string {
  const lines = ['Usage: node webhook/main.ts [flags]', '', 'Flags:'];
  for (const f of WEBHOOK_FLAGS as readonly FlagDoc[]) {
    const value = f.type === 'bool' ? '' : f.values ? `=${f.values.join('|')}` : `=${f.type.toUpperCase()}`;
    const notes = [
      f.required ? 'required' : undefined,
      f.default !== undefined ? `default ${f.default}` : undefined,
      f.env ? `env ${f.env}` : undefined,
    ].filter(Boolean);
    lines.push(`  --${f.name}${value}`, `      ${f.meaning}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** Splits argv into flag values: `--name=value`, `--name value`, and bare `--name` for booleans. */
function splitArgs(argv: readonly string[], problems: string[]): Map<string, string> {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h') {
      given.set('help', 'true');
      continue;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) {
      problems.push(`unexpected argument ${JSON.stringify(arg)}: flags are --name=value`);
      continue;
    }
    const name = m[1] ?? '';
    const doc = flagDoc(name);
    if (!doc) {
      problems.push(`unknown flag --${name}`);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      if (doc.type === 'bool') value = 'true';
      else if (i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('--')) value = argv[++i] ?? '';
      else {
        problems.push(`--${name} needs a value`);
        continue;
      }
    }
    if (given.has(name)) problems.push(`--${name} is given more than once`);
    given.set(name, value);
  }
  return given;
}

/**
 * Reads the configuration from flags (argv without node and the script) and the environment.
 * Throws ConfigError listing every problem.
 */
export function parseWebhookArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const problems: string[] = [];
  const given = splitArgs(argv, problems);

  const raw = (name: FlagName): string | undefined => {
    const doc = flagDoc(name);
    const fromFlag = given.get(name);
    if (fromFlag !== undefined) return fromFlag.trim();
    const fromEnv = doc?.env ? env[doc.env]?.trim() : undefined;
    if (fromEnv) return fromEnv;
    return doc?.default;
  };
  const source = (name: FlagName): string => {
    const doc = flagDoc(name);
    return given.has(name) || !doc?.env || !env[doc.env]?.trim() ? `--${name}` : `${doc.env} (--${name})`;
  };
  const str = (name: FlagName): string | undefined => {
    const v = raw(name);
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: FlagName, min: number, max: number): number => {
    const v = raw(name) ?? '';
    const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) {
      problems.push(`${source(name)}=${JSON.stringify(v)} must be an integer from ${min} to ${max}`);
      return 0;
    }
    return n;
  };
  const bool = (name: FlagName): boolean => {
    const v = (raw(name) ?? '').toLowerCase();
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    problems.push(`${source(name)}=${JSON.stringify(v)} must be true or false`);
    return false;
  };
  const duration = (name: FlagName, minMs: number): number => {
    const v = raw(name) ?? '';
    const ms = parseGoDuration(v);
    if (ms === undefined || ms < minMs) {
      problems.push(
        `${source(name)}=${JSON.stringify(v)} must be a Go duration (e.g. 10s, 1m30s, 500ms) of at least ${minMs} ms`,
      );
      return 0;
    }
    return ms;
  };
  const oneOf = <T extends string>(name: FlagName, values: readonly T[]): T | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    if ((values as readonly string[]).includes(v)) return v as T;
    problems.push(`${source(name)}=${JSON.stringify(v)} must be one of ${values.join(', ')}`);
    return undefined;
  };

  if (given.has('help') && bool('help')) return { kind: 'help', text: usage() };

  const agentImage = str('agent-image');
  if (agentImage === undefined) {
    problems.push('--agent-image (or AGENT_IMAGE) is required: the image of the injected agent container');
  } else if (/\s/.test(agentImage) || agentImage.startsWith('-')) {
    problems.push(`${source('agent-image')}=${JSON.stringify(agentImage)} is not an image reference`);
  }
  const agentImagePullPolicy = oneOf('agent-image-pull-policy', PULL_POLICIES);
  const port = int('port', 1, 65535);
  const healthPort = int('health-port', 0, 65535);
  if (port !== 0 && port === healthPort) problems.push(`--health-port must differ from --port (${port})`);
  const certDir = str('cert-dir') ?? '/tls';
  const certName = str('cert-name') ?? 'tls.crt';
  const keyName = str('key-name') ?? 'tls.key';
  const certPollIntervalMs = duration('cert-poll-interval', 100);
  const shutdownDelayMs = duration('shutdown-delay', 0);
  const metrics = bool('metrics');
  const reconciler = bool('reconciler');
  const leaseName = str('lease-name') ?? 'leader-election-webhook';
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(leaseName)) {
    problems.push(`${source('lease-name')}=${JSON.stringify(leaseName)} must be a DNS-1123 subdomain`);
  }
  const namespace = str('namespace');
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    problems.push(`${source('namespace')}=${JSON.stringify(namespace)} must be a DNS-1123 label`);
  }
  const logLevel = oneOf('log-level', WEBHOOK_FLAGS.find((f) => f.name === 'log-level')!.values) ?? 'info';

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    kind: 'config',
    config: {
      agentImage: agentImage ?? '',
      ...(agentImagePullPolicy ? { agentImagePullPolicy } : {}),
      port,
      bindAddress: str('bind-address') ?? '0.0.0.0',
      certDir,
      certFile: join(certDir, certName),
      keyFile: join(certDir, keyName),
      certPollIntervalMs,
      healthPort,
      metrics,
      reconciler,
      ...(namespace ? { namespace } : {}),
      leaseName,
      identity: str('identity') ?? hostname(),
      shutdownDelayMs,
      ...(str('kubeconfig') ? { kubeconfig: str('kubeconfig') } : {}),
      logLevel,
    },
  };
}
