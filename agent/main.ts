// Entry point of the agent sidecar: configuration from the environment, then
// run until SIGTERM/SIGINT, which release the Lease and exit 0.
import { Agent } from './agent.ts';
import { ConfigError, loadAgentConfig } from './config.ts';
import { KubeConfigError, loadConnection } from '../common/kube/kubeconfig.ts';
import { createLogger } from '../common/logger.ts';

async function main(): Promise<void> {
  let agent: Agent;
  try {
    const config = loadAgentConfig(process.env);
    const log = createLogger({
      pod: `${config.namespace}/${config.podName}`,
      lease: `${config.leaseNamespace}/${config.leaseName}`,
    });
    agent = new Agent({ config, connection: loadConnection(process.env), log });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof KubeConfigError) {
      process.stderr.write(`leader-election-agent: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    agent.stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`leader-election-agent: stop after ${signal} failed: ${err.stack}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await agent.start();
}

main().catch((err: Error) => {
  process.stderr.write(`leader-election-agent: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
