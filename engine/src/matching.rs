//! Which rules an event triggers, whom they target, and in what order.
//!
//! A rule is triggered by an event when **all** of these hold:
//!
//! 1. one of its `triggerEvents` matches the event's topic (see [`crate::event`]);
//! 2. its `namespaces` filter, if any, lists the event's `type`;
//! 3. its `tenantFilter` accepts the tenant's attributes;
//! 4. it has a target in the direction it syncs: for `down`/`both`, a `targetScopes` entry
//!    strictly below the event's scope; for `up`/`both`, one strictly above.
//!
//! **Precedence** when several rules match (a documented choice the specification leaves open):
//! higher `priority` first; then the more specific trigger (more literal segments in the
//! best-matching pattern); then the order the rules were given in (D1 row order). The first
//! rule with downward targets *governs* the change: its strategy, targets and `autoApply`
//! decide what happens below. Every matching rule with upward targets contributes a report.
//! Locks come from every rule that covers the namespace and accepts the tenant, whether or
//! not it matched this particular event.
//!
//! **Selective sync.** A tenant that opted out of a namespace receives no platform change to
//! it; the skip is recorded as an outcome, never silent.

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::event::ChangeEvent;
use crate::path::{LeafPath, PathPattern};
use crate::resolve::Resolution;
use crate::rule::{ConflictResolution, SyncRule};
use crate::scope::{Namespace, Scope, TenantContext};

/// A rule an event triggered, with the targets it has for that event.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMatch<'r> {
    /// Position of the rule in the list given.
    pub index: usize,
    /// The rule.
    pub rule: &'r SyncRule,
    /// Target scopes below the event's scope (empty unless the rule syncs down).
    pub down_targets: Vec<Scope>,
    /// Target scopes above the event's scope (empty unless the rule syncs up).
    pub up_targets: Vec<Scope>,
    /// Literal segments of the best-matching trigger pattern.
    pub specificity: usize,
}

impl RuleMatch<'_> {
    /// The rule's label (`id` or `#index`).
    #[must_use]
    pub fn label(&self) -> String {
        self.rule.label(self.index)
    }
}

/// The rules `event` triggers at `tenant`, in precedence order (see the module docs).
#[must_use]
pub fn match_rules<'r>(
    rules: &'r [SyncRule],
    event: &ChangeEvent,
    tenant: &TenantContext,
) -> Vec<RuleMatch<'r>> {
    let topic = event.topic();
    let segments: Vec<&str> = topic.split('.').collect();
    let mut matches: Vec<RuleMatch<'r>> = rules
        .iter()
        .enumerate()
        .filter_map(|(index, rule)| {
            let specificity = rule
                .trigger_events
                .iter()
                .filter(|p| p.matches(&segments))
                .map(crate::rule::TriggerPattern::specificity)
                .max()?;
            if rule
                .namespaces
                .as_ref()
                .is_some_and(|ns| !ns.contains(&event.kind))
                || !rule.accepts_tenant(&tenant.attributes)
            {
                return None;
            }
            let down_targets: Vec<Scope> = if rule.sync_direction.goes_down() {
                sorted_targets(rule, |s| event.scope.is_above(s))
            } else {
                Vec::new()
            };
            let up_targets: Vec<Scope> = if rule.sync_direction.goes_up() {
                sorted_targets(rule, |s| s.is_above(event.scope))
            } else {
                Vec::new()
            };
            if down_targets.is_empty() && up_targets.is_empty() {
                return None;
            }
            Some(RuleMatch {
                index,
                rule,
                down_targets,
                up_targets,
                specificity,
            })
        })
        .collect();
    matches.sort_by(|a, b| {
        b.rule
            .priority
            .cmp(&a.rule.priority)
            .then(b.specificity.cmp(&a.specificity))
            .then(a.index.cmp(&b.index))
    });
    matches
}

fn sorted_targets(rule: &SyncRule, keep: impl Fn(Scope) -> bool) -> Vec<Scope> {
    let mut targets: Vec<Scope> = rule
        .target_scopes
        .iter()
        .copied()
        .filter(|s| keep(*s))
        .collect();
    targets.sort();
    targets.dedup();
    targets
}

/// The rule that governs how a change goes down: the first match with downward targets.
#[must_use]
pub fn governing<'a, 'r>(matches: &'a [RuleMatch<'r>]) -> Option<&'a RuleMatch<'r>> {
    matches.iter().find(|m| !m.down_targets.is_empty())
}

/// Why a platform change was not delivered to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
    /// The tenant opted out of the namespace (selective sync).
    OptedOut,
    /// No rule with downward targets matched the event at this tenant.
    NoMatchingRule,
}

/// A lock from a rule: `scopes` may not set values overlapping `pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The locked path pattern.
    pub pattern: PathPattern,
    /// The scopes bound by the lock (the rule's target scopes below platform).
    pub scopes: Vec<Scope>,
    /// The declaring rule's label.
    pub rule: String,
}

/// What the rules say about one namespace at one tenant, independent of any event: how its
/// layers resolve and which paths are locked for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePolicy {
    /// Layer order for users' effective configs.
    pub resolution: Resolution,
    /// All locks that bind this namespace at this tenant.
    pub locks: Vec<Lock>,
}

impl NamespacePolicy {
    /// Derives the policy: the resolution comes from the highest-precedence rule that covers
    /// the namespace, accepts the tenant and syncs down (`tenant-wins` puts the tenant layer
    /// above users'; anything else keeps the natural order); locks are the union of every
    /// covering rule's `lockedPaths`, binding that rule's target scopes.
    #[must_use]
    pub fn derive(rules: &[SyncRule], namespace: &Namespace, tenant: &TenantContext) -> Self {
        let mut covering: Vec<(usize, &SyncRule)> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.covers_namespace(namespace) && r.accepts_tenant(&tenant.attributes))
            .collect();
        covering.sort_by(|(ia, a), (ib, b)| b.priority.cmp(&a.priority).then(ia.cmp(ib)));
        let resolution = match covering
            .iter()
            .find(|(_, r)| r.sync_direction.goes_down())
            .map(|(_, r)| r.conflict_resolution)
        {
            Some(ConflictResolution::TenantWins) => Resolution::TenantWins,
            _ => Resolution::LowerWins,
        };
        let locks = covering
            .iter()
            .flat_map(|(index, rule)| {
                let scopes: Vec<Scope> = rule
                    .target_scopes
                    .iter()
                    .copied()
                    .filter(|s| *s != Scope::Platform)
                    .collect();
                rule.locked_paths.iter().map(move |pattern| Lock {
                    pattern: pattern.clone(),
                    scopes: scopes.clone(),
                    rule: rule.label(*index),
                })
            })
            .filter(|lock| !lock.scopes.is_empty())
            .collect();
        Self { resolution, locks }
    }

    /// The lock that forbids `scope` to hold a value at `path`, if any.
    #[must_use]
    pub fn lock_for(&self, scope: Scope, path: &LeafPath) -> Option<&Lock> {
        self.locks
            .iter()
            .find(|lock| lock.scopes.contains(&scope) && lock.pattern.overlaps(path))
    }

    /// Refuses a write by `scope` that sets a value at any of `paths`.
    ///
    /// # Errors
    /// [`EngineError::LockedPath`] for the first locked path.
    pub fn check_write<'p>(
        &self,
        scope: Scope,
        paths: impl IntoIterator<Item = &'p LeafPath>,
    ) -> Result<(), EngineError> {
        for path in paths {
            if let Some(lock) = self.lock_for(scope, path) {
                return Err(EngineError::LockedPath {
                    path: path.to_string(),
                    pattern: lock.pattern.to_string(),
                    rule: lock.rule.clone(),
                    scope: scope.to_string(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(value: serde_json::Value) -> Vec<SyncRule> {
        serde_json::from_value(value).expect("rules parse")
    }

    fn event(kind: &str, action: &str, scope: &str) -> ChangeEvent {
        serde_json::from_value(json!({
            "type": kind, "action": action, "scope": scope, "targetId": "t1",
            "config": {}, "triggeredBy": "someone"
        }))
        .expect("event parses")
    }

    fn seed_rules() -> Vec<SyncRule> {
        rules(json!([
            {"id": "auth", "triggerEvents": ["auth.provider.create", "auth.provider.update", "auth.provider.enable"],
             "targetScopes": ["tenant", "user"], "syncDirection": "down",
             "conflictResolution": "platform-wins", "autoApply": true},
            {"id": "rbac", "triggerEvents": ["rbac.template.create", "rbac.template.update"],
             "targetScopes": ["tenant"], "syncDirection": "down",
             "conflictResolution": "merge", "autoApply": true},
            {"id": "notif", "triggerEvents": ["notifications.config.update", "notifications.provider.add"],
             "targetScopes": ["tenant", "user"], "syncDirection": "down",
             "conflictResolution": "tenant-wins", "autoApply": true}
        ]))
    }

    #[test]
    fn seed_events_trigger_seed_rules() {
        let rules = seed_rules();
        let tenant = TenantContext::new("t1");
        // (type, action, scope, governing rule, down targets)
        type Row<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a [Scope]);
        let table: [Row<'_>; 8] = [
            (
                "auth",
                "provider.update",
                "platform",
                Some("auth"),
                &[Scope::Tenant, Scope::User],
            ),
            (
                "auth",
                "provider.enable",
                "platform",
                Some("auth"),
                &[Scope::Tenant, Scope::User],
            ),
            (
                "auth",
                "update",
                "platform",
                Some("auth"),
                &[Scope::Tenant, Scope::User],
            ),
            ("rbac", "update", "platform", Some("rbac"), &[Scope::Tenant]),
            (
                "notifications",
                "update",
                "tenant",
                Some("notif"),
                &[Scope::User],
            ),
            (
                "notifications",
                "provider.add",
                "platform",
                Some("notif"),
                &[Scope::Tenant, Scope::User],
            ),
            ("auth", "provider.delete", "platform", None, &[]),
            ("mfa", "update", "user", None, &[]),
        ];
        for (kind, action, scope, rule, targets) in table {
            let ev = event(kind, action, scope);
            let matches = match_rules(&rules, &ev, &tenant);
            let gov = governing(&matches);
            assert_eq!(
                gov.map(RuleMatch::label).as_deref(),
                rule,
                "{kind}.{action}@{scope}"
            );
            assert_eq!(
                gov.map(|m| m.down_targets.as_slice()).unwrap_or(&[]),
                targets
            );
        }
    }

    #[test]
    fn precedence_priority_then_specificity_then_order() {
        let rules = rules(json!([
            {"id": "broad", "triggerEvents": ["auth.*"], "targetScopes": ["tenant"],
             "syncDirection": "down", "conflictResolution": "merge", "autoApply": true},
            {"id": "exact", "triggerEvents": ["auth.provider.update"], "targetScopes": ["tenant"],
             "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true},
            {"id": "exact-too", "triggerEvents": ["auth.provider.update"], "targetScopes": ["tenant"],
             "syncDirection": "down", "conflictResolution": "user-wins", "autoApply": true},
            {"id": "urgent", "triggerEvents": ["*"], "targetScopes": ["tenant"], "priority": 10,
             "syncDirection": "down", "conflictResolution": "tenant-wins", "autoApply": true}
        ]));
        let ev = event("auth", "provider.update", "platform");
        let order: Vec<String> = match_rules(&rules, &ev, &TenantContext::new("t1"))
            .iter()
            .map(RuleMatch::label)
            .collect();
        assert_eq!(order, ["urgent", "exact", "exact-too", "broad"]);
    }

    #[test]
    fn filters_and_directions() {
        let rules = rules(json!([
            {"id": "retail", "triggerEvents": ["business.*"], "targetScopes": ["tenant"],
             "syncDirection": "down", "conflictResolution": "merge", "autoApply": true,
             "tenantFilter": {"businessType": "retail"}},
            {"id": "report", "triggerEvents": ["notifications.*"], "targetScopes": ["platform", "tenant"],
             "syncDirection": "up", "conflictResolution": "user-wins", "autoApply": true},
            {"id": "only-rbac", "triggerEvents": ["*"], "targetScopes": ["tenant"], "namespaces": ["rbac"],
             "syncDirection": "down", "conflictResolution": "merge", "autoApply": true}
        ]));
        let mut retail = TenantContext::new("t1");
        retail
            .attributes
            .insert("businessType".into(), json!("retail"));
        let saas = TenantContext::new("t2");
        let ev = event("business", "update", "platform");
        assert_eq!(match_rules(&rules, &ev, &retail).len(), 1);
        assert!(match_rules(&rules, &ev, &saas).is_empty());

        let user_ev = event("notifications", "update", "user");
        let m = match_rules(&rules, &user_ev, &saas);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].up_targets, [Scope::Platform, Scope::Tenant]);
        assert!(m[0].down_targets.is_empty());
        // An `up` rule never matches a platform event: nothing is above it.
        assert!(
            match_rules(&rules, &event("notifications", "update", "platform"), &saas).is_empty()
        );
        assert_eq!(
            match_rules(&rules, &event("rbac", "update", "platform"), &saas).len(),
            1
        );
        assert!(match_rules(&rules, &event("auth", "update", "platform"), &saas).is_empty());
    }

    #[test]
    fn policy_resolution_and_locks() {
        let rules = rules(json!([
            {"id": "notif", "triggerEvents": ["notifications.*"], "targetScopes": ["tenant", "user"],
             "syncDirection": "down", "conflictResolution": "tenant-wins", "autoApply": true},
            {"id": "sso", "triggerEvents": ["auth.*"], "targetScopes": ["tenant", "user"],
             "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true,
             "lockedPaths": ["/sso/enforced"]},
            {"id": "mfa-user", "triggerEvents": ["auth.mfa.*"], "targetScopes": ["user"],
             "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true,
             "lockedPaths": ["/mfa/required"]}
        ]));
        let tenant = TenantContext::new("t1");
        let ns = |n: &str| Namespace::new(n).expect("valid namespace");
        assert_eq!(
            NamespacePolicy::derive(&rules, &ns("notifications"), &tenant).resolution,
            Resolution::TenantWins
        );
        let auth = NamespacePolicy::derive(&rules, &ns("auth"), &tenant);
        assert_eq!(auth.resolution, Resolution::LowerWins);
        let path = |t: &str| LeafPath::parse(t).expect("valid path");
        let err = auth
            .check_write(Scope::Tenant, [&path("/sso/enforced")])
            .expect_err("locked for tenants");
        assert_eq!(err.code(), "CASCADE:Rule:LockedPath");
        assert!(auth
            .check_write(Scope::Tenant, [&path("/sso/label")])
            .is_ok());
        // The MFA lock binds users only.
        assert!(auth
            .check_write(Scope::Tenant, [&path("/mfa/required")])
            .is_ok());
        assert!(auth
            .check_write(Scope::User, [&path("/mfa/required")])
            .is_err());
    }
}
