#!/usr/bin/env node
// Checks that wrangler.jsonc deploys: `wrangler deploy --dry-run` (bundle, bindings, assets;
// no account needed) for the local top level and for each deployed environment after the
// step docs/DEPLOY.md has a team run first, `wrangler d1 create cascade-<env> --env <env>
// --binding DB --update-config`. That command needs an account, so its config edit is made
// here with the call wrangler itself makes for it (experimental_patchConfig), on a copy.
// Each environment must then bind both Durable Object classes, its own D1 database and the
// dashboard's assets, with no binding warning.
//
// Usage: node scripts/deploy-check.mjs   (the Worker built beforehand: scripts/build)
// Ends with one line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimental_patchConfig } from 'wrangler';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const wrangler = join(root, 'node_modules/.bin/wrangler');
const ENVIRONMENTS = ['staging', 'production'];

/** Runs a dry-run deploy of `config` (with `--env env` when given); its output. */
function dryRun(config, env) {
  const out = mkdtempSync(join(tmpdir(), 'cascade-deploy-'));
  const args = ['deploy', '--dry-run', '--config', config, '--outdir', out, ...(env ? ['--env', env] : [])];
  const run = spawnSync(wrangler, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CASCADE_PREBUILT: '1', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', CI: 'true' },
  });
  rmSync(out, { recursive: true, force: true });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

/** The problems of a dry run's output for an environment whose D1 database is `database`. */
function problems({ status, output }, database) {
  const found = [];
  if (status !== 0) found.push(`exit status ${status}`);
  for (const binding of ['env.TENANT_HUB (TenantHub)', 'env.PLATFORM_HUB (PlatformHub)', `env.DB (${database})`, 'env.ASSETS']) {
    if (!output.includes(binding)) found.push(`no binding ${binding}`);
  }
  if (/not inherited by environments|Please add a binding/.test(output)) found.push('a binding warning');
  return found;
}

let passed = 0;
let failed = 0;
function check(name, found, output) {
  if (found.length === 0) {
    passed += 1;
    console.error(`ok: ${name}`);
  } else {
    failed += 1;
    console.error(`FAILED: ${name}: ${found.join('; ')}\n${output}`);
  }
}

const local = dryRun(join(root, 'wrangler.jsonc'));
check('local configuration deploys (dry run)', problems(local, 'cascade'), local.output);

// The copy sits beside the original so that its relative paths (build, assets) still hold.
const copy = join(root, `.wrangler-deploy-check-${process.pid}.jsonc`);
try {
  copyFileSync(join(root, 'wrangler.jsonc'), copy);
  for (const env of ENVIRONMENTS) {
    const database = `cascade-${env}`;
    experimental_patchConfig(
      copy,
      { env: { [env]: { d1_databases: [{ binding: 'DB', database_name: database, database_id: '11111111-2222-3333-4444-555555555555' }] } } },
      true,
    );
    const run = dryRun(copy, env);
    check(`${env} deploys after its D1 database is created (dry run)`, problems(run, database), run.output);
  }
} finally {
  rmSync(copy, { force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
