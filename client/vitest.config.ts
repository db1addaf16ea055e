import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/globalSetup.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // One wrangler dev serves every file; two cores: keep the files' workers few.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'client', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'], sequence: { groupOrder: 0 } } },
      // The browser tests write platform config, which reaches every tenant (and every tenant
      // created later catches up on it): they run after the client tests, one file at a time.
      { extends: true, test: { name: 'e2e', include: ['e2e/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
