-- The audit trail: who made each change under which request, the change as RFC 6902 patches,
-- every namespace a batch touched, and the writes that were refused.

-- Each history row: the caller's role and request id (NULL for platform updates and older
-- rows; the subject is `triggered_by`), and per layer record it changed the forward RFC 6902
-- patch and the one that turns it back ("what it replaced"), as a JSON array.
ALTER TABLE sync_events ADD COLUMN request_id TEXT;
ALTER TABLE sync_events ADD COLUMN role TEXT;
ALTER TABLE sync_events ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';

-- Every namespace a history row touched (a batch touches several; `event_type` keeps the
-- first), so `?namespace=` finds the row under each. Keyed by the row's id, removed with it.
CREATE TABLE sync_event_namespaces (
  event_id INTEGER NOT NULL,               -- sync_events.id
  namespace TEXT NOT NULL,
  PRIMARY KEY (namespace, event_id)
) WITHOUT ROWID;
CREATE INDEX sync_event_namespaces_event ON sync_event_namespaces (event_id);
INSERT OR IGNORE INTO sync_event_namespaces (event_id, namespace)
  SELECT id, event_type FROM sync_events;
CREATE TRIGGER sync_events_drop_namespaces AFTER DELETE ON sync_events
BEGIN
  DELETE FROM sync_event_namespaces WHERE event_id = OLD.id;
END;

-- Writes refused on their merits (403, 409, 412, 422, 429): they take no seq, so they are not
-- history rows. Coalesced per tenant, subject, code and minute (`window_start`): one row
-- counts the repeats and keeps the first request's id and detail.
CREATE TABLE audit_refusals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,    -- ordering key of refusals
  tenant_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  role TEXT NOT NULL,
  code TEXT NOT NULL,                      -- the problem's code
  status INTEGER NOT NULL,
  detail TEXT NOT NULL,
  request TEXT NOT NULL,                   -- 'METHOD /path'
  namespace TEXT,
  request_id TEXT NOT NULL,
  window_start INTEGER NOT NULL,           -- ms, start of the coalescing minute
  created_at INTEGER NOT NULL,             -- ms, first refusal counted
  last_at INTEGER NOT NULL,                -- ms, last refusal counted
  count INTEGER NOT NULL DEFAULT 1,
  UNIQUE (tenant_id, subject, code, window_start)
);
CREATE INDEX audit_refusals_tenant ON audit_refusals (tenant_id, id);
CREATE INDEX audit_refusals_created ON audit_refusals (created_at);
