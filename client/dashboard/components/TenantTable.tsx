/**
 * Tenant status table: registry entries joined with the latest health snapshot, and with
 * the tenant statuses the platform admins' room reported since (live).
 */
import type { StatusSnapshot, SyncState, Tenant, TenantHealth } from '@cascade/client';
import { driftText } from '../format.js';
import type { LiveTenantStatus } from '../platformRoom.js';
import { SyncButton } from './SyncButton.js';

/**
 * A tenant's row: the snapshot's line, overlaid with a live status that arrived after this
 * browser first saw the snapshot (both times by the browser's clock, so a server clock that
 * differs does not matter).
 */
export function rowHealth(h: TenantHealth | undefined, live: LiveTenantStatus | undefined, snapshotSeenAt: number): TenantHealth | undefined {
  if (!live || live.at <= snapshotSeenAt) return h;
  // The hub knows pending changes, conflicts and failures; lag and drift only the check does.
  const kept = h && live.status === 'success' && (h.state === 'drifted' || h.state === 'pending');
  const state = kept ? h.state : (live.status as SyncState);
  return {
    tenant: live.tenant,
    state,
    error: h?.error ?? null,
    drift: h?.drift,
    hub: {
      hub: live.tenant,
      connections: 0,
      outboxPending: 0,
      wakes: 0,
      ...h?.hub,
      seq: live.seq,
      platformSeq: live.platformSeq,
      pendingChanges: live.pendingChanges,
      openConflicts: live.openConflicts,
    },
  };
}

/** One row per tenant, tinted by its state; clicking a row selects it. */
export function TenantTable(props: {
  tenants: Tenant[];
  status: StatusSnapshot | null | undefined;
  selected: string | undefined;
  onSelect: (tenant: string) => void;
  /** Statuses the platform admins' room reported, by tenant. */
  live?: Record<string, LiveTenantStatus>;
  /** When this browser first saw the snapshot (its own clock, as `live[..].at` is). */
  snapshotSeenAt?: number;
}) {
  const health = new Map(props.status?.tenants.map((t) => [t.tenant, t]) ?? []);
  const seenAt = props.snapshotSeenAt ?? 0;
  return (
    <section className="card">
      <h2>Tenants</h2>
      {props.tenants.length === 0 ? (
        <p className="muted">No tenants registered yet (PUT /v1/tenants/&#123;tenant&#125;).</p>
      ) : (
        <div className="table-scroll">
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
              const live = props.live?.[t.id];
              const h = rowHealth(health.get(t.id), live, seenAt);
              const isLive = h !== health.get(t.id);
              const error = h?.error ?? h?.hub?.lastError ?? h?.resyncError;
              const selected = props.selected === t.id ? ' selected' : '';
              return (
                <tr
                  key={t.id}
                  className={`row-${h?.state ?? 'unknown'}${selected}`}
                  onClick={() => props.onSelect(t.id)}
                  data-testid={`tenant-row-${t.id}`}
                  data-live={isLive ? 'true' : undefined}
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
                        {isLive && <span className="tag" title="reported by the tenant's hub since the last health check">live</span>}
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
        </div>
      )}
    </section>
  );
}
