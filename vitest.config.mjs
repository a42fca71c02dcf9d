import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real-PCP tests spawn pminfo; keep the 2-core machines from thrashing.
    maxWorkers: 2,
    // Under CI a JSON report lets .ci/run print a closing line and check nothing skipped.
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'test-results.json' }]]
      : ['default'],
  },
});
