//! Versions and history: what happened to a namespace, and how to undo it.
//!
//! Versions are the scope's sequence numbers: a tenant's `seq` at a `TenantHub`, the
//! platform `seq` at the `PlatformHub`. Both are monotonic and gap-free per scope; a
//! namespace's version is the seq of the last entry that changed one of its layer records
//! (an entry that only queued or rejected a pending change keeps it), and "the namespace at
//! version v" is its state after every entry with `seq <= v`.
//!
//! Each [`HistoryEntry`] stores, per layer record it changed, an RFC 6902 patch from the
//! record after the entry back to the record before it (an *undo*). Rolling back to `v`
//! applies the undos of the entries after `v`, newest first, and commits the result as a new,
//! forward entry (so a rollback can itself be rolled back). Retention is the hub's call:
//! [`History::prune_through`] drops old entries and raises the floor below which no version
//! can be restored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::outcome::Outcome;

/// Which layer record of a namespace an undo applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scope", content = "id", rename_all = "lowercase")]
pub enum LayerKey {
    /// The platform layer (as applied at this tenant, or at the `PlatformHub`).
    Platform,
    /// The tenant layer and its merge bases.
    Tenant,
    /// One user's layer and merge bases (`null` record: the user had none).
    User(String),
}

/// The undo of one layer record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerUndo {
    /// The record.
    pub layer: LayerKey,
    /// RFC 6902 patch from the record after the entry to the record before it.
    pub patch: json_patch::Patch,
}

impl LayerUndo {
    /// The undo turning `after` back into `before`, or `None` when they are equal.
    #[must_use]
    pub fn between(layer: LayerKey, before: &Value, after: &Value) -> Option<Self> {
        if before == after {
            return None;
        }
        Some(Self {
            layer,
            patch: json_patch::diff(after, before),
        })
    }
}

/// What kind of operation an entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum HistoryKind {
    /// One event or a batch of events written at this scope (topics in order).
    Change {
        /// The events' topics.
        topics: Vec<String>,
    },
    /// A platform change set processed at a tenant.
    PlatformUpdate {
        /// Its platform seq.
        platform_seq: u64,
        /// The events' topics.
        topics: Vec<String>,
    },
    /// A conflict resolved by an admin.
    ConflictResolution {
        /// The conflict's id.
        conflict_id: String,
    },
    /// A pending change accepted or rejected by the tenant admin.
    PendingDecision {
        /// The pending change's id.
        pending_id: String,
        /// Accepted or rejected.
        accepted: bool,
    },
    /// A rollback to an earlier version.
    Rollback {
        /// The version restored.
        to_version: u64,
    },
    /// The tenant's copy of a platform layer brought back to the platform's (see
    /// [`crate::converge`]).
    Convergence {
        /// What started it: `rule-changed`, `tenant-changed` or `health-check`.
        cause: String,
        /// The platform seq the copy now matches.
        platform_seq: u64,
    },
}

/// One committed operation as it touched one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The scope's seq the operation got.
    pub seq: u64,
    /// When, as given by the hub (milliseconds since the Unix epoch).
    pub at: u64,
    /// Who (the events' `triggeredBy`, or the admin acting).
    pub by: String,
    /// What kind of operation.
    #[serde(flatten)]
    pub kind: HistoryKind,
    /// The outcomes in this namespace.
    pub outcomes: Vec<Outcome>,
    /// Undos of the layer records the operation changed.
    pub undo: Vec<LayerUndo>,
}

/// A namespace's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// The oldest version that can still be restored (0: everything is retained).
    #[serde(default)]
    pub floor: u64,
    /// Entries, oldest first, seqs strictly increasing.
    #[serde(default)]
    pub entries: Vec<HistoryEntry>,
}

impl History {
    /// Drops entries with `seq <= version`; versions below the last dropped entry become
    /// unreachable. Returns how many entries were dropped.
    pub fn prune_through(&mut self, version: u64) -> usize {
        let keep_from = self.entries.partition_point(|e| e.seq <= version);
        if keep_from == 0 {
            return 0;
        }
        self.floor = self.floor.max(self.entries[keep_from - 1].seq);
        self.entries.drain(..keep_from);
        keep_from
    }

    /// The entries after `version`, newest first (what a rollback to `version` undoes).
    pub(crate) fn after(&self, version: u64) -> impl Iterator<Item = &HistoryEntry> {
        let from = self.entries.partition_point(|e| e.seq <= version);
        self.entries[from..].iter().rev()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(seq: u64) -> HistoryEntry {
        HistoryEntry {
            seq,
            at: seq * 1000,
            by: "tester".into(),
            kind: HistoryKind::Change {
                topics: vec!["auth.update".into()],
            },
            outcomes: Vec::new(),
            undo: Vec::new(),
        }
    }

    #[test]
    fn undo_restores_before() {
        let before = json!({"a": 1, "b": [1, 2]});
        let after = json!({"a": 2, "c": true, "b": [1]});
        let undo = LayerUndo::between(LayerKey::Tenant, &before, &after).expect("they differ");
        let mut doc = after;
        json_patch::patch(&mut doc, &undo.patch).expect("undo applies");
        assert_eq!(doc, before);
        assert!(LayerUndo::between(LayerKey::Tenant, &before, &before).is_none());
        // A record that did not exist before is restored to null.
        let undo = LayerUndo::between(LayerKey::User("u".into()), &Value::Null, &json!({"x": 1}))
            .expect("differs");
        let mut doc = json!({"x": 1});
        json_patch::patch(&mut doc, &undo.patch).expect("undo applies");
        assert_eq!(doc, Value::Null);
    }

    #[test]
    fn pruning_raises_the_floor() {
        let mut history = History {
            floor: 0,
            entries: vec![entry(2), entry(5), entry(9)],
        };
        assert_eq!(history.after(4).map(|e| e.seq).collect::<Vec<_>>(), [9, 5]);
        assert_eq!(history.prune_through(6), 2);
        assert_eq!(history.floor, 5);
        assert_eq!(history.prune_through(6), 0);
        assert_eq!(history.entries.len(), 1);
    }

    #[test]
    fn entries_serialize_flat() {
        let value = serde_json::to_value(entry(3)).expect("serializes");
        assert_eq!(value["kind"], "change");
        assert_eq!(value["topics"], json!(["auth.update"]));
        let back: HistoryEntry = serde_json::from_value(value).expect("deserializes");
        assert_eq!(back, entry(3));
    }
}
