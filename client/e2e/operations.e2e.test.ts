/**
 * The dashboard runs the product, in Debian's headless Chromium through clicks: a tenant's
 * history with each change's diff and a confirmed rollback (config and history update
 * live); the platform tenant table updated live from the platform admins' room when a tenant
 * gets pending changes, which are accepted oldest first; sync rules created, previewed (which
 * tenants they reach), refused field by field, edited and deleted; notifications that never
 * cover a button; and the layout at 390 px wide without horizontal scrolling.
 *
 * Screenshots go to test-artifacts/; with UPDATE_DOCS_SCREENSHOT=1 the README's ones in
 * docs/screenshots/ are refreshed too.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminHttp, adminToken, baseUrl, freshTenant } from '../test/support/harness.js';
import { CLIENT_ROOT, REPO_ROOT } from '../test/support/runtime.js';
import { eventually, runHealthCheck } from './support/openItems.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(CLIENT_ROOT, 'test-artifacts');
const DOCS_SHOTS = join(REPO_ROOT, 'docs/screenshots');
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
];

let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const suffix = Date.now().toString(36);

/** Saves a screenshot of `target` (the page when absent); also to docs/screenshots/ when asked. */
async function shot(name: string, target?: Locator, docs = false): Promise<void> {
  const file = join(ARTIFACTS, `${name}.png`);
  if (target) await target.screenshot({ path: file });
  else await page.screenshot({ path: file });
  if (docs && process.env.UPDATE_DOCS_SCREENSHOT === '1') {
    mkdirSync(DOCS_SHOTS, { recursive: true });
    copyFileSync(file, join(DOCS_SHOTS, `${name}.png`));
  }
}

/** Opens the dashboard signed in as the platform admin, with `tenant` selected. */
async function openTenant(tenant: string): Promise<void> {
  await page.goto(baseUrl());
  await page.getByTestId(`tenant-row-${tenant}`).click();
  await page.getByTestId('connection').getByText(`Live · ${tenant}`).waitFor();
}

/** The diff lines of a history entry, sorted (a patch lists its paths in its own order). */
async function lines(entry: Locator): Promise<string[]> {
  return (await entry.getByTestId('diff-line').allTextContents()).sort();
}

/** Waits until `locator`'s text is `text`. */
async function hasText(locator: Locator, text: string, timeout = 15_000): Promise<void> {
  await expect.poll(() => locator.textContent(), { timeout }).toBe(text);
}

/** Whether the page scrolls sideways (wider content than the viewport). */
const scrollsSideways = () =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

beforeAll(async () => {
  if (!existsSync(join(CLIENT_ROOT, 'dist/index.html'))) throw new Error('dashboard not built: run `npm run build` first');
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    // The rule editor's refusals (422) are provoked on purpose; Chromium logs them as failed resources.
    const url = msg.location().url;
    const expected = /status of 422/.test(msg.text()) && /\/v1\/(rules|platform\/rules)\//.test(url);
    if (msg.type() === 'error' && !expected) consoleErrors.push(`${msg.text()} (${url})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  // A snapshot exists (this file may run alone, before any health check).
  await runHealthCheck();
  await page.goto(baseUrl());
  await page.getByLabel('Access token').fill(adminToken());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').getByText('test-admin · platform-admin').waitFor();
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page) await shot(`failed-ops-${context.task.name.replace(/\W+/g, '-')}`);
});

afterAll(async () => {
  await browser?.close();
});

describe('history, rollback and pending changes in Chromium', () => {
  let tenant: string;

  it('shows each change with its diff and rolls back to a version after a confirmation', async () => {
    tenant = await freshTenant('hist');
    const http = adminHttp();
    const first = await http.putConfig(tenant, 'notifications', { email: { enabled: true }, digest: 'daily' });
    const second = await http.putConfig(tenant, 'notifications', { email: { enabled: false }, digest: 'daily', sms: { provider: 'twilio' } });
    await openTenant(tenant);
    const history = page.getByRole('region', { name: 'History' });
    const editor = page.getByRole('region', { name: 'Config editor', exact: true });
    await editor.getByLabel('Namespace to edit').fill('notifications');
    await editor.getByRole('button', { name: 'Open' }).click();
    await editor.getByTestId('editor-version').getByText(`version ${second.version}`).waitFor();

    // The second change: one path changed, one added, each before → after.
    const entry = history.getByTestId(`history-${second.seq}`);
    await entry.waitFor();
    expect(await lines(entry)).toEqual(['/email/enabled true → false', '/sms — → {"provider":"twilio"}']);
    expect(await entry.getByTestId('diff').first().textContent()).toContain('notifications · tenant layer');
    const created = history.getByTestId(`history-${first.seq}`);
    expect(await lines(created)).toEqual(['/digest — → "daily"', '/email — → {"enabled":true}']);
    await shot('history-diff', history, true);

    // Roll back to the first version: the confirmation shows the layer as it was then.
    await created.getByRole('button', { name: 'Roll back to this version' }).click();
    const confirm = created.getByRole('alertdialog');
    await confirm.getByText(`Roll back notifications to version ${first.seq}?`).waitFor();
    await confirm.getByTestId('rollback-target').waitFor();
    expect(JSON.parse((await confirm.getByTestId('rollback-target').textContent()) ?? '')).toEqual({ email: { enabled: true }, digest: 'daily' });
    // Cancel leaves everything as it was.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await created.getByRole('alertdialog').count()).toBe(0);
    expect((await http.getConfig(tenant, 'notifications')).version).toBe(second.version);

    await created.getByRole('button', { name: 'Roll back to this version' }).click();
    await created.getByRole('alertdialog').getByRole('button', { name: 'Confirm rollback' }).click();
    const feedback = history.getByTestId('rollback-feedback');
    await feedback.getByText(`Rolled back notifications to version ${first.seq}`).waitFor();
    const now = await http.getConfig(tenant, 'notifications');
    expect(now.config).toEqual({ email: { enabled: true }, digest: 'daily' });
    expect(await feedback.textContent()).toBe(
      `Rolled back notifications to version ${first.seq}: committed as seq ${now.version}, notifications now v${now.version}.`,
    );
    // Live: the rollback is the newest history entry, with its own diff, and the editor follows.
    const rolled = history.getByTestId(`history-${now.version}`);
    await rolled.waitFor();
    expect(await lines(rolled)).toEqual(['/email/enabled false → true', '/sms {"provider":"twilio"} → —']);
    await editor.getByTestId('editor-version').getByText(`version ${now.version}`).waitFor();
    expect(JSON.parse(await editor.getByLabel('Document JSON').inputValue())).toEqual(now.config);
    expect(consoleErrors).toEqual([]);
  });

  it('updates the tenant table live when a tenant gets pending changes, and accepts them oldest first', async () => {
    const namespace = `opsmods${suffix}`;
    const http = adminHttp();
    // A tenant of its own, opted out of the namespace the other e2e file holds for approval
    // (a tenant created after those writes would catch up on them as pending changes).
    tenant = `live-${suffix}`;
    await http.putTenant(tenant, { name: tenant, attributes: { approval: suffix }, optOuts: ['dashmods'] });
    await http.putRule(`ops-approval-${suffix}`, {
      triggerEvents: [`${namespace}.*`], targetScopes: ['tenant'], syncDirection: 'down',
      conflictResolution: 'platform-wins', autoApply: false, tenantFilter: { approval: suffix },
    });
    // A snapshot that knows the tenant, taken before the pending changes exist.
    await runHealthCheck();
    expect(await http.listPending(tenant)).toEqual([]);
    await page.getByRole('button', { name: 'Refresh status' }).click();
    const row = page.getByTestId(`tenant-row-${tenant}`);
    await hasText(row.getByTestId('pending-count'), '0');
    expect(await row.getAttribute('data-live')).toBeNull();
    await row.click();
    await page.getByTestId('connection').getByText(`Live · ${tenant}`).waitFor();

    // No health check and no refresh from here: the room's frame moves the row.
    await http.putPlatformConfig(namespace, { billing: { enabled: true } });
    await hasText(row.getByTestId('pending-count'), '1');
    expect(await row.getAttribute('data-live')).toBe('true');
    expect(await row.getAttribute('class')).toContain('row-partial');
    expect(await row.locator('.state').textContent()).toContain('partial');
    await http.putPlatformConfig(namespace, { billing: { enabled: false } });
    await hasText(row.getByTestId('pending-count'), '2');

    const pending = await eventually(async () => {
      const items = (await http.listPending(tenant)).filter((p) => p.namespace === namespace);
      return items.length === 2 ? items : undefined;
    }, 'two pending changes');
    const [older, newer] = [...pending].sort((a, b) => a.createdSeq - b.createdSeq);
    // The tenant's admins' sync-status brings the held changes into the list: no Reload.
    const list = page.getByRole('region', { name: 'Pending changes' });
    await list.getByTestId(`pending-${newer!.id}`).waitFor();
    const newerAccept = list.getByTestId(`pending-${newer!.id}`).getByRole('button', { name: 'Accept' });
    expect(await newerAccept.isDisabled()).toBe(true);
    const reason = `Accept or reject ${older!.id} first: ${namespace} changes are accepted oldest first.`;
    expect(await newerAccept.getAttribute('title')).toBe(reason);
    const describedBy = await newerAccept.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(reason);
    await list.scrollIntoViewIfNeeded();
    await shot('pending-list', list, true);

    await list.getByTestId(`pending-${older!.id}`).getByRole('button', { name: 'Accept' }).click();
    await list.getByText(`Accepted ${namespace} change ${older!.id}`).waitFor();
    await page.waitForFunction(
      (id) => (document.querySelector(`[data-testid="pending-${id}"] button`) as HTMLButtonElement | null)?.disabled === false,
      newer!.id,
    );
    await list.getByTestId(`pending-${newer!.id}`).getByRole('button', { name: 'Accept' }).click();
    await list.getByText(`Accepted ${namespace} change ${newer!.id}`).waitFor();
    expect((await http.getEffective(tenant, namespace)).config).toEqual({ billing: { enabled: false } });
    // Settled: the room's frame brings the row back to success.
    await hasText(row.getByTestId('pending-count'), '0');
    expect(await row.locator('.state').textContent()).toContain('success');
    expect(consoleErrors).toEqual([]);
  });

  it('shows notifications where they cover no button', async () => {
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: false }, digest: 'weekly' });
    const toast = page.getByTestId('notifications').locator('.toast').first();
    await toast.waitFor();
    const overlaps = await page.evaluate(() => {
      const hits: string[] = [];
      const toasts = [...document.querySelectorAll('.toast')];
      for (const t of toasts) {
        const a = t.getBoundingClientRect();
        for (const b of document.querySelectorAll('button')) {
          if (t.contains(b)) continue;
          const r = b.getBoundingClientRect();
          if (r.width === 0 || r.height === 0) continue;
          const apart = r.right <= a.left || r.left >= a.right || r.bottom <= a.top || r.top >= a.bottom;
          if (!apart) hits.push(b.textContent ?? '');
        }
      }
      return { toasts: toasts.length, hits };
    });
    expect(overlaps.toasts).toBeGreaterThan(0);
    expect(overlaps.hits).toEqual([]);
    // Scrolled to the bottom, they still cover nothing: they are in the page's flow.
    expect(await toast.evaluate((el) => getComputedStyle(el.parentElement!).position)).toBe('static');
  });
});

describe('sync rules in Chromium', () => {
  const ruleId = `ops-rule-${suffix}`;
  const plan = `pro-${suffix}`;
  const card = () => page.getByRole('region', { name: 'Sync rules' });

  it('previews the tenants a rule reaches, shows refused fields inline, creates, edits and deletes it', async () => {
    const http = adminHttp();
    const reached = [`rules-a-${suffix}`, `rules-b-${suffix}`];
    for (const id of reached) await http.putTenant(id, { name: id, attributes: { plan } });
    await page.goto(baseUrl());
    await card().getByRole('button', { name: 'New rule' }).click();
    const form = card().getByRole('form', { name: 'New rule' });
    await form.getByLabel('Rule id').fill(ruleId);
    await form.getByLabel('Trigger events').fill(`opspromo${suffix}.*`);
    await form.getByLabel('Tenant filter (JSON)').fill('{"plan": ');

    // The draft's own mistake is shown at its field before anything is sent.
    await form.getByRole('button', { name: 'Preview targeted tenants' }).click();
    await form.getByTestId('rule-error-tenantFilter').getByText('Not valid JSON').waitFor();
    expect(await form.getByLabel('Tenant filter (JSON)').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Tenant filter (JSON)').fill(JSON.stringify({ plan }));

    // The server's refusal of a field (its problem's pointer) is shown at that field.
    await form.getByLabel('Priority').fill('1.5');
    await form.getByRole('button', { name: 'Preview targeted tenants' }).click();
    const priorityError = form.getByTestId('rule-error-priority');
    await priorityError.waitFor();
    expect(await priorityError.textContent()).toMatch(/^invalid sync rule: priority: invalid type: floating point `1.5`/);
    const priority = form.getByLabel('Priority');
    expect(await priority.getAttribute('aria-invalid')).toBe('true');
    expect(await priority.getAttribute('aria-describedby')).toBe(await priorityError.getAttribute('id'));
    await form.getByLabel('Priority').fill('5');

    // The preview names the tenants the rule reaches, as the server counts them.
    await form.getByRole('button', { name: 'Preview targeted tenants' }).click();
    const preview = form.getByTestId('rule-preview');
    await preview.getByText('Reaches 2 tenants.').waitFor();
    expect(await form.getByTestId('rule-preview-tenants').textContent()).toBe(reached.join(', '));
    await shot('rules-editor', card(), true);

    await form.getByRole('button', { name: 'Create rule' }).click();
    await form.getByTestId('rule-saved').getByText(`Saved rule ${ruleId}.`).waitFor();
    const row = card().getByTestId(`rule-${ruleId}`);
    await row.waitFor();
    const stored = (await http.request<Array<{ id: string; rule: Record<string, unknown> }>>('GET', '/v1/rules')).find((r) => r.id === ruleId);
    expect(stored?.rule).toMatchObject({ triggerEvents: [`opspromo${suffix}.*`], tenantFilter: { plan }, priority: 5, syncDirection: 'down' });
    await form.getByRole('button', { name: 'Close' }).click();

    // Edit: an upward rule reaches no tenant, and the preview says why; saved, the row shows it.
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = card().getByRole('form', { name: `Edit rule ${ruleId}` });
    expect(await edit.getByLabel('Rule id').inputValue()).toBe(ruleId);
    await edit.getByLabel('Direction').selectOption('up');
    await edit.getByRole('button', { name: 'Preview targeted tenants' }).click();
    await edit.getByTestId('rule-preview').getByText('Reaches 0 tenants.').waitFor();
    expect(await edit.getByTestId('rule-preview').textContent()).toContain('delivers nothing to tenants');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.getByTestId('rule-saved').waitFor();
    await row.getByText('up · merge').waitFor();

    // Delete, after a confirmation.
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Confirm delete' }).click();
    await card().getByTestId('rules-feedback').getByText(`Deleted rule ${ruleId}.`).waitFor();
    await row.waitFor({ state: 'detached' });
    expect((await http.request<Array<{ id: string }>>('GET', '/v1/rules')).some((r) => r.id === ruleId)).toBe(false);
    expect(consoleErrors).toEqual([]);
  });
});

describe('narrow screens in Chromium', () => {
  it('lays the dashboard out at 390 px wide without horizontal scrolling', async () => {
    const tenant = await freshTenant('narrow');
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: true } });
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: false } });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(baseUrl());
    await page.getByTestId(`tenant-row-${tenant}`).waitFor();
    expect(await scrollsSideways()).toBe(false);
    await shot('mobile-390', undefined, true);

    await page.getByTestId(`tenant-row-${tenant}`).click();
    await page.getByTestId('connection').getByText(`Live · ${tenant}`).waitFor();
    await page.getByRole('region', { name: 'History' }).getByTestId('diff-line').first().waitFor();
    expect(await scrollsSideways()).toBe(false);
    await page.getByRole('region', { name: 'Sync rules' }).getByRole('button', { name: 'New rule' }).click();
    expect(await scrollsSideways()).toBe(false);
    // Every button can be reached inside the viewport's width.
    const outside = await page.evaluate(() =>
      [...document.querySelectorAll('button')]
        .filter((b) => b.closest('.table-scroll, table') === null)
        .map((b) => b.getBoundingClientRect())
        .filter((r) => r.width > 0 && (r.left < 0 || r.right > window.innerWidth)).length,
    );
    expect(outside).toBe(0);
    await page.setViewportSize({ width: 1360, height: 1000 });
    expect(consoleErrors).toEqual([]);
  });
});
