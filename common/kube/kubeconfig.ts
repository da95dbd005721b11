// Where to reach the API server and how to authenticate: from a kubeconfig file
// (tests, people trying the agent on a laptop) or the in-cluster service account.
// Only what a pod or a test needs is supported: certificates, bearer tokens and
// token files. Exec and auth-provider plugins are refused with a clear error.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import yaml from 'js-yaml';

export interface KubeConnection {
  /** Base URL of the API server, e.g. https://127.0.0.1:6443 */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** A token, re-read on every request when it comes from a file (bound tokens rotate). */
  token?: () => string;
  tlsServerName?: string;
  insecureSkipTLSVerify?: boolean;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

interface NamedEntry<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

interface RawKubeconfig {
  'current-context'?: string;
  clusters?: NamedEntry<unknown>[];
  users?: NamedEntry<unknown>[];
  contexts?: NamedEntry<unknown>[];
}

type Rec = Record<string, unknown>;

function str(obj: Rec | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function pick(list: NamedEntry<unknown>[] | undefined, name: string, kind: string, field: string): Rec {
  const entry = list?.find((e) => e.name === name);
  const inner = entry?.[field];
  if (!entry || typeof inner !== 'object' || inner === null) {
    throw new KubeConfigError(`kubeconfig: ${kind} "${name}" not found`);
  }
  return inner as Rec;
}

/** Reads a kubeconfig file (YAML or JSON) and returns the connection of its current context. */
export function connectionFromKubeconfig(path: string, context?: string): KubeConnection {
  let doc: RawKubeconfig;
  try {
    doc = yaml.load(readFileSync(path, 'utf8')) as RawKubeconfig;
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${path}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object') throw new KubeConfigError(`kubeconfig ${path}: empty`);
  const base = dirname(resolve(path));
  const file = (p: string) => readFileSync(resolve(base, p));
  const ctxName = context ?? doc['current-context'];
  if (!ctxName) throw new KubeConfigError(`kubeconfig ${path}: no current-context`);
  const ctx = pick(doc.contexts, ctxName, 'context', 'context');
  const cluster = pick(doc.clusters, String(ctx.cluster), 'cluster', 'cluster');
  const user = ctx.user ? pick(doc.users, String(ctx.user), 'user', 'user') : {};
  if (user.exec || user['auth-provider']) {
    throw new KubeConfigError(
      `kubeconfig ${path}: user "${String(ctx.user)}" uses an exec or auth-provider plugin, which is not supported; use a token or client certificate`,
    );
  }
  const server = str(cluster, 'server');
  if (!server) throw new KubeConfigError(`kubeconfig ${path}: cluster has no server`);
  const b64 = (k: string) => {
    const v = str(cluster, k) ?? str(user, k);
    return v ? Buffer.from(v, 'base64') : undefined;
  };
  const conn: KubeConnection = { server };
  conn.ca =
    b64('certificate-authority-data') ??
    (str(cluster, 'certificate-authority') ? file(str(cluster, 'certificate-authority')!) : undefined);
  conn.cert =
    b64('client-certificate-data') ??
    (str(user, 'client-certificate') ? file(str(user, 'client-certificate')!) : undefined);
  conn.key = b64('client-key-data') ?? (str(user, 'client-key') ? file(str(user, 'client-key')!) : undefined);
  const token = str(user, 'token');
  const tokenFile = str(user, 'tokenFile');
  if (token) conn.token = () => token;
  else if (tokenFile) conn.token = () => file(tokenFile).toString('utf8').trim();
  const serverName = str(cluster, 'tls-server-name');
  if (serverName) conn.tlsServerName = serverName;
  if (cluster['insecure-skip-tls-verify'] === true) conn.insecureSkipTLSVerify = true;
  return conn;
}

/** The pod's own service account, as a kubelet mounts it. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      'not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no KUBECONFIG given',
    );
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    ca: readFileSync(`${saDir}/ca.crt`),
    // Bound service-account tokens are rotated by the kubelet: read the file each time.
    token: () => readFileSync(`${saDir}/token`, 'utf8').trim(),
  };
}

/** KUBECONFIG if set, else in-cluster. */
export function loadConnection(env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const path = env.KUBECONFIG?.split(':').find((p) => p !== '');
  return path ? connectionFromKubeconfig(path) : inClusterConnection(env);
}
