-- Demo data for scripts/dev: two tenants of different business types, and the seed's three
-- sync rules. Idempotent: safe to apply on every start.
INSERT OR IGNORE INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) VALUES
  ('acme', 'Acme Retail', '{"businessType":"retail","plan":"pro"}', '[]', unixepoch() * 1000, unixepoch() * 1000),
  ('globex', 'Globex Health', '{"businessType":"healthcare","plan":"enterprise"}', '[]', unixepoch() * 1000, unixepoch() * 1000);

INSERT OR IGNORE INTO sync_rules (id, rule, priority, enabled, created_at, updated_at) VALUES
  ('auth-sso', '{"triggerEvents":["auth.provider.create","auth.provider.update","auth.provider.enable"],"targetScopes":["tenant","user"],"syncDirection":"down","conflictResolution":"platform-wins","autoApply":true}', 100, 1, unixepoch() * 1000, unixepoch() * 1000),
  ('rbac-templates', '{"triggerEvents":["rbac.template.create","rbac.template.update"],"targetScopes":["tenant"],"syncDirection":"down","conflictResolution":"merge","autoApply":true}', 90, 1, unixepoch() * 1000, unixepoch() * 1000),
  ('notifications', '{"triggerEvents":["notifications.config.update","notifications.provider.add"],"targetScopes":["tenant","user"],"syncDirection":"down","conflictResolution":"tenant-wins","autoApply":true}', 80, 1, unixepoch() * 1000, unixepoch() * 1000);
