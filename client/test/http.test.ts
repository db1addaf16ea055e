/** The HTTP wrapper against the running Worker. */
import { describe, expect, it } from 'vitest';
import { CascadeApiError } from '@cascade/client';
import { CascadeHttp } from '@cascade/client';
import { adminHttp, baseUrl, freshTenant } from './support/harness.js';
import { mintToken } from './support/token.js';

describe('CascadeHttp', () => {
  it('writes with If-Match and turns a stale version into a typed 412', async () => {
    const tenant = await freshTenant('http');
    const http = adminHttp();
    const first = await http.putConfig(tenant, 'business', { currency: 'EUR' });
    expect(first).toMatchObject({ seq: 1, version: 1, changed: true });
    const second = await http.putConfig(tenant, 'business', { currency: 'USD' }, { ifVersion: 1 });
    expect(second.version).toBe(2);
    const stale = await http.putConfig(tenant, 'business', { currency: 'GBP' }, { ifVersion: 1 }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(CascadeApiError);
    const error = stale as CascadeApiError;
    expect(error.status).toBe(412);
    expect(error.isConflict).toBe(true);
    expect(error.code).toBe('CASCADE:Config:VersionMismatch');
    expect(error.detail).toMatch(/version 2/);
    expect((await http.getConfig(tenant, 'business')).config).toEqual({ currency: 'USD' });
  });

  it('replays a write retried with the same Idempotency-Key', async () => {
    const tenant = await freshTenant('idem');
    const http = adminHttp();
    const a = await http.putConfig(tenant, 'business', { n: 1 }, { idempotencyKey: 'k-1' });
    const b = await http.putConfig(tenant, 'business', { n: 1 }, { idempotencyKey: 'k-1' });
    expect(b.seq).toBe(a.seq);
    expect(b.replayed).toBe(true);
  });

  it('reads history newest first and pages with before', async () => {
    const tenant = await freshTenant('hist');
    const http = adminHttp();
    for (let i = 1; i <= 3; i++) await http.putConfig(tenant, 'business', { i });
    const all = await (async () => {
      for (let tries = 0; tries < 50; tries++) {
        const page = await http.history(tenant);
        if (page.entries.length === 3) return page;
        await new Promise((r) => setTimeout(r, 100)); // history reaches D1 from the hub's outbox
      }
      throw new Error('history did not reach 3 entries');
    })();
    expect(all.entries.map((e) => e.seq)).toEqual([3, 2, 1]);
    expect(all.entries[0]).toMatchObject({ type: 'business', scope: 'tenant', outcome: 'applied', triggeredBy: 'test-admin' });
    const page = await http.history(tenant, { limit: 2 });
    expect(page.entries.map((e) => e.seq)).toEqual([3, 2]);
    expect(page.nextBefore).not.toBeNull();
    const rest = await http.history(tenant, { limit: 2, before: page.nextBefore ?? undefined });
    expect(rest.entries.map((e) => e.seq)).toEqual([1]);
  });

  it('reports the latest health snapshot after a health check', async () => {
    const tenant = await freshTenant('status');
    const before = (await adminHttp().status())?.takenAt ?? 0;
    const run = await fetch(`${baseUrl()}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
    expect(run.status).toBe(200);
    // The trigger starts the check; the platform hub walks the tenants over its alarm runs.
    let snapshot = await adminHttp().status();
    for (let i = 0; i < 240 && !(snapshot && snapshot.takenAt > before); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      snapshot = await adminHttp().status();
    }
    expect(snapshot).not.toBeNull();
    expect(snapshot!.takenAt).toBeGreaterThan(before);
    expect(snapshot!.tenants.find((t) => t.tenant === tenant)).toMatchObject({ state: 'success' });
    expect(snapshot!.healthPct).toBeGreaterThanOrEqual(0);
  });

  it('lists tenants for platform admins and refuses tenant admins with a typed 403', async () => {
    const tenant = await freshTenant('list');
    expect((await adminHttp().listTenants()).map((t) => t.id)).toContain(tenant);
    const asTenantAdmin = new CascadeHttp({ baseUrl: baseUrl(), token: mintToken('tenant-admin', tenant, 'ta') });
    const error = await asTenantAdmin.listTenants().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CascadeApiError);
    expect((error as CascadeApiError).isAuth).toBe(true);
    expect((await asTenantAdmin.getConfig(tenant, 'business')).version).toBe(0);
  });
});
