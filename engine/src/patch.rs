//! Deltas for clients: RFC 6902 JSON Patches between two effective versions.
//!
//! For every namespace a commit touches, the hub gets one [`NamespaceDelta`]: a patch for
//! the `tenant:{id}` room (the tenant's effective config, which is also that of every user
//! without a layer of their own) and one patch per user *with* a layer whose effective config
//! changed, for their `user:{id}` room. A user whose own value shadows the change gets no
//! patch. `personal_users` lists the users with a layer: they must not apply the tenant
//! patch for this namespace (their config is not the tenant's), so a hub skips their sockets
//! when it broadcasts the tenant patch, or clients ignore it.
//!
//! Patches use positional array indices as RFC 6902 requires, computed by the maintained
//! `json-patch` crate; applying a delta to the old effective config yields the new one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scope::Namespace;

/// The RFC 6902 patch from `old` to `new` (empty when equal).
#[must_use]
pub fn diff(old: &Value, new: &Value) -> json_patch::Patch {
    json_patch::diff(old, new)
}

/// Applies an RFC 6902 patch to a document (all or nothing).
///
/// The patch is applied to a copy that replaces `doc` only when every operation applied:
/// `json_patch::patch` itself rolls back the operations before a failing one, but not a
/// failing `move` whose `from` it had already removed (found by the `patch` fuzz target), so
/// relying on it would lose that value.
///
/// # Errors
/// The `json-patch` error when an operation does not apply; `doc` is then unchanged.
pub fn apply(doc: &mut Value, patch: &json_patch::Patch) -> Result<(), json_patch::PatchError> {
    let mut patched = doc.clone();
    json_patch::patch_unsafe(&mut patched, patch)?;
    *doc = patched;
    Ok(())
}

/// What changed in one namespace for the subjects a hub broadcasts to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceDelta {
    /// The namespace.
    pub namespace: Namespace,
    /// Patch of the tenant's effective config, if it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<json_patch::Patch>,
    /// Patches of users (with a layer) whose effective config changed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, json_patch::Patch>,
    /// Users whose layer the commit held (before or after it): they must not apply the
    /// tenant patch. A hub that loads only the users a change can reach
    /// ([`crate::reach`]) lists just those; every other user's effective config changes
    /// exactly as the tenant's.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub personal_users: BTreeSet<String>,
}

impl NamespaceDelta {
    /// Whether nobody's effective config changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tenant.is_none() && self.users.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_then_apply_round_trips() {
        let old = json!({"a": 1, "list": [1, 2, 3], "o": {"x": true}});
        let new = json!({"a": 2, "list": [1, 3], "o": {"y": false}, "n": null});
        let patch = diff(&old, &new);
        let mut doc = old.clone();
        apply(&mut doc, &patch).expect("applies");
        assert_eq!(doc, new);
        assert!(diff(&old, &old).0.is_empty());
    }

    #[test]
    fn a_failing_move_changes_nothing() {
        // `from` exists, `path` cannot be added: json-patch removed `/id` and kept it removed.
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "move", "from": "/id", "path": "/0/0/0"}
        ]))
        .expect("valid patch");
        let mut doc = json!({"id": "1"});
        assert!(apply(&mut doc, &patch).is_err());
        assert_eq!(doc, json!({"id": "1"}));
        // And an earlier operation is undone too.
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "add", "path": "/b", "value": 2},
            {"op": "move", "from": "/id", "path": "/x/y"}
        ]))
        .expect("valid patch");
        assert!(apply(&mut doc, &patch).is_err());
        assert_eq!(doc, json!({"id": "1"}));
    }
}
