-- Cascade's D1 schema: tenants registry, sync rules, event history, health snapshots.
-- Durable state of each hub lives in its Durable Object; D1 holds what spans tenants.

CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  attributes TEXT NOT NULL DEFAULT '{}',   -- JSON object, e.g. {"businessType":"retail","plan":"pro"}
  opt_outs TEXT NOT NULL DEFAULT '[]',     -- JSON array of namespaces the tenant opted out of
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE sync_rules (
  id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,                      -- JSON in the seed's camelCase shape
  priority INTEGER NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- One row per applied event, written from the hubs' outboxes; (hub, seq) makes the copy
-- idempotent, so a flush retried after a crash never duplicates a row.
CREATE TABLE sync_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  hub TEXT NOT NULL,                       -- tenant id, or 'platform'
  tenant_id TEXT,                          -- NULL for platform events
  seq INTEGER NOT NULL,
  event_type TEXT NOT NULL,                -- namespace
  action TEXT NOT NULL,
  scope TEXT NOT NULL,                     -- platform | tenant | user
  target_id TEXT,
  outcome TEXT NOT NULL,
  triggered_by TEXT NOT NULL,
  duration_ms REAL NOT NULL DEFAULT 0,
  error TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (hub, seq)
);
CREATE INDEX sync_events_tenant_seq ON sync_events (tenant_id, seq);
CREATE INDEX sync_events_created ON sync_events (created_at);

CREATE TABLE health_snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  taken_at INTEGER NOT NULL,
  cron TEXT NOT NULL,
  health_pct REAL NOT NULL,
  snapshot TEXT NOT NULL                   -- JSON: counts and every tenant's line
);
CREATE INDEX health_snapshots_taken ON health_snapshots (taken_at);
