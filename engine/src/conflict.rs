//! Open conflicts (`merge`: the same leaf changed on both sides) and their resolution.
//!
//! A conflict records the subject whose layer holds the customization, the leaf, the base
//! the customization was made against, the upper value that now disagrees, and the lower
//! value that stays in effect meanwhile. An admin resolves it with one of:
//!
//! * **take upper** — the lower override is removed; the upper value takes effect;
//! * **keep lower** — the override stays and is rebased on the current upper value, so the
//!   next upper change is judged against it;
//! * **set value** — the override becomes the given value (locks and limits apply), based on
//!   the current upper value.
//!
//! Each resolution is one commit with one seq; the conflict leaves the open list and stays
//! in history.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::commit::{Commit, Context, Txn};
use crate::document::{get, overlay};
use crate::error::EngineError;
use crate::history::HistoryKind;
use crate::outcome::Outcome;
use crate::path::LeafPath;
use crate::scope::{Namespace, Subject};
use crate::state::TenantState;
use crate::validate::check_value;

/// An open conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = Conflict::openapi_example))]
pub struct Conflict {
    /// Id, unique within the tenant (`{seq}.{n}`).
    pub id: String,
    /// Whose layer holds the customization.
    pub subject: Subject,
    /// The leaf, as a JSON Pointer-like path (`/sso/provider`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub path: LeafPath,
    /// The upper value the customization was based on (`None`: there was none).
    pub base: Option<Value>,
    /// The upper value now (`None`: the upper config removed it).
    pub upper: Option<Value>,
    /// The lower value, in effect until resolved.
    pub lower: Value,
    /// The rule whose `merge` opened it.
    pub rule: String,
    /// The tenant seq that opened it.
    pub opened_seq: u64,
    /// When it was opened (milliseconds since the Unix epoch).
    pub opened_at: u64,
}

#[cfg(feature = "openapi")]
impl Conflict {
    /// The example docs/openapi.json shows for a conflict; the conflict listing's item shows
    /// it too, with its namespace.
    #[must_use]
    pub fn openapi_example() -> Value {
        serde_json::json!({
            "id": "9.0", "subject": {"scope": "tenant"}, "path": "/provider", "base": "okta",
            "upper": "auth0", "lower": "keycloak", "rule": "auth-merge", "openedSeq": 9,
            "openedAt": 1764720000000_u64
        })
    }
}

/// How an admin resolves a conflict: `{"action": "takeUpper" | "keepLower"}` or
/// `{"action": "setValue", "value": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", content = "value", rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"action": "setValue", "value": 30})))]
pub enum ConflictAction {
    /// Remove the lower override; the upper value takes effect.
    TakeUpper,
    /// Keep the lower value, rebased on the current upper value.
    KeepLower,
    /// Set the lower value to this.
    SetValue(Value),
}

/// Resolves an open conflict of `namespace`.
///
/// # Errors
/// [`EngineError::ConflictNotFound`]; for `SetValue`, value and lock errors.
pub fn resolve_conflict(
    state: &TenantState,
    namespace: &Namespace,
    conflict_id: &str,
    action: &ConflictAction,
    ctx: Context<'_>,
    by: &str,
) -> Result<Commit, EngineError> {
    let not_found = || EngineError::ConflictNotFound {
        namespace: namespace.to_string(),
        id: conflict_id.into(),
    };
    let mut txn = Txn::new(state, ctx);
    let policy = txn.touch(namespace);
    let ns = txn.ns(namespace);
    let index = ns
        .conflicts
        .iter()
        .position(|c| c.id == conflict_id)
        .ok_or_else(not_found)?;
    let conflict = ns.conflicts.remove(index);
    let upper = match conflict.subject {
        Subject::Tenant => ns.platform.as_value().clone(),
        Subject::User(_) => overlay(ns.platform.as_value(), ns.tenant.layer.as_value()),
    };
    let current_upper = get(&upper, &conflict.path).cloned();
    let lower = ns.lower_mut(&conflict.subject);
    let previous = get(lower.layer.as_value(), &conflict.path).cloned();
    match action {
        ConflictAction::TakeUpper => {
            lower.layer.remove(&conflict.path);
            lower.bases.remove(&conflict.path);
        }
        ConflictAction::KeepLower => {
            if previous.is_some() {
                lower.bases.insert(conflict.path.clone(), current_upper);
            }
        }
        ConflictAction::SetValue(value) => {
            check_value(value, ctx.limits)?;
            policy.check_write(conflict.subject.scope(), [&conflict.path])?;
            lower.layer.set(&conflict.path, value.clone());
            lower.bases.insert(conflict.path.clone(), current_upper);
        }
    }
    lower.prune_bases();
    txn.outcomes.push(Outcome::ConflictResolved {
        namespace: namespace.clone(),
        conflict_id: conflict.id.clone(),
        subject: conflict.subject.clone(),
        path: conflict.path.clone(),
        action: action.clone(),
        previous,
    });
    txn.finish(
        |_| HistoryKind::ConflictResolution {
            conflict_id: conflict_id.into(),
        },
        by,
    )
}

/// The open conflicts of a namespace, if loaded.
#[must_use]
pub fn open_conflicts<'s>(state: &'s TenantState, namespace: &Namespace) -> &'s [Conflict] {
    state
        .namespace(namespace)
        .map_or(&[], |ns| ns.conflicts.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_serialize_readably() {
        let take = serde_json::to_value(ConflictAction::TakeUpper).expect("serializes");
        assert_eq!(take, json!({"action": "takeUpper"}));
        let set = serde_json::to_value(ConflictAction::SetValue(json!(3))).expect("serializes");
        assert_eq!(set, json!({"action": "setValue", "value": 3}));
        let back: ConflictAction =
            serde_json::from_value(json!({"action": "keepLower"})).expect("parses");
        assert_eq!(back, ConflictAction::KeepLower);
    }
}
