import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the production topology (scripts/stack/cluster) started by the test file itself. Not part
 * of `npm test`: the first run builds the Temporal server from source, longer than CI's budget allows beside the suite.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 300_000,
    // The first run builds the Temporal server (see README "Cluster profile" for the measured time).
    hookTimeout: 3_600_000,
    teardownTimeout: 120_000,
  },
});
