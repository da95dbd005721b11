// One version for the images, the CLI and package.json (issue 15).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { AGENT_IMAGE, VERSION } from '../../../webhook/cli/version.ts';
import { DEFAULT_CLI_AGENT_IMAGE } from '../../../webhook/cli/inject.ts';

describe('VERSION', () => {
  it("is package.json's version and the tag of both images the manifests install", () => {
    expect(JSON.parse(readFileSync('package.json', 'utf8')).version).toBe(VERSION);
    const kustomization = yaml.load(readFileSync('manifests/base/kustomization.yaml', 'utf8')) as {
      images: { name: string; newTag: string }[];
    };
    expect(kustomization.images.map((i) => [i.name, i.newTag])).toEqual([
      ['ghcr.io/leader-election/webhook', VERSION],
      ['ghcr.io/leader-election/agent', VERSION],
    ]);
    expect(DEFAULT_CLI_AGENT_IMAGE).toBe(AGENT_IMAGE);
    expect(AGENT_IMAGE).not.toMatch(/:latest$/);
  });
});
