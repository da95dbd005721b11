// The map from container image to local command that the pod runner uses.
// Images not listed here run as "virtual" containers: reported running and
// ready, with no process.
import { join } from 'node:path';
import { repoRoot } from '../control-plane/control-plane.ts';
import type { ImageMap } from './pod-runner.ts';

/** The app of test and demo pods: answers with its pod name (local-cluster/node/echo-server.ts). */

/**
 * Node's flags for the agent, in agent.Dockerfile's ENTRYPOINT and here (a test holds them equal):
 * chosen by make bench's memory phase (docs/benchmarks.md): a 1 MiB young generation, no optimizing
 * compiler (--lite-mode: the agent's code is not hot), and no V8 worker threads (--single-threaded,
 * --v8-pool-size=0). Private memory 17.1 MiB instead of 21.3 MiB for a leader, with the same idle
 * CPU and failover time.
 */
export const AGENT_NODE_FLAGS = [
  '--max-semi-space-size=1',
  '--lite-mode',
  '--single-threaded',
  '--v8-pool-size=0',
];

export const ECHO_IMAGE = 'test.local/echo:1';
/** The agent image named in the webhook's configuration for local runs. */
export const AGENT_IMAGE = 'ghcr.io/leader-election/agent:dev';
export const AGENT_BUNDLE = join(repoRoot, 'dist/agent.mjs');

export const localImages: ImageMap = {
  [ECHO_IMAGE]: ({ listenAddress, env, container }) => ({
    command: process.execPath,
    args: [join(repoRoot, 'local-cluster/node/echo-server.ts')],
    env: {
      HOST: listenAddress,
      PORT: String(container.ports?.[0]?.containerPort ?? 8080),
      POD_NAME: env.POD_NAME ?? '',
    },
  }),
  // The production bundle, run the way the image's entrypoint runs it; it
  // listens on the pod's own loopback address instead of every address.
  [AGENT_IMAGE]: ({ listenAddress }) => ({
    command: process.execPath,
    // As agent.Dockerfile's ENTRYPOINT.
    args: [...AGENT_NODE_FLAGS, AGENT_BUNDLE],
    env: { BIND_ADDRESS: listenAddress },
  }),
};
