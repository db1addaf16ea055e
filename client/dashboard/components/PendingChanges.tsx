/**
 * Platform changes held for a decision (`autoApply: false` rules): accept or reject each.
 * The hub accepts a namespace's changes oldest first (a newer one is refused with 409
 * `CASCADE:Pending:OutOfOrder`), so a newer change's Accept is disabled and says why; any
 * change may be rejected.
 */
import type { PendingChange } from '@cascade/client';
import { useApi } from '../api.js';
import { errorText, formatTime, shortJson } from '../format.js';
import { FeedbackLine, useOperation } from '../operation.js';
import { usePending, useRefreshTenant } from '../queries.js';

/** The tenant's pending changes, oldest first per namespace (the order the hub decides them in). */
export function PendingChanges(props: { tenant: string }) {
  const { http } = useApi();
  const pending = usePending(props.tenant);
  const refresh = useRefreshTenant();
  const { busy, feedback, run } = useOperation();
  const items = [...(pending.data ?? [])].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.createdSeq - b.createdSeq);
  const oldest = oldestPerNamespace(items);

  const decide = (item: PendingChange, decision: 'accept' | 'reject') =>
    run(`${item.id}:${decision}`, async () => {
      const ack = await http.decidePending(props.tenant, item.namespace, item.id, decision);
      await refresh(props.tenant);
      const verb = decision === 'accept' ? 'Accepted' : 'Rejected';
      return `${verb} ${item.namespace} change ${item.id}: committed as seq ${ack.seq}${ack.changed ? `, ${item.namespace} now v${ack.version}` : ', nothing changed'}.`;
    });

  return (
    <section className="card" aria-label="Pending changes">
      <div className="section-head">
        <h2>
          Pending changes <span className="count-pill">{items.length}</span>
        </h2>
        <span className="spacer" />
        <button className="secondary small" onClick={() => void pending.refetch()} disabled={pending.isFetching}>
          Reload
        </button>
      </div>
      {pending.error && <p className="error">Pending changes unavailable: {errorText(pending.error)}</p>}
      {items.length === 0 && !pending.isLoading && <p className="muted">No platform change waits for a decision.</p>}
      <ul className="items" data-testid="pending-list">
        {items.map((item) => {
          const first = oldest.get(item.namespace);
          const blocked = first !== undefined && first.id !== item.id;
          const reason = blocked ? `Accept or reject ${first.id} first: ${item.namespace} changes are accepted oldest first.` : undefined;
          const reasonId = `pending-reason-${item.id}`;
          return (
          <li key={item.id} data-testid={`pending-${item.id}`}>
            <div>
              <strong>{item.namespace}</strong> <span className="muted">#{item.id} · rule {item.rule} · {formatTime(item.createdAt)}</span>
              {item.autoApply && <span className="tag">queued</span>}
            </div>
            <code className="value">{shortJson(item.event.config, 120)}</code>
            <div className="toolbar">
              <button
                onClick={() => void decide(item, 'accept')}
                disabled={busy !== undefined || blocked}
                title={reason}
                aria-describedby={blocked ? reasonId : undefined}
              >
                {busy === `${item.id}:accept` ? 'Accepting…' : 'Accept'}
              </button>
              <button className="secondary" onClick={() => void decide(item, 'reject')} disabled={busy !== undefined}>
                {busy === `${item.id}:reject` ? 'Rejecting…' : 'Reject'}
              </button>
            </div>
            {reason && (
              <p className="muted small-text" id={reasonId} data-testid="pending-order">
                {reason}
              </p>
            )}
          </li>
          );
        })}
      </ul>
      <FeedbackLine feedback={feedback} testId="pending-feedback" />
    </section>
  );
}

/** The oldest pending change of each namespace (`items` sorted oldest first per namespace). */
function oldestPerNamespace(items: readonly PendingChange[]): Map<string, PendingChange> {
  const oldest = new Map<string, PendingChange>();
  for (const item of items) if (!oldest.has(item.namespace)) oldest.set(item.namespace, item);
  return oldest;
}
