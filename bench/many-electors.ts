// Many of our electors in one process, for the scale benchmark: G groups of P
// electors each (Lease g<i>, identities g<i>-<j>), all sharing ONE KubeClient,
// as the webhook shares one for its own election.
//
//   node bench/many-electors.ts --kubeconfig K --namespace NS --groups 300 --per-group 3 \
//     [--lease-duration 15s --renew-deadline 10s --retry-period 2s] [--log-level warn] [--max-sockets 8]
//
// stdout: JSON lines: {"msg":"started","electors":N}, then {"msg":"leading","groups":n}
// whenever the number of groups this process leads changes (throttled to 4/s).
// SIGTERM: stops every elector (no release) and exits 0.
import { parseArgs } from 'node:util';
import { parseGoDuration } from '../common/units/go-duration.ts';
import { Elector } from '../common/election/elector.ts';
import { KubeClient } from '../common/kube/kube-client.ts';
import { connectionFromKubeconfig } from '../common/kube/kubeconfig.ts';
import { LeaseClient } from '../common/election/lease-client.ts';
import { createLogger, silentLogger } from '../common/logger.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    groups: { type: 'string', default: '300' },
    'per-group': { type: 'string', default: '3' },
    'lease-duration': { type: 'string', default: '15s' },
    'renew-deadline': { type: 'string', default: '10s' },
    'retry-period': { type: 'string', default: '2s' },
    'max-sockets': { type: 'string', default: 'unlimited' },
    /** pino level of the electors' logs on stderr (default: none). */
    'log-level': { type: 'string', default: 'silent' },
  },
});

const ms = (name: string, v: string | undefined): number => {
  const d = v === undefined ? undefined : parseGoDuration(v);
  if (d === undefined) throw new Error(`--${name}: not a Go duration: ${v}`);
  return d;
};
const timings = {
  leaseDurationMs: ms('lease-duration', values['lease-duration']),
  renewDeadlineMs: ms('renew-deadline', values['renew-deadline']),
  retryPeriodMs: ms('retry-period', values['retry-period']),
};
const groups = Number(values.groups);
const perGroup = Number(values['per-group']);
const ns = values.namespace!;
const out = (o: object) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...o })}\n`);

const timeoutMs = Math.min(Math.floor(timings.renewDeadlineMs / 2), 5_000);
// Every elector's Lease watch holds a connection for as long as it runs: many
// watching electors on one client need an unbounded pool (each watch then has its
// own HTTP/1.1 connection). --max-sockets 8 keeps the agent's default, to show the effect.
const client = new KubeClient(connectionFromKubeconfig(values.kubeconfig!), {
  defaultTimeoutMs: timeoutMs,
  maxSockets: values['max-sockets'] === 'unlimited' ? Number.POSITIVE_INFINITY : 8,
});

let leading = 0;
let reported = -1;
let reportTimer: NodeJS.Timeout | undefined;
const report = () => {
  if (reportTimer) return;
  reportTimer = setTimeout(() => {
    reportTimer = undefined;
    if (leading !== reported) {
      reported = leading;
      out({ msg: 'leading', groups: leading });
    }
  }, 250);
};

const log = values['log-level'] === 'silent' ? silentLogger() : createLogger({}, values['log-level']);
const electors: Elector[] = [];
for (let g = 0; g < groups; g++) {
  const leases = new LeaseClient(client, ns, `g${g}`, timeoutMs);
  for (let j = 0; j < perGroup; j++) {
    electors.push(
      new Elector({
        identity: `g${g}-${j}`,
        timings,
        leases,
        log,
        callbacks: {
          onStartedLeading: () => {
            leading++;
            report();
          },
          onStoppedLeading: () => {
            leading--;
            report();
          },
        },
      }),
    );
  }
}
for (const e of electors) e.start();
out({ msg: 'started', electors: electors.length });

const stop = () => {
  // A signal handler cannot wait; Elector.stop without release never rejects.
  void Promise.all(electors.map((e) => e.stop({ release: false }))).then(() => {
    out({ msg: 'stopped' });
    client.close();
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
