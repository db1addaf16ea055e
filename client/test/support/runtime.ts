/**
 * The one helper that starts and stops Cascade's local runtime (`wrangler dev` on workerd)
 * for the client's tests, like the Rust end-to-end harness in `tests/support/mod.rs`:
 * migrations applied to a fresh state folder, `wrangler dev` on 127.0.0.1 with free ports,
 * the whole process group stopped at the end.
 *
 * It runs the prebuilt Worker in `build/` through a derived config (the local environment
 * of the repository's `wrangler.jsonc` without its build step, paths made absolute, assets
 * pointed at the dashboard build in `client/dist`; made by `scripts/test-config.mjs`), so
 * starting it never compiles Rust.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_JWT_SECRET } from './secret.js';

/** The client package's folder. */
export const CLIENT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The repository root (the Rust Worker and its `wrangler.jsonc`). */
export const REPO_ROOT = resolve(CLIENT_ROOT, '..');

const START_TIMEOUT_MS = 90_000;

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function quietEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CI: 'true', CASCADE_PREBUILT: '1', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' };
}

function wrangler(): string {
  return join(REPO_ROOT, 'node_modules/.bin/wrangler');
}

/**
 * Writes `wrangler.json` into `dir`: the test configuration `scripts/test-config.mjs` derives
 * from the repository's `wrangler.jsonc`, with `assetsDir` as the static assets folder.
 */
export function writeTestConfig(dir: string, assetsDir: string): string {
  const made = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/test-config.mjs'), assetsDir], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (made.status !== 0) {
    throw new Error(`scripts/test-config.mjs failed (${made.status}): ${made.stderr}`);
  }
  const file = join(dir, 'wrangler.json');
  writeFileSync(file, made.stdout);
  return file;
}

/** Options for {@link startRuntime}. */
export interface RuntimeOptions {
  /** Static assets the Worker serves (default: `client/dist`, else `client/dashboard/public`). */
  assetsDir?: string;
}

/** A running `wrangler dev`. */
export interface Runtime {
  /** `http://127.0.0.1:{port}`. */
  readonly baseUrl: string;
  /** The state folder (D1, Durable Objects, the log). */
  readonly stateDir: string;
  /** What wrangler printed so far. */
  log(): string;
  /** Stops the whole process group and removes the state folder. */
  stop(): Promise<void>;
}

/** Applies the migrations to a fresh state folder and starts `wrangler dev` on it. */
export async function startRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  if (!existsSync(join(REPO_ROOT, 'build/index.js'))) {
    const built = spawnSync('bash', ['scripts/build'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('scripts/build failed');
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'cascade-client-'));
  const distDir = join(CLIENT_ROOT, 'dist');
  const assetsDir =
    options.assetsDir ?? (existsSync(join(distDir, 'index.html')) ? distDir : join(CLIENT_ROOT, 'dashboard', 'public'));
  const config = writeTestConfig(stateDir, assetsDir);
  const migrate = spawnSync(
    wrangler(),
    ['d1', 'migrations', 'apply', 'DB', '--local', '--config', config, '--persist-to', stateDir],
    { cwd: REPO_ROOT, env: quietEnv(), encoding: 'utf8' },
  );
  if (migrate.status !== 0) {
    rmSync(stateDir, { recursive: true, force: true });
    throw new Error(`applying migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  }
  const port = await freePort();
  const inspector = await freePort();
  const logFile = join(stateDir, 'wrangler.log');
  const out = openSync(logFile, 'w');
  const child: ChildProcess = spawn(
    wrangler(),
    [
      'dev', '--config', config,
      '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
      '--persist-to', stateDir,
      '--test-scheduled', '--show-interactive-dev-session=false', '--live-reload=false',
      '--var', `JWT_SECRET:${TEST_JWT_SECRET}`,
    ],
    { cwd: REPO_ROOT, env: quietEnv(), stdio: ['ignore', out, out], detached: true },
  );
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await killGroup(child);
    rmSync(stateDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/v1/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (exited !== undefined) {
      const text = log();
      await stop();
      throw new Error(`wrangler dev exited (${exited}) before serving:\n${text}`);
    }
    if (Date.now() > deadline) {
      const text = log();
      await stop();
      throw new Error(`wrangler dev not ready in ${START_TIMEOUT_MS} ms:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { baseUrl, stateDir, log, stop };
}

async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  const pid = child.pid;
  const gone = new Promise<void>((done) => child.once('exit', () => done()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timeout = new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), 10_000).unref());
  if ((await Promise.race([gone, timeout])) === 'timeout') signal('SIGKILL');
  signal('SIGKILL');
}
