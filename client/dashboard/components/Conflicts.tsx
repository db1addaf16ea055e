/** Open merge conflicts: take the upper value, keep the lower one, or set a new value. */
import { useState } from 'react';
import type { Conflict, ConflictResolution } from '@cascade/client';
import { useApi } from '../api.js';
import { errorText, formatTime, shortJson } from '../format.js';
import { FeedbackLine, useOperation } from '../operation.js';
import { useConflicts, useRefreshTenant } from '../queries.js';

/** Who holds the customization: the tenant, or one user. */
const holder = (c: Conflict) => (c.subject.scope === 'user' ? `user ${c.subject.id}` : 'tenant');
/** What sits above that layer. */
const upperName = (c: Conflict) => (c.subject.scope === 'user' ? 'tenant' : 'platform');

/** The tenant's open conflicts with their three values. */
export function Conflicts(props: { tenant: string }) {
  const { http } = useApi();
  const conflicts = useConflicts(props.tenant);
  const refresh = useRefreshTenant();
  const { busy, feedback, run } = useOperation();
  const items = conflicts.data ?? [];

  const resolve = (c: Conflict, resolution: ConflictResolution) =>
    run(`${c.id}:${resolution.action}`, async () => {
      const ack = await http.resolveConflict(props.tenant, c.namespace, c.id, resolution);
      await refresh(props.tenant);
      return `Resolved ${c.namespace} ${c.path} (${resolution.action}): committed as seq ${ack.seq}, ${c.namespace} now v${ack.version}.`;
    });

  return (
    <section className="card" aria-label="Conflicts">
      <div className="section-head">
        <h2>
          Conflicts <span className="count-pill">{items.length}</span>
        </h2>
        <span className="spacer" />
        <button className="secondary small" onClick={() => void conflicts.refetch()} disabled={conflicts.isFetching}>
          Reload
        </button>
      </div>
      {conflicts.error && <p className="error">Conflicts unavailable: {errorText(conflicts.error)}</p>}
      {items.length === 0 && !conflicts.isLoading && <p className="muted">No open conflicts.</p>}
      <ul className="items" data-testid="conflict-list">
        {items.map((c) => (
          <li key={c.id} data-testid={`conflict-${c.id}`}>
            <div>
              <strong>
                {c.namespace} <code>{c.path}</code>
              </strong>{' '}
              <span className="muted">#{c.id} · {holder(c)} · rule {c.rule} · {formatTime(c.openedAt)}</span>
            </div>
            <dl className="triple">
              <dt>base</dt>
              <dd><code>{shortJson(c.base)}</code></dd>
              <dt>{upperName(c)} now</dt>
              <dd><code data-testid="upper">{shortJson(c.upper)}</code></dd>
              <dt>{holder(c)} (in effect)</dt>
              <dd><code data-testid="lower">{shortJson(c.lower)}</code></dd>
            </dl>
            <ConflictActions conflict={c} busy={busy} onResolve={(r) => void resolve(c, r)} />
          </li>
        ))}
      </ul>
      <FeedbackLine feedback={feedback} testId="conflict-feedback" />
    </section>
  );
}

/** The three resolution buttons; "Set value" takes JSON typed inline. */
function ConflictActions(props: { conflict: Conflict; busy: string | undefined; onResolve: (r: ConflictResolution) => void }) {
  const c = props.conflict;
  const [value, setValue] = useState(() => JSON.stringify(c.lower));
  const [invalid, setInvalid] = useState<string>();
  const setIt = () => {
    try {
      const parsed: unknown = JSON.parse(value);
      setInvalid(undefined);
      props.onResolve({ action: 'setValue', value: parsed });
    } catch (e) {
      setInvalid(`Not valid JSON: ${errorText(e)}`);
    }
  };
  const disabled = props.busy !== undefined;
  return (
    <div className="toolbar">
      <button onClick={() => props.onResolve({ action: 'takeUpper' })} disabled={disabled}>
        Take {upperName(c)} value
      </button>
      <button className="secondary" onClick={() => props.onResolve({ action: 'keepLower' })} disabled={disabled}>
        Keep {holder(c)} value
      </button>
      <input aria-label={`Value for ${c.id}`} className="inline-json" value={value} onChange={(e) => setValue(e.target.value)} />
      <button className="secondary" onClick={setIt} disabled={disabled}>
        Set value
      </button>
      {invalid && <span className="error">{invalid}</span>}
    </div>
  );
}
