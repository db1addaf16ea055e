/** Pure helpers of the dashboard: chart series and the sync-all summary. */
import { describe, expect, it } from 'vitest';
import { describeSyncAll } from '../dashboard/actions.js';
import { latencyPoints, mergeEvents, quantile, rateBuckets } from '../dashboard/charts/series.js';
import { niceMax } from '../dashboard/charts/svg.js';
import type { HistoryEntry } from '../src/types.js';

const entry = (seq: number, createdAt: number, outcome: string, durationMs = 1): HistoryEntry => ({
  seq, type: 'rbac', action: 'update', scope: 'platform', targetId: null, outcome, triggeredBy: 'a', durationMs, error: null, createdAt,
});

describe('chart series', () => {
  it('merges live frames into history by seq and buckets events by result', () => {
    const now = 1_000_000;
    const events = mergeEvents(
      [entry(1, now - 25_000, 'applied'), entry(2, now - 5_000, 'conflict', 4)],
      [{ seq: 2, at: now - 4_000, namespace: 'rbac' }, { seq: 3, at: now - 1_000, namespace: 'rbac' }],
    );
    expect(events.map((e) => [e.seq, e.result])).toEqual([[3, 'success'], [2, 'attention'], [1, 'success']]);
    const { buckets, bucketMs } = rateBuckets(events, now);
    expect(bucketMs).toBe(10_000);
    expect(buckets).toHaveLength(10);
    expect(buckets.at(-1)).toEqual({ start: 1_000_000, counts: {} });
    expect(buckets.at(-2)?.counts).toEqual({ success: 1, attention: 1 });
    expect(buckets.reduce((n, b) => n + Object.values(b.counts).reduce((s, c) => s + c, 0), 0)).toBe(3);
    expect(latencyPoints(events).map((p) => p.v)).toEqual([4, 1]);
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
