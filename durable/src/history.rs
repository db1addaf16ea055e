//! History rows for D1 from engine commits: one row per commit (one `seq`), its outcome
//! summarised in one word and every outcome kept in full.

use std::collections::BTreeSet;

use cascade_engine::event::ChangeEvent;
use cascade_engine::history::LayerKey;
use cascade_engine::outcome::Outcome;
use cascade_engine::scope::Namespace;
use cascade_engine::state::{NamespaceState, TenantState};
use serde_json::Value;

use crate::core::js_now;
use crate::internal::Caller;
use crate::outbox::HistoryRow;

/// Most outcomes listed in one write's answer, history row or stored idempotent answer: a
/// change can reach many users, and each reached user adds outcomes. Past the limit the list
/// ends with one `{"kind": "omitted", "count": N}` item saying how many were left out (the
/// one-word summary still reflects them all).
pub const MAX_OUTCOMES_LISTED: usize = 1_000;

/// The outcomes as JSON, at most [`MAX_OUTCOMES_LISTED`] of them plus the `omitted` item.
pub fn listed_outcomes(outcomes: &[Outcome]) -> serde_json::Result<Vec<serde_json::Value>> {
    let mut listed = outcomes
        .iter()
        .take(MAX_OUTCOMES_LISTED)
        .map(serde_json::to_value)
        .collect::<serde_json::Result<Vec<_>>>()?;
    if outcomes.len() > MAX_OUTCOMES_LISTED {
        listed.push(serde_json::json!({
            "kind": "omitted",
            "count": outcomes.len() - MAX_OUTCOMES_LISTED,
        }));
    }
    Ok(listed)
}

/// One word for a commit's outcomes, most notable first: `refused`, `conflict`, `pending`,
/// `overridden`, `shadowed`, `applied`, `skipped`, `unchanged`.
pub fn summarise(outcomes: &[Outcome]) -> &'static str {
    let has = |pred: fn(&Outcome) -> bool| outcomes.iter().any(pred);
    if has(|o| matches!(o, Outcome::Refused { .. })) {
        "refused"
    } else if has(|o| matches!(o, Outcome::ConflictOpened { .. })) {
        "conflict"
    } else if has(|o| matches!(o, Outcome::Pending { .. })) {
        "pending"
    } else if has(|o| matches!(o, Outcome::Overridden { .. })) {
        "overridden"
    } else if has(|o| matches!(o, Outcome::Shadowed { .. })) {
        "shadowed"
    } else if has(|o| {
        matches!(
            o,
            Outcome::Applied { .. } | Outcome::Written { .. } | Outcome::Merged { .. }
        )
    }) {
        "applied"
    } else if has(|o| matches!(o, Outcome::Skipped { .. })) {
        "skipped"
    } else {
        "unchanged"
    }
}

/// The D1 row for the commit at `seq` with `outcomes`, caused by `event` (the first of its
/// batch). `tenant` is absent for platform commits.
pub fn history_row(
    hub: &str,
    tenant: Option<&str>,
    seq: u64,
    outcomes: &[Outcome],
    event: &ChangeEvent,
    duration_ms: f64,
) -> worker::Result<HistoryRow> {
    let what = What {
        namespace: event.kind.as_str(),
        action: &event.action,
        scope: event.scope.as_str(),
        target: event.target_id.as_deref(),
        by: &event.triggered_by,
    };
    operation_row(hub, tenant, seq, outcomes, &what, duration_ms)
}

/// What an operation was, for its history row.
pub struct What<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// The seed's action, or the operation (`pending.accept`, `conflict.resolve`, `rollback`).
    pub action: &'a str,
    /// Scope of the layer written.
    pub scope: &'a str,
    /// Target of the operation.
    pub target: Option<&'a str>,
    /// Who did it.
    pub by: &'a str,
}

/// The D1 row for the commit at `seq` of any operation.
pub fn operation_row(
    hub: &str,
    tenant: Option<&str>,
    seq: u64,
    outcomes: &[Outcome],
    what: &What<'_>,
    duration_ms: f64,
) -> worker::Result<HistoryRow> {
    Ok(HistoryRow {
        hub: hub.to_owned(),
        tenant_id: tenant.map(str::to_owned),
        seq,
        event_type: what.namespace.to_owned(),
        action: what.action.to_owned(),
        scope: what.scope.to_owned(),
        target_id: what.target.map(str::to_owned),
        outcome: summarise(outcomes).to_owned(),
        outcomes: serde_json::to_string(&listed_outcomes(outcomes)?)?,
        triggered_by: what.by.to_owned(),
        duration_ms,
        error: None,
        created_at: js_now() as u64,
        propagation_ms: None,
        namespaces: vec![what.namespace.to_owned()],
        request_id: None,
        role: None,
        changes: String::new(),
    })
}

/// Most layer changes listed in one history row; past it (or past
/// [`MAX_CHANGES_BYTES`]) the list ends with `{"kind": "omitted", "count": N}`.
pub const MAX_CHANGES_LISTED: usize = 100;
/// Most bytes of patches one history row lists (D1 refuses rows over 2 MB).
pub const MAX_CHANGES_BYTES: usize = 640 * 1024;

/// The layers a commit changed in `namespaces`, from the state before (`before`, as loaded)
/// to the state after: per layer, its forward RFC 6902 `patch` and the patch back
/// (`replaced`: what the change replaced), each `{namespace, layer: {scope, id?}, patch,
/// replaced}`. Bounded by [`MAX_CHANGES_LISTED`] and [`MAX_CHANGES_BYTES`].
pub fn layer_changes(
    before: &TenantState,
    after: &TenantState,
    namespaces: &[&Namespace],
) -> serde_json::Result<Vec<Value>> {
    let empty = Value::Object(serde_json::Map::new());
    let mut listed = Vec::new();
    let (mut omitted, mut bytes) = (0usize, 0usize);
    for namespace in namespaces {
        let old = before.namespace(namespace);
        let new = after.namespace(namespace);
        let mut layers: Vec<(LayerKey, Value, Value)> = Vec::new();
        let platform = |ns: Option<&NamespaceState>| {
            ns.map_or(empty.clone(), |n| n.platform.as_value().clone())
        };
        let tenant = |ns: Option<&NamespaceState>| {
            ns.map_or(empty.clone(), |n| n.tenant.layer.as_value().clone())
        };
        layers.push((LayerKey::Platform, platform(old), platform(new)));
        layers.push((LayerKey::Tenant, tenant(old), tenant(new)));
        let mut users: BTreeSet<&String> = BTreeSet::new();
        users.extend(old.iter().flat_map(|n| n.users.keys()));
        users.extend(new.iter().flat_map(|n| n.users.keys()));
        for user in users {
            let layer = |ns: Option<&NamespaceState>| {
                ns.and_then(|n| n.users.get(user))
                    .map_or(empty.clone(), |l| l.layer.as_value().clone())
            };
            layers.push((LayerKey::User(user.clone()), layer(old), layer(new)));
        }
        for (key, was, is) in layers {
            if was == is {
                continue;
            }
            let item = serde_json::json!({
                "namespace": namespace.as_str(),
                "layer": key,
                "patch": json_patch::diff(&was, &is),
                "replaced": json_patch::diff(&is, &was),
            });
            let size = serde_json::to_string(&item)?.len();
            if listed.len() >= MAX_CHANGES_LISTED || bytes + size > MAX_CHANGES_BYTES {
                omitted += 1;
                continue;
            }
            bytes += size;
            listed.push(item);
        }
    }
    if omitted > 0 {
        listed.push(serde_json::json!({"kind": "omitted", "count": omitted}));
    }
    Ok(listed)
}

impl HistoryRow {
    /// This row as made by `caller` (its role and request id; the subject is `triggeredBy`).
    #[must_use]
    pub fn made_by(mut self, caller: Option<&Caller>) -> Self {
        if let Some(caller) = caller {
            self.request_id = Some(caller.request_id.clone());
            self.role = Some(caller.role);
        }
        self
    }

    /// This row with every namespace it touched and the layers it changed.
    pub fn touching(
        mut self,
        namespaces: &[&Namespace],
        changes: &[Value],
    ) -> serde_json::Result<Self> {
        self.namespaces = namespaces.iter().map(|n| n.as_str().to_owned()).collect();
        self.changes = serde_json::to_string(changes)?;
        Ok(self)
    }
}

/// Propagation latency of a platform change: from the platform hub's commit at
/// `platform_committed_at` to the tenant hub's commit at `tenant_committed_at` (both Unix
/// milliseconds, from two objects' clocks), clamped at 0 so clock skew between the machines
/// never yields a negative latency.
#[must_use]
pub fn propagation_ms(platform_committed_at: u64, tenant_committed_at: u64) -> u64 {
    tenant_committed_at.saturating_sub(platform_committed_at)
}

impl HistoryRow {
    /// This row with its propagation latency set from the platform commit time, when known
    /// (see [`propagation_ms`]); the row's own `created_at` is the tenant's commit time.
    #[must_use]
    pub fn propagated_from(mut self, platform_committed_at: Option<u64>) -> Self {
        self.propagation_ms = platform_committed_at.map(|at| propagation_ms(at, self.created_at));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_outcome_lists_end_with_an_omitted_count() {
        use cascade_engine::scope::{Namespace, Subject};
        let applied = |n: usize| Outcome::Applied {
            namespace: Namespace::new("prefs").expect("name"),
            subject: Subject::User(format!("u{n}")),
        };
        let few: Vec<Outcome> = (0..3).map(applied).collect();
        assert_eq!(listed_outcomes(&few).expect("lists").len(), 3);
        let many: Vec<Outcome> = (0..MAX_OUTCOMES_LISTED + 5).map(applied).collect();
        let listed = listed_outcomes(&many).expect("lists");
        assert_eq!(listed.len(), MAX_OUTCOMES_LISTED + 1);
        assert_eq!(listed[MAX_OUTCOMES_LISTED]["kind"], "omitted");
        assert_eq!(listed[MAX_OUTCOMES_LISTED]["count"], 5);
    }

    #[test]
    fn propagation_is_the_gap_between_the_commits_and_never_negative() {
        assert_eq!(propagation_ms(1_000, 1_250), 250);
        assert_eq!(propagation_ms(1_000, 1_000), 0);
        // The tenant's clock behind the platform's: clamped, not negative.
        assert_eq!(propagation_ms(1_300, 1_250), 0);
    }
}
