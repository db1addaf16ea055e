/**
 * The built dashboard (client/dist, served by the Worker) in Debian's headless Chromium,
 * driven by playwright-core: sign in, see the tenants, watch a change made through the API
 * appear live, edit a config, and meet a 412 conflict; then the operator views: manual sync
 * (one tenant and all), module states, activity charts, connections by role, and resolving
 * a merge conflict and pending changes made through the API (oldest first).
 *
 * The second part writes platform config, which every tenant receives (and every tenant
 * created later catches up on): it runs after the first, in the same file. The third edits
 * platform layers in the dashboard (a write no rule delivers warns; one a rule delivers says
 * how many tenants it reaches; a 412 conflict) and shows a tenant that rolled back a
 * platform change as `drifted`.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminHttp, adminToken, baseUrl, freshTenant } from '../test/support/harness.js';
import { eventually, runHealthCheck, setUpOpenItems, type OpenItems } from './support/openItems.js';
import { CLIENT_ROOT, REPO_ROOT } from '../test/support/runtime.js';
import type { JsonObject, WriteAck } from '@cascade/client';
import { driftText } from '../dashboard/format.js';

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
    // The 412 and 404 this test provokes on purpose are logged by Chromium as failed resources.
    const url = msg.location().url;
    const expected =
      /status of 412/.test(msg.text()) ||
      (/status of 404/.test(msg.text()) && /\/v1\/sync$/.test(url));
    if (msg.type() === 'error' && !expected) consoleErrors.push(`${msg.text()} (${url})`);
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
  /**
   * The version of the tenant's first write: a tenant created after platform writes (another
   * e2e file's, when it ran first) catches up on them first, each taking a seq.
   */
  let base: number;
  const v = (n: number) => `version ${base + n}`;

  it('refuses a malformed token and signs in with a platform admin token', async () => {
    tenant = await freshTenant('acme');
    base = (await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: true } })).version;
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
    expect(await row.locator('td.num').first().textContent()).toBe(String(base));
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
    // The platform editor is on the page too: work inside the tenant's.
    const card = page.getByRole('region', { name: 'Config editor', exact: true });
    await card.getByLabel('Namespace to edit').fill('notifications');
    await card.getByRole('button', { name: 'Open' }).click();
    await card.getByTestId('editor-version').getByText(v(1)).waitFor();
    const editor = card.getByLabel('Document JSON');
    await editor.fill(JSON.stringify({ email: { enabled: true }, digest: 'daily' }, null, 2));
    await page.getByRole('button', { name: `Save (if still ${v(1)})` }).click();
    await page.getByText(`Saved as ${v(2)}.`).waitFor();
    expect((await adminHttp().getConfig(tenant, 'notifications')).config).toEqual({ email: { enabled: true }, digest: 'daily' });

    // Someone else writes while this draft is open: the save must not overwrite them blindly.
    await editor.fill(JSON.stringify({ email: { enabled: true }, digest: 'weekly' }, null, 2));
    await adminHttp().putConfig(tenant, 'notifications', { email: { enabled: true }, digest: 'hourly' });
    await page.getByText(`This document changed on the server (now ${v(3)})`).waitFor();
    await page.getByRole('button', { name: `Save (if still ${v(2)})` }).click();
    const conflict = page.getByTestId('conflict');
    await conflict.getByText('CASCADE:Config:VersionMismatch').waitFor();
    expect(await conflict.textContent()).toContain(`Server, ${v(3)}`);
    expect((await adminHttp().getConfig(tenant, 'notifications')).config).toMatchObject({ digest: 'hourly' });

    // The operator action runs the health check; the table then counts this page's socket.
    await page.getByRole('button', { name: 'Run health check' }).click();
    await page.getByText('Health check ran; status updated.').waitFor();
    const cells = page.getByTestId(`tenant-row-${tenant}`).locator('td.num');
    await page.waitForFunction(
      ([id, seq]) => document.querySelector(`[data-testid="tenant-row-${id}"] td.num`)?.textContent === seq,
      [tenant, String(base + 3)] as const,
    );
    expect(await cells.nth(1).textContent()).toBe('1');
    const dismiss = page.getByRole('button', { name: 'Dismiss' });
    while ((await dismiss.count()) > 0) await dismiss.first().click();
    await shot('3-conflict');

    await conflict.getByRole('button', { name: `Overwrite ${v(3)} with my draft` }).click();
    await page.getByText(`Saved as ${v(4)}.`).waitFor();
    expect((await adminHttp().getConfig(tenant, 'notifications')).config).toEqual({ email: { enabled: true }, digest: 'weekly' });
    await shot('4-saved');
    expect(consoleErrors).toEqual([]);
  });
});

describe('operator views in Chromium', () => {
  let setup: OpenItems;
  let tenant: string;
  const row = () => page.getByTestId(`tenant-row-${tenant}`);

  it('shows pending and conflict counts, state and platform seq in the tenant table', async () => {
    setup = await setUpOpenItems();
    tenant = setup.tenant;
    await page.getByRole('button', { name: 'Run health check' }).click();
    await page.getByText('Health check ran; status updated.').waitFor();
    await row().waitFor();
    expect(await row().locator('.state').textContent()).toContain('partial');
    expect(await row().getAttribute('class')).toContain('row-partial');
    expect(await row().getByTestId('pending-count').textContent()).toBe('1');
    expect(await row().getByTestId('conflict-count').textContent()).toBe('1');
    expect(await row().locator('td.num').nth(3).textContent()).toBe(String(setup.platformSeq));
  });

  it('syncs one tenant from its row and reports the result', async () => {
    await row().getByTestId(`sync-${tenant}`).click();
    const result = row().getByTestId(`sync-result-${tenant}`);
    await result.waitFor();
    expect(await result.textContent()).toBe(`Synced ${tenant}: already up to date (platform seq ${setup.platformSeq}).`);
  });

  it('syncs all tenants and lists each one', async () => {
    await page.getByRole('button', { name: 'Sync all tenants' }).click();
    const result = page.getByTestId('action-result');
    await result.getByText('Synced all tenants:').waitFor();
    const text = (await result.textContent()) ?? '';
    expect(text).toMatch(/failed 0/);
    expect(text).toContain(tenant);
  });

  it('shows module states, charts with the history, and the live connection by role', async () => {
    await row().click();
    await page.getByTestId('connection').getByText(`Live · ${tenant}`).waitFor();
    // Module versions as the API reports them, with the open items per namespace.
    for (const ns of ['dashrbac', 'dashmods']) {
      const [layer, effective] = await Promise.all([adminHttp().getConfig(tenant, ns), adminHttp().getEffective(tenant, ns)]);
      const cells = page.getByTestId(`module-${ns}`).locator('td');
      await page.waitForFunction(
        ([id, v]) => document.querySelector(`[data-testid="module-${id}"] td:nth-child(3)`)?.textContent === v,
        [ns, String(effective.version)] as const,
      );
      expect(await cells.nth(1).textContent()).toBe(String(layer.version));
    }
    expect(await page.getByTestId('module-dashrbac').locator('td').nth(5).textContent()).toBe('1');
    expect(await page.getByTestId('module-dashmods').locator('td').nth(4).textContent()).toBe('1');

    // Charts: one propagation point per platform change the fan-out delivered (the three
    // platform writes of the set-up), valued by its propagationMs, and bars that count every event.
    const history = (await adminHttp().history(tenant, { limit: 500 })).entries;
    expect(history.length).toBeGreaterThanOrEqual(4);
    const propagated = history.filter((e) => typeof e.propagationMs === 'number');
    expect(propagated.length).toBeGreaterThanOrEqual(3);
    expect(history.filter((e) => e.scope !== 'platform').every((e) => e.propagationMs === null)).toBe(true);
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="propagation-chart"] circle').length === n,
      propagated.length,
    );
    const values = await page.getByTestId('propagation-chart').locator('circle').evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('data-value'))));
    expect(values.sort((a, b) => a - b)).toEqual(propagated.map((e) => e.propagationMs).sort((a, b) => (a ?? 0) - (b ?? 0)));
    const totals = await page.getByTestId('rate-chart').locator('g.bar-group').evaluateAll((gs) =>
      gs.reduce((sum, g) => sum + Number(g.getAttribute('data-total')), 0),
    );
    expect(totals).toBe(history.length);
    // Two attention events (conflict, pending) in a chart scaled to at most 5: a visible bar.
    const attention = await page.getByTestId('rate-chart').locator('rect.seg-attention').first().boundingBox();
    expect(attention?.height ?? 0).toBeGreaterThan(20);
    expect(await page.getByTestId('activity-summary').textContent()).toContain(`${history.length} events`);

    // The health check counts this page's socket: one admin connection on this tenant.
    await runHealthCheck();
    await page.getByRole('button', { name: 'Refresh status' }).click();
    const connections = page.getByTestId(`connections-${tenant}`);
    await connections.waitFor();
    const cells = await connections.locator('td').allTextContents();
    expect(cells.at(-1)).toBe('1');
    if (setup.rolesReported) expect(cells.slice(1, 3)).toEqual(['1', '0']);
    const dismiss = page.getByRole('button', { name: 'Dismiss' });
    while ((await dismiss.count()) > 0) await dismiss.first().click();
    const overview = await shot('5-operator-views');
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(overview, join(REPO_ROOT, 'docs/dashboard.png'));

    // The all-tenants view, read afresh: at most 20 tenants, every propagated change of each
    // in one chart, every event of each in the rate chart.
    await page.reload();
    const all = page.getByTestId('all-activity');
    await all.waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="all-activity"]')?.getAttribute('data-tenants') ?? '') !== '');
    const chosen = ((await all.getAttribute('data-tenants')) ?? '').split(',');
    const registered = new Set((await adminHttp().listTenants()).map((t) => t.id));
    expect(chosen.length).toBeLessThanOrEqual(20);
    expect(chosen.every((id) => registered.has(id))).toBe(true);
    const pages = await Promise.all(chosen.map((id) => adminHttp().history(id, { limit: 500 })));
    const allEvents = pages.reduce((n, p) => n + p.entries.length, 0);
    const allPropagated = pages.reduce((n, p) => n + p.entries.filter((e) => typeof e.propagationMs === 'number').length, 0);
    expect(allPropagated).toBeGreaterThan(0);
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="all-propagation-chart"] circle').length === n,
      allPropagated,
    );
    await page.waitForFunction(
      (n) =>
        [...document.querySelectorAll('[data-testid="all-rate-chart"] g.bar-group')].reduce((sum, g) => sum + Number(g.getAttribute('data-total')), 0) === n,
      allEvents,
    );
    // Back to the tenant, for the tests that follow.
    await row().click();
    await page.getByTestId('connection').getByText(`Live · ${tenant}`).waitFor();
  });

  it('resolves a merge conflict by taking the platform value', async () => {
    const item = page.getByTestId(`conflict-${setup.conflictId}`);
    expect(await item.getByTestId('upper').textContent()).toBe('"own-only"');
    expect(await item.getByTestId('lower').textContent()).toBe('true');
    await item.getByRole('button', { name: 'Take platform value' }).click();
    const feedback = page.getByTestId('conflict-feedback');
    await feedback.waitFor();
    expect(await feedback.textContent()).toMatch(/^Resolved dashrbac \S*write\S* \(takeUpper\): committed as seq \d+/);
    await page.getByText('No open conflicts.').waitFor();
    const effective = await adminHttp().getEffective(tenant, 'dashrbac');
    expect(effective.config).toMatchObject({ templates: { editor: { write: 'own-only', delete: false } } });
    expect(await adminHttp().listConflicts(tenant)).toEqual([]);
    // The resolution is a commit: it shows up live in the event log.
    await page.getByTestId('event-log').locator('tr.live', { hasText: 'dashrbac' }).first().waitFor();
  });

  it('accepts pending changes oldest first: a newer Accept is disabled and says why', async () => {
    await adminHttp().putPlatformConfig('dashmods', { billing: { enabled: false } });
    const pending = await eventually(async () => {
      const items = await adminHttp().listPending(tenant);
      return items.length === 2 ? items : undefined;
    }, 'a second pending change');
    const [older, newer] = [...pending].sort((a, b) => a.createdSeq - b.createdSeq);
    // A held change sends the tenant's admins a sync-status frame; Reload also works.
    await page.getByRole('region', { name: 'Pending changes' }).getByRole('button', { name: 'Reload' }).click();
    const newerAccept = page.getByTestId(`pending-${newer!.id}`).getByRole('button', { name: 'Accept' });
    await newerAccept.waitFor();
    expect(await newerAccept.isDisabled()).toBe(true);
    const reason = `Accept or reject ${older!.id} first: dashmods changes are accepted oldest first.`;
    expect(await newerAccept.getAttribute('title')).toBe(reason);
    const describedBy = (await newerAccept.getAttribute('aria-describedby')) ?? '';
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(reason);
    expect(await page.getByTestId(`pending-${older!.id}`).getByRole('button', { name: 'Accept' }).isDisabled()).toBe(false);
    // Rejecting stays open for every change, newest included.
    expect(await page.getByTestId(`pending-${newer!.id}`).getByRole('button', { name: 'Reject' }).isDisabled()).toBe(false);
    // The server enforces the same order: a newer accept is 409 with the reason.
    const refused = await adminHttp().raw('POST', `/v1/tenants/${tenant}/pending/dashmods/${newer!.id}/accept`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toBe(
      `pending change ${newer!.id} cannot be accepted before ${older!.id}: accept or reject the oldest first`,
    );
    expect((await adminHttp().getEffective(tenant, 'dashmods')).config).toEqual({});

    await page.getByTestId(`pending-${older!.id}`).getByRole('button', { name: 'Accept' }).click();
    await page.getByText(`Accepted dashmods change ${older!.id}`).waitFor();
    expect((await adminHttp().getEffective(tenant, 'dashmods')).config).toEqual({ billing: { enabled: true } });
    // Now the oldest, it can be accepted; it is rejected here.
    await page.waitForFunction(
      (id) => !(document.querySelector(`[data-testid="pending-${id}"] button`) as HTMLButtonElement | null)?.disabled,
      newer!.id,
    );
    await page.getByTestId(`pending-${newer!.id}`).getByRole('button', { name: 'Reject' }).click();
    await page.getByText(`Rejected dashmods change ${newer!.id}`).waitFor();
    await page.getByText('No platform change waits for a decision.').waitFor();
    expect((await adminHttp().getEffective(tenant, 'dashmods')).config).toEqual({ billing: { enabled: true } });
    expect(await adminHttp().listPending(tenant)).toEqual([]);
    await shot('6-resolved');
    expect(consoleErrors).toEqual([]);
  });
});

describe('platform configuration and drift in Chromium', () => {
  const suffix = Date.now().toString(36);
  const down = { targetScopes: ['tenant', 'user'], syncDirection: 'down', conflictResolution: 'merge', autoApply: true };
  const card = () => page.getByRole('region', { name: 'Platform config editor', exact: true });

  /** Opens `namespace` in the platform editor at `version`, replaces the draft with `config`. */
  async function openAndEdit(namespace: string, version: number, config: JsonObject): Promise<void> {
    await card().getByLabel('Namespace to edit').fill(namespace);
    await card().getByRole('button', { name: 'Open' }).click();
    await card().getByTestId('editor-version').getByText(`platform / ${namespace} · version ${version}`).waitFor();
    await card().getByLabel('Document JSON').fill(JSON.stringify(config, null, 2));
  }

  /** Clicks `button` in the platform editor and returns the API's answer to the PUT it sends. */
  async function saveWith(namespace: string, button: string): Promise<WriteAck> {
    const answer = page.waitForResponse(
      (r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === `/v1/platform/config/${namespace}`,
    );
    await card().getByRole('button', { name: button }).click();
    const response = await answer;
    expect(response.status()).toBe(200);
    return (await response.json()) as WriteAck;
  }

  it('warns when a platform write reaches no tenant because no rule delivers it', async () => {
    const namespace = `dashnorule${suffix}`;
    await openAndEdit(namespace, 0, { banner: 'hello' });
    const ack = await saveWith(namespace, 'Save (if still version 0)');
    expect(ack.targetedTenants).toBe(0);
    expect(ack.warning).toMatch(/no enabled rule delivers/);

    const warning = card().getByTestId('platform-write-warning');
    await warning.waitFor();
    expect(await warning.getAttribute('role')).toBe('alert');
    expect(await warning.textContent()).toContain(ack.warning);
    expect(await card().getByTestId('save-result').textContent()).toBe(`Saved as version ${ack.version}. Reaches 0 tenants.`);
    expect((await adminHttp().getPlatformConfig(namespace)).config).toEqual({ banner: 'hello' });
    await shot('7-platform-warning');
  });

  it('says how many tenants a platform write reaches once a rule delivers it, and meets a 412', async () => {
    const namespace = `dashreach${suffix}`;
    await adminHttp().putRule(`dash-reach-${suffix}`, { ...down, triggerEvents: [`${namespace}.*`] });
    await openAndEdit(namespace, 0, { theme: 'dark' });
    const ack = await saveWith(namespace, 'Save (if still version 0)');
    // The rule has no tenant filter: it reaches every registered tenant not opted out.
    const tenants = await adminHttp().listTenants();
    expect(ack.targetedTenants).toBe(tenants.filter((t) => !t.optOuts.includes(namespace)).length);
    expect(ack.targetedTenants).toBeGreaterThan(0);
    expect(ack.warning).toBeUndefined();
    await card().getByTestId('save-result').getByText(`Saved as version ${ack.version}. Reaches ${ack.targetedTenants} tenants.`).waitFor();
    expect(await card().getByTestId('platform-write-warning').count()).toBe(0);

    // Another admin writes meanwhile: the save is refused with 412 and the conflict shown.
    await card().getByLabel('Document JSON').fill(JSON.stringify({ theme: 'light' }, null, 2));
    const other = await adminHttp().putPlatformConfig(namespace, { theme: 'contrast' });
    await card().getByRole('button', { name: `Save (if still version ${ack.version})` }).click();
    const conflict = card().getByTestId('conflict');
    await conflict.getByText('CASCADE:Config:VersionMismatch').waitFor();
    expect(await conflict.textContent()).toContain(`Server, version ${other.version}`);
    expect((await adminHttp().getPlatformConfig(namespace)).config).toEqual({ theme: 'contrast' });
    const overwrite = await saveWith(namespace, `Overwrite version ${other.version} with my draft`);
    expect(overwrite.targetedTenants).toBe(ack.targetedTenants);
    await card().getByText(`Saved as version ${overwrite.version}. Reaches ${overwrite.targetedTenants} tenants.`).waitFor();
    expect((await adminHttp().getPlatformConfig(namespace)).config).toEqual({ theme: 'light' });
  });

  it('shows a tenant that rolled back a platform change as drifted, with its drift', async () => {
    const http = adminHttp();
    const namespace = `dashdrift${suffix}`;
    await http.putRule(`dash-drift-${suffix}`, { ...down, triggerEvents: [`${namespace}.*`] });
    // Opted out of `dashmods`, whose rule holds platform changes for approval: a pending
    // change would make the tenant `partial`, which outranks `drifted`.
    const tenant = `drift-${suffix}`;
    await http.putTenant(tenant, { name: tenant, optOuts: ['dashmods'] });
    const effective = (v: number) => async () => ((await http.getEffective(tenant, namespace)).config.v === v ? true : undefined);
    await http.putPlatformConfig(namespace, { v: 1 });
    await eventually(effective(1), 'the first platform write at the tenant');
    const { version } = await http.getConfig(tenant, namespace);
    await http.putPlatformConfig(namespace, { v: 2 });
    await eventually(effective(2), 'the second platform write at the tenant');
    await http.request<WriteAck>('POST', `/v1/tenants/${encodeURIComponent(tenant)}/rollback/${namespace}`, { version });
    expect((await http.getEffective(tenant, namespace)).config).toEqual({ v: 1 });

    await runHealthCheck();
    const status = await http.status();
    const line = status?.tenants.find((t) => t.tenant === tenant);
    expect(line?.state, JSON.stringify(line)).toBe('drifted');
    expect(line?.drift).toContainEqual({ namespace, reason: 'rolledBack', mustConverge: false });
    // Whatever else differs is kept on purpose (opted out, no rule) and not counted.
    const others = line?.drift?.filter((d) => d.namespace !== namespace) ?? [];
    expect(others.every((d) => (d.reason === 'optedOut' || d.reason === 'noRule') && !d.mustConverge)).toBe(true);

    await page.getByRole('button', { name: 'Refresh status' }).click();
    const row = page.getByTestId(`tenant-row-${tenant}`);
    await row.locator('.state', { hasText: 'drifted' }).waitFor();
    expect(await row.getAttribute('class')).toContain('row-drifted');
    expect(await row.getByTestId(`drift-${tenant}`).textContent()).toBe(` drift: ${driftText(line?.drift)}`);
    expect(await row.getByTestId(`drift-${tenant}`).textContent()).toContain(`${namespace} (rolledBack)`);
    // Its own colour, not the partial state's.
    expect(await row.locator('.state').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(188, 76, 0)');
    // The overview counts it, as the snapshot does.
    const drifted = status?.counts.drifted ?? 0;
    expect(drifted).toBeGreaterThanOrEqual(1);
    await page.waitForFunction(
      (n) => document.querySelector('.counts .state-drifted')?.textContent?.trim() === `${n} drifted`,
      drifted,
    );
    await shot('8-drifted');
    expect(consoleErrors).toEqual([]);
  });
});
