/**
 * Turns history rows and live frames into chart series: event-rate buckets and propagation
 * latency points, for one tenant or merged across tenants.
 */
import type { HistoryEntry, StatusSnapshot, Tenant } from '@cascade/client';
import { outcomeClass, type OutcomeClass } from '../format.js';
import type { Bucket, Point } from './svg.js';

/** An event as the charts see it. */
export interface TimedEvent {
  seq: number;
  at: number;
  result: OutcomeClass;
  /** Apply duration in the hub (history rows only). */
  durationMs?: number;
  /**
   * Platform commit → tenant commit, in ms: only on history rows of platform changes the
   * fan-out delivered (the API's `propagationMs`; null there for every other row).
   */
  propagationMs?: number;
  namespace: string;
  outcome: string;
  /** The tenant, in views that merge several tenants. */
  tenant?: string;
}

/** A history row as the charts see it. */
function fromHistory(e: HistoryEntry, tenant?: string): TimedEvent {
  const event: TimedEvent = { seq: e.seq, at: e.createdAt, result: outcomeClass(e), durationMs: e.durationMs, namespace: e.type, outcome: e.outcome };
  if (typeof e.propagationMs === 'number') event.propagationMs = e.propagationMs;
  if (tenant !== undefined) event.tenant = tenant;
  return event;
}

/** Bucket widths to pick from, smallest that keeps the chart at most 40 bars. */
const WIDTHS = [10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000];

/** History rows plus live events not (yet) in history, newest first, one per seq. */
export function mergeEvents(history: HistoryEntry[], live: Array<{ seq: number; at: number; namespace: string }>): TimedEvent[] {
  const bySeq = new Map<number, TimedEvent>();
  for (const e of history) {
    bySeq.set(e.seq, fromHistory(e));
  }
  for (const e of live) {
    if (!bySeq.has(e.seq)) bySeq.set(e.seq, { seq: e.seq, at: e.at, result: 'success', namespace: e.namespace, outcome: 'applied' });
  }
  return [...bySeq.values()].sort((a, b) => b.at - a.at);
}

/** Events counted per bucket and result, from the oldest event (at least 10 buckets) to `now`. */
export function rateBuckets(events: TimedEvent[], now: number): { buckets: Bucket[]; bucketMs: number } {
  const oldest = events.length ? Math.min(...events.map((e) => e.at)) : now;
  const span = Math.max(1, now - oldest);
  const bucketMs = WIDTHS.find((w) => span / w <= 40) ?? 86_400_000;
  const end = Math.floor(now / bucketMs) * bucketMs;
  const count = Math.max(10, Math.floor((end - Math.floor(oldest / bucketMs) * bucketMs) / bucketMs) + 1);
  const buckets: Bucket[] = Array.from({ length: count }, (_, i) => ({ start: end - (count - 1 - i) * bucketMs, counts: {} }));
  for (const e of events) {
    const i = count - 1 - Math.floor((end - Math.floor(e.at / bucketMs) * bucketMs) / bucketMs);
    const bucket = buckets[i];
    if (bucket) bucket.counts[e.result] = (bucket.counts[e.result] ?? 0) + 1;
  }
  return { buckets, bucketMs };
}

/** Several tenants' history rows as one list, newest first (seqs repeat across tenants, so no merging by seq). */
export function mergeTenantEvents(histories: Array<{ tenant: string; entries: HistoryEntry[] }>): TimedEvent[] {
  return histories.flatMap((h) => h.entries.map((e) => fromHistory(e, h.tenant))).sort((a, b) => b.at - a.at);
}

/**
 * One point per platform change delivered to a tenant, at the tenant's commit time, valued
 * by its propagation latency (platform commit → tenant commit). Rows without one — changes
 * that start at the tenant, catch-ups, live frames not yet in history — are not plotted.
 */
export function propagationPoints(events: TimedEvent[]): Point[] {
  return events.flatMap((e) =>
    e.propagationMs === undefined
      ? []
      : [
          {
            t: e.at,
            v: e.propagationMs,
            kind: e.result,
            title: `${e.tenant === undefined ? '' : `${e.tenant} · `}seq ${e.seq} · ${e.namespace} · ${e.outcome} · ${e.propagationMs} ms from the platform commit`,
          },
        ],
  );
}

/** Most tenants the all-tenants view reads history for (one request each). */
export const ALL_TENANTS_MAX = 20;

/**
 * The tenants the all-tenants view reads, at most `max`: the busiest first (highest hub
 * `seq` in the latest health snapshot — one event takes one seq), then the most recently
 * updated registry entries (new tenants, or those without a snapshot line yet), then by id.
 */
export function busiestTenants(tenants: Tenant[], status: StatusSnapshot | undefined, max = ALL_TENANTS_MAX): string[] {
  const seq = new Map((status?.tenants ?? []).map((t) => [t.tenant, t.hub?.seq ?? 0]));
  return [...tenants]
    .sort((a, b) => (seq.get(b.id) ?? 0) - (seq.get(a.id) ?? 0) || b.updatedAt - a.updatedAt || a.id.localeCompare(b.id))
    .slice(0, max)
    .map((t) => t.id);
}

/** The q-quantile (0..1) of `values`, nearest rank; undefined when empty. */
export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** "10 s", "5 min", "1 h". */
export function widthLabel(ms: number): string {
  if (ms < 60_000) return `${ms / 1000} s`;
  if (ms < 3_600_000) return `${ms / 60_000} min`;
  return `${ms / 3_600_000} h`;
}
