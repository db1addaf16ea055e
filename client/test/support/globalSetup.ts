/**
 * Starts one `wrangler dev` for the whole test run and hands its URL to every test file.
 * Each project (client, e2e) calls setup; they share the one runtime, stopped by the last
 * teardown.
 */
import type { TestProject } from 'vitest/node';
import { startRuntime, type Runtime } from './runtime.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:{port}` of the shared runtime. */
    baseUrl: string;
  }
}

let runtime: Promise<Runtime> | undefined;
let users = 0;

export async function setup(project: TestProject): Promise<void> {
  users++;
  runtime ??= startRuntime();
  project.provide('baseUrl', (await runtime).baseUrl);
}

export async function teardown(): Promise<void> {
  users--;
  if (users === 0) await (await runtime)?.stop();
}
