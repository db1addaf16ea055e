/** System health overview: health %, tenants by status, live connections, operator actions. */
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { StatusSnapshot, SyncState } from '@cascade/client';
import { ACTIONS, type ActionResult } from '../actions.js';
import { roleTotals } from './Connections.js';
import { useApi } from '../api.js';
import { errorText, formatTime, problemText } from '../format.js';

const STATES: SyncState[] = ['success', 'partial', 'drifted', 'failed', 'pending'];

/** The cards at the top of the platform admin's dashboard. */
export function Overview(props: { status: StatusSnapshot | null | undefined; loading: boolean; error: unknown }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [message, setMessage] = useState<ActionResult & { failed: boolean }>();
  const [running, setRunning] = useState<string>();
  const context = { ...api, queryClient };
  const { status } = props;
  const connections = status?.tenants.reduce((sum, t) => sum + (t.hub?.connections ?? 0), 0) ?? 0;
  const byRole = status ? roleTotals(status) : undefined;

  async function run(id: string) {
    const action = ACTIONS.find((a) => a.id === id);
    if (!action) return;
    setRunning(id);
    try {
      const result = await action.run(context);
      setMessage({ ...(typeof result === 'string' ? { text: result } : result), failed: false });
    } catch (e) {
      setMessage({ text: problemText(e), failed: true });
    } finally {
      setRunning(undefined);
    }
  }

  return (
    <section className="overview" aria-label="System health">
      <div className="cards">
        <div className="card metric">
          <span className="label">Sync health</span>
          {status ? (
            <>
              <span className="value" data-testid="health-pct">{status.healthPct.toFixed(1)}%</span>
              <div className="bar">
                <div style={{ width: `${Math.min(100, Math.max(0, status.healthPct))}%` }} />
              </div>
            </>
          ) : (
            <span className="value muted">—</span>
          )}
        </div>
        <div className="card metric">
          <span className="label">Tenants by status</span>
          <div className="counts">
            {STATES.map((s) => (
              <span key={s} className={`count state-${s}`} title={s}>
                <i className="dot" /> {status ? (status.counts[s] ?? 0) : '–'} {s}
              </span>
            ))}
          </div>
        </div>
        <div className="card metric">
          <span className="label">Live connections</span>
          <span className="value" data-testid="connections">{status ? connections : '—'}</span>
          {byRole && (
            <span className="muted" data-testid="connections-by-role">
              {Object.entries(byRole)
                .map(([role, n]) => `${n} ${role}`)
                .join(' · ') || 'no role breakdown reported'}
            </span>
          )}
        </div>
      </div>
      <div className="toolbar">
        <span className="muted">
          {props.loading
            ? 'Loading status…'
            : props.error
              ? `Status unavailable: ${errorText(props.error)}`
              : status
                ? `Health check of ${formatTime(status.takenAt)} (${status.cron})`
                : 'No health check has run yet.'}
        </span>
        <span className="spacer" />
        {ACTIONS.filter((a) => a.available(context)).map((a) => (
          <button key={a.id} title={a.description} onClick={() => void run(a.id)} disabled={running !== undefined}>
            {running === a.id ? 'Working…' : a.label}
          </button>
        ))}
      </div>
      {message && (
        <div data-testid="action-result">
          <p role={message.failed ? 'alert' : 'status'} className={message.failed ? 'error' : 'ok'}>
            {message.text}
          </p>
          {message.details && message.details.length > 0 && (
            <ul className="details">
              {message.details.map((d) => (
                <li key={d.label} className={d.failed ? 'error' : undefined}>
                  <strong>{d.label}</strong>: {d.text}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
