import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native worker runs best in child processes; two cores, so two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    projects: [
      {
        // Pure code (backoff, tiers, kinds, requeue rules, the ingress offset window): milliseconds, no server.
        extends: true,
        test: { name: 'unit', include: ['test/domain/**/*.test.ts', 'test/unit/**/*.test.ts'] },
      },
      {
        // The real stack (Temporal dev server, time-skipping server, Kafka broker) is started once for these.
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // The cluster profile's tests run on their own (`npm run test:cluster`, vitest.cluster.config.ts).
          exclude: ['test/domain/**', 'test/unit/**', 'test/cluster/**'],
          globalSetup: ['./test/global-setup.ts'],
        },
      },
    ],
  },
});
