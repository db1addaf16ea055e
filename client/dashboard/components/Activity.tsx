/**
 * Activity charts: event rate over time (by result) and propagation latency per platform
 * change (platform commit → tenant commit), for one tenant or across the busiest tenants.
 */
import { useQueries, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { STATUS_QUERY_KEY } from '@cascade/react';
import { ALL_TENANTS_MAX, busiestTenants, mergeEvents, mergeTenantEvents, propagationPoints, quantile, rateBuckets, widthLabel, type TimedEvent } from '../charts/series.js';
import { PointLine, StackedBars } from '../charts/svg.js';
import { useApi } from '../api.js';
import { errorText } from '../format.js';
import { RECENT_LIMIT, useRecentHistory } from '../queries.js';

const ORDER = ['success', 'attention', 'failure'];

/** How often the all-tenants view rereads history (it has no live socket per tenant). */
const ALL_TENANTS_POLL_MS = 30_000;

/** Re-renders every `ms` so the time axis moves with the clock. */
function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** One tenant's charts, fed by its recent history and the live frames of this page. */
export function Activity(props: { tenant: string; live: Array<{ seq: number; at: number; namespace: string }> }) {
  const history = useRecentHistory(props.tenant);
  const events = useMemo(() => mergeEvents(history.data?.entries ?? [], props.live), [history.data, props.live]);
  return (
    <ActivityCharts
      title="Activity"
      label="Activity"
      events={events}
      error={history.error ? `History unavailable: ${errorText(history.error)}` : undefined}
      testIds={{ summary: 'activity-summary', rate: 'rate-chart', propagation: 'propagation-summary', chart: 'propagation-chart' }}
    />
  );
}

/**
 * Every tenant's activity, for platform admins: the recent history of the busiest tenants
 * (at most {@link ALL_TENANTS_MAX}, one request each; there is no cross-tenant history
 * endpoint), merged into one rate chart and one propagation chart.
 */
export function AllTenantsActivity() {
  const { http } = useApi();
  const tenants = useQuery({ queryKey: ['tenants'], queryFn: () => http.listTenants(), refetchInterval: ALL_TENANTS_POLL_MS });
  const status = useQuery({ queryKey: STATUS_QUERY_KEY, queryFn: () => http.status(), refetchInterval: ALL_TENANTS_POLL_MS });
  const chosen = useMemo(() => busiestTenants(tenants.data ?? [], status.data ?? undefined), [tenants.data, status.data]);
  const histories = useQueries({
    queries: chosen.map((tenant) => ({
      // The per-tenant view's key: the two views share the cache and the live invalidations.
      queryKey: ['history', tenant, 'recent'],
      queryFn: () => http.history(tenant, { limit: RECENT_LIMIT }),
      refetchInterval: ALL_TENANTS_POLL_MS,
    })),
  });
  const pages = histories.map((h, i) => ({ tenant: chosen[i] ?? '', entries: h.data?.entries ?? [] }));
  const key = histories.map((h) => h.dataUpdatedAt).join(',');
  // `pages` is a new array on every render; `key` changes only when a page does.
  const events = useMemo(() => mergeTenantEvents(pages), [key, chosen]);
  const failed = histories.filter((h) => h.error).length;
  const total = tenants.data?.length ?? 0;
  const scope = chosen.length < total ? `the ${chosen.length} busiest of ${total} tenants` : `${chosen.length} tenants`;
  return (
    <div data-testid="all-activity" data-tenants={chosen.join(',')}>
      <ActivityCharts
        title={`Activity · all tenants (${scope})`}
        label="Activity across tenants"
        events={events}
        error={
          tenants.error
            ? `Tenants unavailable: ${errorText(tenants.error)}`
            : failed > 0
              ? `History unavailable for ${failed} of ${chosen.length} tenants`
              : undefined
        }
        testIds={{ summary: 'all-activity-summary', rate: 'all-rate-chart', propagation: 'all-propagation-summary', chart: 'all-propagation-chart' }}
      />
    </div>
  );
}

/** The two charts over `events`. */
function ActivityCharts(props: {
  title: string;
  label: string;
  events: TimedEvent[];
  error: string | undefined;
  testIds: { summary: string; rate: string; propagation: string; chart: string };
}) {
  const { events, testIds } = props;
  const clock = useNow(5_000);
  const now = Math.max(clock, ...events.map((e) => e.at));
  const { buckets, bucketMs } = rateBuckets(events, now);
  const points = propagationPoints(events);
  const latencies = points.map((p) => p.v);
  const fmt = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(0)} ms`);
  const failures = events.filter((e) => e.result === 'failure').length;
  return (
    <section className="card" aria-label={props.label}>
      <div className="section-head">
        <h2>{props.title}</h2>
        <span className="muted" data-testid={testIds.summary}>
          {events.length} events · {failures} failed · {widthLabel(bucketMs)} buckets
        </span>
      </div>
      {props.error && <p className="error">{props.error}</p>}
      <div className="charts">
        <figure>
          <figcaption>Events per {widthLabel(bucketMs)} <Legend /></figcaption>
          <StackedBars buckets={buckets} bucketMs={bucketMs} order={ORDER} label={`Event rate (${props.label})`} testId={testIds.rate} />
        </figure>
        <figure>
          <figcaption data-testid={testIds.propagation} title="From the platform hub's commit to the tenant hub's commit, per platform change the fan-out delivered">
            Propagation, platform → tenant · p50 {fmt(quantile(latencies, 0.5))} · p95 {fmt(quantile(latencies, 0.95))} · max{' '}
            {fmt(quantile(latencies, 1))}
          </figcaption>
          {points.length === 0 ? (
            <p className="muted">No platform change has been delivered yet.</p>
          ) : (
            <PointLine points={points} from={chartFrom(points, now)} to={now} yUnit="ms" label={`Propagation latency (${props.label})`} testId={testIds.chart} />
          )}
        </figure>
      </div>
    </section>
  );
}

/** The point chart starts a little before its oldest point, so the points spread out. */
function chartFrom(points: Array<{ t: number }>, now: number): number {
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
