/**
 * A tenant's history with what each change did — per layer, each path before → after — and
 * "Roll back to this version" on every change that touched a layer: after a confirmation
 * showing the document as it was, the namespace is restored (`POST .../rollback/{ns}`) as a
 * new change, which the live stream brings into this list and the editors.
 */
import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { historyQueryKey } from '@cascade/react';
import type { HistoryEntry } from '@cascade/client';
import { useApi } from '../api.js';
import { changedNamespaces, diffValue, entryDiff } from '../diff.js';
import { configAt, rollback } from '../endpoints.js';
import { errorText, formatTime, outcomeClass, problemText } from '../format.js';
import { FeedbackLine, useOperation } from '../operation.js';
import { useRefreshTenant } from '../queries.js';

const PAGE = 10;

/** The latest changes of `tenant`, newest first, with their diffs and rollback. */
export function History(props: { tenant: string }) {
  const { http } = useApi();
  const [limit, setLimit] = useState(PAGE);
  const history = useQuery({
    // Under ['history', tenant]: every live change and snapshot refetches it.
    queryKey: [...historyQueryKey(props.tenant), 'diffs', limit],
    queryFn: () => http.history(props.tenant, { limit }),
    placeholderData: (previous) => previous,
  });
  const [confirming, setConfirming] = useState<{ seq: number; namespace: string }>();
  const { busy, feedback, run } = useOperation();
  const refresh = useRefreshTenant();
  const entries = history.data?.entries ?? [];

  const rollBack = (seq: number, namespace: string) =>
    run(`${seq}:${namespace}`, async () => {
      const ack = await rollback(http, props.tenant, namespace, seq);
      setConfirming(undefined);
      await refresh(props.tenant);
      return ack.changed
        ? `Rolled back ${namespace} to version ${seq}: committed as seq ${ack.seq}, ${namespace} now v${ack.version}.`
        : `${namespace} already is as it was at version ${seq}: nothing changed.`;
    });

  return (
    <section className="card" aria-label="History">
      <div className="section-head">
        <h2>History</h2>
        <span className="muted">what each change did, and rollback</span>
      </div>
      {history.error && <p className="error">History unavailable: {errorText(history.error)}</p>}
      {entries.length === 0 && !history.isLoading && <p className="muted">No changes yet.</p>}
      <ol className="history" data-testid="history-list">
        {entries.map((entry) => (
          <HistoryItem
            key={entry.seq}
            entry={entry}
            tenant={props.tenant}
            confirming={confirming?.seq === entry.seq ? confirming.namespace : undefined}
            busy={busy}
            onAsk={(namespace) => setConfirming({ seq: entry.seq, namespace })}
            onCancel={() => setConfirming(undefined)}
            onConfirm={(namespace) => void rollBack(entry.seq, namespace)}
          />
        ))}
      </ol>
      <FeedbackLine feedback={feedback} testId="rollback-feedback" />
      {history.data?.nextBefore != null && (
        <button className="secondary small" onClick={() => setLimit((n) => n + 2 * PAGE)} disabled={history.isFetching}>
          {history.isFetching ? 'Loading…' : 'Show older changes'}
        </button>
      )}
    </section>
  );
}

function HistoryItem(props: {
  entry: HistoryEntry;
  tenant: string;
  confirming: string | undefined;
  busy: string | undefined;
  onAsk: (namespace: string) => void;
  onCancel: () => void;
  onConfirm: (namespace: string) => void;
}) {
  const { entry } = props;
  const diff = entryDiff(entry);
  const namespaces = changedNamespaces(entry);
  return (
    <li data-testid={`history-${entry.seq}`}>
      <div className="history-head">
        <strong>seq {entry.seq}</strong>
        <span>{(entry.namespaces ?? [entry.type]).join(', ')}</span>
        <span className="muted">
          {entry.action} · {entry.scope} · by {entry.triggeredBy || '—'} · {formatTime(entry.createdAt)}
        </span>
        <span className={`outcome outcome-${outcomeClass(entry)}`}>{entry.outcome}</span>
      </div>
      {diff.layers.length === 0 ? (
        <p className="muted small-text">No layer changed.</p>
      ) : (
        diff.layers.map((layer, i) => (
          <div key={i} className="diff" data-testid="diff">
            <span className="muted small-text">
              {layer.namespace} · {layer.layer} layer
            </span>
            <ul>
              {layer.lines.map((line, j) => (
                <li key={j} data-testid="diff-line">
                  <code className="path">{line.path || '/'}</code>{' '}
                  <span className="before">{diffValue(line.before)}</span> → <span className="after">{diffValue(line.after)}</span>
                </li>
              ))}
            </ul>
          </div>
        ))
      )}
      {diff.omitted > 0 && <p className="muted small-text">…and {diff.omitted} more layers (not listed).</p>}
      {props.confirming === undefined ? (
        <div className="toolbar">
          {namespaces.map((namespace) => (
            <button
              key={namespace}
              className="secondary small"
              onClick={() => props.onAsk(namespace)}
              disabled={props.busy !== undefined}
            >
              {namespaces.length === 1 ? 'Roll back to this version' : `Roll back ${namespace} to this version`}
            </button>
          ))}
        </div>
      ) : (
        <ConfirmRollback
          tenant={props.tenant}
          namespace={props.confirming}
          seq={entry.seq}
          busy={props.busy === `${entry.seq}:${props.confirming}`}
          onCancel={props.onCancel}
          onConfirm={() => props.onConfirm(props.confirming!)}
        />
      )}
    </li>
  );
}

/** The confirmation: what the tenant layer will be again, then confirm or cancel. */
function ConfirmRollback(props: { tenant: string; namespace: string; seq: number; busy: boolean; onCancel: () => void; onConfirm: () => void }) {
  const { http } = useApi();
  const titleId = useId();
  const then = useQuery({
    queryKey: ['config-at', props.tenant, props.namespace, props.seq],
    queryFn: () => configAt(http, props.tenant, props.namespace, props.seq),
    retry: false,
  });
  return (
    <div className="confirm" role="alertdialog" aria-labelledby={titleId} data-testid="rollback-confirm">
      <p id={titleId}>
        <strong>
          Roll back {props.namespace} to version {props.seq}?
        </strong>{' '}
        Its layers return to how they were after this change, as a new change everyone receives.
      </p>
      {then.data && (
        <>
          <span className="muted small-text">The tenant layer at version {props.seq}:</span>
          <pre data-testid="rollback-target">{JSON.stringify(then.data.config, null, 2)}</pre>
        </>
      )}
      {then.error && <p className="error small-text">{problemText(then.error)}</p>}
      <div className="toolbar">
        <button onClick={props.onConfirm} disabled={props.busy}>
          {props.busy ? 'Rolling back…' : 'Confirm rollback'}
        </button>
        <button className="secondary" onClick={props.onCancel} disabled={props.busy}>
          Cancel
        </button>
      </div>
    </div>
  );
}
