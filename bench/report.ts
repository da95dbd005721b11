// Regenerates the benchmark section of docs/benchmarks.md (between
// `<!-- bench:start -->` and `<!-- bench:end -->`, the rest of the page is left
// as it is) and docs/bench-data/failover.svg from every docs/bench-data/*.json.
//   node bench/report.ts     (bench/run.ts calls it at the end)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nonWatch, WATCH_TIMEOUT_S, type ApiLoadResult, type LoadWindow } from './api-load.ts';
import type { FailoverResult, FailoverSample } from './failover.ts';
import type { FaultsResult } from './faults.ts';
import type { FootprintResult } from './footprint.ts';
import type { KindResult, KindTrial, Scenario } from './kind.ts';
import type { ChaosResult } from './chaos.ts';
import type { MemoryResult } from './memory.ts';
import { AGENT_NODE_FLAGS } from '../local-cluster/index.ts';
import type { ScaleResult, ScaleSide } from './scale.ts';
import type { WebhookPhaseResult } from './webhook.ts';
import { BENCH_DOC, DATA_DIR, readAllData, type RunMeta, type Stored } from './lib/env.ts';
import { stripPlot, type Row } from './lib/svg.ts';
import { fmt, mb, summarize, type Summary } from './lib/util.ts';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

type Verdict = 'met' | 'missed' | '—' | 'n/a';

interface TableRow {
  figure: string;
  ours: string;
  go: string;
  ratio: string;
  target: string;
  verdict: Verdict | string;
  how: string;
}

const ms = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '—' : v >= 10_000 ? `${fmt(v / 1000, 1)} s` : `${fmt(v)} ms`;
const signed = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '—' : `${v >= 0 ? '+' : '−'}${fmt(Math.abs(v))} ms`;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? '—'
    : `${fmt(a / b, a / b < 0.1 ? 3 : 2)}×`;
const verdict = (ok: boolean | undefined): Verdict => (ok === undefined ? '—' : ok ? 'met' : 'missed');

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function metaLine(name: string, m: RunMeta | undefined): string {
  if (!m) return `- ${name}: not measured yet`;
  return `- ${name}: ${m.date.slice(0, 16).replace('T', ' ')} UTC, \`${m.command}\`${m.quick ? ' (**quick run**: few trials, short windows)' : ''}, ${m.seconds ?? '?'} s, load average at start ${m.loadavg}`;
}

function sumOf(s: Summary | undefined, key: keyof Summary = 'median'): number | undefined {
  return s ? s[key] : undefined;
}

function failoverRows(f: FailoverResult | undefined, rows: TableRow[]): void {
  const S = f?.summaries ?? {};
  const gate = S['graceful/ours/gate'];
  const goRoc = S['graceful/client-go/holder'];
  const oursTermHolder = S['graceful/ours/sigterm-holder'];
  const oursDelHolder = S['graceful/ours/holder'];
  const goNo = S['graceful-no-release/client-go/holder'];
  const crashLease = f ? Number(f.crashTimings.split('/')[0]!.replace(/s$/, '')) * 1000 : 4000;
  const cGate = S['crash/ours/gate'];
  const cHolder = S['crash/ours/holder'];
  const cGo = S['crash/client-go/holder'];
  const cGoStarted = S['crash/client-go/started-leading'];
  const goStarted = S['graceful/client-go/started-leading'];
  const gT = f?.gracefulTimings ?? '15s/10s/2s';
  const cT = f?.crashTimings ?? '4s/3s/1s';
  rows.push({
    figure: `graceful failover (${gT}): leader pod deleted → new leader's gate True, median (p90, max)`,
    ours: gate ? `${ms(gate.median)} (${ms(gate.p90)}, ${ms(gate.max)})` : '—',
    go: goStarted
      ? `${ms(goStarted.median)} (${ms(goStarted.p90)}, ${ms(goStarted.max)}) to "started leading", ReleaseOnCancel`
      : '—',
    ratio: ratio(sumOf(gate), sumOf(goStarted)),
    target: 'median ≤ 300 ms (client-go: 0–4.4 s with ReleaseOnCancel)',
    verdict: verdict(gate ? gate.median <= 300 : undefined),
    how: `${gate?.n ?? 0} trials per side, alternating; ours: DELETE sent → the gate True seen by a pod watch (Observer); client-go: SIGTERM sent → its log line`,
  });
  rows.push({
    figure: `graceful failover (${gT}), common clock: leader stopped → the Lease names the new holder, median (p90, max)`,
    ours: oursTermHolder
      ? `${ms(oursTermHolder.median)} (${ms(oursTermHolder.p90)}, ${ms(oursTermHolder.max)}) from the agent's SIGTERM; ${ms(oursDelHolder?.median)} from the DELETE`
      : '—',
    go: goRoc
      ? `${ms(goRoc.median)} (${ms(goRoc.p90)}, ${ms(goRoc.max)}) from SIGTERM, ReleaseOnCancel`
      : '—',
    ratio: ratio(sumOf(oursTermHolder), sumOf(goRoc)),
    target: '—',
    verdict: '—',
    how: 'a watch of the Lease in the bench process; ours followers watch and take a released Lease at once, client-go polls every 2–4.4 s',
  });
  rows.push({
    figure: `graceful failover (${gT}), client-go without ReleaseOnCancel: stopped → new holder, median (max)`,
    ours: oursTermHolder ? `${ms(oursTermHolder.median)} (${ms(oursTermHolder.max)}) (always releases)` : '—',
    go: goNo ? `${ms(goNo.median)} (${ms(goNo.max)}), n=${goNo.n}` : '—',
    ratio: ratio(sumOf(oursTermHolder), sumOf(goNo)),
    target: '— (client-go: ~15–24 s)',
    verdict: '—',
    how: 'SIGTERM to a client-go elector built without ReleaseOnCancel: the others wait for the lease to expire; fewer trials (each ~a lease duration), run beside the crash loops',
  });
  rows.push({
    figure: `crash failover (SIGKILL), ${cT}: → new leader's gate True, as lease duration + X: median (max)`,
    ours: cGate ? `${signed(cGate.median - crashLease)} (${signed(cGate.max - crashLease)})` : '—',
    go: cGoStarted
      ? `${signed(cGoStarted.median - crashLease)} (${signed(cGoStarted.max - crashLease)}) to "started leading"`
      : '—',
    ratio: ratio(sumOf(cGate), sumOf(cGoStarted)),
    target: '≤ lease duration + 250 ms (client-go: + up to 2.2 × retry period)',
    verdict: cGate ? `${verdict(cGate.max <= crashLease + 250)} (judged on the max)` : '—',
    how: `${cGate?.n ?? 0} trials per side; the ours and client-go loops run side by side on their own Leases; measured from SIGKILL sent; negative: the old leader's last renew came before the kill`,
  });
  rows.push({
    figure: `crash failover, ${cT}, common clock: SIGKILL → the Lease names the new holder, median (p90, max)`,
    ours: cHolder ? `${ms(cHolder.median)} (${ms(cHolder.p90)}, ${ms(cHolder.max)})` : '—',
    go: cGo ? `${ms(cGo.median)} (${ms(cGo.p90)}, ${ms(cGo.max)})` : '—',
    ratio: ratio(sumOf(cHolder), sumOf(cGo)),
    target: '—',
    verdict: '—',
    how: 'a watch of the Lease in the bench process',
  });
  const aeO = S['crash/ours/after-expiry'];
  const aeG = S['crash/client-go/after-expiry'];
  rows.push({
    figure: `crash failover, ${cT}: the old leader's last renew (as the watch saw it) → new holder, beyond the lease duration, median (max)`,
    ours: aeO ? `${signed(aeO.median)} (${signed(aeO.max)})` : '—',
    go: aeG ? `${signed(aeG.median)} (${signed(aeG.max)})` : '—',
    ratio: ratio(sumOf(aeO), sumOf(aeG)),
    target: '—',
    verdict: '—',
    how: 'the takeover latency itself: ours arms a timer from the last change it saw; client-go notices on its next poll',
  });
}

/** Recomputes the rates from the raw counts (results of earlier versions counted WATCH ends too). */
function rated(w: LoadWindow): LoadWindow {
  const measured = nonWatch(w.leases) + nonWatch(w.pods) + nonWatch(w.podStatus) + nonWatch(w.events);
  const perMinute = (measured * 60) / w.windowS;
  return {
    ...w,
    perMinute,
    perMinuteWithWatches: perMinute + ((w.openLeaseWatches + w.openPodWatches) * 60) / WATCH_TIMEOUT_S,
  };
}

function perGroup(windows: LoadWindow[], side: string, replicas: number): LoadWindow | undefined {
  const w = windows.find((x) => x.side === side && x.replicas === replicas);
  return w && rated(w);
}

function apiRows(a: ApiLoadResult | undefined, rows: TableRow[]): void {
  const w = a?.windows ?? [];
  for (const n of [3, 10]) {
    const o = perGroup(w, 'ours', n);
    const g = perGroup(w, 'client-go', n);
    rows.push({
      figure: `API requests per group per minute, steady, ${n} replicas (15s/10s/2s)`,
      ours: o
        ? `${fmt(o.perMinuteWithWatches, 1)} (${fmt(o.perMinute, 1)} measured + ${o.openLeaseWatches + o.openPodWatches} open watches amortized)`
        : '—',
      go: g ? fmt(g.perMinuteWithWatches, 1) : '—',
      ratio: ratio(o?.perMinuteWithWatches, g?.perMinuteWithWatches),
      target: `≤ 32, flat in replicas (client-go: ~30 + 30 per follower)`,
      verdict: verdict(o ? o.perMinuteWithWatches <= 32 : undefined),
      how: `apiserver_request_total (leases, pods, pods/status, events; every verb but WATCH) over a ${fmt(o?.windowS ?? g?.windowS ?? 0)} s window, kube-apiserver's own Lease writes subtracted; the group's watches from apiserver_longrunning_requests, as open watches × 60 s / 300 s (their timeout); ±1 renew per window from where the window falls`,
    });
  }
  const o3 = perGroup(w, 'ours', 3);
  const o10 = perGroup(w, 'ours', 10);
  if (o3 && o10) {
    const g3 = perGroup(w, 'client-go', 3);
    const g10 = perGroup(w, 'client-go', 10);
    rows.push({
      figure: 'API requests per minute added by 7 more replicas (10 − 3)',
      ours: fmt(o10.perMinuteWithWatches - o3.perMinuteWithWatches, 1),
      go: g3 && g10 ? fmt(g10.perMinuteWithWatches - g3.perMinuteWithWatches, 1) : '—',
      ratio: ratio(
        o10.perMinuteWithWatches - o3.perMinuteWithWatches,
        g3 && g10 ? g10.perMinuteWithWatches - g3.perMinuteWithWatches : undefined,
      ),
      target: 'flat in replicas',
      verdict: verdict(o10.perMinuteWithWatches - o3.perMinuteWithWatches <= 2),
      how: 'difference of the two rows above ("flat" read as ≤ 2 per minute: one watch per follower per 5 min)',
    });
  }
}

function scaleRows(s: ScaleResult | undefined, rows: TableRow[]): void {
  const o = s?.sides.find((x) => x.side === 'ours');
  const g = s?.sides.find((x) => x.side === 'client-go');
  const groups = o?.groups ?? g?.groups ?? 0;
  const desc = `${groups} groups × ${o?.perGroup ?? g?.perGroup ?? 3}`;
  const row = (figure: string, f: (x: ScaleSide) => number, show: (v: number) => string, how: string) =>
    rows.push({
      figure: `scale, ${desc} electors, one process per side: ${figure}`,
      ours: o ? show(f(o)) : '—',
      go: g ? show(f(g)) : '—',
      ratio: ratio(o && f(o), g && f(g)),
      target: '—',
      verdict: '—',
      how,
    });
  row(
    'time until every group has a leader',
    (x) => x.allLeadersMs,
    ms,
    'from spawning the process to the last Lease having a holder, seen by a watch. Ours opens one TLS connection per elector for its Lease watch (HTTP/1.1), and its event loop stalls for seconds while 900 connect and list at once (`bench/many-electors.ts --log-level warn` shows it); client-go multiplexes one HTTP/2 connection',
  );
  row(
    'kube-apiserver CPU at steady state',
    (x) => x.apiserverCores,
    (v) => `${fmt(v * 100)}% of a core`,
    `utime+stime of kube-apiserver from /proc over a ${fmt(o?.windowS ?? g?.windowS ?? 0)} s window (2-core machine, etcd and the other side's process idle)`,
  );
  row(
    'Lease requests per second at steady state',
    (x) => x.requestsPerSecond,
    (v) => fmt(v, 1),
    'apiserver_request_total{resource="leases"} over the window; ours adds one open watch per elector',
  );
  row(
    "the electors' own process: CPU, RSS",
    (x) => x.electorsCores,
    (v) => `${fmt(v * 100)}% of a core`,
    `RSS: ours ${mb(o?.electorsMem?.rss, 0)}, client-go ${mb(g?.electorsMem?.rss, 0)}`,
  );
}

interface Foot {
  role: 'leader' | 'follower';
  cpu: number;
  anon: number;
  rss: number;
  pss: number;
}

function footRows(
  a: ApiLoadResult | undefined,
  f: FootprintResult | undefined,
  fo: FailoverResult | undefined,
  rows: TableRow[],
): void {
  const collect = (side: string): Foot[] =>
    (a?.windows ?? [])
      .filter((w) => w.side === side)
      .flatMap((w) =>
        w.processes.map((p) => ({
          role: p.role,
          cpu: p.cpuMs / 1000 / p.windowS,
          anon: p.mem.anonymous,
          rss: p.mem.rss,
          pss: p.mem.pss,
        })),
      );
  const ours = collect('ours');
  const go = collect('client-go');
  const stat = (xs: Foot[], role: Foot['role'], k: keyof Omit<Foot, 'role'>) => {
    const v = xs.filter((x) => x.role === role).map((x) => x[k]);
    return v.length ? summarize(v) : undefined;
  };
  for (const role of ['leader', 'follower'] as const) {
    const oa = stat(ours, role, 'anon');
    const ga = stat(go, role, 'anon');
    const or = stat(ours, role, 'rss');
    const gr = stat(go, role, 'rss');
    rows.push({
      figure: `agent private memory, idle ${role}: anonymous (RSS)`,
      ours: oa ? `max ${mb(oa.max)}, median ${mb(oa.median)} (max ${mb(or?.max, 0)} RSS)` : '—',
      go: ga
        ? `max ${mb(ga.max)}, median ${mb(ga.median)} (max ${mb(gr?.max, 0)} RSS): the client-go elector process`
        : '—',
      ratio: ratio(oa?.max, ga?.max),
      target: '≤ 20 MB anonymous (a Go sidecar ~10 MB RSS in all)',
      verdict: oa ? `${verdict(oa.max <= 20 * 1024 * 1024)} (judged on the max)` : '—',
      how: `Anonymous and Rss of /proc/PID/smaps_rollup at the end of the API-load windows, 65–70 s after the agents started (${oa?.n ?? 0} agents; 3- and 10-replica groups, 15s/10s/2s)`,
    });
    const oc = stat(ours, role, 'cpu');
    const gc = stat(go, role, 'cpu');
    rows.push({
      figure: `agent CPU, idle ${role} (15s/10s/2s)`,
      ours: oc ? `${fmt(oc.median * 100, 2)}% of a core` : '—',
      go: gc ? `${fmt(gc.median * 100, 2)}%` : '—',
      ratio: ratio(oc?.median, gc?.median),
      target: '— (requests 10m = 1%)',
      verdict: oc ? (oc.median <= 0.01 ? 'within the 10m request' : 'above the 10m request') : '—',
      how: `utime+stime from /proc/PID/stat over the API-load windows (median of ${oc?.n ?? 0})`,
    });
  }
  const cpu = fo?.summaries['graceful/ours/winner-cpu'];
  const cpuC = fo?.summaries['crash/ours/winner-cpu'];
  rows.push({
    figure: 'agent CPU during a failover: the winning agent, from the stop to its gate True',
    ours: cpu ? `${ms(cpu.median)} CPU graceful; ${ms(cpuC?.median)} crash (medians)` : '—',
    go: '—',
    ratio: '—',
    target: '—',
    verdict: '—',
    how: 'utime+stime of the follower that won, before the stop and after its gate turned True',
  });
  rows.push({
    figure: 'agent bundle (dist/agent.mjs)',
    ours: f ? `${fmt(f.bundleBytes / 1024)} KiB` : '—',
    go: '—',
    ratio: '—',
    target: '—',
    verdict: '—',
    how: 'file size after `node scripts/bundle.mjs` (esbuild, minified)',
  });
  rows.push({
    figure: 'node_modules needed at run time',
    ours: f
      ? f.selfContained
        ? '0 bytes (self-contained)'
        : `NOT self-contained: ${f.externalImports.join(', ') || f.isolatedRun.firstLine}`
      : '—',
    go: '—',
    ratio: '—',
    target: '—',
    verdict: f ? (f.selfContained ? 'met' : 'missed') : '—',
    how: 'every agent in this benchmark ran from a copy of the bundle in a directory with no node_modules on its path; imports scanned: Node built-ins only',
  });
}

function faultRows(fr: FaultsResult | undefined, rows: TableRow[]): void {
  rows.push({
    figure: 'time with two Ready leaders across the fault matrix',
    ours: fr
      ? `${fmt(fr.overlapMs)} ms (${fr.overlaps.length} moments) over ${fr.faults.length} faults`
      : '—',
    go: 'not guarded (no readiness fencing)',
    ratio: '—',
    target: '0',
    verdict: fr
      ? fr.faults.length === 0
        ? '—'
        : verdict(fr.overlapMs === 0 && fr.overlaps.length === 0)
      : '—',
    how: fr
      ? `two or more ready endpoints in the Service's EndpointSlices (Observer); ${fr.timings}, fencing margin ${fr.fencingMarginMs / 1000} s > probe period ${fr.probe.periodS} s + timeout ${fr.probe.timeoutS} s`
      : '—',
  });
  rows.push({
    figure: 'worst time with no ready endpoint after a fault',
    ours: fr ? ms(fr.worstLeaderlessMs) : '—',
    go: '—',
    ratio: '—',
    target: '—',
    verdict: '—',
    how: 'per fault: time with no ready endpoint from the fault until the group settled again',
  });
}

function webhookRows(w: WebhookPhaseResult | undefined, rows: TableRow[]): void {
  if (!w || !w.available) {
    rows.push({
      figure: 'webhook: AdmissionReview throughput on one core, p99',
      ours: `TODO: not measured${w && !w.available ? ` (${w.reason})` : ''}`,
      go: '—',
      ratio: '—',
      target: '≥ 5,000/s, p99 ≤ 5 ms',
      verdict: 'n/a',
      how: '`node bench/run.ts --only webhook` once webhook/admission/server.ts and webhook/main.ts exist',
    });
    rows.push({
      figure: 'pod create latency added by the webhook through a real apiserver, p99',
      ours: 'TODO: not measured',
      go: '—',
      ratio: '—',
      target: 'p99 ≤ 10 ms',
      verdict: 'n/a',
      how: '—',
    });
    return;
  }
  const isSize = (r: { podBytes: number }, kb: number) =>
    Math.round(r.podBytes / 1024) >= kb * 0.9 && Math.round(r.podBytes / 1024) <= kb * 1.2;
  const med = (xs: number[]) => summarize(xs).median;
  const spread = (xs: number[], f: (v: number) => string) =>
    `${f(med(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  for (const kb of [5, 200]) {
    // Ours and the ceiling (a bare HTTPS server replaying our answers on the same core), per
    // connection count, over the repeats: one row each, so that the latency target is judged at
    // every load measured (at equal throughput, more connections only queue longer).
    const ours = w.load.filter((r) => (r.server ?? 'webhook') === 'webhook' && isSize(r, kb));
    const ceiling = w.load.filter((r) => r.server === 'ceiling' && isSize(r, kb));
    const concurrencies = [...new Set(ours.map((r) => r.concurrency))].sort((a, b) => a - b);
    for (const concurrency of concurrencies) {
      const o = ours.filter((r) => r.concurrency === concurrency);
      const c = ceiling.filter((r) => r.concurrency === concurrency);
      const oRps = o.map((r) => r.rps);
      const oP99 = o.map((r) => r.p99us / 1000);
      const cRps = c.map((r) => r.rps);
      const cP99 = c.map((r) => r.p99us / 1000);
      const ceilingText = c.length
        ? `; the ceiling: ${spread(cRps, (v) => fmt(v))}/s, p99 ${spread(cP99, (v) => fmt(v, 2))} ms; ours ÷ ceiling: throughput ${fmt(med(oRps) / med(cRps), 2)}×, p99 ${fmt(med(oP99) / med(cP99), 2)}×`
        : '';
      rows.push({
        figure: `webhook: AdmissionReview throughput on one core, ~${kb} KB pod, ${concurrency} connections: reviews/s, p99 (median of ${o.length} repeats, min–max)`,
        ours: `${spread(oRps, (v) => fmt(v))}/s, p99 ${spread(oP99, (v) => fmt(v, 2))} ms${ceilingText}`,
        go: '—',
        ratio: c.length ? `${fmt(med(oRps) / med(cRps), 2)}× of the ceiling` : '—',
        target: kb === 5 ? '≥ 5,000/s, p99 ≤ 5 ms' : 'p99 ≤ 10 ms',
        verdict: verdict(kb === 5 ? med(oRps) >= 5000 && med(oP99) <= 5 : med(oP99) <= 10),
        how: `dist/webhook.mjs pinned to core 0 (used ${fmt(med(o.map((r) => r.serverCores)) * 100)}% of it); the ceiling (bench/webhook-load/ceiling.mjs: same core, certificate, TLS and Node, reads each body and replays our recorded answer) in alternate runs; the Go keep-alive load generator and the idle plane on core 1; ${fmt(o[0]!.seconds)} s after a 2 s warm-up each; every review injects (full patch)`,
      });
    }
  }
  const c = w.creates;
  const mean = (h: { sum: number; count: number }) => (h.sum / Math.max(1, h.count)) * 1000;
  const apiserverMean = mean(c.apiserverHistogram);
  // The webhook's own time for the same calls (request received → response sent), beside the
  // API server's: the rest is the API server's client, the connection and the HTTP stack.
  const own = c.webhookHistogram;
  const pinned = c.webhookPinned ?? own === undefined;
  const ownText = own
    ? `; the webhook's own webhook_admission_duration_seconds over the same calls: ${own.count} requests, mean ${fmt(mean(own), 2)} ms (${fmt((mean(own) / Math.max(1e-9, apiserverMean)) * 100)}% of the API server's), p99 in the bucket ≤ ${fmt((c.webhookP99LeS ?? Number.NaN) * 1000, 2)} ms`
    : '';
  // With repeats (3 since issue 16): the median repeat's added p99 and the spread; the pooled
  // distributions for the rest.
  const reps = c.repeats ?? [];
  const addedP99 = reps.length ? med(reps.map((r) => r.addedP99Ms)) : c.addedP99Ms;
  const repeatText = reps.length
    ? `; p99 added per repeat ${reps.map((r) => `+${fmt(r.addedP99Ms, 1)}`).join(' / ')} ms (median +${fmt(addedP99, 1)}), the API server's own create p99 ${reps.map((r) => fmt(r.withoutP99Ms, 1)).join(' / ')} ms`
    : '';
  rows.push({
    figure: `pod create latency added by the webhook through a real apiserver (~5 KB pod): p50, p99${reps.length ? ` (${reps.length} repeats pooled)` : ''}`,
    ours: `+${fmt(c.addedP50Ms, 1)} ms, +${fmt(c.addedP99Ms, 1)} ms (with: ${fmt(c.withWebhook.median, 1)} / ${fmt(c.withWebhook.p99, 1)} ms; without: ${fmt(c.withoutWebhook.median, 1)} / ${fmt(c.withoutWebhook.p99, 1)} ms)${repeatText}`,
    go: '—',
    ratio: `${fmt(c.withWebhook.median / c.withoutWebhook.median, 2)}× / ${fmt(c.withWebhook.p99 / c.withoutWebhook.p99, 2)}× the API server's own create (p50 / p99)`,
    target: 'p99 ≤ 10 ms',
    verdict: verdict(addedP99 <= 10 && c.addedP99Ms <= 10),
    how: `${c.n} creates per side, alternating, timed by the client, the webhook ${pinned ? 'pinned to core 0' : 'free to run on either core'}; kube-apiserver's apiserver_admission_webhook_admission_duration_seconds: ${c.apiserverHistogram.count} calls, mean ${fmt(apiserverMean, 2)} ms, p99 in the bucket ≤ ${fmt(c.apiserverP99LeS * 1000)} ms${ownText}; ${c.injected}/${c.n + 10} pods injected`,
  });
}

function failoverDetail(f: FailoverResult | undefined): string {
  if (!f) return '';
  const keys = Object.keys(f.summaries).sort();
  const rows = keys.map((k) => {
    const s = f.summaries[k]!;
    return [k, String(s.n), ms(s.min), ms(s.p25), ms(s.median), ms(s.p75), ms(s.p90), ms(s.max)];
  });
  return [
    '#### Failover distributions',
    '',
    `Graceful at ${f.gracefulTimings}, crash at ${f.crashTimings}. Metrics: \`holder\` stop → the Lease names the new holder (bench's Lease watch);` +
      " `sigterm-holder` the agent's SIGTERM (sent by the pod runner) → new holder; `gate` stop → new leader's gate True; `endpoint` stop → new leader is" +
      ' the only ready endpoint; `started-leading` stop → the client-go log line; `after-expiry` last renew seen → new holder − lease duration;' +
      ' `winner-cpu` CPU ms of the winning agent. Chart: [failover.svg](bench-data/failover.svg).',
    '',
    table(['scenario/side/metric', 'n', 'min', 'p25', 'median', 'p75', 'p90', 'max'], rows),
    '',
    f.errors.length
      ? `Failed trials (${f.errors.length}): ${f.errors.map((e) => `\`${e.slice(0, 200)}\``).join('; ')}`
      : 'No failed trials.',
    '',
  ].join('\n');
}

function apiDetail(a: ApiLoadResult | undefined): string {
  if (!a) return '';
  const v = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || '0';
  const rows = a.windows
    .map(rated)
    .map((w) => [
      w.side,
      String(w.replicas),
      fmt(w.windowS),
      v(w.leases),
      v(w.pods),
      v(w.podStatus),
      v(w.events),
      `${w.openLeaseWatches} / ${w.openPodWatches}`,
      String(w.backgroundLeaseWrites),
      fmt(w.perMinute, 1),
      fmt(w.perMinuteWithWatches, 1),
    ]);
  return [
    '#### API load per window (counts over the window)',
    '',
    table(
      [
        'side',
        'replicas',
        'window s',
        'leases',
        'pods',
        'pods/status',
        'events',
        'open watches leases / pods',
        "apiserver's own lease writes subtracted",
        'req/min measured (no WATCH)',
        'req/min with watches',
      ],
      rows,
    ),
    '',
  ].join('\n');
}

function scaleDetail(s: ScaleResult | undefined): string {
  if (!s) return '';
  const rows = s.sides.map((x) => [
    x.side,
    `${x.groups} × ${x.perGroup}`,
    ms(x.halfLeadersMs),
    ms(x.allLeadersMs),
    `${fmt(x.apiserverCores * 100)}%`,
    fmt(x.requestsPerSecond, 1),
    Object.entries(x.leaseRequestsPerSecond)
      .map(([k, n]) => `${k} ${fmt(n, 1)}`)
      .join(', '),
    String(x.openLeaseWatches),
    `${fmt(x.electorsCores * 100)}% / ${mb(x.electorsMem?.rss, 0)}`,
    `${x.heldAtEnd}/${x.groups}`,
    String(x.transitionsInWindow),
  ]);
  return [
    '#### Scale',
    '',
    s.note,
    '',
    table(
      [
        'side',
        'electors',
        'half the groups led',
        'all groups led',
        'apiserver CPU',
        'lease req/s',
        'by verb',
        'open lease watches',
        'electors CPU / RSS',
        'groups led at end',
        'holder changes in window',
      ],
      rows,
    ),
    '',
  ].join('\n');
}

function faultDetail(fr: FaultsResult | undefined): string {
  if (!fr) return '';
  const rows = fr.faults.map((x, i) => [
    String(i + 1),
    x.kind,
    x.heldMs ? ms(x.heldMs) : '—',
    ms(x.recoveredMs),
    ms(x.leaderlessMs),
    String(x.maxReady),
  ]);
  return [
    '#### Fault matrix',
    '',
    `${fr.faults.length} faults at ${fr.timings} on 3 replicas, random order, each at a random moment (0–3 s after the group settled); stop-pod and cut-relay held for the lease duration + 1–3 s.`,
    '',
    table(
      [
        '#',
        'fault',
        'held',
        'fault → another pod is the only ready endpoint',
        'no ready endpoint',
        'max ready endpoints',
      ],
      rows,
    ),
    '',
    fr.errors.length
      ? `Faults that did not recover as expected: ${fr.errors.map((e) => `\`${e}\``).join('; ')}`
      : '',
    '',
  ].join('\n');
}

function webhookDetail(w: WebhookPhaseResult | undefined): string {
  if (!w || !w.available) return '';
  const rows = w.load.map((r) => [
    r.server ?? 'webhook',
    String(r.repeat ?? 1),
    `${fmt(r.podBytes / 1024)} KB`,
    String(r.concurrency),
    fmt(r.rps),
    fmt(r.p50us / 1000, 2),
    fmt(r.p90us / 1000, 2),
    fmt(r.p99us / 1000, 2),
    fmt(r.p999us / 1000, 2),
    fmt(r.maxus / 1000, 1),
    String(r.errors),
    `${fmt(r.serverCores * 100)}%`,
    `${fmt(r.generatorCores * 100)}%`,
  ]);
  return [
    '#### Webhook',
    '',
    table(
      [
        'server',
        'repeat',
        'pod',
        'connections',
        'reviews/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'p99.9 ms',
        'max ms',
        'errors',
        'server CPU (core 0)',
        'generator CPU (core 1)',
      ],
      rows,
    ),
    '',
  ].join('\n');
}

function svgRows(f: FailoverResult): Row[] {
  const pick = (
    scenario: FailoverSample['scenario'],
    side: FailoverSample['side'],
    k: keyof FailoverSample,
  ) =>
    f.samples
      .filter((s) => s.scenario === scenario && s.side === side)
      .map((s) => s[k] as number | undefined)
      .filter((v): v is number => typeof v === 'number' && v > 0);
  return [
    {
      label: 'graceful, ours: pod deleted → gate True',
      side: 'ours',
      values: pick('graceful', 'ours', 'gateMs'),
    },
    {
      label: 'graceful, ours: SIGTERM → new holder',
      side: 'ours',
      values: pick('graceful', 'ours', 'sigtermToHolderMs'),
    },
    {
      label: 'graceful, client-go (release): → new holder',
      side: 'client-go',
      values: pick('graceful', 'client-go', 'holderMs'),
    },
    {
      label: 'graceful, client-go (no release): → new holder',
      side: 'client-go',
      values: pick('graceful-no-release', 'client-go', 'holderMs'),
    },
    { label: 'crash, ours: SIGKILL → new holder', side: 'ours', values: pick('crash', 'ours', 'holderMs') },
    { label: 'crash, ours: SIGKILL → gate True', side: 'ours', values: pick('crash', 'ours', 'gateMs') },
    {
      label: 'crash, client-go: SIGKILL → new holder',
      side: 'client-go',
      values: pick('crash', 'client-go', 'holderMs'),
    },
  ];
}

const SCENARIO_TEXT: Record<Scenario, string> = {
  'delete-exits': 'leader pod deleted, app exits on SIGTERM → first answer by the new leader',
  'delete-ignores': 'leader pod deleted, app ignores SIGTERM (30 s grace) → first answer by the new leader',
  'agent-sigkill': "leader's agent SIGKILLed (in a row) → answered again",
  'app-sigkill': "leader's app SIGKILLed → answered again",
};
const SCENARIO_TARGET: Record<Scenario, string> = {
  'delete-exits': '≤ 1 s',
  'delete-ignores': '≤ 1 s (issue 13)',
  'agent-sigkill': '≤ 2 s each, not growing (issue 13)',
  'app-sigkill': '—',
};

/** The kind phase: end to end through the ClusterIP, and the side-by-side with client-go. */
function kindDetail(k: Stored<KindResult> | undefined): string {
  if (!k) return '';
  const r = k.result;
  const range = (v: (number | undefined)[]) => {
    const xs = v.filter((x): x is number => x !== undefined);
    if (xs.length === 0) return '—';
    const s = summarize(xs);
    return `${ms(s.median)} (${ms(s.min)}–${ms(s.max)}, n=${s.n})`;
  };
  const rows: string[][] = [];
  for (const scenario of Object.keys(SCENARIO_TEXT) as Scenario[]) {
    const cellOf = (list: KindTrial[] | undefined) => {
      if (!list?.length) return '—';
      const same = list.filter((t) => t.samePod).length;
      const who =
        same === 0 ? 'another pod' : same === list.length ? 'the same pod' : `the same pod ${same}×`;
      return `${range(list.map((t) => t.answeredMs))}, ${who}`;
    };
    rows.push([
      SCENARIO_TEXT[scenario],
      cellOf(r.trials['readiness-gate'][scenario]),
      cellOf(r.trials.label[scenario]),
      SCENARIO_TARGET[scenario],
    ]);
  }
  const all = (['readiness-gate', 'label'] as const).map((routing) =>
    Object.values(r.trials[routing]).flatMap((l) => l ?? []),
  );
  const sum = (list: KindTrial[], f: (t: KindTrial) => number) => list.reduce((a, t) => a + f(t), 0);
  const most = (list: KindTrial[], f: (t: KindTrial) => number) => Math.max(0, ...list.map(f));
  rows.push([
    'longest time with no answer, any scenario',
    ms(most(all[0]!, (t) => t.longestGapMs)),
    ms(most(all[1]!, (t) => t.longestGapMs)),
    '—',
  ]);
  rows.push([
    'answers by a pod that no longer held the Lease (latest after the Lease moved)',
    `${sum(all[0]!, (t) => t.nonLeaderAnswers)} (${ms(most(all[0]!, (t) => t.nonLeaderLateMs))})`,
    `${sum(all[1]!, (t) => t.nonLeaderAnswers)} (${ms(most(all[1]!, (t) => t.nonLeaderLateMs))})`,
    '0',
  ]);
  rows.push([
    'answers by a pod after another had answered (two pods serving in turns) / most ready endpoints at once',
    `${sum(all[0]!, (t) => t.interleavedAnswers ?? 0)} / ${most(all[0]!, (t) => t.maxReadyEndpoints)}`,
    `${sum(all[1]!, (t) => t.interleavedAnswers ?? 0)} / ${most(all[1]!, (t) => t.maxReadyEndpoints)}`,
    '0 / 1',
  ]);
  const del = r.trials['readiness-gate']['delete-exits'] ?? [];
  const b = (f: (t: KindTrial) => number | undefined) =>
    ms(summarize(del.map(f).filter((x): x is number => x !== undefined)).median);
  const mem = (xs: number[]) => (xs.length ? xs.map((x) => mb(x)).join(', ') : '—');
  const pc = r.podCreate;
  const side: string[][] = [
    [
      'leader pod deleted → the Lease held by another pod',
      range(r.ours.deleteLeaseMs),
      range(r.clientgo.deleteLeaseMs),
      ratio(summarize(r.ours.deleteLeaseMs).median, summarize(r.clientgo.deleteLeaseMs).median),
    ],
    [
      'SIGKILL of the elector (our agent; client-go the whole process) → the Lease renewed by a live process',
      range(r.ours.sigkillLeaseMs),
      range(r.clientgo.sigkillLeaseMs),
      ratio(summarize(r.ours.sigkillLeaseMs).median, summarize(r.clientgo.sigkillLeaseMs).median),
    ],
  ];
  return [
    '### On kind (`make bench`)',
    '',
    `${r.cluster}. The product's images, installed by make kind-up; lease 6s, renew deadline 3s, retry 1s; 3 replicas; a client pod requesting the Service's ClusterIP every 50 ms through kube-proxy, logging who answered (bench/kind.ts). Median (min–max, n trials).`,
    '',
    table(['figure', 'readiness-gate', 'label', 'target'], rows),
    '',
    `Where the time goes (readiness-gate, pod deleted, app exits, medians from the DELETE): Lease held by the new leader ${b((t) => t.breakdown.leaseMs)}, its gate True ${b((t) => t.breakdown.gateMs)}, Ready ${b((t) => t.breakdown.readyMs)}, a ready endpoint ${b((t) => t.breakdown.endpointMs)}, first answer through kube-proxy ${b((t) => t.answeredMs)}.`,
    '',
    "client-go's elector side by side (`local-cluster/clientgo`, its own image, 3 pods, ReleaseOnCancel, the same timings, on a Lease of its own; it has no traffic path, so only the Lease is compared):",
    '',
    table(['figure', 'ours', 'client-go', 'ratio'], side),
    '',
    `Agent memory, the container's cgroup working set (crictl stats), idle: leader ${mem(r.agentMemory.leader)}; followers ${mem(r.agentMemory.follower)}.`,
    '',
    `Pod-create latency through the in-cluster webhook (server-side dry-run creates from the host, alternated, n=${pc.optedIn.n} each): opted in p50 ${ms(pc.optedIn.median)}, p99 ${ms(pc.optedIn.p99)}; not opted in (the webhook not called) p50 ${ms(pc.plain.median)}, p99 ${ms(pc.plain.p99)}; added by the webhook p50 ${signed(pc.optedIn.median - pc.plain.median)}, p99 ${signed(pc.optedIn.p99 - pc.plain.p99)} (${ratio(pc.optedIn.p99, pc.plain.p99)} the API server's own create at p99).`,
    '',
  ].join('\n');
}

/** The chaos phase: safety over a long run of faults on kind, client-go contending for a third of it. */
function chaosDetail(c: Stored<ChaosResult> | undefined): string {
  if (!c) return '';
  const r = c.result;
  const counts = new Map<string, number>();
  for (const f of r.faults) counts.set(f.fault, (counts.get(f.fault) ?? 0) + 1);
  const rec = r.faults.map((f) => f.recoveredMs).filter((x): x is number => x !== undefined);
  const notRecovered = r.faults.length - rec.length;
  const errors = r.faults.filter((f) => f.error).length;
  const takeovers = r.handovers.filter((h) => h.how === 'takeover');
  const margins = takeovers.map((h) => h.marginMs ?? 0);
  const cgHeld = r.handovers.filter((h) => h.to.startsWith('cg-')).length;
  const s = summarize(rec);
  return [
    '### Chaos on kind (`make bench`)',
    '',
    `${r.cluster}. One group of 3 replicas, readiness-gate routing, timings ${r.timings}; traffic to its ClusterIP every 50 ms (bench/chaos.ts). ${r.faults.length} faults in a row, each at a random phase of the renew cycle (0–1 retry period after a renew), on the current holder's pod unless a group fault: ${[...counts].map(([f, n]) => `${f} ×${n}`).join(', ')}. Paused, frozen and cut-off faults last 1.5–12 s (0.5 × renew deadline to 2 × lease). A client-go elector (\`local-cluster/clientgo\`, ${r.clientGoTimings}, ReleaseOnCancel) contended on the same Lease from ${Math.round(r.clientGoPart.from / 1000)} s to ${Math.round(r.clientGoPart.to / 1000)} s of the ${Math.round(r.durationMs / 1000)} s run and took the Lease ${cgHeld} times.`,
    '',
    table(
      ['figure', 'measured', 'target'],
      [
        [
          'time with two ready endpoints (episodes, total)',
          `${r.twoReady.count}, ${ms(r.twoReady.totalMs)}`,
          '0',
        ],
        [
          'holder changes where the old holder (agent or client-go) may still have believed it led when the new one acquired',
          `${r.overlaps.length} of ${takeovers.length} takeovers (smallest margin ${ms(Math.min(...margins))}); ${r.handovers.length - takeovers.length} changes by release`,
          '0',
        ],
        [
          'answers by a pod after another had answered since its own last answer (two pods serving in turns)',
          `${r.interleavedAnswers} of ${r.answers}`,
          '0',
        ],
        [
          'longest time with no ready endpoint (client-go holding the Lease left out)',
          ms(r.noReady.longestMs),
          '—',
        ],
        [
          'from a fault to one serving holder again, median (max)',
          `${ms(s.median)} (${ms(s.max)}); not within 60 s: ${notRecovered}; faults that could not be applied: ${errors}`,
          '—',
        ],
      ],
    ),
    '',
    'How the overlap is judged (bench/lib/chaos-analysis.ts): from every version of the Lease, a holder believes it leads until its last applied renew (its renewTime, stamped when sent) plus its renew deadline, unless it released the Lease first or its process was killed first; the next holder leads from its acquireTime. One node, one clock. The margin is a lower bound: a holder that saw a 409 or the new record stopped earlier.',
    '',
  ].join('\n');
}

/** The memory phase: the agent's anonymous memory under each V8/Node setting, with its costs. */
function memoryDetail(m: Stored<MemoryResult> | undefined): string {
  if (!m) return '';
  const r = m.result;
  const pct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} %` : '—');
  return [
    '### Agent memory by V8/Node setting (`make bench`, phase memory)',
    '',
    `Two agents (the production bundle) electing on one Lease of the local control plane, timings 6s/3s/1s; after 10 s of settling, anonymous memory (Anonymous of /proc/PID/smaps_rollup, what \`process_anonymous_memory_bytes\` exports) sampled every second for ${r.windowS} s, the max kept; CPU over the same window; then SIGTERM to the leader and the time until the other logs "started leading", and the new leader's CPU time and anonymous memory's max over the 5 s from the SIGTERM (bench/memory.ts). Target: ≤ 18 MB (issue 16).`,
    '',
    table(
      [
        'setting',
        'flags',
        'leader max',
        'follower max',
        'RSS max',
        'CPU idle (leader / follower)',
        'threads',
        'graceful failover',
        'new leader over the failover: CPU, memory max',
      ],
      r.rows.map((x) => [
        x.setting,
        `\`${x.flags}\``,
        mb(x.leaderAnonMax),
        mb(x.followerAnonMax),
        mb(x.rssMax),
        `${pct(x.leaderCpuPct)} / ${pct(x.followerCpuPct)}`,
        String(x.threads),
        x.failoverMs === undefined ? '—' : ms(x.failoverMs),
        x.failoverCpuMs === undefined || x.failoverAnonMax === undefined
          ? '—'
          : `${x.failoverCpuMs.toFixed(0)} ms CPU in 5 s, ${mb(x.failoverAnonMax)}`,
      ]),
    ),
    '',
    `MB here are MiB. The image's ENTRYPOINT and the local images run \`${AGENT_NODE_FLAGS.join(' ')}\` (local-cluster/node/images.ts AGENT_NODE_FLAGS, agent.Dockerfile): the least memory with no cost in idle CPU or failover time. \`--lite-mode\` does most of it (no optimizing compiler: the agent's code is never hot); V8's \`--single-threaded\` alone does not stop Node's own platform threads, \`--v8-pool-size=0\` does. A failover costs the new leader the same CPU under every setting (40–50 ms in the 5 s after the SIGTERM, at the 10 ms resolution of /proc's CPU ticks), and its memory through the takeover reaches about the steady leader’s max (16.9 MB with the chosen flags, against 17.1 MB).`,
    '',
  ].join('\n');
}

export async function writeReport(): Promise<string[]> {
  const data = readAllData();
  const get = <T>(k: string) => data[k] as Stored<T> | undefined;
  const fo = get<FailoverResult>('failover');
  const api = get<ApiLoadResult>('api-load');
  const sc = get<ScaleResult>('scale');
  const fp = get<FootprintResult>('footprint');
  const wh = get<WebhookPhaseResult>('webhook');
  const fa = get<FaultsResult>('faults');
  const kd = get<KindResult>('kind');
  const ch = get<ChaosResult>('chaos');
  const mem = get<MemoryResult>('memory');
  const rows: TableRow[] = [];
  failoverRows(fo?.result, rows);
  faultRows(fa?.result, rows);
  apiRows(api?.result, rows);
  scaleRows(sc?.result, rows);
  footRows(api?.result, fp?.result, fo?.result, rows);
  webhookRows(wh?.result, rows);
  const anyMeta = fo?.meta ?? api?.meta ?? sc?.meta ?? fa?.meta ?? wh?.meta ?? fp?.meta;
  const section = [
    START,
    '',
    '## Comparisons (`make bench`)',
    '',
    'Generated by `node bench/run.ts` (`make bench`) from `docs/bench-data/*.json`; do not edit by hand. Ours and client-go run in',
    'the same run on the same local control plane; our agents are the production bundle run by the pod runner as real processes',
    '(pods made by a Deployment whose template the injection function filled in), client-go is `local-cluster/clientgo` (k8s.io/client-go',
    'v0.36.3 `leaderelection` with a `LeaseLock`), both with the same timings. Ratio = ours ÷ client-go (below 1: ours is lower).',
    '',
    anyMeta
      ? `Machine: ${anyMeta.machine}; ${anyMeta.versions}. The machine is shared with other work; load averages below.`
      : '',
    '',
    ...['kind', 'chaos', 'memory', 'failover', 'faults', 'api-load', 'scale', 'footprint', 'webhook'].map(
      (k) => metaLine(k, data[k]?.meta),
    ),
    '',
    table(
      ['figure', 'ours', 'client-go', 'ratio', 'target (design)', 'met?', 'how measured'],
      rows.map((r) => [r.figure, r.ours, r.go, r.ratio, r.target, r.verdict, r.how]),
    ),
    '',
    kindDetail(kd),
    chaosDetail(ch),
    memoryDetail(mem),
    failoverDetail(fo?.result),
    faultDetail(fa?.result),
    apiDetail(api?.result),
    scaleDetail(sc?.result),
    webhookDetail(wh?.result),
    'Raw samples: [docs/bench-data/](bench-data/) (`kind.json`, `chaos.json`, `memory.json`, `failover.json`, `faults.json`, `api-load.json`, `scale.json`, `footprint.json`, `webhook.json`).',
    '',
    END,
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');

  let doc = readFileSync(BENCH_DOC, 'utf8');
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  if (s >= 0 && e > s) doc = doc.slice(0, s) + section + doc.slice(e + END.length);
  else doc = `${doc.trimEnd()}\n\n${section}\n`;
  // The page is checked by `make lint` (prettier --check): write it formatted.
  const prettier = await import('prettier');
  const config = (await prettier.resolveConfig(BENCH_DOC)) ?? {};
  writeFileSync(BENCH_DOC, await prettier.format(doc, { ...config, filepath: BENCH_DOC }));
  const written = [BENCH_DOC];
  if (fo) {
    const crashLeaseMs = Number(fo.result.crashTimings.split('/')[0]!.replace(/s$/, '')) * 1000;
    const svgPath = join(DATA_DIR, 'failover.svg');
    writeFileSync(
      svgPath,
      stripPlot({
        title: 'Failover: ours (blue) vs client-go (red)',
        subtitle: `graceful at ${fo.result.gracefulTimings}, crash at ${fo.result.crashTimings}; ${fo.meta.date.slice(0, 10)}, ${fo.meta.command}`,
        rows: svgRows(fo.result),
        markers: [
          { at: 300, label: 'target: median ≤ 300 ms', rows: [0, 0] },
          { at: crashLeaseMs, label: 'lease duration', rows: [4, 6] },
          { at: crashLeaseMs + 250, label: '+250 ms', rows: [5, 5] },
        ],
      }),
    );
    written.push(svgPath);
  }
  return written;
}

if (import.meta.main) {
  for (const p of await writeReport()) process.stderr.write(`wrote ${p}\n`);
}
