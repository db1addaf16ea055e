//! The plain-data state a hub persists: per namespace, per tenant, and the tenant's seqs.
//!
//! A `TenantHub` can store each [`NamespaceState`] as its own row and [`TenantState::seq`] /
//! [`TenantState::platform_seq`] as scalars. A [`TenantState`] handed to the engine may hold
//! only the namespaces an operation touches (see [`crate::apply::namespaces_touched`]); a
//! namespace that is absent is treated as new and empty, so a hub must load every namespace
//! it has that the operation names.
//!
//! Within a namespace, a hub may also load only part of it (`TenantHub` does, so that a
//! write's cost does not grow with the tenant's users): `users` holds the layers of the users
//! the operation can reach ([`crate::reach`]) — a user written, a conflict's subject, and
//! every user whose own leaves lie on the changed paths — `conflicts` those of the loaded
//! subjects, and `history` only the entries an operation reads (a rollback's) plus the one it
//! appends. Users left out are untouched by the operation and keep the tenant's patch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conflict::Conflict;
use crate::document::{leaves, Layer};
use crate::history::History;
use crate::path::LeafPath;
use crate::pending::PendingChange;
use crate::scope::{Namespace, Subject};

/// A tenant or user layer together with the merge bases of its overrides.
///
/// `bases[path]` is the upper effective value at `path` when this layer last changed its
/// value there (`None`: the upper config had nothing there). Merge (`merge` strategy)
/// compares against it to tell "changed on both sides" from "changed above only".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LowerLayer {
    /// The scope's own values.
    pub layer: Layer,
    /// Merge bases, keyed by leaf path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bases: BTreeMap<LeafPath, Option<Value>>,
}

impl LowerLayer {
    /// A layer with no merge bases.
    #[must_use]
    pub fn new(layer: Layer) -> Self {
        Self {
            layer,
            bases: BTreeMap::new(),
        }
    }

    /// Whether the layer sets nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.layer.is_empty() && self.bases.is_empty()
    }

    /// Drops bases for paths that are no longer leaves of the layer.
    pub(crate) fn prune_bases(&mut self) {
        if self.bases.is_empty() {
            return;
        }
        let live: Vec<LeafPath> = leaves(self.layer.as_value())
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        self.bases.retain(|path, _| live.contains(path));
    }
}

/// Everything a tenant holds for one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceState {
    /// The namespace.
    pub namespace: Namespace,
    /// Tenant seq of the last change recorded in this namespace (0: never changed).
    #[serde(default)]
    pub version: u64,
    /// The platform layer as applied at this tenant (may lag the `PlatformHub`'s on purpose:
    /// skipped, filtered or pending platform changes are not in it).
    #[serde(default)]
    pub platform: Layer,
    /// The tenant's own layer.
    #[serde(default)]
    pub tenant: LowerLayer,
    /// Users' own layers, by user id. Users without one are absent.
    #[serde(default)]
    pub users: BTreeMap<String, LowerLayer>,
    /// Platform changes held for the tenant admin, oldest first.
    #[serde(default)]
    pub pending: Vec<PendingChange>,
    /// Open conflicts awaiting manual resolution.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
    /// What happened, with enough to roll back.
    #[serde(default)]
    pub history: History,
}

impl NamespaceState {
    /// An empty namespace.
    #[must_use]
    pub fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            version: 0,
            platform: Layer::empty(),
            tenant: LowerLayer::default(),
            users: BTreeMap::new(),
            pending: Vec::new(),
            conflicts: Vec::new(),
            history: History::default(),
        }
    }

    /// The layer record of a subject (`None` for a user without a layer).
    #[must_use]
    pub fn lower(&self, subject: &Subject) -> Option<&LowerLayer> {
        match subject {
            Subject::Tenant => Some(&self.tenant),
            Subject::User(id) => self.users.get(id),
        }
    }

    /// The layer record of a subject, created empty for a user without one.
    pub(crate) fn lower_mut(&mut self, subject: &Subject) -> &mut LowerLayer {
        match subject {
            Subject::Tenant => &mut self.tenant,
            Subject::User(id) => self.users.entry(id.clone()).or_default(),
        }
    }

    /// Removes user records that hold nothing, so "has a layer" stays meaningful.
    pub(crate) fn drop_empty_users(&mut self) {
        self.users.retain(|_, lower| !lower.is_empty());
    }
}

/// A tenant's state as one `TenantHub` holds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantState {
    /// The tenant's sequence number: the seq of the last committed event (0: none yet).
    pub seq: u64,
    /// The last platform seq this tenant processed (applied, skipped, held or refused).
    pub platform_seq: u64,
    /// Namespace states (possibly only those an operation touches).
    #[serde(default)]
    pub namespaces: BTreeMap<Namespace, NamespaceState>,
}

impl TenantState {
    /// The state of a namespace, if loaded.
    #[must_use]
    pub fn namespace(&self, namespace: &Namespace) -> Option<&NamespaceState> {
        self.namespaces.get(namespace)
    }

    /// The state of a namespace, created empty if absent.
    pub(crate) fn namespace_mut(&mut self, namespace: &Namespace) -> &mut NamespaceState {
        self.namespaces
            .entry(namespace.clone())
            .or_insert_with(|| NamespaceState::new(namespace.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn state_round_trips_through_json() {
        let ns = Namespace::new("auth").expect("valid");
        let mut state = NamespaceState::new(ns.clone());
        state.tenant = LowerLayer::new(Layer::from_value(json!({"a": 1})).expect("object"));
        state
            .tenant
            .bases
            .insert(LeafPath::parse("/a").expect("path"), Some(json!(0)));
        state.users.insert(
            "u1".into(),
            LowerLayer::new(Layer::from_value(json!({"b": [1]})).expect("object")),
        );
        let mut tenant = TenantState::default();
        tenant.namespaces.insert(ns, state);
        let text = serde_json::to_string(&tenant).expect("serializes");
        let back: TenantState = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, tenant);
    }

    #[test]
    fn prune_bases_keeps_live_leaves_only() {
        let mut lower = LowerLayer::new(Layer::from_value(json!({"a": 1})).expect("object"));
        lower
            .bases
            .insert(LeafPath::parse("/a").expect("path"), None);
        lower
            .bases
            .insert(LeafPath::parse("/gone").expect("path"), Some(json!(2)));
        lower.prune_bases();
        assert_eq!(lower.bases.len(), 1);
    }
}
