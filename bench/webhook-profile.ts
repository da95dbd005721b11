// Where the webhook's admission milliseconds go (issue 16): the webhook under the bench's
// load (bench/webhook.ts's pods and Go load generator, the server pinned to core 0, the
// generator to core 1) with `node --cpu-prof`, then the profile summarized
// (bench/lib/cpuprofile.ts). No control plane: a CA and a serving certificate from openssl.
//
//   node bench/webhook-profile.ts [--size 5120] [--concurrency 4] [--seconds 10]
//                                 [--source | --bundle FILE] [--out DIR] [--no-profile]
//
// --source runs webhook/main.ts instead of dist/webhook.mjs: the same code, but the profile
// names files and functions as written (the bundle is minified). --bundle runs another build
// (a copy of the bundle before a change, to compare in turns). --no-profile measures only.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCa, freePort, issueCert, repoRoot } from '../local-cluster/index.ts';
import { formatSummary, summarizeProfile, type CpuProfile } from './lib/cpuprofile.ts';
import { cpuMs, waitFor } from './lib/util.ts';
import { benchWebhookFlags, podOfSize, review } from './webhook.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '5120' },
    concurrency: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
    source: { type: 'boolean', default: false },
    bundle: { type: 'string' },
    out: { type: 'string' },
    'no-profile': { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
  },
});

const size = Number(values.size);
const work = mkdtempSync(join(tmpdir(), 'le-webhook-profile-'));
const out = values.out ?? join(work, 'prof');
mkdirSync(out, { recursive: true });
const ca = createCa(work);
const pair = issueCert(work, ca, 'tls', { cn: 'leader-election-webhook', sans: ['IP:127.0.0.1'] });
const certDir = join(work, 'tls');
mkdirSync(certDir);
writeFileSync(join(certDir, 'tls.crt'), readFileSync(pair.cert));
writeFileSync(join(certDir, 'tls.key'), readFileSync(pair.key));
const bodyFile = join(work, 'review.json');
writeFileSync(bodyFile, review(podOfSize('bench-pod', size), 'bench'));

const loadgen = execFileSync('bash', [join(repoRoot, 'bench/webhook-load/build.sh')], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .pop()!;
const port = await freePort();
const healthPort = await freePort();
const entry = values.source
  ? join(repoRoot, 'webhook/main.ts')
  : (values.bundle ?? join(repoRoot, 'dist/webhook.mjs'));
const profFlags = values['no-profile'] ? [] : ['--cpu-prof', `--cpu-prof-dir=${out}`];
const server = spawn(
  'taskset',
  ['-c', '0', process.execPath, ...profFlags, entry, ...benchWebhookFlags(port, healthPort, certDir)],
  // The decision log goes to a file, as in bench/webhook.ts (a pipe would fill up: this
  // process waits on the generator synchronously and reads nothing meanwhile).
  { stdio: ['ignore', openSync(join(work, 'webhook.log'), 'a'), 'inherit'] },
);
const exited = new Promise<void>((r) => server.once('exit', () => r()));
let result: string;
let usPerReview: number;
try {
  await waitFor('webhook /readyz', 30_000, async () => {
    try {
      return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok;
    } catch {
      return false;
    }
  });
  /** Reviews answered so far (the webhook's own counter): the warm-up's included, as in the CPU. */
  const answered = async () => {
    // A connection of its own each time: a kept-alive one may have been closed by the server's
    // idle timeout while this process sat in execFileSync.
    const text = await new Promise<string>((resolve, reject) =>
      httpGet(`http://127.0.0.1:${healthPort}/metrics`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      }).on('error', reject),
    );
    const m = /^webhook_admission_requests_total\{[^}]*path="\/mutate"[^}]*\} (\S+)$/m.exec(text);
    return Number(m?.[1] ?? 0);
  };
  // taskset execs node in place: the pid is the webhook's.
  const cpu0 = cpuMs(server.pid!) ?? 0;
  const n0 = await answered();
  result = execFileSync(
    'taskset',
    [
      '-c',
      '1',
      loadgen,
      `--url=https://127.0.0.1:${port}/mutate`,
      `--body=${bodyFile}`,
      `--ca=${ca.cert}`,
      `--concurrency=${values.concurrency}`,
      `--duration=${values.seconds}s`,
      '--warmup=2s',
    ],
    { encoding: 'utf8' },
  );
  // CPU per review: steadier than reviews/s on a machine others use (a core taken away costs
  // throughput, not CPU per review).
  usPerReview = (((cpuMs(server.pid!) ?? 0) - cpu0) * 1000) / Math.max(1, (await answered()) - n0);
} finally {
  // Whatever failed, the webhook does not outlive this run.
  server.kill('SIGTERM');
  await exited;
}
const r = JSON.parse(result) as { rps: number; p50us: number; p99us: number; errors: number };
process.stdout.write(
  `pod ${(size / 1024).toFixed(0)} KB, ${values.concurrency} connections: ${r.rps.toFixed(0)} reviews/s, ` +
    `p50 ${(r.p50us / 1000).toFixed(2)} ms, p99 ${(r.p99us / 1000).toFixed(2)} ms, errors ${r.errors}; ` +
    `server CPU ${usPerReview.toFixed(0)} µs per review\n`,
);
if (!values['no-profile']) {
  const file = readdirSync(out).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${out}`);
  const profile = JSON.parse(readFileSync(join(out, file), 'utf8')) as CpuProfile;
  process.stdout.write(`${join(out, file)}\n`);
  process.stdout.write(formatSummary(summarizeProfile(profile), Number(values.top)));
}
