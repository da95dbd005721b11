// The monitoring objects of manifests/monitoring, checked with Prometheus's own promtool (built
// from its Go module by local-cluster/promtool/build.sh, cached like the Kubernetes binaries):
// the alerts load (`promtool check rules`) and fire on the series they are meant for, and only
// there (`promtool test rules`, manifests/monitoring/alerts.test.yaml); the agent's and the
// webhook's /metrics pass `promtool check metrics`; every query of the dashboard names a metric
// one of them exports; the kustomization renders.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { agentExposition } from '../../scripts/gen-reference.ts';
import { Registry } from '../../common/metrics.ts';
import { registerProcessMetrics } from '../../common/process-metrics.ts';
import { certificateExpiryMetric, webhookMetrics } from '../../webhook/admission/metrics.ts';
import { kubectlPath } from '../../local-cluster/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MONITORING = join(ROOT, 'manifests/monitoring');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML and JSON documents
type Raw = any;

function promtool(bin: string, args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync(bin, args, { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function webhookExposition(): string {
  const registry = new Registry();
  const stop = registerProcessMetrics(registry);
  const m = webhookMetrics(registry);
  certificateExpiryMetric(registry, () => ({ notAfter: new Date(Date.now() + 90 * 86_400_000) }));
  m.requests.inc({ route: '/mutate-pods', code: '200' });
  m.injections.inc({ namespace: 'shop', result: 'patched' });
  m.duration.observe({ route: '/mutate-pods' }, 0.0004);
  const text = registry.render();
  stop();
  return text;
}

describe('monitoring (manifests/monitoring)', () => {
  let bin = '';
  let work = '';
  const rule = yaml.load(readFileSync(join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as Raw;

  beforeAll(() => {
    bin = execFileSync('bash', [join(ROOT, 'local-cluster/promtool/build.sh')], { encoding: 'utf8' }).trim();
    work = mkdtempSync(join(tmpdir(), 'le-monitoring-'));
    // A Prometheus rules file is the PrometheusRule's spec.
    writeFileSync(join(work, 'rules.yaml'), yaml.dump(rule.spec));
    copyFileSync(join(MONITORING, 'alerts.test.yaml'), join(work, 'alerts.test.yaml'));
  }, 1_200_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the alerts load, and fire on the series they are meant for and nowhere else', () => {
    const check = promtool(bin, ['check', 'rules', join(work, 'rules.yaml')]);
    expect(check.out).toMatch(/SUCCESS: 8 rules found/);
    expect(check.code, check.out).toBe(0);
    const test = promtool(bin, ['test', 'rules', join(work, 'alerts.test.yaml')]);
    expect(test.code, test.out).toBe(0);
    expect(test.out).toContain('SUCCESS');
  });

  it("the agent's and the webhook's /metrics pass promtool check metrics", () => {
    for (const [what, text] of [
      ['agent', agentExposition()],
      ['webhook', webhookExposition()],
    ] as const) {
      expect(text, what).toContain('# TYPE');
      const r = promtool(bin, ['check', 'metrics'], text);
      expect(r.code, `${what}:\n${r.out}`).toBe(0);
      expect(r.out.trim(), `${what}: lint findings`).toBe('');
    }
  });

  it('every dashboard query and every alert names a metric the agent or the webhook exports', () => {
    const exported = new Set(
      [
        ...agentExposition().matchAll(/^# TYPE (\S+) (\S+)/gm),
        ...webhookExposition().matchAll(/^# TYPE (\S+) (\S+)/gm),
      ].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    );
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, 'manifests/chart/leader-election/files/dashboard.json'), 'utf8'),
    ) as Raw;
    const exprs: string[] = [
      ...dashboard.panels.flatMap((p: Raw) => p.targets.map((t: Raw) => t.expr)),
      ...rule.spec.groups.flatMap((g: Raw) => g.rules.map((r: Raw) => r.expr)),
    ];
    expect(exprs.length).toBeGreaterThan(15);
    for (const e of exprs) {
      const names = [...e.matchAll(/\b((?:leader_election|webhook|process|nodejs)_[a-z_]+)\b/g)].map(
        (m) => m[1],
      );
      expect(names.length, e).toBeGreaterThan(0);
      for (const n of names) expect(exported, `${n} in ${e}`).toContain(n);
    }
  });

  it('renders with kustomize: PodMonitor, ServiceMonitor, PrometheusRule and the dashboard ConfigMap', () => {
    const out = execFileSync(kubectlPath(), ['kustomize', MONITORING], { encoding: 'utf8' });
    const docs = yaml.loadAll(out) as Raw[];
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'ConfigMap/leader-election-dashboard',
      'PodMonitor/leader-election-agents',
      'PrometheusRule/leader-election',
      'ServiceMonitor/leader-election-webhook',
    ]);
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['leader-election.json']).uid).toBe('leader-election');
  });
});
