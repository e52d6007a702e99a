import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      AWS_EC2_METADATA_DISABLED: 'true',
      // EMF lines on stdout for every metric; the metrics tests switch them back on.
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  },
});
