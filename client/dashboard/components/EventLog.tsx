/**
 * A tenant's sync event history: live frames from the WebSocket on top, history from D1
 * below (refetched whenever the hook invalidates it), with filters.
 */
import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { ChangeEvent } from '@cascade/client';
import { describePatch } from '@cascade/client';
import { historyQueryKey } from '@cascade/react';
import type { HistoryEntry } from '@cascade/client';
import { useApi } from '../api.js';
import { errorText, formatTime, outcomeClass, type OutcomeClass } from '../format.js';

/** One line of the log. */
interface Row {
  seq: number;
  at: number;
  namespace: string;
  scope: string;
  by: string;
  outcome: string;
  result: OutcomeClass;
  summary: string;
  live: boolean;
  durationMs?: number;
}

function fromHistory(entry: HistoryEntry): Row {
  return {
    seq: entry.seq,
    at: entry.createdAt,
    namespace: entry.type,
    scope: entry.scope,
    by: entry.triggeredBy,
    outcome: entry.outcome,
    result: outcomeClass(entry),
    summary: entry.error ?? entry.action,
    live: false,
    durationMs: entry.durationMs,
  };
}

function fromLive(event: ChangeEvent & { at: number }): Row {
  const { frame } = event;
  return {
    seq: frame.seq,
    at: event.at,
    namespace: frame.namespace,
    scope: frame.scope,
    by: frame.triggeredBy ?? '',
    outcome: 'applied',
    result: 'success',
    summary: describePatch(frame.patch),
    live: true,
  };
}

/** The log with filters by namespace, result and text. */
export function EventLog(props: { tenant: string; live: Array<ChangeEvent & { at: number }> }) {
  const { http } = useApi();
  const history = useInfiniteQuery({
    queryKey: [...historyQueryKey(props.tenant), 'pages'],
    queryFn: ({ pageParam }) => http.history(props.tenant, { limit: 50, before: pageParam }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (page) => page.nextBefore ?? undefined,
  });
  const [namespace, setNamespace] = useState('');
  const [result, setResult] = useState<'' | OutcomeClass>('');
  const [scope, setScope] = useState('');
  const [search, setSearch] = useState('');

  const rows = useMemo(() => {
    const bySeq = new Map<number, Row>();
    for (const page of history.data?.pages ?? []) for (const e of page.entries) bySeq.set(e.seq, fromHistory(e));
    for (const event of props.live) {
      const stored = bySeq.get(event.frame.seq);
      const live = fromLive(event);
      // History knows the outcome; the live frame knows what the patch did.
      bySeq.set(event.frame.seq, stored ? { ...stored, summary: live.summary, live: true } : live);
    }
    return [...bySeq.values()].sort((a, b) => b.seq - a.seq);
  }, [history.data, props.live]);

  const namespaces = useMemo(() => [...new Set(rows.map((r) => r.namespace))].sort(), [rows]);
  const needle = search.trim().toLowerCase();
  const shown = rows.filter(
    (r) =>
      (!namespace || r.namespace === namespace) &&
      (!scope || r.scope === scope) &&
      (!result || r.result === result) &&
      (!needle || `${r.by} ${r.summary} ${r.outcome}`.toLowerCase().includes(needle)),
  );
  const failures = rows.filter((r) => r.result === 'failure').length;

  return (
    <section className="card" aria-label="Event log">
      <div className="section-head">
        <h2>Sync events</h2>
        <span className="muted">
          {rows.length} events · <span className="state-success">{rows.length - failures} ok</span> ·{' '}
          <span className="state-failed">{failures} failed</span>
        </span>
      </div>
      <div className="filters">
        <select aria-label="Namespace" value={namespace} onChange={(e) => setNamespace(e.target.value)}>
          <option value="">All namespaces</option>
          {namespaces.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
        <select aria-label="Scope" value={scope} onChange={(e) => setScope(e.target.value)}>
          <option value="">All scopes</option>
          <option value="platform">Platform</option>
          <option value="tenant">Tenant</option>
          <option value="user">User</option>
        </select>
        <select aria-label="Result" value={result} onChange={(e) => setResult(e.target.value as '' | OutcomeClass)}>
          <option value="">All results</option>
          <option value="success">Success</option>
          <option value="attention">Conflict / pending</option>
          <option value="failure">Failure</option>
        </select>
        <input aria-label="Search" placeholder="Search by user or change" value={search} onChange={(e) => setSearch(e.target.value)} />
      </div>
      {history.error && <p className="error">History unavailable: {errorText(history.error)}</p>}
      <table className="events" data-testid="event-log">
        <thead>
          <tr>
            <th className="num">Seq</th>
            <th>Time</th>
            <th>Namespace</th>
            <th>Scope</th>
            <th>By</th>
            <th>Outcome</th>
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.seq} className={r.live ? 'live' : undefined}>
              <td className="num">{r.seq}</td>
              <td>{formatTime(r.at)}</td>
              <td>{r.namespace}</td>
              <td>{r.scope}</td>
              <td>{r.by}</td>
              <td>
                <span className={`outcome outcome-${r.result}`}>{r.outcome}</span>
                {r.durationMs !== undefined && <span className="muted"> {r.durationMs.toFixed(0)} ms</span>}
              </td>
              <td>
                {r.live && <span className="tag">live</span>} {r.summary}
              </td>
            </tr>
          ))}
          {shown.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                {history.isLoading ? 'Loading history…' : 'No events match.'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {history.hasNextPage && (
        <button onClick={() => void history.fetchNextPage()} disabled={history.isFetchingNextPage}>
          {history.isFetchingNextPage ? 'Loading…' : 'Load older events'}
        </button>
      )}
    </section>
  );
}
