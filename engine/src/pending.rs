//! Pending changes: platform changes held for the tenant admin, and their accept/reject.
//!
//! A platform change whose governing rule has `autoApply: false` is not applied at the
//! tenant; it is stored with the rule's decision (strategy, targets) as it stood, so that
//! accepting it later applies exactly what the admin reviewed. To preserve event order in a
//! namespace, any later platform change to a namespace with a pending change is queued
//! behind it (`queued: true`), even if its own rule auto-applies.
//!
//! * Accepting takes the **oldest** pending change of the namespace (others would overtake
//!   it), applies it, then releases the queued auto-apply changes behind it, in order, until
//!   the next one that itself needs a decision.
//! * Rejecting may take any pending change; if it was the oldest, the queue behind it is
//!   released the same way.
//!
//! Both are one commit with one seq.

use serde::{Deserialize, Serialize};

use crate::apply::{deliver, Delivery};
use crate::commit::{Commit, Context, Txn};
use crate::error::EngineError;
use crate::event::ChangeEvent;
use crate::history::HistoryKind;
use crate::outcome::Outcome;
use crate::rule::ConflictResolution;
use crate::scope::{Namespace, Scope};
use crate::state::TenantState;

/// A platform change held at a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = PendingChange::openapi_example))]
pub struct PendingChange {
    /// Id, unique within the tenant (`{seq}.{n}`).
    pub id: String,
    /// The platform seq of the change set it came in.
    pub platform_seq: u64,
    /// The platform event.
    pub event: ChangeEvent,
    /// The governing rule's label.
    pub rule: String,
    /// The governing rule's strategy.
    pub strategy: ConflictResolution,
    /// The governing rule's downward targets.
    pub targets: Vec<Scope>,
    /// Whether the rule itself auto-applies (then it is only queued behind another).
    pub auto_apply: bool,
    /// The tenant seq that created it.
    pub created_seq: u64,
    /// When it was created (milliseconds since the Unix epoch).
    pub created_at: u64,
}

#[cfg(feature = "openapi")]
impl PendingChange {
    /// The example docs/openapi.json shows for a pending change; the pending listing's item
    /// shows it too, with its namespace.
    #[must_use]
    pub fn openapi_example() -> serde_json::Value {
        serde_json::json!({
            "id": "12.0", "platformSeq": 4,
            "event": {"type": "auth", "action": "update", "scope": "platform",
                      "config": {"mfa": true}, "triggeredBy": "platform-admin"},
            "rule": "auth-review", "strategy": "merge", "targets": ["tenant"], "autoApply": false,
            "createdSeq": 12, "createdAt": 1764720000000_u64
        })
    }
}

fn not_found(namespace: &Namespace, id: &str) -> EngineError {
    EngineError::PendingNotFound {
        namespace: namespace.to_string(),
        id: id.into(),
    }
}

fn delivery(pending: &PendingChange) -> Delivery {
    Delivery {
        rule: pending.rule.clone(),
        strategy: pending.strategy,
        targets: pending.targets.iter().copied().collect(),
    }
}

/// Accepts the oldest pending change of `namespace` (which must be `id`) and applies it.
///
/// # Errors
/// [`EngineError::PendingNotFound`], or [`EngineError::PendingOutOfOrder`] if `id` is not
/// the oldest; a limit error if applying it would exceed one.
pub fn accept_pending(
    state: &TenantState,
    namespace: &Namespace,
    id: &str,
    ctx: Context<'_>,
    by: &str,
) -> Result<Commit, EngineError> {
    let ns = state
        .namespace(namespace)
        .ok_or_else(|| not_found(namespace, id))?;
    let index = ns
        .pending
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| not_found(namespace, id))?;
    if index != 0 {
        return Err(EngineError::PendingOutOfOrder {
            id: id.into(),
            oldest: ns.pending[0].id.clone(),
        });
    }
    decide(state, namespace, id, true, ctx, by)
}

/// Rejects a pending change of `namespace`: it is discarded (and kept in history).
///
/// # Errors
/// [`EngineError::PendingNotFound`].
pub fn reject_pending(
    state: &TenantState,
    namespace: &Namespace,
    id: &str,
    ctx: Context<'_>,
    by: &str,
) -> Result<Commit, EngineError> {
    let exists = state
        .namespace(namespace)
        .is_some_and(|ns| ns.pending.iter().any(|p| p.id == id));
    if !exists {
        return Err(not_found(namespace, id));
    }
    decide(state, namespace, id, false, ctx, by)
}

fn decide(
    state: &TenantState,
    namespace: &Namespace,
    id: &str,
    accepted: bool,
    ctx: Context<'_>,
    by: &str,
) -> Result<Commit, EngineError> {
    let mut txn = Txn::new(state, ctx);
    txn.touch(namespace);
    let ns = txn.ns(namespace);
    let index = ns
        .pending
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| not_found(namespace, id))?;
    let pending = ns.pending.remove(index);
    txn.outcomes.push(Outcome::PendingResolved {
        namespace: namespace.clone(),
        pending_id: pending.id.clone(),
        accepted,
        automatic: false,
    });
    if accepted {
        deliver(&mut txn, &pending.event, &delivery(&pending));
    }
    if index == 0 {
        loop {
            let ns = txn.ns(namespace);
            let Some(next) = ns.pending.first() else {
                break;
            };
            if !next.auto_apply {
                break;
            }
            let next = ns.pending.remove(0);
            txn.outcomes.push(Outcome::PendingResolved {
                namespace: namespace.clone(),
                pending_id: next.id.clone(),
                accepted: true,
                automatic: true,
            });
            deliver(&mut txn, &next.event, &delivery(&next));
        }
    }
    txn.finish(
        |_| HistoryKind::PendingDecision {
            pending_id: id.into(),
            accepted,
        },
        by,
    )
}
