/** Tenant status table: registry entries joined with the latest health snapshot. */
import type { StatusSnapshot, Tenant } from '@cascade/client';
import { driftText } from '../format.js';
import { SyncButton } from './SyncButton.js';

/** One row per tenant, tinted by its state; clicking a row selects it. */
export function TenantTable(props: {
  tenants: Tenant[];
  status: StatusSnapshot | null | undefined;
  selected: string | undefined;
  onSelect: (tenant: string) => void;
}) {
  const health = new Map(props.status?.tenants.map((t) => [t.tenant, t]) ?? []);
  return (
    <section className="card">
      <h2>Tenants</h2>
      {props.tenants.length === 0 ? (
        <p className="muted">No tenants registered yet (PUT /v1/tenants/&#123;tenant&#125;).</p>
      ) : (
        <table className="tenants">
          <thead>
            <tr>
              <th>Tenant</th>
              <th>Status</th>
              <th className="num">Seq</th>
              <th className="num">Connections</th>
              <th className="num">Outbox pending</th>
              <th className="num">Platform seq</th>
              <th className="num">Pending</th>
              <th className="num">Conflicts</th>
              <th>Last error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.tenants.map((t) => {
              const h = health.get(t.id);
              const error = h?.error ?? h?.hub?.lastError ?? h?.resyncError;
              const selected = props.selected === t.id ? ' selected' : '';
              return (
                <tr
                  key={t.id}
                  className={`row-${h?.state ?? 'unknown'}${selected}`}
                  onClick={() => props.onSelect(t.id)}
                  data-testid={`tenant-row-${t.id}`}
                >
                  <td>
                    <button className="link" onClick={() => props.onSelect(t.id)}>
                      {t.name}
                    </button>
                    {t.name !== t.id && <span className="muted"> {t.id}</span>}
                  </td>
                  <td>
                    {h ? (
                      <span className={`state state-${h.state}`}>
                        <i className="dot" /> {h.state}
                        {h.resynced ? <span className="muted"> (resynced {h.resynced})</span> : null}
                        {h.drift?.length ? (
                          <span className="muted" data-testid={`drift-${t.id}`}>
                            {' '}
                            drift: {driftText(h.drift)}
                          </span>
                        ) : null}
                      </span>
                    ) : (
                      <span className="muted">not checked yet</span>
                    )}
                  </td>
                  <td className="num">{h?.hub?.seq ?? '–'}</td>
                  <td className="num">{h?.hub?.connections ?? '–'}</td>
                  <td className="num">{h?.hub?.outboxPending ?? '–'}</td>
                  <td className="num">{h?.hub?.platformSeq ?? '–'}</td>
                  <td className="num" data-testid="pending-count">{h?.hub?.pendingChanges ?? '–'}</td>
                  <td className="num" data-testid="conflict-count">{h?.hub?.openConflicts ?? '–'}</td>
                  <td className="error-cell">{error ?? ''}</td>
                  <td>
                    <SyncButton tenant={t.id} compact />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
