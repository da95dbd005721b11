// The krew plugin manifest of `kubectl leader-election` (https://krew.sigs.k8s.io/docs/developer-guide/plugin-manifest/):
// one archive for every platform, since the plugin is one JavaScript file run by Node >= 24
// (the archive holds kubectl-leader_election.mjs, README.md, LICENSE; krew links the bin as
// kubectl-leader_election). make build writes it to dist/krew/ with the archive's sha256;
// a release uploads the archive to RELEASE_URL and submits the manifest to krew-index.
export const RELEASE_URL = 'https://github.com/leader-election/leader-election/releases/download';

/** The archive's file name for a version. */
export function krewArchiveName(version) {
  return `kubectl-leader_election-${version}.tar.gz`;
}

/** The manifest (YAML text) for a version and the archive's sha256 (hex). */
export function krewManifest(version, sha256) {
  const platform = (os, arch) =>
    [
      `    - selector:`,
      `        matchLabels:`,
      `          os: ${os}`,
      `          arch: ${arch}`,
      `      uri: ${RELEASE_URL}/v${version}/${krewArchiveName(version)}`,
      `      sha256: ${sha256}`,
      `      files:`,
      `        - from: kubectl-leader_election.mjs`,
      `          to: .`,
      `        - from: LICENSE`,
      `          to: .`,
      `      bin: kubectl-leader_election.mjs`,
    ].join('\n');
  return [
    'apiVersion: krew.googlecontainertools.github.com/v1alpha2',
    'kind: Plugin',
    'metadata:',
    '  name: leader-election',
    'spec:',
    `  version: v${version}`,
    '  homepage: https://github.com/leader-election/leader-election',
    '  shortDescription: Status of leader-election groups, and injection previews',
    '  description: |',
    '    The CLI of leader-election (leader election for any Kubernetes workload, with no code',
    '    change): `status` lists each election group, its Lease, holder and Ready pods, and warns',
    '    about Ready pods without the agent; `inject` shows what the admission webhook would',
    '    add to a manifest; `version`. Authenticates like kubectl (kubeconfig, contexts, exec',
    '    credential plugins).',
    '  caveats: |',
    '    This plugin is a JavaScript file: it needs Node.js 24 or later on the PATH (`node`).',
    '  platforms:',
    ...[
      ['linux', 'amd64'],
      ['linux', 'arm64'],
      ['darwin', 'amd64'],
      ['darwin', 'arm64'],
    ].map(([os, arch]) => platform(os, arch)),
    '',
  ].join('\n');
}
