// `node webhook/cli/status.ts status [-n NAMESPACE | -A] [--kubeconfig PATH] [--context NAME] [-o wide|json]`
// (make status): the election groups of a cluster, like a `kubectl get`.
//
// A group is the set of injected pods (label leader-election/injected=true) sharing one
// Lease (annotation leader-election/lease-name, which the webhook writes on every pod it
// injects; the agent's LEASE_NAME env as a fallback), in one namespace. For each group:
//   LEASE        the Lease's name (in the pods' namespace)
//   HOLDER       spec.holderIdentity, <none> when released or not created yet
//   TERM         how long the holder has held it (from spec.acquireTime)
//   TRANSITIONS  spec.leaseTransitions
//   ENDPOINTS    per Service whose EndpointSlices hold the group's pods: SERVICE:READY/TOTAL
//                endpoints of the group's pods (readiness-gate routing: 1/N, the leader)
//   MEMBERS      the number of pods (-o wide: their names, and the Lease's last renewal)
// Leases without injected pods (other components' elections) are not listed.
//
// Connection: as kubectl's (connection.ts): --kubeconfig, else every file of $KUBECONFIG merged,
// else ~/.kube/config; the current context or --context; certificates, tokens and exec
// credential plugins. The namespace is -n, else the context's, else default.
import { ApiError, KubeClient } from '../../common/kube/kube-client.ts';
import { cliTarget, CliConfigError } from './connection.ts';
import { collectStatus } from './status-groups.ts';
import { formatTable } from './status-table.ts';

export interface StatusArgs {
  namespace?: string;
  allNamespaces: boolean;
  kubeconfig?: string;
  context?: string;
  output: 'table' | 'wide' | 'json';
}

export const USAGE = `Usage: node webhook/cli/status.ts status [-n NAMESPACE | -A] [--kubeconfig PATH] [--context NAME] [-o wide|json]

Lists the election groups (injected pods sharing a Lease) with their Lease's holder, the
holder's term, the Lease's transitions, the ready endpoints of the Services that select
them, and their members.

  -n, --namespace NAME     only this namespace (default: the context's namespace, else default)
  -A, --all-namespaces     every namespace
      --kubeconfig PATH    kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME       kubeconfig context (default: the current context)
  -o, --output FORMAT      wide (adds the last renewal and the member pods) or json
  -h, --help               this help
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseStatusArgs(argv: readonly string[]): StatusArgs | 'help' {
  const args: StatusArgs = { allNamespaces: false, output: 'table' };
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('-') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '-n':
      case '--namespace':
        args.namespace = value();
        break;
      case '-A':
      case '--all-namespaces':
        args.allNamespaces = true;
        break;
      case '--kubeconfig':
        args.kubeconfig = value();
        break;
      case '--context':
        args.context = value();
        break;
      case '-o':
      case '--output': {
        const o = value();
        if (o !== 'wide' && o !== 'json') throw new UsageError(`--output must be wide or json, not ${o}`);
        args.output = o;
        break;
      }
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}`);
        if (command !== undefined) throw new UsageError(`unexpected argument ${a}`);
        command = a;
    }
  }
  if (command !== 'status')
    throw new UsageError(command ? `unknown command ${command}` : 'missing command: status');
  if (args.allNamespaces && args.namespace) throw new UsageError('-n and -A cannot be used together');
  return args;
}

export async function runStatus(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let args: StatusArgs | 'help';
  try {
    args = parseStatusArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (args === 'help') {
    out(USAGE);
    return 0;
  }
  let client: KubeClient;
  let namespace: string | undefined;
  try {
    const target = await cliTarget(args.kubeconfig, args.context, env);
    client = new KubeClient(target.connection, { defaultTimeoutMs: 30_000 });
    namespace = args.allNamespaces ? undefined : (args.namespace ?? target.namespace ?? 'default');
  } catch (e) {
    if (e instanceof CliConfigError) {
      err(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  try {
    const now = Date.now();
    const groups = await collectStatus(client, namespace, now);
    if (args.output === 'json') {
      out(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: groups }, null, 2) + '\n');
    } else if (groups.length === 0) {
      err(
        namespace ? `No election groups found in ${namespace} namespace.\n` : 'No election groups found.\n',
      );
    } else {
      out(formatTable(groups, { allNamespaces: namespace === undefined, wide: args.output === 'wide', now }));
    }
    return 0;
  } catch (e) {
    err(
      `error: ${e instanceof ApiError ? `${e.message} (${e.status} ${e.reason})` : (e as Error).message}\n`,
    );
    return 1;
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  runStatus(
    process.argv.slice(2),
    process.env,
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  ).then(
    (code) => (process.exitCode = code),
    (e: Error) => {
      process.stderr.write(`error: ${e.stack ?? e.message}\n`);
      process.exitCode = 1;
    },
  );
}
