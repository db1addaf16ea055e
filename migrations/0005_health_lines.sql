-- Health snapshots over many tenants: each tenant's line is its own row, written a page at a
-- time by the platform hub's walk, instead of one JSON row holding every line (D1 refuses a
-- row over 2 MB, which ~5,000 lines reach). A snapshot row keeps the summary and names its
-- check; lines are kept for the latest few checks (older snapshots keep their counts).
CREATE TABLE health_lines (
  check_id INTEGER NOT NULL,               -- the check's id (its start time, ms)
  tenant TEXT NOT NULL,
  state TEXT NOT NULL,                     -- success | partial | pending | failed
  line TEXT NOT NULL,                      -- JSON: the tenant's line as GET /v1/status shows it
  PRIMARY KEY (check_id, tenant)
);
ALTER TABLE health_snapshots ADD COLUMN check_id INTEGER;
