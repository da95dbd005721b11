// Every install variant applies: manifests/ and each overlay under manifests/overlays/ are
// rendered with kubectl's kustomize and sent to the real API server as a server-side apply
// dry run (schema, defaulting, validation, admission), with cert-manager's CRDs installed.
// The dev overlay (kind) is checked for what it promises: one replica, :dev images (the
// agent image also in the webhook's AGENT_IMAGE), a PDB that lets a node drain.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { repoRoot } from '../../local-cluster/index.ts';
import { adminClient } from '../helpers/kube.ts';
import {
  MANIFESTS_DIR,
  applyDocs,
  installCertManagerCrds,
  objectId,
  renderedManifests,
  type KubeObject,
} from '../helpers/manifests.ts';

const OVERLAYS_DIR = join(MANIFESTS_DIR, 'overlays');

const overlays = readdirSync(OVERLAYS_DIR)
  .filter((d) => statSync(join(OVERLAYS_DIR, d)).isDirectory())
  .sort();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects are raw JSON, read freely
type Raw = any;

function find(docs: KubeObject[], kind: string, name: string): Raw {
  const o = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
}

describe('install variants (manifests/ and manifests/overlays/*)', () => {
  const kubeconfig = inject('kubeconfig');
  let client: KubeClient;
  let base: KubeObject[];

  beforeAll(async () => {
    client = adminClient();
    await installCertManagerCrds(client, kubeconfig);
    base = await renderedManifests(MANIFESTS_DIR);
    // A dry run stores nothing: namespaced objects need their namespace for real.
    await applyDocs(
      base.filter((d) => d.kind === 'Namespace'),
      { kubeconfig },
    );
  });

  afterAll(() => client?.close());

  it('has the dev overlay', () => {
    expect(overlays).toContain('dev');
  });

  for (const dir of ['.', ...overlays.map((o) => `overlays/${o}`)]) {
    const path = join(MANIFESTS_DIR, dir);
    it(`${relative(repoRoot, path) || 'manifests'}: every object is accepted by a server-side apply dry run`, async () => {
      const docs = await renderedManifests(path);
      // An overlay changes objects, it does not drop or rename any of the base's.
      expect(docs.map(objectId).sort()).toEqual(base.map(objectId).sort());
      const accepted = await applyDocs(docs, { kubeconfig, dryRun: true });
      expect(accepted.map(objectId).sort()).toEqual(docs.map(objectId).sort());
    });
  }

  it('dev: one webhook replica, :dev images (also the injected agent image), a PDB that allows a drain', async () => {
    const docs = await renderedManifests(join(OVERLAYS_DIR, 'dev'));
    const deploy = find(docs, 'Deployment', 'leader-election-webhook');
    expect(deploy.spec.replicas).toBe(1);
    const c = deploy.spec.template.spec.containers.find((x: Raw) => x.name === 'webhook');
    expect(c.image).toBe('ghcr.io/leader-election/webhook:dev');
    const env = Object.fromEntries(c.env.filter((e: Raw) => 'value' in e).map((e: Raw) => [e.name, e.value]));
    expect(env).toMatchObject({
      AGENT_IMAGE: 'ghcr.io/leader-election/agent:dev',
      AGENT_IMAGE_PULL_POLICY: 'IfNotPresent',
    });
    expect(c.args).toContain('--agent-image=$(AGENT_IMAGE)');
    const pdb = find(docs, 'PodDisruptionBudget', 'leader-election-webhook');
    expect(pdb.spec.minAvailable).toBeUndefined();
    expect(pdb.spec.maxUnavailable).toBe(1);
    // Everything else is the base's: the admission configuration is untouched.
    expect(find(docs, 'MutatingWebhookConfiguration', 'leader-election')).toEqual(
      find(base, 'MutatingWebhookConfiguration', 'leader-election'),
    );
    // And the server keeps what the overlay says (defaulting does not undo it).
    const [applied] = await applyDocs([deploy], { kubeconfig, dryRun: true });
    expect((applied as Raw).spec.replicas).toBe(1);
  });
});
