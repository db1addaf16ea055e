//! Invariants shared by the targets. Each panics (a fuzz crash) when the engine breaks a
//! promise `docs/ENGINE.md` or the crate docs make.

use std::collections::BTreeSet;

use cascade_engine::commit::{Commit, Context};
use cascade_engine::document::{get, leaves};
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::scope::Subject;
use cascade_engine::state::{NamespaceState, TenantState};
use cascade_engine::EngineError;
use serde_json::Value;

/// A stored layer holds no `null` and no empty object (document module docs).
pub fn layer_is_normal(what: &str, value: &Value) {
    fn normal(value: &Value, member: bool) -> bool {
        match value {
            Value::Null => false,
            Value::Object(map) => {
                !(member && map.is_empty()) && map.values().all(|c| normal(c, true))
            }
            Value::Array(items) => items.iter().all(|item| normal(item, false)),
            _ => true,
        }
    }
    assert!(
        value.is_object() && normal(value, false),
        "{what} is not an object without nulls and empty objects: {value}"
    );
}

/// Every layer record of a namespace is normal.
pub fn namespace_is_normal(ns: &NamespaceState) {
    layer_is_normal("the platform copy", ns.platform.as_value());
    layer_is_normal("the tenant layer", ns.tenant.layer.as_value());
    for (id, user) in &ns.users {
        layer_is_normal(&format!("user {id}'s layer"), user.layer.as_value());
        assert!(!user.is_empty(), "an empty record is kept for user {id}");
    }
}

/// A hub persists the state as JSON: it must come back equal.
pub fn state_round_trips(state: &TenantState) {
    let text = serde_json::to_string(state).expect("a state serializes");
    let back: TenantState = match serde_json::from_str(&text) {
        Ok(back) => back,
        Err(e) => panic!("a state does not read back: {e}\n{text}"),
    };
    assert!(back == *state, "a state changes through JSON:\n{text}");
}

/// Every leaf of `lower` is visible, with its value, in `effective` (the overlay puts the
/// lowest layer last: its values win).
pub fn leaves_visible(what: &str, lower: &Value, effective: &Value) {
    for (path, value) in leaves(lower) {
        assert!(
            get(effective, &path) == Some(value),
            "{what}: the leaf {path} = {value} is not in the effective config {effective}"
        );
    }
}

/// The effective configs of every subject of a namespace: the tenant's, and each user's
/// among `users`.
fn effectives(
    ns: &NamespaceState,
    policy: &NamespacePolicy,
    users: &BTreeSet<String>,
) -> (Value, Vec<(String, Value)>) {
    let tenant = ns.effective(&Subject::Tenant, policy.resolution);
    let users = users
        .iter()
        .map(|id| {
            (
                id.clone(),
                ns.effective(&Subject::User(id.clone()), policy.resolution),
            )
        })
        .collect();
    (tenant, users)
}

/// The commit's seq, untouched namespaces, and deltas: applying each subject's patch to its
/// old effective config gives its new one, and subjects without a patch did not change.
pub fn commit_is_consistent(before: &TenantState, commit: &Commit, ctx: &Context<'_>) {
    assert_eq!(commit.seq, before.seq + 1, "a commit takes the next seq");
    assert_eq!(
        commit.state.seq, commit.seq,
        "the state carries the commit's seq"
    );
    state_round_trips(&commit.state);
    for (name, ns) in &before.namespaces {
        if commit.delta(name).is_none() {
            assert_eq!(
                commit.state.namespace(name),
                Some(ns),
                "namespace {name} changed without a delta"
            );
        }
    }
    ids_are_unique(&commit.state);
    for delta in &commit.deltas {
        let name = &delta.namespace;
        let after = commit
            .state
            .namespace(name)
            .expect("a touched namespace is in the new state");
        namespace_is_normal(after);
        let empty = NamespaceState::new(name.clone());
        let old = before.namespace(name).unwrap_or(&empty);
        // The version names the layers: it moves to the commit's seq exactly when a layer
        // record (the platform copy, the tenant's, a user's) changed.
        let layers_changed = old.platform != after.platform
            || old.tenant != after.tenant
            || old.users != after.users;
        let expected = if layers_changed {
            commit.seq
        } else {
            old.version
        };
        assert_eq!(
            after.version, expected,
            "{name}'s version moves to the commit's seq exactly when a layer changed"
        );
        let policy = NamespacePolicy::derive(ctx.rules, name, ctx.tenant);
        let users: BTreeSet<String> = old
            .users
            .keys()
            .chain(after.users.keys())
            .cloned()
            .collect();
        let (old_tenant, old_users) = effectives(old, &policy, &users);
        let (new_tenant, new_users) = effectives(after, &policy, &users);
        // Every user the commit saw with a layer, before or after it, is kept out of the
        // tenant patch (a user whose layer just went away without their config changing
        // must not apply it either).
        assert_eq!(delta.personal_users, users, "personal users of {name}");
        match &delta.tenant {
            Some(patch) => {
                let mut doc = old_tenant.clone();
                cascade_engine::patch::apply(&mut doc, patch).expect("the tenant patch applies");
                assert_eq!(
                    doc, new_tenant,
                    "the tenant patch of {name} misses the new config"
                );
            }
            None => assert_eq!(
                old_tenant, new_tenant,
                "{name} changed for the tenant without a patch"
            ),
        }
        for ((id, old_user), (_, new_user)) in old_users.iter().zip(&new_users) {
            match delta.users.get(id) {
                Some(patch) => {
                    let mut doc = old_user.clone();
                    cascade_engine::patch::apply(&mut doc, patch).expect("a user patch applies");
                    assert_eq!(
                        &doc, new_user,
                        "user {id}'s patch of {name} misses the new config"
                    );
                }
                None => assert_eq!(
                    old_user, new_user,
                    "{name} changed for user {id} without a patch"
                ),
            }
        }
    }
}

/// An operation on engine-made state may be refused for what the caller asked (a lock, a
/// limit, an unknown id, a version out of reach), never because the engine's own state or
/// history is unreadable, nor with a path it made itself but cannot parse.
pub fn error_is_the_callers<T>(result: &Result<T, EngineError>) {
    if let Err(e) = result {
        assert!(
            e.is_client_error() && !matches!(e, EngineError::InvalidPath { .. }),
            "the engine failed on its own state: {e:?}"
        );
    }
}

/// Pending changes and conflicts have ids "unique within the tenant" (their docs), across
/// namespaces too.
pub fn ids_are_unique(state: &TenantState) {
    let mut pending = BTreeSet::new();
    let mut conflicts = BTreeSet::new();
    for ns in state.namespaces.values() {
        for p in &ns.pending {
            assert!(
                pending.insert(p.id.clone()),
                "two pending changes are {}",
                p.id
            );
        }
        for c in &ns.conflicts {
            assert!(conflicts.insert(c.id.clone()), "two conflicts are {}", c.id);
        }
    }
}
