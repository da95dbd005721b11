// make bench: every comparison of docs/benchmarks.md, ours and client-go in the
// same run. The `kind` phase runs end to end on a kind cluster (bench/kind.ts: real
// kubelet, kube-proxy, the product's images; created with make kind-up's scripts and
// deleted after, or the cluster BENCH_KUBECONFIG names); the others on the local control
// plane (etcd, kube-apiserver, kube-controller-manager as local processes, the pod runner
// for the kubelet), where API load, scale and the webhook's own cost are measured without
// a node's noise.
//
//   node bench/run.ts [--trials N] [--quick] [--only a,b] [--faults N] [--chaos N]
//
// Phases: kind, chaos, failover, memory, api-load, scale, footprint, webhook, faults (memory: the
// agent's anonymous memory under each V8/Node setting, bench/memory.ts). kind and chaos
// run on kind (chaos: bench/chaos.ts, N faults in a row with a client-go elector contending
// for part of the run). Each writes
// docs/bench-data/<phase>.json; then docs/benchmarks.md (between the bench
// markers) and docs/bench-data/failover.svg are regenerated from every result
// file present, so a --only run refreshes its rows and keeps the others.
// Progress goes to stderr. Never part of `make test`.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AGENT_BUNDLE,
  AGENT_IMAGE,
  buildClientGoElector,
  ControlPlane,
  grantAgentRole,
  type ImageMap,
  PodRunner,
} from '../local-cluster/index.ts';
import { runFailover } from './failover.ts';
import { runApiLoad } from './api-load.ts';
import { runScale, buildManyClientGo } from './scale.ts';
import { runFootprint } from './footprint.ts';
import { runWebhook } from './webhook.ts';
import { runFaults } from './faults.ts';
import { runKind } from './kind.ts';
import { runChaos } from './chaos.ts';
import { runMemory } from './memory.ts';
import { LeaseTap } from './lib/lease-tap.ts';
import { createNamespace, deleteNamespace } from './lib/groups.ts';
import { loadavg, machine, versions, writeData, type RunMeta } from './lib/env.ts';
import { writeReport } from './report.ts';
import { elapsedS, progress } from './lib/util.ts';

const PHASES = [
  'kind',
  'chaos',
  'failover',
  'memory',
  'api-load',
  'scale',
  'footprint',
  'webhook',
  'faults',
] as const;
type Phase = (typeof PHASES)[number];

const { values } = parseArgs({
  options: {
    trials: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    faults: { type: 'string' },
    chaos: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: node bench/run.ts [--trials N] [--quick] [--only ' +
      PHASES.join(',') +
      '] [--faults N] [--chaos N]\n' +
      '  --trials N   failover trials per side and scenario (default 30; 3 with --quick); kind: at most 10 (2 with --quick)\n' +
      '  --quick      a smoke run of a few minutes: 3 trials, 10 s windows, 50 scale groups, 2 faults\n' +
      "  --only LIST  run only these phases (the report keeps the other phases' last results)\n" +
      '  --faults N   faults injected in the fault matrix (default 8; 2 with --quick)\n' +
      '  --chaos N    faults of the chaos run on kind (default 100; 10 with --quick)\n',
  );
  process.exit(0);
}

const quick = values.quick!;
const trials = Number(values.trials ?? (quick ? 3 : 30));
const faults = Number(values.faults ?? (quick ? 2 : 8));
const chaosFaults = Number(values.chaos ?? (quick ? 10 : 100));
const only = values.only ? (values.only.split(',').map((s) => s.trim()) as Phase[]) : [...PHASES];
for (const p of only) {
  if (!PHASES.includes(p)) {
    process.stderr.write(`unknown phase "${p}"; phases: ${PHASES.join(', ')}\n`);
    process.exit(2);
  }
}
if (
  !Number.isInteger(trials) ||
  trials < 1 ||
  !Number.isInteger(faults) ||
  faults < 0 ||
  !Number.isInteger(chaosFaults) ||
  chaosFaults < 1
) {
  process.stderr.write('--trials and --chaos must be ≥ 1, --faults ≥ 0\n');
  process.exit(2);
}
const command = ['node bench/run.ts', ...process.argv.slice(2)].join(' ');

/** Windows and sizes: full run and --quick. */
const plan = {
  apiWindowS: quick ? 10 : 60,
  apiSettleS: quick ? 2 : 5,
  scaleGroups: quick ? 50 : 300,
  scaleWindowS: quick ? 10 : 60,
  scaleSettleS: quick ? 3 : 10,
  // Each takes about a lease duration (15 s): fewer, run beside the crash loops.
  noReleaseTrials: quick ? 1 : Math.max(3, Math.ceil(trials / 4)),
  webhookSeconds: quick ? 2 : 10,
  webhookCreates: quick ? 20 : 200,
};

/**
 * A phase on kind (no local plane): its own cluster, or BENCH_KUBECONFIG's. Returns the
 * failure, or undefined.
 */
async function kindClusterPhase(
  phase: 'kind' | 'chaos',
  count: number,
  run: (cluster: { kubeconfig?: string; context?: string }) => Promise<{ cluster: string }>,
): Promise<string | undefined> {
  const start = elapsedS();
  const load = loadavg();
  progress(`=== ${phase} (load average ${load}) ===`);
  try {
    const result = await run({
      kubeconfig: process.env.BENCH_KUBECONFIG,
      context: process.env.BENCH_CONTEXT,
    });
    const meta: RunMeta = {
      date: new Date().toISOString(),
      command,
      quick,
      trials: count,
      machine: machine(),
      versions: `Node ${process.version}; ${result.cluster}`,
      loadavg: load,
      seconds: Math.round(elapsedS() - start),
    };
    progress(`${phase} done in ${Math.round(elapsedS() - start)} s → ${writeData(phase, meta, result)}`);
    return undefined;
  } catch (err) {
    progress(`${phase} FAILED: ${(err as Error).stack ?? (err as Error).message}`);
    return `${phase}: ${(err as Error).stack ?? (err as Error).message}`;
  }
}

const kindTrials = quick ? 2 : Math.min(trials, 10);

async function main(): Promise<void> {
  progress(
    `phases: ${only.join(', ')}; trials ${trials}; faults ${faults}${quick ? '; --quick' : ''}; load average ${loadavg()}`,
  );
  const failures: string[] = [];
  if (only.includes('kind')) {
    const failed = await kindClusterPhase('kind', kindTrials, (c) => runKind({ trials: kindTrials, ...c }));
    if (failed) failures.push(failed);
  }
  if (only.includes('chaos')) {
    const failed = await kindClusterPhase('chaos', chaosFaults, (c) =>
      runChaos({ faults: chaosFaults, ...c }),
    );
    if (failed) failures.push(failed);
  }
  const planePhases = only.filter((p) => p !== 'kind' && p !== 'chaos');
  if (planePhases.length > 0) await planeRun(planePhases, failures);
  const written = await writeReport();
  progress(`wrote ${written.join(', ')}`);
  progress(`total ${Math.round(elapsedS())} s`);
  if (failures.length) {
    process.stderr.write(`\n${failures.length} phase(s) failed:\n${failures.join('\n')}\n`);
    process.exit(1);
  }
}

/** The phases on the local control plane. */
async function planeRun(phases: Phase[], failures: string[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'le-bench-'));
  // The agent bundle runs from a directory with no node_modules anywhere above it:
  // every agent of the benchmark proves the bundle is self-contained.
  const agentDir = join(work, 'agent');
  mkdirSync(agentDir);
  mkdirSync(join(work, 'clientgo'));
  const isolatedBundle = join(agentDir, 'agent.mjs');
  copyFileSync(AGENT_BUNDLE, isolatedBundle);
  const images: ImageMap = {
    [AGENT_IMAGE]: ({ listenAddress }) => ({
      command: process.execPath,
      args: [isolatedBundle],
      env: { BIND_ADDRESS: listenAddress, NODE_PATH: '' },
    }),
  };

  const needsGo = phases.some((p) => p === 'failover' || p === 'api-load' || p === 'scale');
  const goBinary = needsGo ? await buildClientGoElector() : '';
  const goMany = phases.includes('scale') ? await buildManyClientGo() : '';
  if (needsGo) progress(`client-go elector: ${goBinary}`);

  progress('starting the control plane…');
  const plane = await ControlPlane.start({ log: (m) => progress(`  ${m}`) });
  const runner = new PodRunner({
    connection: plane.connection(),
    images,
    nodeName: 'bench-node',
    // The kubelet's first CrashLoopBackOff step.
    restartBackoffMs: 10_000,
    logDir: join(work, 'pods'),
  });
  const client = plane.client();
  const meta = (phaseStart: number, load: string): RunMeta => ({
    date: new Date().toISOString(),
    command,
    quick,
    trials,
    machine: machine(),
    versions: versions(plane.binDir),
    loadavg: load,
    seconds: Math.round(elapsedS() - phaseStart),
  });
  try {
    await runner.start();
    for (const ns of ['bench-failover', 'bench-api', 'bench-faults']) {
      await createNamespace(client, ns);
      await grantAgentRole(client, ns);
    }
    const own = (ns: string) => ns.startsWith('bench-');

    for (const phase of phases) {
      const start = elapsedS();
      const load = loadavg();
      progress(`=== ${phase} (load average ${load}) ===`);
      try {
        let result: unknown;
        if (phase === 'failover') {
          const tap = new LeaseTap(client, { namespace: 'bench-failover', own, history: true });
          await tap.start();
          try {
            result = await runFailover({
              client,
              runner,
              tap,
              goBinary,
              kubeconfig: plane.kubeconfig,
              logDir: join(work, 'clientgo'),
              trials,
              noReleaseTrials: plan.noReleaseTrials,
            });
          } finally {
            await tap.stop();
          }
        } else if (phase === 'api-load') {
          result = await runApiLoad({
            client,
            runner,
            connection: plane.connection(),
            goBinary,
            kubeconfig: plane.kubeconfig,
            logDir: join(work, 'clientgo'),
            windowS: plan.apiWindowS,
            settleS: plan.apiSettleS,
          });
        } else if (phase === 'scale') {
          result = await runScale({
            client,
            connection: plane.connection(),
            kubeconfig: plane.kubeconfig,
            apiserverPid: plane.state.pids['kube-apiserver']!,
            goBinary: goMany,
            groups: plan.scaleGroups,
            perGroup: 3,
            windowS: plan.scaleWindowS,
            settleS: plan.scaleSettleS,
            logDir: work,
          });
        } else if (phase === 'memory') {
          result = await runMemory({
            client,
            kubeconfig: plane.kubeconfig,
            bundle: isolatedBundle,
            windowS: quick ? 15 : 60,
          });
        } else if (phase === 'footprint') {
          result = await runFootprint({ isolatedBundle, bundle: AGENT_BUNDLE });
        } else if (phase === 'webhook') {
          result = await runWebhook({
            client,
            connection: plane.connection(),
            caCertPath: plane.caCertPath,
            caKeyPath: plane.pki.ca.key,
            planePids: Object.values(plane.state.pids),
            workDir: work,
            seconds: plan.webhookSeconds,
            creates: plan.webhookCreates,
          });
        } else if (phase === 'faults') {
          const tap = new LeaseTap(client, { namespace: 'bench-faults', own, history: true });
          await tap.start();
          try {
            result = await runFaults({ client, runner, tap, faults });
          } finally {
            await tap.stop();
          }
        }
        const path = writeData(phase, meta(start, load), result);
        progress(`${phase} done in ${Math.round(elapsedS() - start)} s → ${path}`);
      } catch (err) {
        failures.push(`${phase}: ${(err as Error).stack ?? (err as Error).message}`);
        progress(`${phase} FAILED: ${(err as Error).stack ?? (err as Error).message}`);
      }
    }
  } finally {
    progress('stopping the pod runner and the control plane…');
    for (const ns of ['bench-failover', 'bench-api', 'bench-faults'])
      await deleteNamespace(client, ns).catch(() => {});
    await runner.stop().catch(() => {});
    client.close();
    await plane.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
