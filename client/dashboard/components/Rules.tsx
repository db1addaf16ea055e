/**
 * Sync rules (platform admins): the list, an editor to create or change one, delete. Before
 * saving, "Preview targeted tenants" asks the server which tenants the draft reaches
 * (`POST /v1/platform/rules/preview`, the same filter the fan-out uses). A field the server
 * refuses is shown beside that field (the problem's `pointer`).
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import type { JsonObject } from '@cascade/client';
import { useApi } from '../api.js';
import { deleteRule, listRules, previewRule, RuleError, saveRule, type RulePreview, type StoredRule } from '../endpoints.js';
import { errorText, problemText } from '../format.js';
import { FeedbackLine, useOperation } from '../operation.js';

const RULES_KEY = ['rules'] as const;
const PREVIEW_LIMIT = 10;

/** The editor's fields, as typed. */
interface Draft {
  id: string;
  triggerEvents: string;
  targetScopes: string[];
  syncDirection: string;
  conflictResolution: string;
  autoApply: boolean;
  namespaces: string;
  tenantFilter: string;
  lockedPaths: string;
  priority: string;
  enabled: boolean;
}

type Field = Exclude<keyof Draft, never>;

const EMPTY: Draft = {
  id: '',
  triggerEvents: '',
  targetScopes: ['tenant', 'user'],
  syncDirection: 'down',
  conflictResolution: 'merge',
  autoApply: true,
  namespaces: '',
  tenantFilter: '{}',
  lockedPaths: '',
  priority: '0',
  enabled: true,
};

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function draftOf(stored: StoredRule): Draft {
  const r = stored.rule as Record<string, unknown>;
  const strings = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : '');
  return {
    id: stored.id,
    triggerEvents: strings(r.triggerEvents),
    targetScopes: Array.isArray(r.targetScopes) ? r.targetScopes.map(String) : [],
    syncDirection: String(r.syncDirection ?? 'down'),
    conflictResolution: String(r.conflictResolution ?? 'merge'),
    autoApply: r.autoApply !== false,
    namespaces: strings(r.namespaces),
    tenantFilter: JSON.stringify(r.tenantFilter ?? {}),
    lockedPaths: strings(r.lockedPaths),
    priority: String(r.priority ?? 0),
    enabled: stored.enabled,
  };
}

/** The body the API takes, or the field the draft itself gets wrong. */
function bodyOf(draft: Draft): { body: JsonObject } | { field: Field; message: string } {
  let tenantFilter: unknown;
  try {
    tenantFilter = JSON.parse(draft.tenantFilter.trim() || '{}');
  } catch (e) {
    return { field: 'tenantFilter', message: `Not valid JSON: ${errorText(e)}` };
  }
  if (typeof tenantFilter !== 'object' || tenantFilter === null || Array.isArray(tenantFilter)) {
    return { field: 'tenantFilter', message: 'The tenant filter must be a JSON object, e.g. {"plan": "pro"}.' };
  }
  const body: JsonObject = {
    triggerEvents: list(draft.triggerEvents),
    targetScopes: draft.targetScopes,
    syncDirection: draft.syncDirection,
    conflictResolution: draft.conflictResolution,
    autoApply: draft.autoApply,
    tenantFilter: tenantFilter as JsonObject,
    lockedPaths: list(draft.lockedPaths),
    priority: draft.priority.trim() === '' ? 0 : Number(draft.priority),
    enabled: draft.enabled,
  };
  if (draft.namespaces.trim() !== '') body.namespaces = list(draft.namespaces);
  return { body };
}

/** Rules card: list and editor. */
export function Rules() {
  const { http } = useApi();
  const queryClient = useQueryClient();
  const rules = useQuery({ queryKey: RULES_KEY, queryFn: () => listRules(http) });
  const [editing, setEditing] = useState<{ draft: Draft; isNew: boolean }>();
  const [deleting, setDeleting] = useState<string>();
  const { busy, feedback, run } = useOperation();

  const remove = (id: string) =>
    run(`delete:${id}`, async () => {
      await deleteRule(http, id);
      setDeleting(undefined);
      if (editing?.draft.id === id) setEditing(undefined);
      await queryClient.invalidateQueries({ queryKey: RULES_KEY });
      return `Deleted rule ${id}.`;
    });

  return (
    <section className="card" aria-label="Sync rules">
      <div className="section-head">
        <h2>
          Sync rules <span className="count-pill">{rules.data?.length ?? 0}</span>
        </h2>
        <span className="spacer" />
        <button className="small" onClick={() => setEditing({ draft: { ...EMPTY }, isNew: true })} disabled={editing?.isNew}>
          New rule
        </button>
      </div>
      {rules.error && <p className="error">Rules unavailable: {errorText(rules.error)}</p>}
      {rules.data?.length === 0 && <p className="muted">No sync rules: platform writes reach no tenant.</p>}
      <div className="table-scroll">
        <table className="compact" data-testid="rules-table">
          <thead>
            <tr>
              <th>Rule</th>
              <th>Triggers</th>
              <th>Direction · strategy</th>
              <th>Tenant filter</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(rules.data ?? []).map((stored) => {
              const r = stored.rule as Record<string, unknown>;
              return (
                <tr key={stored.id} data-testid={`rule-${stored.id}`}>
                  <td>
                    <strong>{stored.id}</strong>
                    {!stored.enabled && <span className="tag">off</span>}
                    {r.autoApply === false && <span className="tag">approval</span>}
                  </td>
                  <td>
                    <code>{(r.triggerEvents as string[] | undefined)?.join(', ')}</code>
                  </td>
                  <td>
                    {String(r.syncDirection)} · {String(r.conflictResolution)}
                  </td>
                  <td>
                    <code>{JSON.stringify(r.tenantFilter ?? {})}</code>
                  </td>
                  <td className="actions">
                    {deleting === stored.id ? (
                      <span className="confirm-inline" role="group" aria-label={`Delete rule ${stored.id}?`}>
                        <span>Delete {stored.id}?</span>
                        <button className="danger small" onClick={() => void remove(stored.id)} disabled={busy !== undefined}>
                          Confirm delete
                        </button>
                        <button className="secondary small" onClick={() => setDeleting(undefined)}>
                          Keep
                        </button>
                      </span>
                    ) : (
                      <>
                        <button className="secondary small" onClick={() => setEditing({ draft: draftOf(stored), isNew: false })}>
                          Edit
                        </button>
                        <button className="secondary small" onClick={() => setDeleting(stored.id)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <FeedbackLine feedback={feedback} testId="rules-feedback" />
      {editing && (
        <RuleEditor
          key={editing.isNew ? 'new' : editing.draft.id}
          initial={editing.draft}
          isNew={editing.isNew}
          onClose={() => setEditing(undefined)}
          onSaved={async () => {
            await queryClient.invalidateQueries({ queryKey: RULES_KEY });
          }}
        />
      )}
    </section>
  );
}

/** The form: every field with its own error line, a preview of the targeted tenants, save. */
function RuleEditor(props: { initial: Draft; isNew: boolean; onClose: () => void; onSaved: () => Promise<void> }) {
  const { http } = useApi();
  const [draft, setDraft] = useState<Draft>(props.initial);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [general, setGeneral] = useState<string>();
  const [preview, setPreview] = useState<RulePreview & { namespace: string }>();
  const [previewNamespace, setPreviewNamespace] = useState('');
  const [saved, setSaved] = useState<string>();
  const [working, setWorking] = useState<'preview' | 'save'>();
  const ids = useId();
  const set = <K extends Field>(key: K, value: Draft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
    setPreview(undefined);
    setSaved(undefined);
  };

  /** Shows a refusal beside its field, or above the buttons when it names none. */
  function showError(e: unknown) {
    if (e instanceof RuleError && e.field && e.field in EMPTY) {
      setErrors({ [e.field as Field]: `${e.detail}` });
      setGeneral(undefined);
    } else {
      setGeneral(problemText(e));
    }
  }

  function prepared(): JsonObject | undefined {
    setGeneral(undefined);
    const built = bodyOf(draft);
    if ('field' in built) {
      setErrors({ [built.field]: built.message });
      return undefined;
    }
    setErrors({});
    return built.body;
  }

  async function doPreview() {
    const body = prepared();
    if (!body) return;
    setWorking('preview');
    try {
      const namespace = previewNamespace.trim();
      setPreview({ ...(await previewRule(http, body, { namespace: namespace || undefined, limit: PREVIEW_LIMIT })), namespace });
    } catch (e) {
      showError(e);
    } finally {
      setWorking(undefined);
    }
  }

  async function doSave() {
    const body = prepared();
    if (!body) return;
    if (draft.id.trim() === '') {
      setErrors({ id: 'A rule needs an id (letters, digits, - and _).' });
      return;
    }
    setWorking('save');
    try {
      const stored = await saveRule(http, draft.id.trim(), body);
      await props.onSaved();
      setSaved(`Saved rule ${stored.id}${stored.enabled ? '' : ' (disabled)'}.`);
    } catch (e) {
      if (e instanceof RuleError && e.code === 'CASCADE:Request:InvalidName') setErrors({ id: e.detail });
      else showError(e);
    } finally {
      setWorking(undefined);
    }
  }

  const fieldProps = (field: Field) => ({
    id: `${ids}-${field}`,
    'aria-invalid': errors[field] ? true : undefined,
    'aria-describedby': errors[field] ? `${ids}-${field}-error` : undefined,
  });
  const errorLine = (field: Field) =>
    errors[field] ? (
      <span className="field-error" id={`${ids}-${field}-error`} role="alert" data-testid={`rule-error-${field}`}>
        {errors[field]}
      </span>
    ) : null;
  const label = (field: Field, text: string) => <label htmlFor={`${ids}-${field}`}>{text}</label>;

  return (
    <form
      className="rule-editor"
      aria-label={props.isNew ? 'New rule' : `Edit rule ${props.initial.id}`}
      onSubmit={(e) => {
        e.preventDefault();
        void doSave();
      }}
    >
      <h3>{props.isNew ? 'New rule' : `Edit rule ${props.initial.id}`}</h3>
      <div className="form-grid">
        {label('id', 'Rule id')}
        <div>
          <input {...fieldProps('id')} value={draft.id} readOnly={!props.isNew} onChange={(e) => set('id', e.target.value)} placeholder="e.g. auth-sso" />
          {errorLine('id')}
        </div>
        {label('triggerEvents', 'Trigger events')}
        <div>
          <input {...fieldProps('triggerEvents')} value={draft.triggerEvents} onChange={(e) => set('triggerEvents', e.target.value)} placeholder="auth.provider.*, auth.update" />
          {errorLine('triggerEvents')}
        </div>
        <span id={`${ids}-targetScopes`}>Target scopes</span>
        <div>
          <div className="checks" role="group" aria-labelledby={`${ids}-targetScopes`}>
            {['tenant', 'user', 'platform'].map((scope) => (
              <label key={scope}>
                <input
                  type="checkbox"
                  checked={draft.targetScopes.includes(scope)}
                  onChange={(e) =>
                    set('targetScopes', e.target.checked ? [...draft.targetScopes, scope] : draft.targetScopes.filter((s) => s !== scope))
                  }
                />{' '}
                {scope}
              </label>
            ))}
          </div>
          {errorLine('targetScopes')}
        </div>
        {label('syncDirection', 'Direction')}
        <div>
          <select {...fieldProps('syncDirection')} value={draft.syncDirection} onChange={(e) => set('syncDirection', e.target.value)}>
            <option value="down">down</option>
            <option value="up">up</option>
            <option value="both">both</option>
          </select>
          {errorLine('syncDirection')}
        </div>
        {label('conflictResolution', 'Conflict resolution')}
        <div>
          <select {...fieldProps('conflictResolution')} value={draft.conflictResolution} onChange={(e) => set('conflictResolution', e.target.value)}>
            <option value="merge">merge</option>
            <option value="platform-wins">platform-wins</option>
            <option value="tenant-wins">tenant-wins</option>
            <option value="user-wins">user-wins</option>
          </select>
          {errorLine('conflictResolution')}
        </div>
        {label('tenantFilter', 'Tenant filter (JSON)')}
        <div>
          <input {...fieldProps('tenantFilter')} value={draft.tenantFilter} onChange={(e) => set('tenantFilter', e.target.value)} placeholder='{"plan": "pro"}' />
          {errorLine('tenantFilter')}
        </div>
        {label('namespaces', 'Namespaces (optional)')}
        <div>
          <input {...fieldProps('namespaces')} value={draft.namespaces} onChange={(e) => set('namespaces', e.target.value)} placeholder="from the trigger events" />
          {errorLine('namespaces')}
        </div>
        {label('lockedPaths', 'Locked paths')}
        <div>
          <input {...fieldProps('lockedPaths')} value={draft.lockedPaths} onChange={(e) => set('lockedPaths', e.target.value)} placeholder="/sso/provider, /templates/*/read" />
          {errorLine('lockedPaths')}
        </div>
        {label('priority', 'Priority')}
        <div>
          <input {...fieldProps('priority')} type="number" step="any" value={draft.priority} onChange={(e) => set('priority', e.target.value)} />
          {errorLine('priority')}
        </div>
        <span />
        <div className="checks">
          <label>
            <input type="checkbox" checked={draft.autoApply} onChange={(e) => set('autoApply', e.target.checked)} /> Apply automatically (off: tenant admins approve)
          </label>
          <label>
            <input type="checkbox" checked={draft.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
          </label>
        </div>
      </div>
      <div className="toolbar">
        <input aria-label="Preview for namespace" placeholder="namespace (optional)" value={previewNamespace} onChange={(e) => setPreviewNamespace(e.target.value)} />
        <button type="button" className="secondary" onClick={() => void doPreview()} disabled={working !== undefined}>
          {working === 'preview' ? 'Previewing…' : 'Preview targeted tenants'}
        </button>
      </div>
      {preview && (
        <div className="preview" data-testid="rule-preview" role="status">
          <strong>
            Reaches {preview.targetedTenants} {preview.targetedTenants === 1 ? 'tenant' : 'tenants'}
            {preview.namespace ? ` for ${preview.namespace}` : ''}.
          </strong>
          {preview.tenants.length > 0 && (
            <span>
              {' '}
              {preview.tenants.length < preview.targetedTenants ? `First ${preview.tenants.length}: ` : ''}
              <span data-testid="rule-preview-tenants">{preview.tenants.join(', ')}</span>
            </span>
          )}
          {preview.warning && <p className="warning">{preview.warning}</p>}
        </div>
      )}
      {general && (
        <p role="alert" className="error" data-testid="rule-error">
          {general}
        </p>
      )}
      {saved && (
        <p role="status" className="ok" data-testid="rule-saved">
          {saved}
        </p>
      )}
      <div className="toolbar">
        <button type="submit" disabled={working !== undefined}>
          {working === 'save' ? 'Saving…' : props.isNew ? 'Create rule' : 'Save rule'}
        </button>
        <button type="button" className="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
