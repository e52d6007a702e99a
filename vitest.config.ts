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
      // As serverless.yml's custom.catalogue default: the fixtures' untagged pulsar-base-* images are older.
      LEGACY_IMAGES_CREATED_BEFORE: '2026-01-01T00:00:00Z',
    },
  },
});
