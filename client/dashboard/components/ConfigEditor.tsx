/**
 * View and replace a namespace document of a tenant or of the platform (see
 * `configScope.ts`). Saves with `If-Match` on the version the draft is based on; a 412 opens a
 * conflict panel with the current server document. A platform save also says how many tenants
 * the change reaches, and warns when it reaches none.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useState } from 'react';
import { CascadeApiError } from '@cascade/client';
import type { ConfigDocument, JsonObject } from '@cascade/client';
import { useApi } from '../api.js';
import { describeSave, scopeDocuments, scopeLabel, scopeQueryKey, scopeTitle, type EditorScope, type SaveOutcome } from '../configScope.js';
import { errorText } from '../format.js';

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

function parseDraft(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`Not valid JSON: ${errorText(e)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('The document must be a JSON object.');
  return value as JsonObject;
}

/** The editor for one scope: a namespace picker (fed by `namespaces`) and the document editor. */
export function ConfigEditor(props: { scope: EditorScope; namespaces: string[] }) {
  const [namespace, setNamespace] = useState('');
  const [picked, setPicked] = useState('');
  const listId = useId();
  const { scope } = props;
  return (
    <section className="card" aria-label={scopeTitle(scope)}>
      <h2>{scope.kind === 'platform' ? 'Platform configuration' : 'Configuration'}</h2>
      {scope.kind === 'platform' && (
        <p className="muted">The platform layer of a namespace, delivered to the tenants the sync rules target.</p>
      )}
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setNamespace(picked.trim());
        }}
      >
        <input
          aria-label="Namespace to edit"
          list={listId}
          placeholder="namespace, e.g. notifications"
          value={picked}
          onChange={(e) => setPicked(e.target.value)}
        />
        <datalist id={listId}>
          {props.namespaces.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <button type="submit" disabled={picked.trim() === ''}>
          Open
        </button>
      </form>
      {namespace && <DocumentEditor key={`${scopeLabel(scope)}/${namespace}`} scope={scope} namespace={namespace} />}
    </section>
  );
}

/** Edits one document; remounted per scope and namespace so no state leaks between them. */
function DocumentEditor(props: { scope: EditorScope; namespace: string }) {
  const { http } = useApi();
  const queryClient = useQueryClient();
  const { namespace, scope } = props;
  const documents = useMemo(() => scopeDocuments(http, scope), [http, scope]);
  const queryKey = scopeQueryKey(scope, namespace);
  const query = useQuery({ queryKey, queryFn: () => documents.get(namespace) });
  const server = query.data;
  const [draft, setDraft] = useState('');
  const [base, setBase] = useState<ConfigDocument>();
  const [conflict, setConflict] = useState<{ error: CascadeApiError; latest?: ConfigDocument }>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<SaveOutcome>();
  const [saving, setSaving] = useState(false);

  const dirty = base !== undefined && draft !== pretty(base.config);

  // Follow the server while the draft is untouched; keep the draft once edited.
  useEffect(() => {
    if (server && (!base || !dirty)) {
      setBase(server);
      setDraft(pretty(server.config));
    }
    // Only a new server document should move the draft, not typing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [server]);

  async function save(version: number) {
    setError(undefined);
    setSaved(undefined);
    let config: JsonObject;
    try {
      config = parseDraft(draft);
    } catch (e) {
      setError(errorText(e));
      return;
    }
    setSaving(true);
    try {
      const ack = await documents.put(namespace, config, { ifVersion: version });
      const fresh = await documents.get(namespace);
      queryClient.setQueryData(queryKey, fresh);
      setBase(fresh);
      setDraft(pretty(fresh.config));
      setConflict(undefined);
      setSaved(describeSave(scope, ack));
    } catch (e) {
      if (e instanceof CascadeApiError && e.isConflict) {
        const latest = await documents.get(namespace).catch(() => undefined);
        setConflict({ error: e, latest });
      } else {
        setError(errorText(e));
      }
    } finally {
      setSaving(false);
    }
  }

  function takeLatest() {
    const latest = conflict?.latest ?? server;
    if (latest) {
      setBase(latest);
      setDraft(pretty(latest.config));
      queryClient.setQueryData(queryKey, latest);
    }
    setConflict(undefined);
  }

  const movedOn = server && base && dirty && server.version !== base.version;

  return (
    <>
      {query.error && <p className="error">{errorText(query.error)}</p>}
      {base && (
        <div>
          <p className="muted" data-testid="editor-version">
            {scopeLabel(scope)} / {namespace} · version {base.version}
            {base.version === 0 && ' (never written)'}
            {dirty && ' · edited'}
          </p>
          {movedOn && !conflict && (
            <p className="warning">
              This document changed on the server (now version {server.version}) while you were editing.{' '}
              <button className="link" onClick={takeLatest}>
                Load version {server.version}
              </button>
            </p>
          )}
          <textarea
            aria-label="Document JSON"
            className="json"
            rows={14}
            value={draft}
            readOnly={saving}
            spellCheck={false}
            onChange={(e) => setDraft(e.target.value)}
          />
          <div className="toolbar">
            <button onClick={() => void save(base.version)} disabled={saving || !dirty}>
              {saving ? 'Saving…' : `Save (if still version ${base.version})`}
            </button>
            <button className="secondary" onClick={() => setDraft(pretty(base.config))} disabled={!dirty}>
              Discard changes
            </button>
          </div>
          {error && (
            <p role="alert" className="error">
              {error}
            </p>
          )}
          {saved && (
            <p className="ok" data-testid="save-result">
              {saved.saved}
              {saved.reach && ` ${saved.reach}`}
            </p>
          )}
          {saved?.warning && (
            <p role="alert" className="warning write-warning" data-testid="platform-write-warning">
              <strong>Reaches no tenant:</strong> {saved.warning}
            </p>
          )}
          {conflict && (
            <div className="conflict" role="alert" data-testid="conflict">
              <h3>Conflict: not saved</h3>
              <p>
                {conflict.error.detail} <code>{conflict.error.code}</code>
              </p>
              {conflict.latest && (
                <div className="compare">
                  <div>
                    <h4>Server, version {conflict.latest.version}</h4>
                    <pre>{pretty(conflict.latest.config)}</pre>
                  </div>
                  <div>
                    <h4>Your draft (based on version {base.version})</h4>
                    <pre>{draft}</pre>
                  </div>
                </div>
              )}
              <div className="toolbar">
                <button className="secondary" onClick={takeLatest}>
                  Discard my draft, load the server version
                </button>
                {conflict.latest && (
                  <button onClick={() => void save(conflict.latest!.version)} disabled={saving}>
                    Overwrite version {conflict.latest.version} with my draft
                  </button>
                )}
              </div>
            </div>
          )}
        </div>
      )}
    </>
  );
}
