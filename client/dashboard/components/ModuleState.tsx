/**
 * Module-level state of one tenant: per namespace, the tenant layer's and the effective
 * document's versions, the last event, and the pending and conflict counts.
 */
import { useQueries } from '@tanstack/react-query';
import { useMemo } from 'react';
import type { HistoryEntry } from '@cascade/client';
import { useApi } from '../api.js';
import { formatTime, outcomeClass } from '../format.js';
import { useConflicts, usePending, useRecentHistory } from '../queries.js';

/** Counts items per namespace. */
function countBy(items: Array<{ namespace: string }> | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items ?? []) counts.set(item.namespace, (counts.get(item.namespace) ?? 0) + 1);
  return counts;
}

/** The namespace's state as a status colour. */
function stateOf(pending: number, conflicts: number, last: HistoryEntry | undefined): string {
  if (last && outcomeClass(last) === 'failure') return 'failed';
  if (conflicts > 0) return 'partial';
  if (pending > 0) return 'pending';
  return 'success';
}

/** One row per namespace the tenant has touched (history, open items, `extra`). */
export function ModuleState(props: { tenant: string; extra: string[] }) {
  const { http } = useApi();
  const history = useRecentHistory(props.tenant);
  const pending = usePending(props.tenant);
  const conflicts = useConflicts(props.tenant);
  const pendingBy = countBy(pending.data);
  const conflictsBy = countBy(conflicts.data);
  const lastBy = useMemo(() => {
    const last = new Map<string, HistoryEntry>();
    for (const e of history.data?.entries ?? []) if (!last.has(e.type)) last.set(e.type, e);
    return last;
  }, [history.data]);
  const namespaces = [...new Set([...lastBy.keys(), ...pendingBy.keys(), ...conflictsBy.keys(), ...props.extra])].sort();
  const docs = useQueries({
    queries: namespaces.map((ns) => ({
      queryKey: ['modules', props.tenant, ns],
      queryFn: async () => {
        const [layer, effective] = await Promise.all([http.getConfig(props.tenant, ns), http.getEffective(props.tenant, ns)]);
        return { layer: layer.version, effective: effective.version };
      },
    })),
  });
  return (
    <section className="card" aria-label="Modules">
      <h2>Modules</h2>
      {namespaces.length === 0 ? (
        <p className="muted">{history.isLoading ? 'Loading…' : 'No namespace has been written yet.'}</p>
      ) : (
        <table className="compact" data-testid="modules">
          <thead>
            <tr>
              <th>Namespace</th>
              <th className="num">Tenant v</th>
              <th className="num">Effective v</th>
              <th>Last event</th>
              <th className="num">Pending</th>
              <th className="num">Conflicts</th>
            </tr>
          </thead>
          <tbody>
            {namespaces.map((ns, i) => {
              const p = pendingBy.get(ns) ?? 0;
              const c = conflictsBy.get(ns) ?? 0;
              const last = lastBy.get(ns);
              const state = stateOf(p, c, last);
              return (
                <tr key={ns} data-testid={`module-${ns}`} className={`row-${state}`}>
                  <td>
                    <span className={`state state-${state}`} title={state}>
                      <i className="dot" />
                    </span>{' '}
                    {ns}
                  </td>
                  <td className="num">{docs[i]?.data?.layer ?? '–'}</td>
                  <td className="num">{docs[i]?.data?.effective ?? '–'}</td>
                  <td>{last ? `${last.outcome} · ${formatTime(last.createdAt)}` : <span className="muted">–</span>}</td>
                  <td className="num">{p}</td>
                  <td className="num">{c}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
