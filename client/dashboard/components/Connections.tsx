/** Connections by role and tenant, as the hubs reported them to the latest health check. */
import type { StatusSnapshot } from '@cascade/client';

/** The roles hubs count (`connectionsByRole`), in column order. */
const ROLES = ['admins', 'users'] as const;

/** Open connections per role over every tenant; empty when no hub reports roles. */
export function roleTotals(status: StatusSnapshot): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const t of status.tenants) {
    for (const [role, n] of Object.entries(t.hub?.connectionsByRole ?? {})) totals[role] = (totals[role] ?? 0) + n;
  }
  return totals;
}

/** A table of tenants with open connections, split by role, busiest first. */
export function Connections(props: { status: StatusSnapshot | null | undefined }) {
  const tenants = (props.status?.tenants ?? [])
    .filter((t) => (t.hub?.connections ?? 0) > 0)
    .sort((a, b) => (b.hub?.connections ?? 0) - (a.hub?.connections ?? 0));
  const reportsRoles = props.status?.tenants.some((t) => t.hub?.connectionsByRole !== undefined) ?? false;
  return (
    <section className="card" aria-label="Connections">
      <h2>Connections by role and tenant</h2>
      {!props.status ? (
        <p className="muted">No health check yet.</p>
      ) : tenants.length === 0 ? (
        <p className="muted">No open connections at the last health check.</p>
      ) : (
        <table className="compact" data-testid="connections-table">
          <thead>
            <tr>
              <th>Tenant</th>
              {ROLES.map((r) => (
                <th key={r} className="num">
                  {r}
                </th>
              ))}
              <th className="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {tenants.map((t) => (
              <tr key={t.tenant} data-testid={`connections-${t.tenant}`}>
                <td>{t.tenant}</td>
                {ROLES.map((r) => (
                  <td key={r} className="num">
                    {t.hub?.connectionsByRole?.[r] ?? '–'}
                  </td>
                ))}
                <td className="num">{t.hub?.connections ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.status && !reportsRoles && <p className="muted">These hubs do not report roles yet (connectionsByRole).</p>}
    </section>
  );
}
