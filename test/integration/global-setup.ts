// vitest globalSetup for the integration project: one real control plane per
// test run, shared by every integration file (each test uses its own namespace).
import type { TestProject } from 'vitest/node';
import { ControlPlane } from '../../local-cluster/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    planeDir: string;
    caCert: string;
    caKey: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const plane = await ControlPlane.start({ log: (m) => console.log(`[control-plane] ${m}`) });
  console.log(
    `[control-plane] up in ${((Date.now() - started) / 1000).toFixed(1)}s; kubeconfig ${plane.kubeconfig}`,
  );
  project.provide('kubeconfig', plane.kubeconfig);
  project.provide('planeDir', plane.dir);
  project.provide('caCert', plane.pki.ca.cert);
  project.provide('caKey', plane.pki.ca.key);
  const stop = async () => {
    await plane.stop();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      // A signal handler cannot wait. finally exits before a rejection could be reported,
      // so a failed stop is printed here rather than lost.
      void stop()
        .catch((err: unknown) => console.error(`[control-plane] stop failed: ${(err as Error).message}`))
        .finally(() => process.exit(130));
    });
  }
  return stop;
}
