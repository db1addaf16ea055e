import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests import the workspace packages from their sources (the "@cascade/source" export
// condition), so they need no build; test/packaging.test.ts checks the built, packed packages.
// jsdom tests run in Node too: the Node conditions (`ws` must not resolve to its browser stub).
const conditions = ['@cascade/source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
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
