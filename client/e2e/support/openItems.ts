/**
 * Makes a tenant with one open merge conflict and one pending change, through the API, as
 * tests/propagation.rs does: a `merge` rule, a tenant customization and a platform change
 * to the same leaf give the conflict; an `autoApply: false` rule gives the pending change.
 */
import { adminHttp, baseUrl, freshTenant } from '../../test/support/harness.js';
import { waitForSnapshotAfter } from '../../dashboard/actions.js';

/** What the e2e test works on. */
export interface OpenItems {
  tenant: string;
  conflictId: string;
  pendingId: string;
  /** Platform seq after the set-up. */
  platformSeq: number;
  /** Whether this Worker's hubs report `connectionsByRole` (builds since 2d075af). */
  rolesReported: boolean;
}

/** Polls `check` every 100 ms until it returns a value. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs the cron health check now (`wrangler dev --test-scheduled`) and waits for its snapshot:
 * the trigger only starts the check, which the platform hub walks a page of tenants at a time.
 */
export async function runHealthCheck(): Promise<void> {
  const http = adminHttp();
  const before = (await http.status())?.takenAt ?? 0;
  const res = await fetch(`${baseUrl()}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
  if (res.status !== 200) throw new Error(`health check answered ${res.status}`);
  await res.body?.cancel();
  await waitForSnapshotAfter(http, before);
}

/** Rules, a fresh tenant, a conflict in `dashrbac` and a pending change in `dashmods`. */
export async function setUpOpenItems(): Promise<OpenItems> {
  const http = adminHttp();
  const down = { targetScopes: ['tenant', 'user'], syncDirection: 'down' };
  await http.putRule('dash-merge', { ...down, triggerEvents: ['dashrbac.*'], conflictResolution: 'merge', autoApply: true });
  await http.putRule('dash-approval', { ...down, triggerEvents: ['dashmods.*'], conflictResolution: 'platform-wins', autoApply: false });
  const tenant = await freshTenant('ops');

  await http.putPlatformConfig('dashrbac', { templates: { editor: { read: true, write: false } } });
  await eventually(async () => ((await http.getEffective(tenant, 'dashrbac')).config.templates ? true : undefined), 'the first rbac update');
  await http.putConfig(tenant, 'dashrbac', { templates: { editor: { write: true } } });
  await http.putPlatformConfig('dashrbac', { templates: { editor: { read: true, write: 'own-only', delete: false } } });
  const conflicts = await eventually(async () => {
    const list = await http.listConflicts(tenant);
    return list.length === 1 ? list : undefined;
  }, 'the conflict');

  const ack = await http.putPlatformConfig('dashmods', { billing: { enabled: true } });
  const pending = await eventually(async () => {
    const list = await http.listPending(tenant);
    return list.length === 1 ? list : undefined;
  }, 'the pending change');

  await runHealthCheck();
  const status = await http.status();
  const hub = status?.tenants.find((t) => t.tenant === tenant)?.hub;
  return {
    tenant,
    conflictId: conflicts[0]!.id,
    pendingId: pending[0]!.id,
    platformSeq: ack.seq,
    rolesReported: hub?.connectionsByRole !== undefined,
  };
}
