// Unit tests of kubeconfig and in-cluster connection loading, with files in a temporary directory.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectionFromKubeconfig,
  inClusterConnection,
  KubeConfigError,
  loadConnection,
} from '../../../common/kube/kubeconfig.ts';

// The module does not parse certificates: any bytes stand in for them.
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nca bytes\n-----END CERTIFICATE-----\n');
const CERT = Buffer.from('-----BEGIN CERTIFICATE-----\nclient bytes\n-----END CERTIFICATE-----\n');
const KEY = Buffer.from('-----BEGIN EC PRIVATE KEY-----\nkey bytes\n-----END EC PRIVATE KEY-----\n');
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const b64 = (b: Buffer) => b.toString('base64');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(path: string, content: string | Buffer): string {
  const full = join(dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
  return full;
}

interface Doc {
  'current-context'?: string;
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
  users?: { name: string; user?: Record<string, unknown> }[];
  contexts?: { name: string; context?: Record<string, unknown> }[];
}

/** A kubeconfig with one cluster, one user and one context, all named "main". */
function doc(cluster: Record<string, unknown>, user: Record<string, unknown> = {}): Doc {
  return {
    'current-context': 'main',
    clusters: [{ name: 'main', cluster: { server: 'https://10.0.0.1:6443', ...cluster } }],
    users: [{ name: 'main', user }],
    contexts: [{ name: 'main', context: { cluster: 'main', user: 'main' } }],
  };
}

function writeConfig(d: Doc, path = 'kube/config'): string {
  return put(path, yaml.dump(d));
}

function configError(f: () => unknown): KubeConfigError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).name).toBe('KubeConfigError');
    return err as KubeConfigError;
  }
  throw new Error('expected a KubeConfigError, nothing was thrown');
}

describe('connectionFromKubeconfig', () => {
  it('decodes inline certificate data and the token of the current context', () => {
    const path = writeConfig(
      doc(
        { 'certificate-authority-data': b64(CA) },
        { 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY), token: 'abc.def' },
      ),
    );
    const conn = connectionFromKubeconfig(path);
    expect(conn.server).toBe('https://10.0.0.1:6443');
    expect(conn.ca).toEqual(CA);
    expect(conn.cert).toEqual(CERT);
    expect(conn.key).toEqual(KEY);
    expect(conn.token?.()).toBe('abc.def');
    expect(conn.tlsServerName).toBeUndefined();
    expect(conn.insecureSkipTLSVerify).toBeUndefined();
  });

  it("reads certificate files relative to the kubeconfig's directory, not the working directory", () => {
    put('kube/pki/ca.crt', CA);
    put('kube/pki/client.crt', CERT);
    const keyAbs = put('elsewhere/client.key', KEY);
    const path = writeConfig(
      doc(
        { 'certificate-authority': 'pki/ca.crt' },
        { 'client-certificate': './pki/client.crt', 'client-key': keyAbs },
      ),
    );
    // A relative kubeconfig path too: the files are still found beside it.
    const conn = connectionFromKubeconfig(relative(process.cwd(), path));
    expect(conn.ca).toEqual(CA);
    expect(conn.cert).toEqual(CERT);
    expect(conn.key).toEqual(KEY);
    expect(conn.token).toBeUndefined();
  });

  it('prefers inline data over a file path for the same certificate', () => {
    const path = writeConfig(
      doc({ 'certificate-authority-data': b64(CA), 'certificate-authority': 'missing/ca.crt' }),
    );
    expect(connectionFromKubeconfig(path).ca).toEqual(CA);
  });

  it('reads tokenFile relative to the kubeconfig, trimmed, on every call (tokens rotate)', () => {
    put('kube/secrets/token', 'first-token\n');
    const path = writeConfig(doc({}, { tokenFile: 'secrets/token' }));
    const conn = connectionFromKubeconfig(path);
    expect(conn.token?.()).toBe('first-token');
    put('kube/secrets/token', '  second-token \n');
    expect(conn.token?.()).toBe('second-token');
  });

  it('takes token over tokenFile when both are given', () => {
    const path = writeConfig(doc({}, { token: 'inline', tokenFile: 'no/such/file' }));
    expect(connectionFromKubeconfig(path).token?.()).toBe('inline');
  });

  it('carries tls-server-name and insecure-skip-tls-verify (only a literal true counts)', () => {
    const skip = connectionFromKubeconfig(
      writeConfig(doc({ 'tls-server-name': 'kubernetes.default.svc', 'insecure-skip-tls-verify': true })),
    );
    expect(skip.tlsServerName).toBe('kubernetes.default.svc');
    expect(skip.insecureSkipTLSVerify).toBe(true);
    const noSkip = connectionFromKubeconfig(
      writeConfig(doc({ 'insecure-skip-tls-verify': 'true' }), 'other'),
    );
    expect(noSkip.insecureSkipTLSVerify).toBeUndefined();
  });

  it('uses current-context by default and the context asked for otherwise', () => {
    const path = writeConfig({
      'current-context': 'dev',
      clusters: [
        { name: 'dev-cluster', cluster: { server: 'https://dev:6443' } },
        { name: 'prod-cluster', cluster: { server: 'https://prod:6443' } },
      ],
      users: [
        { name: 'dev-user', user: { token: 'dev-token' } },
        { name: 'prod-user', user: { token: 'prod-token' } },
      ],
      contexts: [
        { name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user' } },
        { name: 'prod', context: { cluster: 'prod-cluster', user: 'prod-user' } },
        { name: 'anonymous', context: { cluster: 'prod-cluster' } },
      ],
    });
    const dev = connectionFromKubeconfig(path);
    expect([dev.server, dev.token?.()]).toEqual(['https://dev:6443', 'dev-token']);
    const prod = connectionFromKubeconfig(path, 'prod');
    expect([prod.server, prod.token?.()]).toEqual(['https://prod:6443', 'prod-token']);
    // A context without a user: no credentials at all.
    const anon = connectionFromKubeconfig(path, 'anonymous');
    expect(anon.server).toBe('https://prod:6443');
    expect([anon.token, anon.cert, anon.key]).toEqual([undefined, undefined, undefined]);
  });

  it('reads a kubeconfig written as JSON', () => {
    const path = put('config.json', JSON.stringify(doc({}, { token: 'json-token' })));
    const conn = connectionFromKubeconfig(path);
    expect([conn.server, conn.token?.()]).toEqual(['https://10.0.0.1:6443', 'json-token']);
  });

  it('throws a KubeConfigError naming the file when it does not exist', () => {
    const path = join(dir, 'nope', 'config');
    const err = configError(() => connectionFromKubeconfig(path));
    expect(err.message).toContain(`kubeconfig ${path}:`);
    expect(err.message).toContain('ENOENT');
  });

  it('throws a KubeConfigError for malformed YAML', () => {
    const path = put('config', 'clusters:\n  - name: a\n   bad: [unclosed\n');
    const err = configError(() => connectionFromKubeconfig(path));
    // The parser's own words, with the line and column.
    expect(err.message.startsWith(`kubeconfig ${path}: bad indentation of a sequence entry (3:4)`)).toBe(
      true,
    );
  });

  it('throws a KubeConfigError for an empty file', () => {
    const path = put('config', '');
    expect(configError(() => connectionFromKubeconfig(path)).message).toBe(`kubeconfig ${path}: empty`);
  });

  it('throws a KubeConfigError when there is no current-context and none is asked for', () => {
    const d = doc({});
    delete d['current-context'];
    const path = writeConfig(d);
    expect(configError(() => connectionFromKubeconfig(path)).message).toBe(
      `kubeconfig ${path}: no current-context`,
    );
    // Naming one works.
    expect(connectionFromKubeconfig(path, 'main').server).toBe('https://10.0.0.1:6443');
  });

  it('throws a KubeConfigError for an unknown context, cluster or user', () => {
    const path = writeConfig(doc({}));
    expect(configError(() => connectionFromKubeconfig(path, 'staging')).message).toBe(
      'kubeconfig: context "staging" not found',
    );
    const noCluster = writeConfig(
      { ...doc({}), contexts: [{ name: 'main', context: { cluster: 'gone', user: 'main' } }] },
      'c2',
    );
    expect(configError(() => connectionFromKubeconfig(noCluster)).message).toBe(
      'kubeconfig: cluster "gone" not found',
    );
    const noUser = writeConfig(
      { ...doc({}), contexts: [{ name: 'main', context: { cluster: 'main', user: 'ghost' } }] },
      'c3',
    );
    expect(configError(() => connectionFromKubeconfig(noUser)).message).toBe(
      'kubeconfig: user "ghost" not found',
    );
  });

  it('throws a KubeConfigError when the cluster has no server', () => {
    const path = writeConfig({ ...doc({}), clusters: [{ name: 'main', cluster: { server: '' } }] });
    expect(configError(() => connectionFromKubeconfig(path)).message).toBe(
      `kubeconfig ${path}: cluster has no server`,
    );
  });

  it.each([
    ['exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks'] } }],
    ['auth-provider', { 'auth-provider': { name: 'oidc', config: {} } }],
  ])('refuses a user with an %s plugin, saying what to use instead', (_kind, user) => {
    const path = writeConfig(doc({}, { ...user, token: 'ignored' }));
    const err = configError(() => connectionFromKubeconfig(path));
    expect(err.message).toBe(
      `kubeconfig ${path}: user "main" uses an exec or auth-provider plugin, which is not supported; use a token or client certificate`,
    );
  });

  it('throws the file error when a referenced certificate file is missing', () => {
    const path = writeConfig(doc({ 'certificate-authority': 'pki/missing.crt' }));
    expect(() => connectionFromKubeconfig(path)).toThrow(/ENOENT.*pki\/missing\.crt/);
  });
});

describe('inClusterConnection', () => {
  function saDir(token = 'sa-token\n'): string {
    put('sa/ca.crt', CA);
    put('sa/token', token);
    return join(dir, 'sa');
  }

  it('builds an https URL from KUBERNETES_SERVICE_HOST/PORT and reads the service account', () => {
    const sa = saDir();
    const conn = inClusterConnection(
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    expect(conn.server).toBe('https://10.96.0.1:443');
    expect(conn.ca).toEqual(CA);
    expect(conn.token?.()).toBe('sa-token');
    expect([conn.cert, conn.key, conn.insecureSkipTLSVerify]).toEqual([undefined, undefined, undefined]);
  });

  it('re-reads the rotated token file on every call', () => {
    const sa = saDir('one');
    const conn = inClusterConnection({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '6443' }, sa);
    expect(conn.token?.()).toBe('one');
    put('sa/token', 'two\n');
    expect(conn.token?.()).toBe('two');
  });

  it('puts an IPv6 host in brackets', () => {
    const conn = inClusterConnection(
      { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' },
      saDir(),
    );
    expect(conn.server).toBe('https://[fd00:10:96::1]:443');
    expect(new URL(conn.server).hostname).toBe('[fd00:10:96::1]');
  });

  it.each([
    [{}],
    [{ KUBERNETES_SERVICE_HOST: '10.96.0.1' }],
    [{ KUBERNETES_SERVICE_PORT: '443' }],
    [{ KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '443' }],
  ])('throws a KubeConfigError outside a cluster (env %j)', (env) => {
    const err = configError(() => inClusterConnection(env, saDir()));
    expect(err.message).toBe(
      'not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no KUBECONFIG given',
    );
  });

  it('fails when the service-account CA is not mounted', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() =>
      inClusterConnection({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' }, empty),
    ).toThrow(/ENOENT.*ca\.crt/);
  });
});

describe('loadConnection', () => {
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('uses KUBECONFIG when it is set, even inside a cluster', () => {
    const path = writeConfig(doc({}, { token: 'from-kubeconfig' }));
    const conn = loadConnection({ ...inCluster, KUBECONFIG: path });
    expect(conn.server).toBe('https://10.0.0.1:6443');
    expect(conn.token?.()).toBe('from-kubeconfig');
  });

  it('takes the first non-empty entry of a colon-separated KUBECONFIG, and only that one', () => {
    const first = writeConfig(doc({ server: 'https://first:6443' }), 'a/config');
    const second = writeConfig(doc({ server: 'https://second:6443' }), 'b/config');
    expect(loadConnection({ KUBECONFIG: `::${first}:${second}` }).server).toBe('https://first:6443');
    // The first file must exist: nothing falls through to the next one.
    expect(() => loadConnection({ KUBECONFIG: `${join(dir, 'missing')}:${second}` })).toThrow(
      KubeConfigError,
    );
  });

  it('falls back to the in-cluster service account when KUBECONFIG is unset or empty', () => {
    for (const env of [{}, { KUBECONFIG: '' }, { KUBECONFIG: ':' }]) {
      // Outside a cluster the in-cluster path says so; with a KUBECONFIG it would not.
      expect(configError(() => loadConnection(env)).message).toMatch(/^not running in a cluster/);
    }
  });

  // Where a service account is mounted (CI in a pod), this would read a real one.
  it.skipIf(existsSync(SA_DIR))(
    'reads the standard service-account directory in a cluster without KUBECONFIG',
    () => {
      // No service account is mounted here: the error names the path it read.
      expect(() => loadConnection(inCluster)).toThrow(
        /\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/ca\.crt/,
      );
    },
  );
});
