/**
 * The built dashboard (client/dist, served by the Worker) in Debian's headless Chromium,
 * driven by playwright-core: sign in, see the tenants, watch a change made through the API
 * appear live, edit a config, and meet a 412 conflict.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminHttp, adminToken, baseUrl, freshTenant } from '../test/support/harness.js';
import { CLIENT_ROOT, REPO_ROOT } from '../test/support/runtime.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(CLIENT_ROOT, 'test-artifacts');
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
];

let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

async function shot(name: string): Promise<string> {
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

beforeAll(async () => {
  if (!existsSync(join(CLIENT_ROOT, 'dist/index.html'))) throw new Error('dashboard not built: run `npm run build` first');
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    // The 412 this test provokes on purpose is logged by Chromium as a failed resource.
    if (msg.type() === 'error' && !/status of 412/.test(msg.text())) consoleErrors.push(msg.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page) await shot(`failed-${context.task.name.replace(/\W+/g, '-')}`);
});

afterAll(async () => {
  await browser?.close();
});

describe('dashboard in Chromium', () => {
  let tenant: string;

  it('refuses a malformed token and signs in with a platform admin token', async () => {
    tenant = await freshTenant('acme');
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: true } });
    const run = await fetch(`${baseUrl()}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
    expect(run.status).toBe(200);

    await page.goto(baseUrl());
    await page.getByLabel('Access token').fill('nonsense');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('This is not a JWT').waitFor();

    await page.getByLabel('Access token').fill(adminToken());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('whoami').getByText('test-admin · platform-admin').waitFor();
  });

  it('shows system health and the tenant table', async () => {
    await page.getByTestId('health-pct').waitFor();
    expect(await page.getByTestId('health-pct').textContent()).toMatch(/^\d+\.\d%$/);
    const row = page.getByTestId(`tenant-row-${tenant}`);
    await row.waitFor();
    expect(await row.locator('.state').textContent()).toContain('success');
    expect(await row.locator('td.num').first().textContent()).toBe('1');
    await shot('1-overview');
  });

  it('shows a change made through the API live in the event log, with a notification', async () => {
    await page.getByTestId(`tenant-row-${tenant}`).click();
    await page.getByTestId('connection').getByText(`Live · ${tenant}`).waitFor();
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: false }, sms: { provider: 'twilio' } });
    const log = page.getByTestId('event-log');
    await log.locator('tr.live', { hasText: 'email.enabled changed, sms added' }).waitFor();
    await page.getByRole('status').getByText('Notifications settings updated').waitFor();
    // History from D1 fills in the rest (the first write, made before the page was open).
    await log.locator('tr', { hasText: 'update' }).first().waitFor();
    await shot('2-live-event');
  });

  it('edits a config with If-Match, then shows a 412 conflict and resolves it', async () => {
    await page.getByLabel('Namespace to edit').fill('notifications');
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByTestId('editor-version').getByText('version 2').waitFor();
    const editor = page.getByLabel('Document JSON');
    await editor.fill(JSON.stringify({ email: { enabled: true }, digest: 'daily' }, null, 2));
    await page.getByRole('button', { name: 'Save (if still version 2)' }).click();
    await page.getByText('Saved as version 3.').waitFor();
    expect((await adminHttp().getConfig(tenant, 'notifications')).config).toEqual({ email: { enabled: true }, digest: 'daily' });

    // Someone else writes while this draft is open: the save must not overwrite them blindly.
    await editor.fill(JSON.stringify({ email: { enabled: true }, digest: 'weekly' }, null, 2));
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: true }, digest: 'hourly' });
    await page.getByText('This document changed on the server (now version 4)').waitFor();
    await page.getByRole('button', { name: 'Save (if still version 3)' }).click();
    const conflict = page.getByTestId('conflict');
    await conflict.getByText('CASCADE:Config:VersionMismatch').waitFor();
    expect(await conflict.textContent()).toContain('Server, version 4');
    expect((await adminHttp().getConfig(tenant, 'notifications')).config).toMatchObject({ digest: 'hourly' });

    // The operator action runs the health check; the table then counts this page's socket.
    await page.getByRole('button', { name: 'Run health check' }).click();
    await page.getByText('Health check ran; status updated.').waitFor();
    const cells = page.getByTestId(`tenant-row-${tenant}`).locator('td.num');
    await page.waitForFunction(
      (id) => document.querySelector(`[data-testid="tenant-row-${id}"] td.num`)?.textContent === '4',
      tenant,
    );
    expect(await cells.nth(1).textContent()).toBe('1');
    const dismiss = page.getByRole('button', { name: 'Dismiss' });
    while ((await dismiss.count()) > 0) await dismiss.first().click();
    const conflictShot = await shot('3-conflict');

    await conflict.getByRole('button', { name: 'Overwrite version 4 with my draft' }).click();
    await page.getByText('Saved as version 5.').waitFor();
    expect((await adminHttp().getConfig(tenant, 'notifications')).config).toEqual({ email: { enabled: true }, digest: 'weekly' });
    await shot('4-saved');
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(conflictShot, join(REPO_ROOT, 'docs/dashboard.png'));
    expect(consoleErrors).toEqual([]);
  });
});
