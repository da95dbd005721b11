// The product's one version: the images' tag (manifests/base/kustomization.yaml), the CLI's,
// and package.json's. test/webhook/cli/version.test.ts holds them equal.
export const VERSION = '0.1.0';

/** The agent image the manifests install, for previews made without a cluster (never `latest`). */
export const AGENT_IMAGE = `ghcr.io/leader-election/agent:${VERSION}`;
