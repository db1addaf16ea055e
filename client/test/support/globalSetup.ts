/** Starts one `wrangler dev` for the whole test run and hands its URL to every test file. */
import type { TestProject } from 'vitest/node';
import { startRuntime, type Runtime } from './runtime.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:{port}` of the shared runtime. */
    baseUrl: string;
  }
}

let runtime: Runtime | undefined;

export async function setup(project: TestProject): Promise<void> {
  runtime = await startRuntime();
  project.provide('baseUrl', runtime.baseUrl);
}

export async function teardown(): Promise<void> {
  await runtime?.stop();
}
