/**
 * A scratch npm project in a temporary directory, for testing the packages as a user gets
 * them: `npm pack`ed from the workspace, installed from the tarballs (their dependencies and
 * the peer packages from npm's cache or the registry, at the versions this workspace pins).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CLIENT_ROOT } from '../support/runtime.js';

const run = promisify(execFile);

/** The result of a command that may fail. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; a non-zero exit is an outcome, not an exception. */
export async function attempt(command: string, args: string[], cwd: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/** Runs a command and throws with its output when it fails. */
export async function must(command: string, args: string[], cwd: string): Promise<string> {
  const outcome = await attempt(command, args, cwd);
  if (outcome.code !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${outcome.stdout}\n${outcome.stderr}`);
  return outcome.stdout;
}

/** The version this workspace pins for a dev dependency (one lockfile, one version everywhere). */
export function pinned(name: string): string {
  const root = JSON.parse(readFileSync(join(CLIENT_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const version = root.devDependencies[name];
  if (!version) throw new Error(`client/package.json pins no ${name}`);
  return `${name}@${version}`;
}

/** A fresh temporary directory (removed by `remove`). */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** `npm pack`s workspace packages (their `prepack` builds them) into `dir`; returns the tarball paths. */
export async function packWorkspaces(workspaces: string[], dir: string, cwd = CLIENT_ROOT): Promise<string[]> {
  const args = ['pack', '--json', '--pack-destination', dir, ...workspaces.flatMap((w) => ['-w', w])];
  const packed = JSON.parse(await must('npm', args, cwd)) as Array<{ filename: string }>;
  return packed.map((p) => join(dir, p.filename));
}

/** Writes files (path relative to `root` to content), creating directories. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** Makes an ESM npm project in `dir` and installs `specs` (tarball paths or `name@version`). */
export async function installProject(dir: string, specs: string[]): Promise<void> {
  writeFiles(dir, { 'package.json': JSON.stringify({ name: 'scratch', version: '0.0.0', private: true, type: 'module' }, null, 2) });
  await must('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...specs], dir);
}
