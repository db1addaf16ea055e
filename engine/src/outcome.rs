//! Outcomes: exactly what a committed change did, per namespace and target.
//!
//! Every operation reports at least one outcome per namespace it touches, so that nothing is
//! ever dropped silently. Outcomes are stored in history and are what a hub forwards to the
//! admins' rooms and to D1's audit log. Serialized with a `kind` tag, camelCase.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conflict::{Conflict, ConflictAction};
use crate::error::EngineError;
use crate::matching::SkipReason;
use crate::path::LeafPath;
use crate::scope::{Namespace, Scope, Subject};

/// Which side a merge kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    /// The upper scope's new value.
    Upper,
    /// The lower scope's own value.
    Lower,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Outcome {
    /// The source layer of an event changed (`layer` is the scope written).
    Written {
        /// Namespace.
        namespace: Namespace,
        /// The event's topic.
        topic: String,
        /// The scope whose layer was written.
        layer: Scope,
        /// The user whose layer was written (user scope only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// An event changed nothing: its config matched what the layer already held.
    Unchanged {
        /// Namespace.
        namespace: Namespace,
        /// The event's topic.
        topic: String,
    },
    /// A subject's effective config changed (its hub patch is in the commit's deltas).
    Applied {
        /// Namespace.
        namespace: Namespace,
        /// The tenant (and every user without a layer) or one user with a layer.
        subject: Subject,
    },
    /// `platform-wins` (or a lock): the upper value replaced a lower override, which was
    /// removed. `removed` is kept here and in history; rollback restores it.
    Overridden {
        /// Namespace.
        namespace: Namespace,
        /// Whose override was removed.
        subject: Subject,
        /// Where.
        path: LeafPath,
        /// The removed lower value.
        removed: Value,
        /// The upper value now in effect (`None`: the upper config removed it too).
        upper: Option<Value>,
        /// The rule that decided (or the lock's rule).
        rule: String,
        /// Whether a lock forced it regardless of the strategy.
        locked: bool,
    },
    /// `tenant-wins` / `user-wins`, or a non-targeted scope: a lower value stays in effect
    /// over an upper change (or, under `tenant-wins`, a tenant value hides a user's value).
    Shadowed {
        /// Namespace.
        namespace: Namespace,
        /// Whose effective config is concerned.
        subject: Subject,
        /// Where.
        path: LeafPath,
        /// The scope whose value is in effect.
        winner: Scope,
        /// The value in effect.
        kept: Option<Value>,
        /// The value that does not take effect.
        hidden: Option<Value>,
    },
    /// `merge` settled a leaf both layers hold without a conflict.
    Merged {
        /// Namespace.
        namespace: Namespace,
        /// Whose layer.
        subject: Subject,
        /// Where.
        path: LeafPath,
        /// Which side is in effect now.
        kept: Side,
        /// The lower value removed because it was not a customization (equal to its base).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        removed: Option<Value>,
    },
    /// `merge`: the same leaf changed on both sides; the lower value stays until resolved.
    ConflictOpened {
        /// Namespace.
        namespace: Namespace,
        /// The conflict as stored.
        conflict: Conflict,
    },
    /// A conflict was resolved by an admin.
    ConflictResolved {
        /// Namespace.
        namespace: Namespace,
        /// The conflict's id.
        conflict_id: String,
        /// Whose layer.
        subject: Subject,
        /// Where.
        path: LeafPath,
        /// What the admin chose.
        action: ConflictAction,
        /// The lower value before the resolution.
        previous: Option<Value>,
    },
    /// A platform change is held for the tenant admin (`autoApply: false`, or queued behind
    /// an earlier pending change of the namespace to keep order).
    Pending {
        /// Namespace.
        namespace: Namespace,
        /// The pending change's id.
        pending_id: String,
        /// The governing rule.
        rule: String,
        /// `true` when held only because an earlier change is pending.
        queued: bool,
    },
    /// A pending change was accepted (and applied: see the outcomes that follow) or rejected.
    PendingResolved {
        /// Namespace.
        namespace: Namespace,
        /// The pending change's id.
        pending_id: String,
        /// Accepted (applied) or rejected (discarded).
        accepted: bool,
        /// `true` for a queued change released automatically once the one before it went.
        automatic: bool,
    },
    /// A platform change was not delivered to this tenant.
    Skipped {
        /// Namespace.
        namespace: Namespace,
        /// The event's topic.
        topic: String,
        /// Why.
        reason: SkipReason,
    },
    /// A platform change reached this tenant but could not be applied here; nothing of the
    /// change set was applied.
    Refused {
        /// Namespace.
        namespace: Namespace,
        /// The error's stable code.
        code: String,
        /// The error's message.
        message: String,
    },
    /// A lower-scope change reported to an upper scope (`up`/`both` rules); never applied
    /// there.
    Reported {
        /// Namespace.
        namespace: Namespace,
        /// The event's topic.
        topic: String,
        /// The scope reported to.
        to: Scope,
        /// The rule that asked for the report.
        rule: String,
    },
    /// The namespace was rolled back to an earlier version (as a new, forward event).
    RolledBack {
        /// Namespace.
        namespace: Namespace,
        /// The version restored.
        to_version: u64,
    },
}

impl Outcome {
    /// The namespace the outcome concerns.
    #[must_use]
    pub fn namespace(&self) -> &Namespace {
        match self {
            Self::Written { namespace, .. }
            | Self::Unchanged { namespace, .. }
            | Self::Applied { namespace, .. }
            | Self::Overridden { namespace, .. }
            | Self::Shadowed { namespace, .. }
            | Self::Merged { namespace, .. }
            | Self::ConflictOpened { namespace, .. }
            | Self::ConflictResolved { namespace, .. }
            | Self::Pending { namespace, .. }
            | Self::PendingResolved { namespace, .. }
            | Self::Skipped { namespace, .. }
            | Self::Refused { namespace, .. }
            | Self::Reported { namespace, .. }
            | Self::RolledBack { namespace, .. } => namespace,
        }
    }

    /// A `Refused` outcome for an error, for hubs that log refused writes as outcomes.
    #[must_use]
    pub fn refused(namespace: Namespace, error: &EngineError) -> Self {
        Self::Refused {
            namespace,
            code: error.code().into(),
            message: error.to_string(),
        }
    }
}
