-- Every engine outcome of an event, as JSON (the `outcome` column keeps the one-word summary).
ALTER TABLE sync_events ADD COLUMN outcomes TEXT NOT NULL DEFAULT '[]';
