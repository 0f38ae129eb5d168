import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/redis-global-setup.ts'],
          // Generous: on 2 cores beside other test files a slow child process is normal, not a bug.
          testTimeout: 60_000,
          hookTimeout: 30_000,
          // One private redis-server per run; files run in parallel, each with its own prefix.
          fileParallelism: true,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          // One local 3-master Redis Cluster per run (scripts/harness/redis-cluster.ts).
          globalSetup: ['test/helpers/redis-cluster-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One file at a time: a readiness case starts and stops a second cluster of its own.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: ['test/helpers/redis-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Each file starts several processes and kills some on a schedule: run alone, one file
          // at a time, after the other projects, or they fight for the two cores.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/helpers/redis-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // One browser at a time, and only after the other projects: two cores are not enough
          // for Chromium beside the integration suite.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
