#!/usr/bin/env node
// Serves the built Worker straight from workerd through Miniflare's API, for load tests and
// benchmarks: `wrangler dev` carries WebSockets through a Node proxy that cannot hold
// thousands of sockets (docs/TOOLCHAIN.md), workerd itself can.
//
// Usage: node scripts/serve.mjs --persist DIR [--port N] [--var NAME=VALUE]... [--seed-tenants N]
//                               [--config PATH] [--no-assets] [--inspector-port N]
//
// Reads wrangler.jsonc (bindings, Durable Objects, D1, assets) so one config serves wrangler
// dev, this and production; applies the D1 migrations and, with --seed-tenants, creates
// tenants t0000..; binds 127.0.0.1 (port 0 picks a free one); prints one JSON line
// {"url": ..., "pid": ...} when ready; stops on SIGTERM, SIGINT or when stdin closes.
// --no-assets leaves the static assets out (benchmarks: they add a routing hop locally).
// --inspector-port opens workerd's V8 inspector there (scripts/profile.mjs takes CPU profiles).
// /cdn-cgi/handler/scheduled?cron=... triggers the cron handler.
// --config serves another Worker instead (its build/index.js beside its wrangler config): the
// benchmark's bare reference hub (bench/bare-hub), which has no D1 database.
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from 'wrangler';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Command-line options (node:util's parser: unknown or valueless options are refused). */
function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      persist: { type: 'string' },
      var: { type: 'string', multiple: true, default: [] },
      'seed-tenants': { type: 'string', default: '0' },
      config: { type: 'string', default: join(root, 'wrangler.jsonc') },
      'no-assets': { type: 'boolean', default: false },
      'inspector-port': { type: 'string' },
    },
  });
  if (!values.persist) throw new Error('--persist DIR is required');
  const vars = {};
  for (const pair of values.var) {
    const [k, ...rest] = pair.split('=');
    vars[k] = rest.join('=');
  }
  return {
    port: Number(values.port),
    persist: resolve(values.persist),
    vars,
    seedTenants: Number(values['seed-tenants']),
    config: resolve(values.config),
    noAssets: values['no-assets'],
    inspectorPort: values['inspector-port'] === undefined ? undefined : Number(values['inspector-port']),
  };
}

/** Applies every migration in migrations/ in order (each file once per state folder). */
async function migrate(db) {
  await db.exec('CREATE TABLE IF NOT EXISTS _serve_migrations (name TEXT PRIMARY KEY)');
  const files = readdirSync(join(root, 'migrations')).filter((f) => f.endsWith('.sql')).sort();
  for (const file of files) {
    const done = await db.prepare('SELECT 1 FROM _serve_migrations WHERE name = ?').bind(file).first();
    if (done) continue;
    const statements = unstable_splitSqlQuery(readFileSync(join(root, 'migrations', file), 'utf8'));
    await db.batch([
      ...statements.map((sql) => db.prepare(sql)),
      db.prepare('INSERT INTO _serve_migrations (name) VALUES (?)').bind(file),
    ]);
  }
}

/** Creates tenants t0000.. in the registry (idempotent). */
async function seedTenants(db, count) {
  const now = Date.now();
  const rows = [];
  for (let i = 0; i < count; i++) {
    const id = `t${String(i).padStart(4, '0')}`;
    rows.push(
      db
        .prepare("INSERT OR IGNORE INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) VALUES (?, ?, '{}', '[]', ?, ?)")
        .bind(id, id, now, now),
    );
  }
  for (let i = 0; i < rows.length; i += 500) await db.batch(rows.slice(i, i + 500));
}

async function main() {
  const opts = options(process.argv.slice(2));
  mkdirSync(opts.persist, { recursive: true });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(opts.config);
  if (opts.noAssets) delete workerOptions.assets;
  const mf = new Miniflare({
    ...workerOptions,
    name: 'cascade',
    modules: true,
    scriptPath: join(dirname(opts.config), 'build/index.js'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }, ...(workerOptions.modulesRules ?? [])],
    bindings: { ...(workerOptions.bindings ?? {}), ...opts.vars },
    host: '127.0.0.1',
    port: opts.port,
    d1Persist: join(opts.persist, 'd1'),
    durableObjectsPersist: join(opts.persist, 'do'),
    kvPersist: join(opts.persist, 'kv'),
    cachePersist: join(opts.persist, 'cache'),
    // GET /cdn-cgi/handler/scheduled?cron=... runs the cron handler (the benchmark's health
    // check over every tenant); local only, as wrangler dev's --test-scheduled.
    unsafeTriggerHandlers: true,
    ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
  });
  const url = await mf.ready;
  if (Object.keys(workerOptions.d1Databases ?? {}).includes('DB')) {
    const db = await mf.getD1Database('DB');
    await migrate(db);
    if (opts.seedTenants > 0) await seedTenants(db, opts.seedTenants);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await mf.dispose().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ url: url.toString().replace(/\/$/, ''), pid: process.pid })}\n`);
}

main().catch((e) => {
  process.stderr.write(`serve.mjs: ${e.stack ?? e}\n`);
  process.exit(1);
});
