//! Where each value of an effective config came from: the scope (platform, tenant or user)
//! of the layer whose value resolution kept.
//!
//! An [`OriginMap`] is keyed by RFC 6901 JSON Pointers into the *effective* document (array
//! elements by position, as in the RFC 6902 patches clients receive). An entry names the
//! scope of its whole subtree, and deeper entries override: the origin of a value is the
//! entry with the longest pointer that is the value's pointer or one of its ancestors
//! (`{"": "platform", "/theme": "tenant", "/theme/color": "user"}`). The map always has the
//! root entry `""`, and holds no entry that repeats what its nearest ancestor entry says.
//!
//! What a subtree's entry says follows the overlay ([`crate::document::overlay`]): a
//! container belongs to the first layer (in resolution order) that brought it; a lower
//! layer's value that replaces an upper one (a leaf, a plain array, or a value of another
//! type) belongs, with everything under it, to that lower layer; objects and id arrays that
//! meet merge, each member or element keeping its own origin. An id array's elements keep
//! their positions when lower layers merge into it (they only append), so the positional
//! pointers are stable within one resolution.
//!
//! The map is not derived by a second walk: resolution itself records it. The overlay is
//! one walk that reports where it goes and what it takes to an observer
//! (`document::OverlayTrace`); plain resolution passes one that records nothing, and this
//! module's recorder keeps the pointer and the map, so values and origins cannot drift apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::document::{Layer, OverlayTrace};
use crate::resolve::{resolve_layers, Resolution};
use crate::scope::{Scope, Subject};
use crate::state::NamespaceState;

/// The origin of every value of an effective document (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OriginMap(BTreeMap<String, Scope>);

impl OriginMap {
    /// A map saying the whole document comes from `scope`.
    #[must_use]
    pub fn whole(scope: Scope) -> Self {
        Self(BTreeMap::from([(String::new(), scope)]))
    }

    /// The entries, by pointer.
    #[must_use]
    pub fn entries(&self) -> &BTreeMap<String, Scope> {
        &self.0
    }

    /// Consumes the map into its entries.
    #[must_use]
    pub fn into_entries(self) -> BTreeMap<String, Scope> {
        self.0
    }

    /// The origin of the value at `pointer`: the entry with the longest pointer that is
    /// `pointer` or an ancestor of it. `None` only for a map without a root entry.
    #[must_use]
    pub fn lookup(&self, pointer: &str) -> Option<Scope> {
        let mut at = pointer;
        loop {
            if let Some(scope) = self.0.get(at) {
                return Some(*scope);
            }
            match at.rfind('/') {
                Some(cut) => at = &at[..cut],
                None => return None,
            }
        }
    }

    /// The entries that describe the subtree at `root`: `root`'s own origin (always, even
    /// when an ancestor entry says the same) and every entry below it.
    #[must_use]
    pub fn subtree(&self, root: &str) -> Self {
        let mut out = BTreeMap::new();
        if let Some(scope) = self.lookup(root) {
            out.insert(root.to_owned(), scope);
        }
        for (pointer, scope) in self.under(root) {
            out.insert(pointer.clone(), *scope);
        }
        Self(out)
    }

    /// The entries for a change: the [`OriginMap::subtree`] of every root of `patch`
    /// ([`patch_roots`]). A client that drops its own entries at and below each of these
    /// roots and takes these instead holds the new document's map exactly.
    #[must_use]
    pub fn for_patch(&self, patch: &json_patch::Patch) -> Self {
        let mut out = BTreeMap::new();
        for root in patch_roots(patch) {
            out.extend(self.subtree(&root).0);
        }
        Self(out)
    }

    /// Takes a change's entries (from [`OriginMap::for_patch`]) as a client does: every
    /// entry of `change` with no ancestor entry in `change` is a root; this map's entries at
    /// and below each root are dropped, then `change`'s entries are added.
    pub fn update(&mut self, change: &OriginMap) {
        for root in change.0.keys() {
            let is_root = !std::iter::successors(parent(root), |p| parent(p))
                .any(|ancestor| change.0.contains_key(ancestor));
            if is_root {
                let below: Vec<String> = self.under(root).map(|(k, _)| k.clone()).collect();
                for key in below {
                    self.0.remove(&key);
                }
            }
        }
        self.0.extend(change.0.iter().map(|(k, v)| (k.clone(), *v)));
    }

    /// Entries strictly below `root`.
    fn under<'a>(&'a self, root: &'a str) -> impl Iterator<Item = (&'a String, &'a Scope)> {
        let prefix = format!("{root}/");
        self.0
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
    }

    /// Says that the subtree at `pointer` comes from `scope` (forgetting what it said below).
    fn set_subtree(&mut self, pointer: &str, scope: Scope) {
        let below: Vec<String> = self.under(pointer).map(|(k, _)| k.clone()).collect();
        for key in below {
            self.0.remove(&key);
        }
        self.0.insert(pointer.to_owned(), scope);
    }

    /// Drops the entries that repeat their nearest ancestor entry (the root stays).
    fn compact(self) -> Self {
        let mut out = Self::default();
        for (pointer, scope) in self.0 {
            let inherited = parent(&pointer).and_then(|p| out.lookup(p));
            if inherited != Some(scope) {
                out.0.insert(pointer, scope);
            }
        }
        out
    }
}

/// The pointer of a pointer's parent (`None` for the root).
fn parent(pointer: &str) -> Option<&str> {
    pointer.rfind('/').map(|cut| &pointer[..cut])
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The roots a change's origin entries are given for: the parent of every path an
/// operation of `patch` writes (the container whose members changed, which exists before
/// and after the change; an array's later elements may have moved, so the array is the
/// root), leaving out roots inside other roots. The whole document (`""`) for an
/// operation on the root.
#[must_use]
pub fn patch_roots(patch: &json_patch::Patch) -> Vec<String> {
    let mut roots: Vec<String> = patch
        .0
        .iter()
        .map(|op| {
            let path = op.path().to_string();
            parent(&path).unwrap_or("").to_owned()
        })
        .collect();
    roots.sort();
    roots.dedup();
    let mut out: Vec<String> = Vec::new();
    for root in roots {
        // Sorted, so an ancestor comes before its descendants.
        let covered = out
            .iter()
            .any(|r| r.is_empty() || root == *r || root.starts_with(&format!("{r}/")));
        if !covered {
            out.push(root);
        }
    }
    out
}

/// Resolves `layers` (top first, each with its scope) as [`crate::document::overlay`] does,
/// and says where each value came from. The root belongs to the first layer.
#[must_use]
pub fn resolve_with_origins(layers: &[(Scope, &Layer)]) -> (Value, OriginMap) {
    let mut trace = OriginTrace::default();
    let value = resolve_layers(layers, &mut trace);
    (value, trace.origins.compact())
}

/// Records origins as the overlay walks ([`OverlayTrace`]): the pointer of the walk's
/// position, the scope of the layer being overlaid, and the map so far.
struct OriginTrace {
    /// The RFC 6901 pointer of the current position in the result.
    at: String,
    /// The scope of the layer being overlaid (set by `layer` before anything is taken).
    scope: Scope,
    /// The origins recorded so far, not yet compacted.
    origins: OriginMap,
}

impl Default for OriginTrace {
    fn default() -> Self {
        Self {
            at: String::new(),
            scope: Scope::Platform,
            origins: OriginMap::default(),
        }
    }
}

impl OverlayTrace for OriginTrace {
    fn layer(&mut self, scope: Scope) {
        self.scope = scope;
    }

    fn enter_key(&mut self, key: &str) {
        self.at.push('/');
        self.at.push_str(&escape(key));
    }

    fn enter_index(&mut self, index: usize) {
        self.at.push('/');
        self.at.push_str(&index.to_string());
    }

    fn leave(&mut self) {
        // An escaped token holds no `/`, so the last one starts the token to drop.
        let cut = self.at.rfind('/').unwrap_or(0);
        self.at.truncate(cut);
    }

    fn took(&mut self) {
        self.origins.set_subtree(&self.at, self.scope);
    }
}

impl NamespaceState {
    /// [`NamespaceState::effective`] with the origin of every value.
    #[must_use]
    pub fn effective_with_origins(
        &self,
        subject: &Subject,
        resolution: Resolution,
    ) -> (Value, OriginMap) {
        let mut trace = OriginTrace::default();
        let value = self.resolve_traced(subject, resolution, &mut trace);
        (value, trace.origins.compact())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(value: Value) -> Layer {
        Layer::from_value(value).expect("object")
    }

    fn map(value: Value) -> OriginMap {
        serde_json::from_value(value).expect("an origin map")
    }

    #[test]
    fn the_issue_example() {
        let platform = layer(json!({"a": 1, "mode": "light"}));
        let tenant = layer(json!({"theme": {"color": "blue", "font": "serif"}}));
        let user = layer(json!({"theme": {"color": "red"}}));
        let (value, origins) = resolve_with_origins(&[
            (Scope::Platform, &platform),
            (Scope::Tenant, &tenant),
            (Scope::User, &user),
        ]);
        assert_eq!(
            value,
            json!({"a": 1, "mode": "light", "theme": {"color": "red", "font": "serif"}})
        );
        assert_eq!(
            origins,
            map(json!({"": "platform", "/theme": "tenant", "/theme/color": "user"}))
        );
        assert_eq!(origins.lookup("/theme/font"), Some(Scope::Tenant));
        assert_eq!(origins.lookup("/mode"), Some(Scope::Platform));
        assert_eq!(origins.lookup("/theme/color"), Some(Scope::User));
    }

    #[test]
    fn replaced_values_and_id_arrays() {
        let platform = layer(json!({
            "list": [1, 2],
            "roles": [{"id": "a", "p": 1}, {"id": "b", "p": 1}],
            "o": {"x": 1}
        }));
        let tenant = layer(json!({
            "list": [3],
            "roles": [{"id": "b", "p": 2}, {"id": "c", "p": 2}],
            "o": 5
        }));
        let (value, origins) =
            resolve_with_origins(&[(Scope::Platform, &platform), (Scope::Tenant, &tenant)]);
        assert_eq!(value["roles"][2]["id"], "c");
        // The element `b` merges: its members (`id` too, which the lower layer restates)
        // come from the layer that set them.
        assert_eq!(
            origins,
            map(json!({
                "": "platform", "/list": "tenant", "/o": "tenant",
                "/roles/1/id": "tenant", "/roles/1/p": "tenant", "/roles/2": "tenant"
            }))
        );
    }

    #[test]
    fn keys_are_escaped_and_subtrees_cut_at_segment_boundaries() {
        let platform = layer(json!({"a/b": {"c~d": 1}, "t": {"x": 1}, "t-2": {"y": 1}}));
        let tenant = layer(json!({"a/b": {"c~d": 2}, "t": {"z": 2}, "t-2": {"w": 2}}));
        let (_, origins) =
            resolve_with_origins(&[(Scope::Platform, &platform), (Scope::Tenant, &tenant)]);
        assert_eq!(origins.lookup("/a~1b/c~0d"), Some(Scope::Tenant));
        let sub = origins.subtree("/t");
        assert_eq!(
            sub,
            map(json!({"/t": "platform", "/t/z": "tenant"})),
            "/t-2 is not under /t"
        );
    }

    #[test]
    fn patch_roots_are_the_changed_containers() {
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "replace", "path": "/theme/color", "value": "red"},
            {"op": "add", "path": "/theme/font/size", "value": 3},
            {"op": "remove", "path": "/list/2"},
            {"op": "add", "path": "/top", "value": 1},
        ]))
        .expect("a patch");
        assert_eq!(patch_roots(&patch), vec![String::new()]);
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "replace", "path": "/theme/color", "value": "red"},
            {"op": "add", "path": "/theme/font/size", "value": 3},
            {"op": "remove", "path": "/list/2"},
        ]))
        .expect("a patch");
        assert_eq!(patch_roots(&patch), vec!["/list", "/theme"]);
    }

    #[test]
    fn tenant_wins_puts_the_tenant_last() {
        let mut ns = NamespaceState::new(crate::scope::Namespace::new("n").expect("valid"));
        ns.platform = layer(json!({"a": 1}));
        ns.tenant.layer = layer(json!({"a": 2, "b": 2}));
        let user = crate::state::LowerLayer {
            layer: layer(json!({"a": 3, "c": 3})),
            ..Default::default()
        };
        ns.users.insert("u".into(), user);
        let subject = Subject::User("u".into());
        let (_, lower) = ns.effective_with_origins(&subject, Resolution::LowerWins);
        assert_eq!(lower.lookup("/a"), Some(Scope::User));
        let (_, tenant_wins) = ns.effective_with_origins(&subject, Resolution::TenantWins);
        assert_eq!(tenant_wins.lookup("/a"), Some(Scope::Tenant));
        assert_eq!(tenant_wins.lookup("/c"), Some(Scope::User));
        let (_, tenant) = ns.effective_with_origins(&Subject::Tenant, Resolution::TenantWins);
        assert_eq!(tenant.lookup("/a"), Some(Scope::Tenant));
    }
}
