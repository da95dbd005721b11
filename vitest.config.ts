import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/e2e/kind/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          // One control plane per run, shared by every integration file.
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: run files one after another so timing bounds stay honest.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'kind',
          include: ['test/e2e/kind/**/*.test.ts'],
          // A kind cluster (local-cluster/kind/kind-up.sh), or the cluster E2E_KUBECONFIG names.
          globalSetup: ['test/e2e/kind/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
