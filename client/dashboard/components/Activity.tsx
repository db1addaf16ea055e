/** Charts of one tenant: event rate over time (by result) and apply latency per event. */
import { useEffect, useMemo, useState } from 'react';
import { latencyPoints, mergeEvents, quantile, rateBuckets, widthLabel } from '../charts/series.js';
import { PointLine, StackedBars } from '../charts/svg.js';
import { errorText } from '../format.js';
import { useRecentHistory } from '../queries.js';

const ORDER = ['success', 'attention', 'failure'];

/** Re-renders every `ms` so the time axis moves with the clock. */
function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Both charts, fed by the recent history and the live frames of this page. */
export function Activity(props: { tenant: string; live: Array<{ seq: number; at: number; namespace: string }> }) {
  const history = useRecentHistory(props.tenant);
  const clock = useNow(5_000);
  const events = useMemo(() => mergeEvents(history.data?.entries ?? [], props.live), [history.data, props.live]);
  const now = Math.max(clock, ...events.map((e) => e.at));
  const { buckets, bucketMs } = rateBuckets(events, now);
  const points = latencyPoints(events);
  const durations = points.map((p) => p.v);
  const fmt = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(1)} ms`);
  const failures = events.filter((e) => e.result === 'failure').length;
  return (
    <section className="card" aria-label="Activity">
      <div className="section-head">
        <h2>Activity</h2>
        <span className="muted" data-testid="activity-summary">
          {events.length} events · {failures} failed · {widthLabel(bucketMs)} buckets
        </span>
      </div>
      {history.error && <p className="error">History unavailable: {errorText(history.error)}</p>}
      <div className="charts">
        <figure>
          <figcaption>Events per {widthLabel(bucketMs)} <Legend /></figcaption>
          <StackedBars buckets={buckets} bucketMs={bucketMs} order={ORDER} label="Event rate" testId="rate-chart" />
        </figure>
        <figure>
          <figcaption data-testid="latency-summary">
            Apply latency per event · p50 {fmt(quantile(durations, 0.5))} · p95 {fmt(quantile(durations, 0.95))} · max{' '}
            {fmt(quantile(durations, 1))}
          </figcaption>
          {points.length === 0 ? (
            <p className="muted">No events in history yet.</p>
          ) : (
            <PointLine points={points} from={latencyFrom(points, now)} to={now} yUnit="ms" label="Apply latency" testId="latency-chart" />
          )}
        </figure>
      </div>
    </section>
  );
}

/** The latency chart starts a little before its oldest point, so the points spread out. */
function latencyFrom(points: Array<{ t: number }>, now: number): number {
  const oldest = Math.min(now, ...points.map((p) => p.t));
  return oldest - Math.max(1_000, (now - oldest) * 0.05);
}

/** The colour key of the rate chart. */
function Legend() {
  return (
    <span className="legend">
      {ORDER.map((c) => (
        <span key={c}>
          <i className={`swatch seg-${c}`} /> {c}
        </span>
      ))}
    </span>
  );
}
