#!/usr/bin/env node
// Prints the configuration the end-to-end tests run the Worker with, as JSON: the local
// environment of the repository's wrangler.jsonc (read by wrangler itself, comments and all)
// without its build step and deploy environments, with absolute paths. The runtime then never
// rebuilds or restarts itself when a file changes (wrangler watches the build's sources), so
// what a test sees is what it did. One place for the Rust tests (tests/support) and the
// client tests (client/test/support/runtime.ts).
//
// Usage: node scripts/test-config.mjs [ASSETS_DIR]
//   ASSETS_DIR: the static assets folder to serve instead of the configured one.
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimental_readRawConfig } from 'wrangler';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { rawConfig: config } = await experimental_readRawConfig({ config: join(root, 'wrangler.jsonc') });
delete config.build;
delete config.env;
delete config.$schema;
config.main = resolve(root, config.main);
const assets = process.argv[2];
if (config.assets) {
  config.assets = { ...config.assets, directory: assets ? resolve(assets) : resolve(root, config.assets.directory) };
}
config.d1_databases = (config.d1_databases ?? []).map((db) => ({
  ...db,
  migrations_dir: resolve(root, db.migrations_dir ?? 'migrations'),
}));
process.stdout.write(JSON.stringify(config, null, 2) + '\n');
