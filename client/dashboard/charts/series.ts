/** Turns history rows and live frames into chart series: event-rate buckets and latency points. */
import type { HistoryEntry } from '../../src/types.js';
import { outcomeClass, type OutcomeClass } from '../format.js';
import type { Bucket, Point } from './svg.js';

/** An event as the charts see it. */
export interface TimedEvent {
  seq: number;
  at: number;
  result: OutcomeClass;
  /** Apply duration in the hub (history rows only). */
  durationMs?: number;
  namespace: string;
  outcome: string;
}

/** Bucket widths to pick from, smallest that keeps the chart at most 40 bars. */
const WIDTHS = [10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000];

/** History rows plus live events not (yet) in history, newest first, one per seq. */
export function mergeEvents(history: HistoryEntry[], live: Array<{ seq: number; at: number; namespace: string }>): TimedEvent[] {
  const bySeq = new Map<number, TimedEvent>();
  for (const e of history) {
    bySeq.set(e.seq, { seq: e.seq, at: e.createdAt, result: outcomeClass(e), durationMs: e.durationMs, namespace: e.type, outcome: e.outcome });
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

/** One latency point per history row (live frames carry no duration). */
export function latencyPoints(events: TimedEvent[]): Point[] {
  return events
    .filter((e) => e.durationMs !== undefined)
    .map((e) => ({
      t: e.at,
      v: e.durationMs ?? 0,
      kind: e.result,
      title: `seq ${e.seq} · ${e.namespace} · ${e.outcome} · ${(e.durationMs ?? 0).toFixed(1)} ms`,
    }));
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
