// `kubectl leader-election status|inject|version`: the product's one CLI, a kubectl plugin
// (kubectl runs `kubectl-leader_election` found on the PATH for `kubectl leader-election`).
// Bundled into one file (dist/kubectl-leader_election/, scripts/bundle.mjs) that runs on Node
// ≥ 24, installable with npm or krew. It authenticates like kubectl (connection.ts).
import { nodeIo, runInjectCli } from './inject.ts';
import { runStatus } from './status.ts';
import { VERSION } from './version.ts';

export const PLUGIN_USAGE = `Usage: kubectl leader-election COMMAND [flags]

Commands:
  status    the election groups of the cluster: Lease holder, term, ready endpoints, members
  inject    what the webhook would do to manifests, offline (like istioctl kube-inject)
  version   this CLI's version (the product's, and its agent image's tag)

Run "kubectl leader-election COMMAND --help" for a command's flags.
`;

export async function runPlugin(
  argv: readonly string[],
  io: { stdout: (s: string) => void; stderr: (s: string) => void; env: NodeJS.ProcessEnv },
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'status':
      return runStatus(argv, io.env, io.stdout, io.stderr); // it reads the command word itself
    case 'inject':
      return runInjectCli(rest, { ...nodeIo(), stdout: io.stdout, stderr: io.stderr, env: io.env });
    case 'version':
      io.stdout(`kubectl-leader_election ${VERSION} (Node ${process.version})\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stdout(PLUGIN_USAGE);
      return 0;
    default:
      io.stderr(`error: unknown command "${command}"\n\n${PLUGIN_USAGE}`);
      return 2;
  }
}

/** Runs the plugin with this process's arguments and streams; sets the exit code. */
export function main(): void {
  runPlugin(process.argv.slice(2), {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
  }).then(
    (code) => (process.exitCode = code),
    (e: Error) => {
      process.stderr.write(`error: ${e.stack ?? e.message}\n`);
      process.exitCode = 1;
    },
  );
}

// The bundle calls main() itself (scripts/bundle.mjs); from a clone: node webhook/cli/kubectl-plugin.ts.
if (import.meta.main) main();
