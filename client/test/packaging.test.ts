/**
 * The packages as a user installs them: `npm pack` of @cascade/client, @cascade/react and
 * @cascade/openfeature, installed into a scratch project from the tarballs, then used from plain Node ESM,
 * type-checked by `tsc` (NodeNext and Bundler resolution), and bundled by Vite. A package
 * whose `exports` point at TypeScript sources fails the same Node check.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHttp, adminToken, baseUrl, freshTenant } from './support/harness.js';
import { CLIENT_ROOT } from './support/runtime.js';
import { attempt, installProject, must, packWorkspaces, pinned, tempDir, writeFiles } from './packaging/scratch.js';

const TSC = join(CLIENT_ROOT, 'node_modules/.bin/tsc');

/** Plain Node: bootstrap, follow a tenant with the ws package, read one value and one flag, print them. */
const NODE_SCRIPT = `
import { CascadeClient, fetchBootstrap } from '@cascade/client';
import * as react from '@cascade/react';
import * as query from '@cascade/react/query';
import { CascadeServerProvider } from '@cascade/openfeature/server';
import { CascadeWebProvider } from '@cascade/openfeature/web';
import { OpenFeature } from '@openfeature/server-sdk';
import WebSocket from 'ws';

const [baseUrl, tenant, token] = process.argv.slice(2);
const bootstrap = await fetchBootstrap({ baseUrl, tenant, token, WebSocket, namespaces: ['notifications'] });
const client = new CascadeClient({ baseUrl, tenant, token, WebSocket, namespaces: ['notifications'], bootstrap });
const before = client.get('notifications', 'email.enabled', 'no value');
await new Promise((resolve) => { client.on('synced', resolve); client.connect(); });
// A write over the package's HTTP wrapper; its change frame is applied as a JSON Patch.
const changed = new Promise((resolve) => client.on('change', resolve));
await client.http.putConfig(tenant, 'notifications', { email: { enabled: false } });
await changed;
await OpenFeature.setProviderAndWait(new CascadeServerProvider(new CascadeClient({ baseUrl, tenant, token, WebSocket })));
const flag = await OpenFeature.getClient().getBooleanValue('notifications/email.enabled', true);
await OpenFeature.close();
console.log(JSON.stringify({
  flag,
  web: typeof CascadeWebProvider,
  before,
  after: client.get('notifications', '/email/enabled', 'no value'),
  seq: client.lastSeq,
  react: typeof react.useConfig,
  query: typeof query.useRealtimeSync,
}));
client.close();
`;

/** A consumer checked by tsc: typed get, the React hooks, the TanStack entry. */
const CONSUMER_TSX = `
import { CascadeClient, memoryStorage, type Bootstrap } from '@cascade/client';
import { CascadeProvider, typedUseConfig, useConfig, useRealtimeSync } from '@cascade/react';
import { useRealtimeSync as useRealtimeSyncWithQuery } from '@cascade/react/query';
import { CascadeWebProvider } from '@cascade/openfeature/web';
import { OpenFeature } from '@openfeature/web-sdk';

interface Namespaces {
  notifications: { email: { enabled: boolean; from?: string } };
}
declare const bootstrap: Bootstrap;
const client = new CascadeClient<Namespaces>({ baseUrl: 'https://cascade.example', tenant: 'acme', token: () => 'jwt', bootstrap, cache: { storage: memoryStorage() } });
export const enabled: boolean = client.get('notifications', 'email.enabled', false);
// @ts-expect-error the fallback must have the declared type
client.get('notifications', 'email.enabled', 'yes');
const useAppConfig = typedUseConfig<Namespaces>();
OpenFeature.setProvider(new CascadeWebProvider(client));
export const flag: boolean = OpenFeature.getClient().getBooleanValue('notifications/email.enabled', false);

export function View() {
  const sync = useRealtimeSync({ baseUrl: 'https://cascade.example', tenant: 'acme', token: () => 'jwt' });
  useRealtimeSyncWithQuery({ baseUrl: 'https://cascade.example', tenant: 'acme', token: 'jwt', enabled: false });
  const from: string = useAppConfig('notifications', 'email.from', 'noreply');
  const limit: number = useConfig('limits', 'api.perMinute', 60);
  return (
    <CascadeProvider client={client}>
      <p>{sync.state} {from} {limit}</p>
    </CascadeProvider>
  );
}
`;

function tsconfig(resolution: 'NodeNext' | 'Bundler'): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: resolution === 'NodeNext' ? 'NodeNext' : 'ESNext',
      moduleResolution: resolution,
      jsx: 'react-jsx',
      strict: true,
      noEmit: true,
      lib: ['ES2023', 'DOM'],
      types: [],
    },
    files: ['consumer.tsx'],
  });
}

/** A tiny Vite app. */
const APP = {
  'app/index.html': '<!doctype html><div id="root"></div><script type="module" src="/main.tsx"></script>',
  'app/main.tsx': `
import { CascadeClient } from '@cascade/client';
import { CascadeProvider, useConfig } from '@cascade/react';
import { createRoot } from 'react-dom/client';

const client = new CascadeClient({ baseUrl: location.origin, tenant: 'acme', token: () => 'jwt' });
function Banner() {
  return <p>{useConfig('banner', 'text', 'packaged-app-fallback')}</p>;
}
createRoot(document.getElementById('root')!).render(<CascadeProvider client={client}><Banner /></CascadeProvider>);
`,
};

// tsc and npm on a shared two-core machine: generous timeouts.
describe('packaging', { timeout: 180_000 }, () => {
  const temp = tempDir('cascade-pack-');
  const scratch = join(temp.path, 'scratch');

  beforeAll(async () => {
    const tarballs = await packWorkspaces(['packages/client', 'packages/react', 'packages/openfeature'], temp.path);
    await installProject(scratch, [
      ...tarballs,
      ...['react', 'react-dom', '@tanstack/react-query', '@types/react', '@types/react-dom', 'ws', '@types/ws', '@types/node'].map(pinned),
      ...['@openfeature/core', '@openfeature/web-sdk', '@openfeature/server-sdk'].map(pinned),
    ]);
  }, 240_000);
  afterAll(() => temp.remove());

  it('packs built JavaScript and declarations, no tests or configs', async () => {
    for (const name of ['client', 'react', 'openfeature']) {
      const root = join(scratch, 'node_modules/@cascade', name);
      const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>>; private?: boolean };
      expect(manifest.private).toBeUndefined();
      for (const entry of Object.values(manifest.exports).filter((e) => typeof e === 'object')) {
        expect(entry.default).toMatch(/^\.\/dist\/.*\.js$/);
        expect(existsSync(join(root, entry.default!))).toBe(true);
        expect(existsSync(join(root, entry.types!))).toBe(true);
      }
      expect(readdirSync(root).sort()).toEqual(['README.md', 'dist', 'package.json', 'src']);
    }
  });

  it('runs in plain Node ESM: bootstrap on the "server", resume, a patched change, typed read, a flag', async () => {
    const tenant = await freshTenant('pack');
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: true } });
    writeFileSync(join(scratch, 'use.mjs'), NODE_SCRIPT);
    const out = await must(process.execPath, ['use.mjs', baseUrl(), tenant, adminToken()], scratch);
    expect(JSON.parse(out)).toEqual({ flag: false, web: 'function', before: true, after: false, seq: 2, react: 'function', query: 'function' });
  });

  it('type-checks a consumer of both packages with tsc (NodeNext and Bundler resolution)', async () => {
    writeFiles(scratch, { 'consumer.tsx': CONSUMER_TSX, 'tsconfig.nodenext.json': tsconfig('NodeNext'), 'tsconfig.bundler.json': tsconfig('Bundler') });
    for (const project of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
      const outcome = await attempt(TSC, ['-p', project], scratch);
      expect(outcome.stdout + outcome.stderr, project).toBe('');
      expect(outcome.code).toBe(0);
    }
  });

  it('bundles a Vite app that imports @cascade/react', async () => {
    writeFiles(scratch, APP);
    const outDir = join(scratch, 'app-dist');
    await build({ root: join(scratch, 'app'), configFile: false, logLevel: 'silent', oxc: { jsx: { runtime: 'automatic' } }, build: { outDir, emptyOutDir: true } });
    const assets = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js'));
    expect(assets).toHaveLength(1);
    const bundle = readFileSync(join(outDir, 'assets', assets[0]!), 'utf8');
    expect(bundle).toContain('packaged-app-fallback');
    expect(bundle).toContain('bearer.'); // the client's WebSocket auth made it in
  });

  it('the Node check fails for a package whose exports point at TypeScript sources', async () => {
    const broken = join(temp.path, 'broken');
    cpSync(join(CLIENT_ROOT, 'packages/client'), broken, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.includes('/dist') });
    const manifest = JSON.parse(readFileSync(join(broken, 'package.json'), 'utf8')) as Record<string, unknown>;
    manifest.exports = { '.': './src/index.ts' };
    delete manifest.scripts;
    writeFileSync(join(broken, 'package.json'), JSON.stringify(manifest));
    const [tarball] = JSON.parse(await must('npm', ['pack', '--json', '--pack-destination', temp.path], broken)) as Array<{ filename: string }>;
    const project = join(temp.path, 'broken-scratch');
    await installProject(project, [join(temp.path, tarball!.filename)]);
    writeFileSync(join(project, 'use.mjs'), "import { CascadeClient } from '@cascade/client';\nconsole.log(typeof CascadeClient);\n");
    const outcome = await attempt(process.execPath, ['use.mjs'], project);
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toMatch(/ERR_UNKNOWN_FILE_EXTENSION|ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING/);
  }, 120_000);
});
