import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx', 'e2e/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // One wrangler dev serves every file; two cores: keep the files' workers few.
    maxWorkers: 2,
  },
});
