// The kubectl plugin as users get it (issue 15): the npm package scripts/bundle.mjs makes
// (dist/kubectl-leader_election/), packed with `npm pack` and installed into an empty folder;
// found by kubectl on the PATH (`kubectl leader-election ...`); and authenticated like kubectl
// against the real control plane: a merged $KUBECONFIG (the cluster in one file, the user in
// another) whose user is an exec credential plugin (a script printing an ExecCredential), as on
// EKS, GKE or with OIDC helpers. And the krew plugin make build describes (dist/krew/ and its
// archive), installed by krew itself (built from its Go module) from that manifest and archive.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { kubectlPath, repoRoot } from '../../local-cluster/index.ts';
import { adminClient, adminConnection, createNamespace, deleteNamespace } from '../helpers/kube.ts';
import { requestToken, run } from '../helpers/manifests.ts';

const PACKAGE_DIR = join(repoRoot, 'dist/kubectl-leader_election');

describe('kubectl leader-election (the packaged plugin)', () => {
  let admin: KubeClient;
  let work: string;
  let installed: string;
  let ns: string;
  const nodeDir = dirname(process.execPath);

  beforeAll(async () => {
    expect(existsSync(join(PACKAGE_DIR, 'package.json')), 'run make build (scripts/bundle.mjs) first').toBe(
      true,
    );
    admin = adminClient();
    work = mkdtempSync(join(tmpdir(), 'le-plugin-'));
    // npm pack, then an install into an empty folder: what `npm install -g <tarball>` does.
    // npm from the PATH (Node 24's package ships only node), run by the Node of the test.
    const npm = 'npm';
    const packed = await run(npm, ['pack', PACKAGE_DIR, '--pack-destination', work, '--silent'], {
      cwd: work,
      env: { PATH: `${nodeDir}:${process.env.PATH}`, HOME: process.env.HOME ?? '/root' },
      timeoutMs: 120_000,
    });
    expect(packed.code, packed.stderr).toBe(0);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tgz).toMatch(/^kubectl-leader-election-\d+\.\d+\.\d+\.tgz$/);
    const prefix = join(work, 'empty');
    mkdirSync(prefix);
    const inst = await run(
      npm,
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--offline', join(work, tgz!)],
      {
        cwd: prefix,
        env: { PATH: `${nodeDir}:${process.env.PATH}`, HOME: process.env.HOME ?? '/root' },
        timeoutMs: 120_000,
      },
    );
    expect(inst.code, inst.stderr).toBe(0);
    installed = join(prefix, 'node_modules/.bin');
    ns = await createNamespace(admin, 'plugin');
  }, 300_000);

  afterAll(async () => {
    if (ns) await deleteNamespace(admin, ns);
    admin?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The installed plugin, run by kubectl from the PATH. */
  const kubectl = (args: string[], env: Record<string, string> = {}) =>
    run(kubectlPath(), args, {
      cwd: work,
      env: { PATH: `${installed}:${nodeDir}:/usr/bin:/bin`, HOME: '/nonexistent', ...env },
      timeoutMs: 60_000,
    });

  it('installs from its npm pack output and runs as a kubectl plugin', async () => {
    const version = await kubectl(['leader-election', 'version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^kubectl-leader_election 0\.1\.0 \(Node v24\./);
    const help = await kubectl(['leader-election', '--help']);
    expect(help.stdout).toContain('status    the election groups');
    // inject works offline, with the versioned agent image (never latest).
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        annotations: { 'leader-election/enabled': 'true', 'leader-election/lease-name': 'l' },
      },
      spec: { containers: [{ name: 'app', image: 'app:1' }] },
    };
    writeFileSync(join(work, 'pod.yaml'), yaml.dump(pod));
    const injected = await kubectl(['leader-election', 'inject', '-f', join(work, 'pod.yaml')]);
    expect(injected.code, injected.stderr).toBe(0);
    expect(injected.stdout).toContain('image: ghcr.io/leader-election/agent:0.1.0');
  });

  it('installs through krew from the manifest and archive make build writes, and runs as a kubectl plugin', async () => {
    const krew = execFileSync('bash', [join(repoRoot, 'local-cluster/krew/build.sh')], {
      encoding: 'utf8',
    }).trim();
    const manifest = join(repoRoot, 'dist/krew/leader-election.yaml');
    const plugin = yaml.load(readFileSync(manifest, 'utf8')) as {
      spec: { version: string; platforms: { uri: string; sha256: string }[] };
    };
    const productVersion = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
    expect(plugin.spec.version).toBe(`v${productVersion}`);
    const archive = join(repoRoot, 'dist', basename(plugin.spec.platforms[0]!.uri));
    // The sha256 krew checks is the archive's.
    expect(createHash('sha256').update(readFileSync(archive)).digest('hex')).toBe(
      plugin.spec.platforms[0]!.sha256,
    );
    const krewRoot = join(work, 'krew');
    const env = { KREW_ROOT: krewRoot, HOME: work, PATH: `${nodeDir}:/usr/bin:/bin` };
    const inst = await run(krew, ['install', `--manifest=${manifest}`, `--archive=${archive}`], {
      env,
      timeoutMs: 60_000,
    });
    expect(inst.code, inst.stderr + inst.stdout).toBe(0);
    expect(inst.stderr).toContain('Installed plugin: leader-election');
    const version = await run(kubectlPath(), ['leader-election', 'version'], {
      cwd: work,
      env: { PATH: `${krewRoot}/bin:${nodeDir}:/usr/bin:/bin`, HOME: '/nonexistent' },
      timeoutMs: 60_000,
    });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(
      new RegExp(`^kubectl-leader_election ${productVersion.replaceAll('.', '\\.')} \\(Node v24\\.`),
    );
    // (`krew uninstall` needs krew's plugin index, a git clone of krew-index: no network here.)
  });

  it('authenticates like kubectl: a merged $KUBECONFIG whose user is an exec credential plugin', async () => {
    // A ServiceAccount allowed to read what status reads, and a token for it.
    await admin.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } },
    });
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    await admin.request('POST', `${rbac}/namespaces/${ns}/roles`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'status-reader' },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
        ],
      },
    });
    await admin.request('POST', `${rbac}/namespaces/${ns}/rolebindings`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'status-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'status-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      },
    });
    const token = await requestToken(admin, ns, 'reader');
    const credential = (t: string) => {
      const script = join(work, `credential-${t.length}.sh`);
      writeFileSync(
        script,
        `#!/bin/sh\necho '${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: t } })}'\n`,
      );
      chmodSync(script, 0o755);
      return script;
    };
    const conn = adminConnection();
    const clusterFile = join(work, 'cluster.yaml');
    const userFile = join(work, 'user.yaml');
    writeFileSync(
      clusterFile,
      yaml.dump({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'plane',
        clusters: [
          {
            name: 'plane',
            cluster: { server: conn.server, 'certificate-authority-data': conn.ca!.toString('base64') },
          },
        ],
        contexts: [{ name: 'plane', context: { cluster: 'plane', user: 'exec-user', namespace: ns } }],
      }),
    );
    const userConfig = (script: string) =>
      yaml.dump({
        apiVersion: 'v1',
        kind: 'Config',
        users: [
          {
            name: 'exec-user',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: script,
                interactiveMode: 'Never',
              },
            },
          },
        ],
      });
    writeFileSync(userFile, userConfig(credential(token)));
    const ok = await kubectl(['leader-election', 'status'], { KUBECONFIG: `${clusterFile}:${userFile}` });
    expect(ok.code, ok.stderr).toBe(0);
    // The context's namespace, reached with the plugin's token: no group there yet.
    expect(ok.stderr).toBe(`No election groups found in ${ns} namespace.\n`);

    // The token is the one the plugin printed: a wrong one is refused by the API server.
    writeFileSync(userFile, userConfig(credential('not-a-valid-token')));
    const refused = await kubectl(['leader-election', 'status'], {
      KUBECONFIG: `${clusterFile}:${userFile}`,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*(Unauthorized|401)/);
  });
});
