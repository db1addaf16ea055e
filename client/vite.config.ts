import { defineConfig } from 'vite';

// The dashboard is served by the Worker as static assets from dist/. `npm run dev` serves it
// with hot reload and forwards the API (and its WebSocket) to a local `wrangler dev`
// (CASCADE_URL, default http://127.0.0.1:8787).
const api = process.env.CASCADE_URL ?? 'http://127.0.0.1:8787';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
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
});
