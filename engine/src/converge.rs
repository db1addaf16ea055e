//! Convergence: bringing a tenant's copy of a platform layer back to the platform's own.
//!
//! A tenant's copy of a platform layer is built from the platform updates delivered to it,
//! each a merge patch. When a delivery is skipped (the tenant opted out, no rule matched at
//! the time) the copy misses that patch, and later deliveries carry only their own delta: the
//! copy holds part of the platform layer until something writes the difference. That is what
//! a *convergence* does: for each namespace whose copy differs from the platform layer, the
//! merge patch from the copy to the platform layer ([`merge_diff`]) is delivered as the
//! platform event a whole-document platform write is (`{namespace}.update`), so it is
//! governed, held for approval or refused exactly as such a write would be, under the
//! governing rule's strategy. It is recorded as a [`HistoryKind::Convergence`] entry and does
//! not move the tenant's platform seq (it brings no new platform update).
//!
//! Why a copy differs decides whether it must converge ([`DriftReason`]): a tenant that opted
//! out, or that no rule governs, keeps its copy on purpose; pending changes converge when the
//! tenant admin decides them; a tenant that rolled back a platform change keeps that decision
//! unless the governing rule is `platform-wins`; any other difference is a copy left behind
//! and converges.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::apply::{authors, platform_event};
use crate::commit::{Commit, Context, Txn};
use crate::document::merge_diff;
use crate::error::EngineError;
use crate::event::ChangeEvent;
use crate::history::HistoryKind;
use crate::matching::{governing, match_rules};
use crate::rule::ConflictResolution;
use crate::scope::{Namespace, Scope, TenantContext};
use crate::state::{NamespaceState, TenantState};

/// The action of the event a convergence delivers: that of a whole-document platform write.
pub const CONVERGENCE_ACTION: &str = "update";

/// Why a tenant's copy of a platform layer differs from the platform's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "rolledBack"))]
pub enum DriftReason {
    /// The tenant opted out of the namespace: kept on purpose.
    OptedOut,
    /// No rule governs a platform write of the namespace at this tenant: nothing delivers it.
    NoRule,
    /// Platform changes wait for the tenant admin's decision.
    Pending,
    /// The tenant rolled back a platform change.
    RolledBack,
    /// The copy missed changes (skipped while opted out or ungoverned, or lost): behind.
    Behind,
}

impl DriftReason {
    /// The reason's name on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptedOut => "optedOut",
            Self::NoRule => "noRule",
            Self::Pending => "pending",
            Self::RolledBack => "rolledBack",
            Self::Behind => "behind",
        }
    }
}

/// A namespace whose copy differs, why, and whether the rules say it must converge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// The namespace.
    pub namespace: Namespace,
    /// Why it differs.
    pub reason: DriftReason,
    /// Whether the rules require it to converge (a convergence heals it).
    pub must_converge: bool,
}

/// The platform event a whole-document platform write of `namespace` is, carrying `config`.
#[must_use]
pub fn whole_layer_event(namespace: &Namespace, config: Value, by: &str) -> ChangeEvent {
    ChangeEvent {
        kind: namespace.clone(),
        action: CONVERGENCE_ACTION.to_owned(),
        scope: Scope::Platform,
        target_id: None,
        config,
        triggered_by: by.to_owned(),
    }
}

/// Why `ns`'s copy of the platform layer differs (call only when it does), and whether it
/// must converge. `rolled_back`: the last change to the copy was the tenant's rollback.
#[must_use]
pub fn classify_drift(
    ns: &NamespaceState,
    tenant: &TenantContext,
    rules: &[crate::rule::SyncRule],
    rolled_back: bool,
) -> Drift {
    let drift = |reason, must_converge| Drift {
        namespace: ns.namespace.clone(),
        reason,
        must_converge,
    };
    if tenant.opted_out.contains(&ns.namespace) {
        return drift(DriftReason::OptedOut, false);
    }
    let probe = whole_layer_event(&ns.namespace, Value::Object(Map::new()), "");
    let matches = match_rules(rules, &probe, tenant);
    let Some(gov) = governing(&matches) else {
        return drift(DriftReason::NoRule, false);
    };
    if !ns.pending.is_empty() {
        return drift(DriftReason::Pending, false);
    }
    if rolled_back {
        let platform_wins = gov.rule.conflict_resolution == ConflictResolution::PlatformWins;
        return drift(DriftReason::RolledBack, platform_wins);
    }
    drift(DriftReason::Behind, true)
}

/// The event bringing `ns`'s copy to `platform` (the platform's layer), or `None` when the
/// copy already equals it.
#[must_use]
pub fn convergence_event(ns: &NamespaceState, platform: &Value, by: &str) -> Option<ChangeEvent> {
    let copy = ns.platform.as_value();
    if copy == platform {
        return None;
    }
    Some(whole_layer_event(
        &ns.namespace,
        merge_diff(copy, platform),
        by,
    ))
}

/// Commits `events` (from [`convergence_event`], one per namespace) as one convergence:
/// each is delivered as a platform event is, by its governing rule; the entry is a
/// [`HistoryKind::Convergence`] with `cause`. The platform seq does not move.
///
/// # Errors
/// [`EngineError::EmptyBatch`] for no events, [`EngineError::ScopeMismatch`] for an event
/// not at platform scope, and the limit errors a commit can raise (the copy would pass a
/// document limit); nothing is applied then.
pub fn converge(
    state: &TenantState,
    events: &[ChangeEvent],
    cause: &str,
    ctx: Context<'_>,
) -> Result<Commit, EngineError> {
    if events.is_empty() {
        return Err(EngineError::EmptyBatch);
    }
    if let Some(event) = events.iter().find(|e| e.scope != Scope::Platform) {
        return Err(EngineError::ScopeMismatch {
            reason: format!("a convergence carries a {}-scope event", event.scope),
        });
    }
    let platform_seq = state.platform_seq;
    let mut txn = Txn::new(state, ctx);
    for event in events {
        platform_event(&mut txn, event, platform_seq);
    }
    let kind = |_: &Namespace| HistoryKind::Convergence {
        cause: cause.to_owned(),
        platform_seq,
    };
    txn.finish(kind, &authors(events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Layer;
    use crate::outcome::Outcome;
    use crate::rule::SyncRule;
    use crate::validate::Limits;
    use serde_json::json;

    fn ns(name: &str) -> Namespace {
        Namespace::new(name).expect("valid namespace")
    }

    fn rule(strategy: &str) -> SyncRule {
        serde_json::from_value(json!({
            "id": "r", "triggerEvents": ["auth.*"], "targetScopes": ["tenant", "user"],
            "syncDirection": "down", "conflictResolution": strategy, "autoApply": true
        }))
        .expect("valid rule")
    }

    fn tenant() -> TenantContext {
        serde_json::from_value(json!({"id": "acme"})).expect("valid tenant")
    }

    fn state_with_copy(copy: Value) -> TenantState {
        let mut state = TenantState::default();
        state
            .namespaces
            .insert(ns("auth"), NamespaceState::new(ns("auth")));
        state
            .namespaces
            .get_mut(&ns("auth"))
            .expect("inserted")
            .platform = Layer::from_value(copy).expect("layer");
        state
    }

    #[test]
    fn a_copy_left_behind_converges_to_the_platform_layer() {
        let state = state_with_copy(json!({"sso": {"timeout": 30}}));
        let platform = json!({"sso": {"provider": "okta", "timeout": 30}, "mfa": true});
        let event = convergence_event(&state.namespaces[&ns("auth")], &platform, "system")
            .expect("differs");
        assert_eq!(event.topic(), "auth.update");
        let rules = [rule("merge")];
        let ctx = Context {
            tenant: &tenant(),
            rules: &rules,
            limits: &Limits::default(),
            at: 1,
        };
        let commit = converge(&state, &[event], "rule-changed", ctx).expect("converges");
        assert_eq!(commit.seq, 1);
        assert_eq!(commit.state.platform_seq, 0, "no platform seq moves");
        assert_eq!(
            commit.state.namespaces[&ns("auth")].platform.as_value(),
            &platform
        );
        let entry = commit.state.namespaces[&ns("auth")]
            .history
            .entries
            .last()
            .expect("an entry");
        assert_eq!(
            entry.kind,
            HistoryKind::Convergence {
                cause: "rule-changed".into(),
                platform_seq: 0
            }
        );
        assert!(commit
            .outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Applied { .. })));
    }

    #[test]
    fn a_removed_platform_key_is_removed_from_the_copy() {
        let state = state_with_copy(json!({"old": 1, "kept": 2}));
        let event = convergence_event(&state.namespaces[&ns("auth")], &json!({"kept": 2}), "s")
            .expect("differs");
        assert_eq!(event.config, json!({"old": null}));
        assert!(convergence_event(
            &state.namespaces[&ns("auth")],
            &json!({"old": 1, "kept": 2}),
            "s"
        )
        .is_none());
    }

    #[test]
    fn drift_reasons_follow_the_rules() {
        let state = state_with_copy(json!({"a": 1}));
        let space = &state.namespaces[&ns("auth")];
        let merge = [rule("merge")];
        let wins = [rule("platform-wins")];
        let t = tenant();
        let reason = |rules: &[SyncRule], t: &TenantContext, rolled_back| {
            let d = classify_drift(space, t, rules, rolled_back);
            (d.reason, d.must_converge)
        };
        assert_eq!(reason(&merge, &t, false), (DriftReason::Behind, true));
        assert_eq!(reason(&[], &t, false), (DriftReason::NoRule, false));
        assert_eq!(reason(&merge, &t, true), (DriftReason::RolledBack, false));
        assert_eq!(reason(&wins, &t, true), (DriftReason::RolledBack, true));
        let opted: TenantContext =
            serde_json::from_value(json!({"id": "acme", "optedOut": ["auth"]})).expect("valid");
        assert_eq!(
            reason(&merge, &opted, false),
            (DriftReason::OptedOut, false)
        );
    }
}
