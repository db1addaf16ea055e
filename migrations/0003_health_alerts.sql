-- Health alerting and the check's memory between runs.

-- Each tenant's state as the last health check found it, and since when it has been in it
-- (the check compares runs with it: "stays pending past a threshold", "changed since").
CREATE TABLE tenant_health_states (
  tenant TEXT PRIMARY KEY,
  state TEXT NOT NULL,                     -- success | partial | pending | failed
  since INTEGER NOT NULL                   -- ms: first check that found this state
);

-- One row per incident (a tenant turned failed, or stayed pending too long), not per run:
-- the alert and its recovery notice are each delivered once, and retried on later runs
-- until the webhook accepts them. `id` is the idempotency id receivers see.
CREATE TABLE alert_incidents (
  id TEXT PRIMARY KEY,                     -- '{tenant}:{kind}:{since}'
  tenant TEXT NOT NULL,
  kind TEXT NOT NULL,                      -- failed | pending
  state TEXT NOT NULL,                     -- the tenant state that opened it
  since INTEGER NOT NULL,                  -- ms: when the tenant entered that state
  detail TEXT,
  opened_at INTEGER NOT NULL,              -- ms: the check that opened it
  resolved_at INTEGER,                     -- ms: the check that found the tenant healed
  recovered_state TEXT,                    -- the state it healed to (or 'removed')
  alert_delivered_at INTEGER,
  recovery_delivered_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,     -- webhook attempts so far (both notices)
  last_error TEXT                          -- why the last attempt failed
);
-- At most one open incident per tenant.
CREATE UNIQUE INDEX alert_incidents_open ON alert_incidents (tenant) WHERE resolved_at IS NULL;
CREATE INDEX alert_incidents_opened ON alert_incidents (opened_at);
