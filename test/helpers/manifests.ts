// Helpers for tests of manifests/: render the kustomize base with the kubectl we
// build, parse YAML documents, apply them (for real or as a server-side dry run)
// with `kubectl apply --server-side`, and cert-manager's CRDs taken from its Go
// module (kept in the Go module cache: no network once downloaded).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { kubectlPath, repoRoot, run, waitUntil, type RunResult } from '../../local-cluster/index.ts';

export { kubectlPath, run, type RunResult };

export const MANIFESTS_DIR = join(repoRoot, 'manifests');
export const BASE_DIR = join(MANIFESTS_DIR, 'base');

/** cert-manager release whose CRDs the tests install (latest v1.19.x the Go proxy serves). */
export const CERT_MANAGER_VERSION = 'v1.19.5';
const CERT_MANAGER_MODULE = 'github.com/cert-manager/cert-manager';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/**
 * Runs kubectl against `kubeconfig`, with a discovery cache of its own (a cache shared
 * between calls could miss a CRD created a moment ago). Throws with stderr on failure
 * unless `allowFailure`.
 */
export async function kubectl(
  args: string[],
  opts: { kubeconfig?: string; input?: string; allowFailure?: boolean } = {},
): Promise<RunResult> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, KUBECACHEDIR: cacheDir };
    if (opts.kubeconfig) env.KUBECONFIG = opts.kubeconfig;
    const res = await run(kubectlPath(), args, { input: opts.input, env });
    if (res.code !== 0 && !opts.allowFailure) {
      throw new Error(`kubectl ${args.join(' ')} failed (${res.code}):\n${res.stderr}${res.stdout}`);
    }
    return res;
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** `kubectl kustomize DIR`: the YAML a `kubectl apply -k DIR` would send. */
export async function renderKustomize(dir: string = MANIFESTS_DIR): Promise<string> {
  return (await kubectl(['kustomize', dir])).stdout;
}

/** The non-empty documents of a YAML stream. */
export function loadYamlDocs(text: string): KubeObject[] {
  return yaml.loadAll(text).filter((d): d is KubeObject => typeof d === 'object' && d !== null);
}

/** The objects `kubectl apply -k manifests/` would create. */
export async function renderedManifests(dir: string = MANIFESTS_DIR): Promise<KubeObject[]> {
  return loadYamlDocs(await renderKustomize(dir));
}

/** The documents of one file under manifests/base. */
export function baseFile(name: string): KubeObject[] {
  return loadYamlDocs(readFileSync(join(BASE_DIR, name), 'utf8'));
}

export function objectId(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

function toYamlStream(docs: KubeObject[]): string {
  return docs.map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n');
}

export interface ApplyOptions {
  kubeconfig: string;
  /** Server-side dry run: every admission and validation step, nothing stored. */
  dryRun?: boolean;
  fieldManager?: string;
}

/**
 * `kubectl apply --server-side` of the documents. Resolves with the objects the API
 * server returned (one per document); rejects with kubectl's errors if any was refused.
 */
export async function applyDocs(docs: KubeObject[], opts: ApplyOptions): Promise<KubeObject[]> {
  const args = [
    'apply',
    '--server-side',
    '--force-conflicts',
    `--field-manager=${opts.fieldManager ?? 'leader-election-tests'}`,
    '-o',
    'json',
    '-f',
    '-',
  ];
  if (opts.dryRun) args.push('--dry-run=server');
  const res = await kubectl(args, { kubeconfig: opts.kubeconfig, input: toYamlStream(docs) });
  const out = JSON.parse(res.stdout) as KubeObject | { kind: 'List'; items: KubeObject[] };
  return out.kind === 'List' ? (out as { items: KubeObject[] }).items : [out as KubeObject];
}

/** Deletes the documents' objects, ignoring those already gone. */
export async function deleteDocs(docs: KubeObject[], kubeconfig: string): Promise<void> {
  await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], {
    kubeconfig,
    input: toYamlStream(docs),
  });
}

/** The objectIds of those of `docs` that exist in the cluster (`kubectl get --ignore-not-found`). */
export async function existingDocs(docs: KubeObject[], kubeconfig: string): Promise<string[]> {
  const { stdout } = await kubectl(['get', '--ignore-not-found', '-o', 'json', '-f', '-'], {
    kubeconfig,
    input: toYamlStream(docs),
  });
  if (!stdout.trim()) return [];
  const got = JSON.parse(stdout) as KubeObject & { items?: KubeObject[] };
  return (got.kind === 'List' ? (got.items ?? []) : [got]).map(objectId);
}

// ---------------------------------------------------------------------------
// cert-manager CRDs, from the cert-manager Go module

const goEnv = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...process.env,
  GOFLAGS: '-mod=mod',
  GOTOOLCHAIN: 'local',
  ...extra,
});

/**
 * The directory of the cert-manager module in the Go module cache, downloading it the
 * first time. The cache is tried first with GOPROXY=off, so no network is used once
 * the module is there.
 */
export async function certManagerModuleDir(version: string = CERT_MANAGER_VERSION): Promise<string> {
  const spec = `${CERT_MANAGER_MODULE}@${version}`;
  const cwd = tmpdir(); // outside any go.mod
  const attempts: NodeJS.ProcessEnv[] = [{ GOPROXY: 'off' }, {}];
  const errors: string[] = [];
  for (const extra of attempts) {
    const res = await run('go', ['mod', 'download', '-json', spec], {
      env: goEnv(extra),
      cwd,
      timeoutMs: 300_000,
    });
    let info: { Dir?: string; Error?: string } = {};
    try {
      info = JSON.parse(res.stdout) as typeof info;
    } catch {
      /* reported below */
    }
    if (res.code === 0 && info.Dir && existsSync(join(info.Dir, 'deploy/crds'))) return info.Dir;
    errors.push(`GOPROXY=${extra.GOPROXY ?? '(default)'}: ${info.Error ?? res.stderr.trim()}`);
  }
  throw new Error(`go mod download ${spec} failed:\n${errors.join('\n')}`);
}

/**
 * Makes a CRD file that carries Helm templating (some cert-manager releases template
 * their CRD sources for the chart) plain YAML: lines that are only template actions
 * (`{{- if ... }}`, `{{- end }}`) are dropped, and so are `key: value` lines whose value
 * is templated (labels such as `app.kubernetes.io/instance: {{ .Release.Name }}`).
 */
export function stripHelmTemplating(text: string): string {
  if (!text.includes('{{')) return text;
  return text
    .split('\n')
    .filter((line) => !/^\s*\{\{.*\}\}\s*$/.test(line))
    .filter((line) => !/^\s*[^#\s][^:]*:\s*.*\{\{.*\}\}/.test(line))
    .join('\n');
}

/** cert-manager's CustomResourceDefinitions (Certificate, Issuer, ...), from deploy/crds of its module. */
export async function certManagerCrds(version: string = CERT_MANAGER_VERSION): Promise<KubeObject[]> {
  const dir = join(await certManagerModuleDir(version), 'deploy/crds');
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const crds: KubeObject[] = [];
  for (const f of files) {
    const docs = loadYamlDocs(stripHelmTemplating(readFileSync(join(dir, f), 'utf8')));
    crds.push(...docs.filter((d) => d.kind === 'CustomResourceDefinition'));
  }
  if (!crds.some((c) => c.metadata.name === 'certificates.cert-manager.io')) {
    throw new Error(`no cert-manager Certificate CRD in ${dir}`);
  }
  return crds;
}

/** Creates (or updates) cert-manager's CRDs and waits until each is Established. */
export async function installCertManagerCrds(
  client: KubeClient,
  kubeconfig: string,
  version: string = CERT_MANAGER_VERSION,
): Promise<KubeObject[]> {
  const crds = await certManagerCrds(version);
  await applyDocs(crds, { kubeconfig, fieldManager: 'cert-manager-crds' });
  for (const crd of crds) {
    await waitUntil(`CRD ${crd.metadata.name} established`, 60_000, async () => {
      const got = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
  return crds;
}

// ---------------------------------------------------------------------------
// Tokens

/** A service account token from the TokenRequest API, optionally bound to a pod. */
export async function requestToken(
  client: KubeClient,
  namespace: string,
  serviceAccount: string,
  boundPod?: { name: string; uid: string },
): Promise<string> {
  const res = await client.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: 3600,
          ...(boundPod
            ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: boundPod.name, uid: boundPod.uid } }
            : {}),
        },
      },
    },
  );
  return res.status.token;
}

const RBAC_KINDS = new Set([
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

/**
 * The product's RBAC, as `kubectl apply -k manifests/` makes it: the webhook's ServiceAccount,
 * ClusterRole and bindings, and the agent ClusterRole (with their Namespace).
 */
export async function applyProductRbac(kubeconfig: string): Promise<void> {
  const docs = (await renderedManifests()).filter((d) => RBAC_KINDS.has(d.kind));
  await applyDocs(docs, { kubeconfig });
}
