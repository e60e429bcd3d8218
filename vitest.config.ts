import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The real stack (Temporal dev server, time-skipping server, Kafka broker) is started once for the whole run.
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // The cluster profile's tests run on their own (`npm run test:cluster`, vitest.cluster.config.ts).
    exclude: ['test/cluster/**', 'node_modules/**'],
    // Temporal's native worker runs best in child processes; two cores, so two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
