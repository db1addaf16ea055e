//! Property test of origins (`cascade_engine::origin`): after any history of platform, tenant
//! and user changes under any strategy, the origin every subject's map gives each leaf of
//! its effective config is the scope of the last layer, in the resolution order, that holds
//! the leaf — derived here from the layers themselves, not from the overlay — and that
//! layer holds exactly the leaf's value. A client that takes each change's origin entries
//! keeps its map exact wherever a value changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use cascade_engine::commit::Commit;
use cascade_engine::document::{get, is_id_array, leaves, Layer};
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::origin::{resolve_with_origins, OriginMap};
use cascade_engine::path::{LeafPath, Seg};
use cascade_engine::resolve::{effective_tenant, effective_user, Resolution};
use cascade_engine::scope::{Scope, Subject};
use cascade_engine::state::{LowerLayer, NamespaceState};
use common::gen::Op;
use common::{ns, rule, rules, World};
use proptest::prelude::*;
use serde_json::{json, Value};

const USERS: [&str; 3] = ["u1", "u2", "u3"];
const STRATEGIES: [&str; 4] = ["platform-wins", "tenant-wins", "user-wins", "merge"];

fn op() -> impl Strategy<Value = Op> {
    common::gen::op(&["a", "b", "c"], USERS.len(), 3)
}

/// The layers of `subject` in resolution order, each with its scope.
fn ordered<'a>(
    ns: &'a NamespaceState,
    subject: &Subject,
    resolution: Resolution,
) -> Vec<(Scope, &'a Layer)> {
    let mut out = vec![(Scope::Platform, &ns.platform)];
    let user = match subject {
        Subject::User(id) => ns.users.get(id).map(|u| (Scope::User, &u.layer)),
        Subject::Tenant => None,
    };
    let tenant = (Scope::Tenant, &ns.tenant.layer);
    match (user, resolution) {
        (Some(user), Resolution::TenantWins) => out.extend([user, tenant]),
        (Some(user), Resolution::LowerWins) => out.extend([tenant, user]),
        (None, _) => out.push(tenant),
    }
    out
}

/// The positional JSON Pointer of `path` in `doc` (id segments become indices).
fn pointer(doc: &Value, path: &LeafPath) -> String {
    let mut node = doc;
    let mut out = String::new();
    for seg in &path.0 {
        match (seg, node) {
            (Seg::Key(key), Value::Object(map)) => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
                node = &map[key];
            }
            (Seg::Id(id), Value::Array(items)) if is_id_array(items) => {
                let index = items
                    .iter()
                    .position(|item| cascade_engine::document::id_text(item).as_deref() == Some(id))
                    .expect("the id is in the array");
                out.push_str(&format!("/{index}"));
                node = &items[index];
            }
            _ => panic!("{path} does not lead through {doc}"),
        }
    }
    out
}

/// Checks every leaf of `subject`'s effective config against the layers; its origins.
fn check_subject(ns: &NamespaceState, subject: &Subject, resolution: Resolution) -> OriginMap {
    let (value, origins) = ns.effective_with_origins(subject, resolution);
    assert_eq!(
        value,
        ns.effective(subject, resolution),
        "same value as resolve"
    );
    // Compact: every entry names a value there is, and says something its parent does not.
    assert_eq!(
        origins.entries().get(""),
        Some(&Scope::Platform),
        "the root is the platform's"
    );
    for (at, scope) in origins.entries() {
        assert!(value.pointer(at).is_some(), "{at} is in {value}");
        if let Some(cut) = at.rfind('/') {
            assert_ne!(
                origins.lookup(&at[..cut]),
                Some(*scope),
                "{at} repeats its parent"
            );
        }
    }
    let layers = ordered(ns, subject, resolution);
    for (path, leaf) in leaves(&value) {
        let (scope, layer) = layers
            .iter()
            .rev()
            .find(|(_, layer)| get(layer.as_value(), &path).is_some())
            .unwrap_or_else(|| panic!("some layer holds {path}"));
        assert_eq!(
            get(layer.as_value(), &path),
            Some(leaf),
            "{path} of {scope}"
        );
        let at = pointer(&value, &path);
        assert_eq!(
            origins.lookup(&at),
            Some(*scope),
            "{subject}: origin of {at} in {origins:?}"
        );
    }
    origins
}

/// Checks `commit`'s origin entries: a client holding `before` (its map before the
/// commit) and taking the entries its patch gets holds the new map at every leaf whose
/// value changed or that lies under a changed container.
fn check_change(
    before: &OriginMap,
    old: &Value,
    after: &OriginMap,
    new: &Value,
    patch: &json_patch::Patch,
) {
    let mut client = before.clone();
    client.update(&after.for_patch(patch));
    for (path, _) in leaves(new) {
        let at = pointer(new, &path);
        let unchanged = old.pointer(&at) == new.pointer(&at);
        let under_root = cascade_engine::origin::patch_roots(patch)
            .iter()
            .any(|r| r.is_empty() || at == *r || at.starts_with(&format!("{r}/")));
        if under_root || !unchanged {
            assert_eq!(
                client.lookup(&at),
                after.lookup(&at),
                "{at} after {patch:?}"
            );
        }
    }
}

fn apply(w: &mut World, op: &Op) -> Commit {
    match op {
        Op::Platform(c) => w.platform("cfg", "update", c.clone()),
        Op::Tenant(c) => w.tenant("cfg", "update", c.clone()),
        Op::User(u, c) => w.user(USERS[*u], "cfg", "update", c.clone()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_leaf_comes_from_the_layer_resolution_kept(
        strategy in prop::sample::select(STRATEGIES.to_vec()),
        history in prop::collection::vec(op(), 1..12),
    ) {
        let mut w = World::new(rules(json!([rule("cfg", strategy, &["tenant", "user"], true)])));
        let namespace = ns("cfg");
        let resolution = NamespacePolicy::derive(&w.rules, &namespace, &w.tenant).resolution;
        let subjects: Vec<Subject> = std::iter::once(Subject::Tenant)
            .chain(USERS.iter().map(|u| Subject::User((*u).to_owned())))
            .collect();
        for op in &history {
            let old = w.state.namespace(&namespace).cloned().unwrap_or_else(|| NamespaceState::new(namespace.clone()));
            let commit = apply(&mut w, op);
            let Some(new) = w.state.namespace(&namespace) else { continue };
            let delta = commit.delta(&namespace);
            for subject in &subjects {
                let origins = check_subject(new, subject, resolution);
                let (old_value, old_origins) = old.effective_with_origins(subject, resolution);
                let (new_value, _) = new.effective_with_origins(subject, resolution);
                let patch = match (subject, delta) {
                    (_, None) => None,
                    (Subject::User(id), Some(d)) if d.personal_users.contains(id) => d.users.get(id),
                    (_, Some(d)) => d.tenant.as_ref(),
                };
                if let Some(patch) = patch {
                    check_change(&old_origins, &old_value, &origins, &new_value, patch);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Resolution with origins is the plain resolution plus a record: for any three layers
    /// (not only those a history of merge patches leaves) and any strategy, both give the
    /// same document, and the recorded origins pass the independent check.
    #[test]
    fn resolving_with_origins_gives_the_plain_document(
        strategy in prop::sample::select(STRATEGIES.to_vec()),
        platform in common::gen::layer_document(),
        tenant in common::gen::layer_document(),
        user in common::gen::layer_document(),
    ) {
        let w = World::new(rules(json!([rule("cfg", strategy, &["tenant", "user"], true)])));
        let namespace = ns("cfg");
        let resolution = NamespacePolicy::derive(&w.rules, &namespace, &w.tenant).resolution;
        let mut state = NamespaceState::new(namespace);
        state.platform = Layer::from_value(platform).expect("an object");
        state.tenant = LowerLayer::new(Layer::from_value(tenant).expect("an object"));
        state.users.insert("u1".into(), LowerLayer::new(Layer::from_value(user).expect("an object")));
        let (platform, tenant, user) = (&state.platform, &state.tenant.layer, &state.users["u1"].layer);
        for subject in [Subject::Tenant, Subject::User("u1".into()), Subject::User("nobody".into())] {
            check_subject(&state, &subject, resolution);
            let plain = match &subject {
                Subject::User(id) if id == "u1" => effective_user(platform, tenant, user, resolution),
                _ => effective_tenant(platform, tenant),
            };
            let (traced, _) = resolve_with_origins(&ordered(&state, &subject, resolution));
            prop_assert_eq!(traced, plain, "{}", subject);
        }
    }
}

#[test]
fn a_user_value_over_a_tenant_value_over_a_platform_default() {
    let mut w = World::new(rules(json!([rule(
        "cfg",
        "user-wins",
        &["tenant", "user"],
        true
    )])));
    w.platform(
        "cfg",
        "update",
        json!({"theme": {"color": "grey", "font": "sans"}, "beta": false}),
    );
    w.tenant("cfg", "update", json!({"theme": {"color": "blue"}}));
    w.user("u1", "cfg", "update", json!({"theme": {"color": "red"}}));
    let ns = w.state.namespace(&ns("cfg")).expect("written");
    let (_, origins) =
        ns.effective_with_origins(&Subject::User("u1".into()), Resolution::LowerWins);
    assert_eq!(
        serde_json::to_value(&origins).expect("serializes"),
        json!({"": "platform", "/theme/color": "user"})
    );
    let (_, tenant) = ns.effective_with_origins(&Subject::Tenant, Resolution::LowerWins);
    assert_eq!(
        serde_json::to_value(&tenant).expect("serializes"),
        json!({"": "platform", "/theme/color": "tenant"})
    );
}
