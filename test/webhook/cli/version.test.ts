// One version for the images, the chart, the CLI and package.json (issue 15).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { AGENT_IMAGE, VERSION } from '../../../webhook/cli/version.ts';
import { DEFAULT_CLI_AGENT_IMAGE } from '../../../webhook/cli/inject.ts';

describe('VERSION', () => {
  it("is package.json's, the chart's and its appVersion, the tag of both images install.yaml names", () => {
    expect(JSON.parse(readFileSync('package.json', 'utf8')).version).toBe(VERSION);
    const chart = yaml.load(readFileSync('manifests/chart/leader-election/Chart.yaml', 'utf8')) as {
      version: string;
      appVersion: string;
    };
    expect([chart.version, chart.appVersion]).toEqual([VERSION, VERSION]);
    const install = readFileSync('manifests/install.yaml', 'utf8');
    expect(
      [...install.matchAll(/ghcr\.io\/leader-election\/(\w+):(\S+)/g)].map((m) => `${m[1]}:${m[2]}`).sort(),
    ).toEqual([`agent:${VERSION}`, `webhook:${VERSION}`]);
    expect(DEFAULT_CLI_AGENT_IMAGE).toBe(AGENT_IMAGE);
    expect(AGENT_IMAGE).toBe(`ghcr.io/leader-election/agent:${VERSION}`);
  });
});
