// make plane-up / plane-down: a local control plane with the pod
// runner, for people to try with kubectl.
//   node local-cluster/cli.ts up --dir DIR     start in the background, print the kubeconfig
//   node local-cluster/cli.ts down --dir DIR   stop it and remove its files
//   node local-cluster/cli.ts serve --dir DIR  (internal) the background process itself
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlane, buildBinaries, stopPersistent } from './control-plane/control-plane.ts';
import { LocalSetup } from './product/local-setup.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string', default: join(process.env.HOME ?? '/tmp', '.cache/leader-election/cluster') },
  },
});
const command = positionals[0];
const dir = resolve(values.dir!);
const stateFile = join(dir, 'serve.json');
const log = (m: string) => console.log(`[cluster] ${m}`);

interface ServeState {
  pid: number;
  kubeconfig: string;
  server: string;
}

function readState(): ServeState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as ServeState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function usage(state: ServeState): void {
  const kubectl = join(buildBinaries(), 'kubectl');
  console.log(`
Control plane running (API server ${state.server}), with the webhook and the pod runner (node "pod-runner").
  export KUBECONFIG=${state.kubeconfig}
  alias kubectl=${kubectl}
  kubectl apply -f examples/deployment.yaml      # 3 replicas, one annotation
  kubectl get pods -o wide -L leader-election/role
  kubectl get lease web
  node webhook/cli/status.ts status -A           # every election group, if present
Stop it with: make plane-down   (logs: ${dir})`);
}

async function serve(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const plane = await ControlPlane.start({ dir: join(dir, 'plane'), log });
  const client = plane.client();
  // The webhook (a local process registered by URL) and the pod runner, as the integration tests run them.
  const setup = new LocalSetup({
    client,
    connection: plane.connection(),
    kubeconfig: plane.kubeconfig,
    ca: plane.pki.ca,
    dir: join(dir, 'local'),
    nodeName: 'pod-runner',
    log,
  });
  await setup.start();
  const state: ServeState = { pid: process.pid, kubeconfig: plane.kubeconfig, server: plane.server };
  writeFileSync(stateFile, JSON.stringify(state));
  log('ready');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    await setup.stop();
    client.close();
    await plane.stop();
    rmSync(stateFile, { force: true });
    process.exit(0);
  };
  // A signal handler cannot wait. stop can fail (unregistering the webhook, stopping the
  // plane): report it and exit 1, as an unhandled rejection would, but with our message.
  const onSignal = () =>
    void stop().catch((err: unknown) => {
      console.error(`[cluster] stop failed: ${(err as Error).message}`);
      process.exit(1);
    });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && alive(existing.pid)) {
    log('already running');
    usage(existing);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = openSync(join(dir, 'serve.log'), 'a');
  const child = spawn(process.execPath, [process.argv[1]!, 'serve', '--dir', dir], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  const deadline = Date.now() + 180_000;
  for (;;) {
    const state = readState();
    if (state) {
      usage(state);
      return;
    }
    if (child.exitCode !== null || !alive(child.pid!)) {
      throw new Error(
        `the control plane did not start; see ${join(dir, 'serve.log')}:\n${readFileSync(join(dir, 'serve.log'), 'utf8').slice(-3000)}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(`the control plane did not start within 180 s; see ${join(dir, 'serve.log')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function down(): Promise<void> {
  const state = readState();
  if (!state || !alive(state.pid)) {
    log('not running');
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGKILL');
    stopPersistent(join(dir, 'plane')); // the supervisor could not clean up: stop its processes here
  }
  rmSync(dir, { recursive: true, force: true });
  log('stopped');
}

const commands: Record<string, () => Promise<void>> = { up, down, serve };
const run = command ? commands[command] : undefined;
if (!run) {
  console.error('usage: cli.ts up|down|serve [--dir DIR]');
  process.exit(2);
}
run().catch((err: unknown) => {
  console.error(`[cluster] ${(err as Error).message}`);
  process.exit(1);
});
