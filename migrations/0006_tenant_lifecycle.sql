-- Tenant lifecycle: registration and deletion are multi-step sequences (registry row, tenant
-- hub, history in D1) that a crash can interrupt. The registry row records which step a tenant
-- is in, so a retry or the platform hub's alarm finishes the sequence, and which incarnation
-- (one per creation) it is, so a re-created tenant never shares a key with a deleted one.
ALTER TABLE tenants ADD COLUMN lifecycle TEXT NOT NULL DEFAULT 'active';  -- registering | active | deleting
ALTER TABLE tenants ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';      -- '' for tenants created before 0006
ALTER TABLE tenants ADD COLUMN lifecycle_at INTEGER NOT NULL DEFAULT 0;   -- ms: when it entered that state
CREATE INDEX tenants_unfinished ON tenants (lifecycle_at) WHERE lifecycle != 'active';

-- History rows are keyed by (hub, incarnation, seq) instead of (hub, seq): a re-created tenant
-- starts again at seq 1, and its rows must never be ignored as duplicates of a deleted
-- incarnation's. SQLite cannot change a UNIQUE constraint in place, so the table is rebuilt with
-- the same columns plus `incarnation` (existing rows keep '', as do the platform hub's rows).
CREATE TABLE sync_events_0006 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  hub TEXT NOT NULL,
  tenant_id TEXT,
  seq INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  action TEXT NOT NULL,
  scope TEXT NOT NULL,
  target_id TEXT,
  outcome TEXT NOT NULL,
  triggered_by TEXT NOT NULL,
  duration_ms REAL NOT NULL DEFAULT 0,
  error TEXT,
  created_at INTEGER NOT NULL,
  outcomes TEXT NOT NULL DEFAULT '[]',
  propagation_ms INTEGER,
  incarnation TEXT NOT NULL DEFAULT '',
  UNIQUE (hub, incarnation, seq)
);
INSERT INTO sync_events_0006
  (id, hub, tenant_id, seq, event_type, action, scope, target_id, outcome, triggered_by,
   duration_ms, error, created_at, outcomes, propagation_ms)
  SELECT id, hub, tenant_id, seq, event_type, action, scope, target_id, outcome, triggered_by,
         duration_ms, error, created_at, outcomes, propagation_ms
  FROM sync_events;
DROP TABLE sync_events;
ALTER TABLE sync_events_0006 RENAME TO sync_events;
CREATE INDEX sync_events_tenant_seq ON sync_events (tenant_id, incarnation, seq);
CREATE INDEX sync_events_created ON sync_events (created_at);
