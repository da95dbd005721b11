// How the CLI reaches the cluster: the way kubectl does, through @kubernetes/client-node's
// KubeConfig — every file of $KUBECONFIG merged (the first to set current-context wins), or
// --kubeconfig, or ~/.kube/config; any context; client certificates, tokens, token files, and
// exec credential plugins (EKS, GKE, Entra ID, OIDC helpers) and auth providers, run once per
// command. The result is the connection our thin API client takes. (The agent keeps its own
// loader: in-cluster credentials only, for its memory budget.)
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeConnection } from '../../common/kube/kubeconfig.ts';

export class CliConfigError extends Error {
  override name = 'CliConfigError';
}

export interface CliTarget {
  connection: KubeConnection;
  /** The context's namespace, if it sets one. */
  namespace: string | undefined;
  context: string;
}

/** The kubeconfig files kubectl would read, in order. */
export function kubeconfigFiles(flag: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (flag) return [flag];
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.length > 0) return listed;
  return [join(env.HOME ?? homedir(), '.kube', 'config')];
}

function loadKubeConfig(
  flag: string | undefined,
  context: string | undefined,
  env: NodeJS.ProcessEnv,
): KubeConfig {
  const files = kubeconfigFiles(flag, env);
  // kubectl skips listed files that do not exist, but not an explicit --kubeconfig.
  const present = flag ? files : files.filter((f) => existsSync(f));
  if (present.length === 0) throw new CliConfigError(`no kubeconfig found (looked for ${files.join(', ')})`);
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(present[0]!);
    for (const f of present.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more, true);
    }
  } catch (err) {
    throw new CliConfigError(`kubeconfig: ${(err as Error).message}`);
  }
  if (context) {
    if (!kc.getContextObject(context))
      throw new CliConfigError(`context "${context}" not found in ${present.join(', ')}`);
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CliConfigError(`no current context with a cluster in ${present.join(', ')} (use --context)`);
  }
  return kc;
}

const buf = (v: unknown): Buffer | undefined =>
  v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(String(v));

/** Resolves the credentials (running an exec plugin if the user has one) into a connection. */
export async function cliTarget(
  flag: string | undefined,
  context: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<CliTarget> {
  const kc = loadKubeConfig(flag, context, env);
  const cluster = kc.getCurrentCluster()!;
  const opts: RequestOptions = { headers: {} };
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    throw new CliConfigError(`credentials of context "${kc.getCurrentContext()}": ${(err as Error).message}`);
  }
  if (opts.auth)
    throw new CliConfigError('basic authentication (username/password) is not supported; use a token');
  const authorization = (opts.headers as Record<string, string | undefined>).Authorization;
  const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
  const ca = buf(opts.ca);
  const cert = buf(opts.cert);
  const key = buf(opts.key);
  return {
    connection: {
      server: cluster.server.replace(/\/+$/, ''),
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(token ? { token: () => token } : {}),
      ...(cluster.skipTLSVerify ? { insecureSkipTLSVerify: true } : {}),
      ...(cluster.tlsServerName ? { tlsServerName: cluster.tlsServerName } : {}),
    },
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace || undefined,
    context: kc.getCurrentContext(),
  };
}
