// Unit tests of the offline injector (`node webhook/cli/inject.ts`): in-process through
// runInjectCli with captured I/O, plus one real process for the exit code and stdin.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION, CONDITION_LEADER } from '../../../common/contract/keys.ts';
import { runInjectCli, type CliIo } from '../../../webhook/cli/inject.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- output documents are raw YAML, read freely
type Raw = any;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const AGENT = 'leader-election-agent';
const IMAGE = 'registry.example/agent:9';

async function run(
  args: string[],
  files: Record<string, string> = {},
  stdin = '',
): Promise<{ code: number; out: string; err: string; readonly docs: Raw[] }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw new Error(`ENOENT: no such file ${p}`);
      return f;
    },
    readStdin: async () => stdin,
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
  };
  const code = await runInjectCli(args, io);
  return {
    code,
    out,
    err,
    get docs() {
      return out ? (yaml.loadAll(out) as Raw[]) : [];
    },
  };
}

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: shop
  annotations:
    leader-election/enabled: "true"
    leader-election/lease-name: solo-lease
spec:
  containers:
    - name: app
      image: nginx:1.27
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    leader-election/enabled: "true"
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          env:
            - {name: FLAG, value: "yes"}
            - {name: DAY, value: "2026-01-01"}
`;

const STATEFULSET = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  podManagementPolicy: Parallel
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
      annotations:
        leader-election/enabled: "true"
    spec:
      containers: [{name: db, image: postgres}]
`;

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  switch: "on"
`;

function agentOf(spec: Raw): Raw {
  return (spec.initContainers ?? []).find((c: Raw) => c.name === AGENT);
}

function env(container: Raw, name: string): string | undefined {
  return container.env.find((e: Raw) => e.name === name)?.value;
}

describe('inject-cli', () => {
  it('injects an opted-in Pod', async () => {
    const { code, docs, err } = await run(['-f', 'pod.yaml', '--agent-image', IMAGE], { 'pod.yaml': POD });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(docs).toHaveLength(1);
    const pod = docs[0];
    const agent = agentOf(pod.spec);
    expect(agent.image).toBe(IMAGE);
    expect(agent.restartPolicy).toBe('Always');
    expect(env(agent, 'LEASE_NAME')).toBe('solo-lease');
    expect(pod.spec.readinessGates).toEqual([{ conditionType: CONDITION_LEADER }]);
    expect(pod.metadata.annotations[ANNOTATION.status]).toBe('injected');
    expect(pod.spec.containers).toEqual([{ name: 'app', image: 'nginx:1.27' }]);
  });

  it('copies a Deployment’s annotations into its template and injects the template as its pods will be', async () => {
    const { code, docs } = await run(['-f', 'd.yaml', `--agent-image=${IMAGE}`], { 'd.yaml': DEPLOYMENT });
    expect(code).toBe(0);
    const dep = docs[0];
    const tpl = dep.spec.template;
    expect(tpl.metadata.annotations[ANNOTATION.enabled]).toBe('true');
    expect(tpl.metadata.annotations[ANNOTATION.status]).toBe('injected');
    const agent = agentOf(tpl.spec);
    expect(agent.image).toBe(IMAGE);
    // The Lease is named after the Deployment, as for its pods in the cluster.
    expect(env(agent, 'LEASE_NAME')).toBe('web');
    expect(tpl.spec.readinessGates).toEqual([{ conditionType: CONDITION_LEADER }]);
    // Nothing of the preview's fake ReplicaSet leaks into the template.
    expect(tpl.metadata.ownerReferences).toBeUndefined();
    expect(tpl.metadata.labels['pod-template-hash']).toBeUndefined();
    expect(tpl.metadata.labels.app).toBe('web');
    // Strings stay strings through YAML.
    expect(tpl.spec.containers[0].env).toEqual([
      { name: 'FLAG', value: 'yes' },
      { name: 'DAY', value: '2026-01-01' },
    ]);
    expect(dep.metadata).toEqual({
      name: 'web',
      namespace: 'shop',
      annotations: { [ANNOTATION.enabled]: 'true' },
    });
  });

  it('injects a StatefulSet’s template opted in on the template itself, named after the StatefulSet', async () => {
    const { code, docs } = await run(['-f', 's.yaml'], { 's.yaml': STATEFULSET });
    expect(code).toBe(0);
    const agent = agentOf(docs[0].spec.template.spec);
    expect(env(agent, 'LEASE_NAME')).toBe('db');
  });

  it('handles several documents, leaving other kinds and non-opted-in objects unchanged', async () => {
    const plain = POD.replace('    leader-election/enabled: "true"\n', '');
    const input = [CONFIGMAP, DEPLOYMENT, plain, POD, ''].join('---\n');
    const { code, docs, out } = await run(['-f', 'all.yaml'], { 'all.yaml': input });
    expect(code).toBe(0);
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Deployment', 'Pod', 'Pod']);
    expect(docs[0]).toEqual(yaml.load(CONFIGMAP));
    expect(out).toContain("switch: 'on'"); // quoted: YAML 1.1 readers (kubectl) would read a bool
    expect(agentOf(docs[1].spec.template.spec)).toBeDefined();
    expect(docs[2]).toEqual(yaml.load(plain));
    expect(agentOf(docs[3].spec)).toBeDefined();
  });

  it('reads JSON and kind: List', async () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [yaml.load(POD), yaml.load(CONFIGMAP)],
    };
    const { code, docs } = await run([], {}, JSON.stringify(list));
    expect(code).toBe(0);
    expect(docs[0].kind).toBe('List');
    expect(agentOf(docs[0].items[0].spec)).toBeDefined();
    expect(docs[0].items[1]).toEqual(yaml.load(CONFIGMAP));
  });

  it('writes JSON with -o json', async () => {
    const { code, out } = await run(['-f', '-', '-o', 'json'], {}, POD);
    expect(code).toBe(0);
    expect(agentOf((JSON.parse(out) as Raw).spec)).toBeDefined();
  });

  it('honours --namespace-opt-in', async () => {
    const plain = POD.replace('    leader-election/enabled: "true"\n', '');
    expect(agentOf((await run(['-f', 'p'], { p: plain })).docs[0].spec)).toBeUndefined();
    expect(agentOf((await run(['-f', 'p', '--namespace-opt-in'], { p: plain })).docs[0].spec)).toBeDefined();
  });

  it('exits 1 on a denial, naming kind, name and reason on stderr, and writes nothing to stdout', async () => {
    const badPod = POD.replace(
      'leader-election/lease-name: solo-lease',
      'leader-election/lease-duration: "5s"',
    );
    const badDep = DEPLOYMENT.replace('name: web', 'name: api').replace(
      'leader-election/enabled: "true"',
      'leader-election/enabled: "true"\n    leader-election/routing: dns',
    );
    const { code, out, err } = await run(['-f', 'x'], { x: [CONFIGMAP, badPod, badDep].join('---\n') });
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain('error: Pod shop/solo: ');
    expect(err).toContain('leader-election/lease-duration: "5s"');
    expect(err).toContain(
      'error: Deployment shop/api: Deployment api: leader-election/routing: "dns" must be one of',
    );
  });

  it('exits 1 on unreadable input and 2 on a usage error', async () => {
    expect((await run(['-f', 'missing.yaml'])).code).toBe(1);
    expect((await run(['-f', 'bad'], { bad: 'a: [unclosed' })).err).toMatch(/cannot read bad/);
    const usage = await run(['--bogus']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('unknown argument "--bogus"');
    expect((await run(['--agent-image-pull-policy', 'Sometimes'])).code).toBe(2);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: node webhook/cli/inject.ts');
  });

  describe('as a process', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'le-inject-cli-'));
      writeFileSync(join(dir, 'pod.yaml'), POD);
      writeFileSync(join(dir, 'bad.yaml'), POD.replace('solo-lease', 'Not_A_Name'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const node = (args: string[], input?: string) =>
      spawnSync(process.execPath, [join(repoRoot, 'webhook/cli/inject.ts'), ...args], {
        input,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, AGENT_IMAGE: IMAGE },
      });

    it('reads stdin and writes YAML (exit 0), exits 1 on a denial', () => {
      const ok = node(['-f', '-'], POD);
      expect(ok.status).toBe(0);
      expect(agentOf((yaml.load(ok.stdout) as Raw).spec).image).toBe(IMAGE);

      const bad = node(['-f', join(dir, 'bad.yaml')]);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toContain('error: Pod shop/solo: leader-election/lease-name: "Not_A_Name"');
    });
  });
});
