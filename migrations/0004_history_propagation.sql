-- Propagation latency of a platform change at a tenant: the tenant hub's commit time minus the
-- platform hub's commit time, in ms (clamped at 0). NULL for changes that start at the tenant
-- (tenant and user writes, admin operations), for platform updates applied by a catch-up
-- rather than by the fan-out's delivery, for the platform hub's own rows, and for older rows.
ALTER TABLE sync_events ADD COLUMN propagation_ms INTEGER;
