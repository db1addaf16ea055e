/** Pure helpers of the dashboard: chart series and the sync-all summary. */
import { describe, expect, it } from 'vitest';
import { describeSyncAll } from '../dashboard/actions.js';
import { busiestTenants, mergeEvents, mergeTenantEvents, propagationPoints, quantile, rateBuckets } from '../dashboard/charts/series.js';
import { niceMax } from '../dashboard/charts/svg.js';
import { describeSave, scopeLabel, scopeQueryKey, scopeTitle, tenantCount } from '../dashboard/configScope.js';
import { driftText } from '../dashboard/format.js';
import type { HistoryEntry, StatusSnapshot, Tenant } from '@cascade/client';

const entry = (seq: number, createdAt: number, outcome: string, propagationMs: number | null = null): HistoryEntry => ({
  seq, type: 'rbac', action: 'update', scope: 'platform', targetId: null, outcome, triggeredBy: 'a', durationMs: 1, propagationMs, error: null, createdAt,
});

describe('chart series', () => {
  it('merges live frames into history by seq and buckets events by result', () => {
    const now = 1_000_000;
    const events = mergeEvents(
      [entry(1, now - 25_000, 'applied', 120), entry(2, now - 5_000, 'conflict', 4)],
      [{ seq: 2, at: now - 4_000, namespace: 'rbac' }, { seq: 3, at: now - 1_000, namespace: 'rbac' }],
    );
    expect(events.map((e) => [e.seq, e.result])).toEqual([[3, 'success'], [2, 'attention'], [1, 'success']]);
    const { buckets, bucketMs } = rateBuckets(events, now);
    expect(bucketMs).toBe(10_000);
    expect(buckets).toHaveLength(10);
    expect(buckets.at(-1)).toEqual({ start: 1_000_000, counts: {} });
    expect(buckets.at(-2)?.counts).toEqual({ success: 1, attention: 1 });
    expect(buckets.reduce((n, b) => n + Object.values(b.counts).reduce((s, c) => s + c, 0), 0)).toBe(3);
    expect(propagationPoints(events).map((p) => p.v)).toEqual([4, 120]);
  });

  it('plots propagationMs, not the apply time, and only rows that have one', () => {
    const now = 2_000_000;
    const tenantWrite: HistoryEntry = { ...entry(3, now - 3_000, 'applied'), scope: 'tenant', durationMs: 9 };
    const older: HistoryEntry = { ...entry(4, now - 2_000, 'applied'), propagationMs: undefined }; // a server without the field
    const events = mergeEvents(
      [entry(1, now - 9_000, 'applied', 35), entry(2, now - 6_000, 'pending', 0), tenantWrite, older],
      [{ seq: 5, at: now - 1_000, namespace: 'rbac' }],
    );
    const points = propagationPoints(events);
    expect(points.map((p) => [p.t, p.v, p.kind])).toEqual([
      [now - 6_000, 0, 'attention'],
      [now - 9_000, 35, 'success'],
    ]);
    expect(points[1]?.title).toBe('seq 1 · rbac · applied · 35 ms from the platform commit');
    // Every event still counts in the rate chart.
    expect(rateBuckets(events, now).buckets.reduce((n, b) => n + Object.values(b.counts).reduce((s, c) => s + c, 0), 0)).toBe(5);
  });

  it('merges tenants without merging their equal seqs, and names the tenant in each point', () => {
    const now = 3_000_000;
    const events = mergeTenantEvents([
      { tenant: 'acme', entries: [entry(7, now - 1_000, 'applied', 12), entry(6, now - 4_000, 'applied')] },
      { tenant: 'globex', entries: [entry(7, now - 2_000, 'conflict', 30)] },
    ]);
    expect(events.map((e) => [e.tenant, e.seq])).toEqual([['acme', 7], ['globex', 7], ['acme', 6]]);
    const points = propagationPoints(events);
    expect(points.map((p) => [p.v, p.kind])).toEqual([[12, 'success'], [30, 'attention']]);
    expect(points[1]?.title).toBe('globex · seq 7 · rbac · conflict · 30 ms from the platform commit');
  });

  it('reads the busiest tenants first, bounded', () => {
    const tenant = (id: string, updatedAt: number): Tenant => ({ id, name: id, attributes: {}, optOuts: [], createdAt: 0, updatedAt });
    const tenants = [tenant('a', 1), tenant('b', 5), tenant('c', 3), tenant('d', 4)];
    const status = {
      takenAt: 0, cron: '', healthPct: 100, counts: { success: 2, partial: 0, failed: 0, pending: 0 },
      tenants: [
        { tenant: 'a', state: 'success', error: null, hub: { hub: 'a', seq: 40, connections: 0, outboxPending: 0, wakes: 1 } },
        { tenant: 'c', state: 'success', error: null, hub: { hub: 'c', seq: 90, connections: 0, outboxPending: 0, wakes: 1 } },
      ],
    } satisfies StatusSnapshot;
    // By seq (c, a), then newest registry entry (b, d).
    expect(busiestTenants(tenants, status)).toEqual(['c', 'a', 'b', 'd']);
    expect(busiestTenants(tenants, status, 3)).toEqual(['c', 'a', 'b']);
    expect(busiestTenants(tenants, undefined, 2)).toEqual(['b', 'd']);
    expect(busiestTenants(Array.from({ length: 50 }, (_, i) => tenant(`t${i}`, i)), undefined)).toHaveLength(20);
  });

  it('picks wider buckets for longer spans, and nice axis bounds', () => {
    const now = 10 * 3_600_000;
    expect(rateBuckets([{ seq: 1, at: now - 3_600_000, result: 'success', namespace: 'n', outcome: 'applied' }], now).bucketMs).toBe(300_000);
    expect([0, 0.3, 3, 7, 10, 11].map(niceMax)).toEqual([1, 0.5, 5, 10, 10, 20]);
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 1)).toBe(5);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});

describe('sync-all summary', () => {
  it('lists per-tenant results and totals, flagging failures', () => {
    const summary = describeSyncAll({
      tenants: [
        { tenant: 'acme', applied: 2, platformSeq: 7 },
        { tenant: 'globex', error: { code: 'CASCADE:Fanout:CatchUp', detail: 'hub unavailable', status: 502 } },
      ],
      totals: { tenants: 2, synced: 1, failed: 1, applied: 2 },
    });
    expect(summary.text).toBe('Synced all tenants: tenants 2, synced 1, failed 1, applied 2.');
    expect(summary.details).toEqual([
      { label: 'acme', text: 'applied 2 (platform seq 7)', failed: false },
      { label: 'globex', text: 'hub unavailable', failed: true },
    ]);
  });
});

describe('config editor scopes', () => {
  const tenant = { kind: 'tenant', tenant: 'acme' } as const;
  const platform = { kind: 'platform' } as const;

  it('keys, names and titles a tenant document apart from the platform one', () => {
    expect(scopeQueryKey(tenant, 'auth')).toEqual(['config', 'acme', 'auth']);
    expect(scopeQueryKey(platform, 'auth')).toEqual(['platform-config', 'auth']);
    expect(scopeLabel(tenant)).toBe('acme');
    expect(scopeLabel(platform)).toBe('platform');
    expect(scopeTitle(tenant)).not.toBe(scopeTitle(platform));
  });

  it('reports a tenant save by its version only', () => {
    expect(describeSave(tenant, { seq: 4, version: 3, changed: true })).toEqual({ saved: 'Saved as version 3.' });
    expect(describeSave(tenant, { seq: 4, version: 3, changed: false, targetedTenants: 2 })).toEqual({ saved: 'No change (still version 3).' });
  });

  it('reports how many tenants a platform save reaches, and the server\'s warning when none', () => {
    expect(describeSave(platform, { seq: 9, version: 2, changed: true, targetedTenants: 7 })).toEqual({
      saved: 'Saved as version 2.',
      reach: 'Reaches 7 tenants.',
    });
    expect(describeSave(platform, { seq: 9, version: 1, changed: true, targetedTenants: 1 }).reach).toBe('Reaches 1 tenant.');
    const why = "no enabled rule delivers platform writes of 'x' (x.update) to tenants";
    expect(describeSave(platform, { seq: 9, version: 1, changed: true, targetedTenants: 0, warning: why })).toEqual({
      saved: 'Saved as version 1.',
      reach: 'Reaches 0 tenants.',
      warning: why,
    });
    // A server that counts none but gives no reason still gets a warning.
    expect(describeSave(platform, { seq: 9, version: 1, changed: true, targetedTenants: 0 }).warning).toBe('This change reaches no tenant.');
    // Older servers answer no count: nothing is claimed.
    expect(describeSave(platform, { seq: 9, version: 1, changed: true })).toEqual({ saved: 'Saved as version 1.' });
    expect(tenantCount(0)).toBe('0 tenants');
  });
});

describe('drift text', () => {
  it('lists each drifting namespace with its reason', () => {
    expect(driftText(undefined)).toBe('');
    expect(driftText([])).toBe('');
    expect(
      driftText([
        { namespace: 'kept', reason: 'rolledBack', mustConverge: false },
        { namespace: 'auth', reason: 'behind', mustConverge: true },
      ]),
    ).toBe('kept (rolledBack), auth (behind)');
  });
});
