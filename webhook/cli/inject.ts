// `node webhook/cli/inject.ts [-f FILE|-] [--agent-image IMAGE]`: what the webhook would do
// to some manifests, offline, like `istioctl kube-inject`.
//
// Reads multi-document YAML or JSON (a file, or stdin with `-f -` or no -f) and writes
// YAML (or JSON with -o json) to stdout:
//   - Pods are injected (injectPod);
//   - Deployments and StatefulSets get what the webhook does to them (injectWorkload: their
//     leader-election/* annotations copied into the pod template) AND their pod template is
//     injected as the webhook will inject each pod, so the output is what the cluster runs;
//   - kind: List is walked; every other object is written unchanged.
// A denial is printed to stderr with the object's kind and name, nothing goes to stdout, and
// the exit code is 1 (2 for a usage error). Warnings go to stderr, as kubectl prints them.
//
// The output is a preview (or for a cluster without the webhook): applied to a cluster where
// the webhook runs, an already-injected pod template is refused; apply the original there.
import { readFileSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import yaml from 'js-yaml';
import { isObject, type JsonObject } from '../../common/json.ts';
import { PULL_POLICIES, type PullPolicy } from '../../common/contract/keys.ts';
import { injectPod } from '../injection/pod.ts';
import { injectWorkload } from '../injection/workload.ts';
import { type InjectionResult, type WebhookConfig } from '../injection/result.ts';
import { type JsonPatchOp } from '../injection/json-patch.ts';
import { AGENT_IMAGE } from './version.ts';

/** The versioned image the manifests install (never `latest`). */
export const DEFAULT_CLI_AGENT_IMAGE = AGENT_IMAGE;

/** The pod-template-hash the preview's fake ReplicaSet gets (so the Lease is named after the Deployment). */
const PREVIEW_HASH = 'preview';

export interface InjectOptions {
  config: WebhookConfig;
  /** Treat every object as if its namespace were labelled leader-election/enabled=true. */
  namespaceOptIn: boolean;
}

export interface InjectOutcome {
  objects: unknown[];
  /** `Kind namespace/name: message` per denied object. */
  errors: string[];
  warnings: string[];
}

function describe(obj: JsonObject): string {
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  const name =
    typeof meta.name === 'string'
      ? meta.name
      : typeof meta.generateName === 'string'
        ? `${meta.generateName}*`
        : '<unnamed>';
  return `${typeof obj.kind === 'string' ? obj.kind : '<no kind>'} ${ns}${name}`;
}

function applyOps<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  // validate: a patch that does not apply is a bug worth seeing; mutate: false clones first.
  return jsonpatch.applyPatch(doc, ops as JsonPatchOp[], true, false).newDocument;
}

class Denied extends Error {}

/** Patches `obj` with r, or throws Denied with `what: message`. */
function applyResult<T>(obj: T, r: InjectionResult, what: string, warnings: string[]): T {
  if (r.kind === 'deny') throw new Denied(`${what}: ${r.message}`);
  if (r.kind === 'skip') return obj;
  for (const w of r.warnings) warnings.push(`${what}: ${w}`);
  return r.patch.length > 0 ? applyOps(obj, r.patch) : obj;
}

/** Injects a workload's pod template as the webhook will inject each of its pods. */
function injectTemplate(workload: JsonObject, opts: InjectOptions, warnings: string[]): JsonObject {
  const spec = workload.spec;
  if (!isObject(spec) || !isObject(spec.template)) return workload;
  const template = spec.template;
  const kind = workload.kind as 'Deployment' | 'StatefulSet';
  const meta = isObject(workload.metadata) ? workload.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const tMeta = isObject(template.metadata) ? template.metadata : {};
  const tLabels = isObject(tMeta.labels) ? tMeta.labels : undefined;

  // The pod as its controller creates it: owned by the ReplicaSet `<deployment>-<hash>` (with
  // the pod-template-hash label) or by the StatefulSet, so the Lease name is derived as in the cluster.
  const fakeMeta: JsonObject = { ...tMeta };
  const addedHash = kind === 'Deployment' && tLabels?.['pod-template-hash'] === undefined;
  if (name !== undefined) {
    fakeMeta.ownerReferences = [
      kind === 'Deployment'
        ? {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: `${name}-${PREVIEW_HASH}`,
            uid: '',
            controller: true,
          }
        : { apiVersion: 'apps/v1', kind: 'StatefulSet', name, uid: '', controller: true },
    ];
    if (addedHash) fakeMeta.labels = { ...(tLabels ?? {}), 'pod-template-hash': PREVIEW_HASH };
  }
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: fakeMeta, spec: template.spec };
  const r = injectPod(pod, {
    namespaceOptIn: opts.namespaceOptIn,
    namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
    config: opts.config,
  });
  const injected = applyResult(pod, r, `${describe(workload)}: pod template`, warnings);
  if (injected === pod) return workload;

  const newMeta: JsonObject = { ...(injected.metadata as JsonObject) };
  if ('ownerReferences' in tMeta) newMeta.ownerReferences = tMeta.ownerReferences;
  else delete newMeta.ownerReferences;
  if (addedHash && isObject(newMeta.labels)) {
    const labels = { ...newMeta.labels };
    delete labels['pod-template-hash'];
    newMeta.labels = labels;
  }
  return {
    ...workload,
    spec: { ...spec, template: { ...template, metadata: newMeta, spec: injected.spec } },
  };
}

function injectOne(obj: unknown, opts: InjectOptions, warnings: string[]): unknown {
  if (!isObject(obj)) return obj;
  const kind = obj.kind;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(obj.items)) {
    return { ...obj, items: obj.items.map((item) => injectOne(item, opts, warnings)) };
  }
  const what = describe(obj);
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  if (kind === 'Pod' && (obj.apiVersion === 'v1' || obj.apiVersion === undefined)) {
    const r = injectPod(obj, {
      namespaceOptIn: opts.namespaceOptIn,
      namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
      config: opts.config,
    });
    return applyResult(obj, r, what, warnings);
  }
  if ((kind === 'Deployment' || kind === 'StatefulSet') && obj.apiVersion === 'apps/v1') {
    const r = injectWorkload(obj, opts.config, { namespaceOptIn: opts.namespaceOptIn });
    const workload = applyResult(obj, r, what, warnings);
    return injectTemplate(workload, opts, warnings);
  }
  return obj;
}

/** Injects every object; collects every denial (none of the objects is then worth writing). */
export function injectObjects(objects: readonly unknown[], opts: InjectOptions): InjectOutcome {
  const errors: string[] = [];
  const warnings: string[] = [];
  const out: unknown[] = [];
  for (const obj of objects) {
    try {
      out.push(injectOne(obj, opts, warnings));
    } catch (err) {
      if (!(err instanceof Denied)) throw err;
      errors.push(err.message);
      out.push(obj);
    }
  }
  return { objects: out, errors, warnings };
}

/** Parses multi-document YAML (or JSON); empty documents are dropped. */
export function parseDocuments(text: string, filename = '<stdin>'): unknown[] {
  // CORE_SCHEMA: no timestamps or other YAML 1.1 types: a string stays a string.
  return yaml
    .loadAll(text, null, { filename, schema: yaml.CORE_SCHEMA })
    .filter((d) => d !== null && d !== undefined);
}

export function formatDocuments(objects: readonly unknown[], output: 'yaml' | 'json'): string {
  if (output === 'json') {
    const doc = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    return JSON.stringify(doc, null, 2) + '\n';
  }
  // The default schema quotes strings that other YAML parsers would read as something else.
  return objects.map((o) => yaml.dump(o, { noRefs: true, lineWidth: -1 })).join('---\n');
}

export interface CliIo {
  readFile(path: string): string;
  readStdin(): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const CLI_USAGE = `Usage: node webhook/cli/inject.ts [-f FILE|-] [flags]

Shows what the leader-election webhook does to Kubernetes manifests (YAML or JSON,
several documents allowed): opted-in Pods get the agent and the readiness gate;
Deployments and StatefulSets get their leader-election/* annotations copied into the
pod template, and the template is injected as each of their pods will be.
Other objects are written unchanged. The result goes to stdout as YAML.

Flags:
  -f, --filename FILE          read FILE; - or no -f: stdin
  --agent-image IMAGE          agent image (env AGENT_IMAGE; default ${DEFAULT_CLI_AGENT_IMAGE})
  --agent-image-pull-policy P  ${PULL_POLICIES.join('|')} (env AGENT_IMAGE_PULL_POLICY)
  --namespace-opt-in           as if the namespace were labelled leader-election/enabled=true
  -o, --output yaml|json       output format (default yaml)
  -h, --help                   this help

Exit codes: 0 done; 1 an object is denied (the reasons go to stderr, nothing to stdout)
or the input cannot be read; 2 usage error.
`;

interface CliArgs {
  file: string;
  agentImage: string;
  pullPolicy?: PullPolicy;
  namespaceOptIn: boolean;
  output: 'yaml' | 'json';
}

function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliArgs | 'help' | string {
  const args: CliArgs = {
    file: '-',
    agentImage: env.AGENT_IMAGE?.trim() || DEFAULT_CLI_AGENT_IMAGE,
    namespaceOptIn: false,
    output: 'yaml',
  };
  const pull = env.AGENT_IMAGE_PULL_POLICY?.trim();
  let pullPolicy: string | undefined = pull || undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '-f':
      case '--filename': {
        const v = value();
        if (v === undefined || v === '') return `${flag} needs a file name (or - for stdin)`;
        args.file = v;
        break;
      }
      case '--agent-image': {
        const v = value();
        if (!v || /\s/.test(v)) return `--agent-image needs an image reference`;
        args.agentImage = v;
        break;
      }
      case '--agent-image-pull-policy':
        pullPolicy = value();
        break;
      case '--namespace-opt-in':
        args.namespaceOptIn = true;
        break;
      case '-o':
      case '--output': {
        const v = value();
        if (v !== 'yaml' && v !== 'json') return `${flag} must be yaml or json`;
        args.output = v;
        break;
      }
      default:
        return `unknown argument ${JSON.stringify(arg)}`;
    }
  }
  if (pullPolicy !== undefined) {
    if (!(PULL_POLICIES as readonly string[]).includes(pullPolicy)) {
      return `--agent-image-pull-policy must be one of ${PULL_POLICIES.join(', ')}`;
    }
    args.pullPolicy = pullPolicy as PullPolicy;
  }
  return args;
}

/** The CLI, with its I/O injected; resolves to the exit code. */
export async function runInjectCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCliArgs(argv, io.env);
  if (args === 'help') {
    io.stdout(CLI_USAGE);
    return 0;
  }
  if (typeof args === 'string') {
    io.stderr(`error: ${args}\n\n${CLI_USAGE}`);
    return 2;
  }
  let objects: unknown[];
  try {
    const text = args.file === '-' ? await io.readStdin() : io.readFile(args.file);
    objects = parseDocuments(text, args.file === '-' ? '<stdin>' : args.file);
  } catch (err) {
    io.stderr(`error: cannot read ${args.file === '-' ? 'stdin' : args.file}: ${(err as Error).message}\n`);
    return 1;
  }
  const outcome = injectObjects(objects, {
    config: { agentImage: args.agentImage, ...(args.pullPolicy ? { imagePullPolicy: args.pullPolicy } : {}) },
    namespaceOptIn: args.namespaceOptIn,
  });
  for (const w of outcome.warnings) io.stderr(`Warning: ${w}\n`);
  if (outcome.errors.length > 0) {
    for (const e of outcome.errors) io.stderr(`error: ${e}\n`);
    return 1;
  }
  io.stdout(formatDocuments(outcome.objects, args.output));
  return 0;
}

export function nodeIo(): CliIo {
  return {
    readFile: (path) => readFileSync(path, 'utf8'),
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
  };
}

if (import.meta.main) {
  runInjectCli(process.argv.slice(2), nodeIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`error: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
