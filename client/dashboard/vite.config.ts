import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

// The dashboard is served by the Worker as static assets from client/dist (wrangler.toml
// `[assets] directory`). `npm run dev` serves it with hot reload from the packages' sources
// (the "@cascade/source" export condition) and forwards the API (and its WebSocket) to a local
// `wrangler dev` (CASCADE_URL, default http://127.0.0.1:8787); `vite build` bundles the
// packages as built (their dist/), as any app would.
const api = process.env.CASCADE_URL ?? 'http://127.0.0.1:8787';

export default defineConfig(({ command }) => ({
  root: fileURLToPath(new URL('.', import.meta.url)),
  oxc: { jsx: { runtime: 'automatic' } },
  resolve: command === 'serve' ? { conditions: ['@cascade/source', ...defaultClientConditions] } : {},
  build: {
    outDir: fileURLToPath(new URL('../dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    rolldownOptions: {
      // TanStack Query's "use client" directives mean nothing in a client-only bundle.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      '/v1': { target: api, ws: true, changeOrigin: true },
      '/__scheduled': { target: api, changeOrigin: true },
    },
  },
}));
