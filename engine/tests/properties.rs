//! Property tests of the engine's invariants over random histories of platform, tenant and
//! user changes under every strategy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use cascade_engine::document::leaves;
use cascade_engine::history::LayerKey;
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::outcome::Outcome;
use cascade_engine::patch::apply;
use cascade_engine::rollback::{layer_at, rollback, subject_layers_at};
use cascade_engine::scope::Subject;
use common::gen::Op;
use common::{rule, rules, World};
use proptest::prelude::*;
use serde_json::{json, Value};

const USERS: [&str; 2] = ["u1", "u2"];
const STRATEGIES: [&str; 4] = ["platform-wins", "tenant-wins", "user-wins", "merge"];

/// Merge patches over the keys `a`, `b`, `c`.
fn config() -> impl Strategy<Value = Value> {
    common::gen::config(&["a", "b", "c"])
}

fn op() -> impl Strategy<Value = Op> {
    common::gen::op(&["a", "b", "c"], USERS.len(), 2)
}

fn world(strategy: &str) -> World {
    World::new(rules(json!([rule(
        "cfg",
        strategy,
        &["tenant", "user"],
        true
    )])))
}

fn run(w: &mut World, op: &Op) -> cascade_engine::commit::Commit {
    match op {
        Op::Platform(c) => w.platform("cfg", "update", c.clone()),
        Op::Tenant(c) => w.tenant("cfg", "update", c.clone()),
        Op::User(u, c) => w.user(USERS[*u], "cfg", "update", c.clone()),
    }
}

fn effectives(w: &World) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert("tenant".into(), w.tenant_eff("cfg"));
    for u in USERS {
        out.insert(u.into(), w.user_eff("cfg", u));
    }
    out
}

fn layer_leaves(w: &World, subject: &Subject) -> Vec<(String, Value)> {
    w.state
        .namespace(&common::ns("cfg"))
        .and_then(|ns| ns.lower(subject))
        .map(|l| {
            leaves(l.layer.as_value())
                .into_iter()
                .map(|(p, v)| (p.to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn subjects() -> Vec<Subject> {
    let mut out = vec![Subject::Tenant];
    out.extend(USERS.iter().map(|u| Subject::User((*u).into())));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Applying each emitted JSON Patch to the old effective config yields the new one, for the
    /// tenant and every user; users with no patch did not change.
    #[test]
    fn patches_take_old_effective_to_new(strategy in prop::sample::select(STRATEGIES.to_vec()), ops in prop::collection::vec(op(), 1..12)) {
        let mut w = world(strategy);
        for op in &ops {
            let before = effectives(&w);
            let commit = run(&mut w, op);
            let after = effectives(&w);
            let delta = commit.delta(&common::ns("cfg")).expect("touched");
            let mut tenant = before["tenant"].clone();
            if let Some(patch) = &delta.tenant {
                apply(&mut tenant, patch).expect("tenant patch applies");
            }
            prop_assert_eq!(&tenant, &after["tenant"]);
            for u in USERS {
                if delta.personal_users.contains(u) || delta.users.contains_key(u) {
                    let mut doc = before[u].clone();
                    if let Some(patch) = delta.users.get(u) {
                        apply(&mut doc, patch).expect("user patch applies");
                    }
                    prop_assert_eq!(&doc, &after[u], "user {}", u);
                } else {
                    // No layer of their own: they follow the tenant patch.
                    prop_assert_eq!(&after[u], &after["tenant"]);
                }
            }
        }
    }

    /// Same inputs, same outputs: states, seqs, outcomes and deltas are identical across runs.
    #[test]
    fn resolution_is_deterministic(strategy in prop::sample::select(STRATEGIES.to_vec()), ops in prop::collection::vec(op(), 1..10)) {
        let mut a = world(strategy);
        let mut b = world(strategy);
        for op in &ops {
            let ca = run(&mut a, op);
            let cb = run(&mut b, op);
            prop_assert_eq!(&ca, &cb);
        }
        prop_assert_eq!(serde_json::to_string(&a.state).expect("json"), serde_json::to_string(&b.state).expect("json"));
        prop_assert_eq!(effectives(&a), effectives(&b));
    }

    /// Rolling back to version v restores exactly every effective config at v.
    #[test]
    fn rollback_restores_version(strategy in prop::sample::select(STRATEGIES.to_vec()), ops in prop::collection::vec(op(), 1..10), pick in any::<prop::sample::Index>()) {
        let mut w = world(strategy);
        let mut at_version = vec![(0u64, effectives(&w))];
        for op in &ops {
            let commit = run(&mut w, op);
            at_version.push((commit.seq, effectives(&w)));
        }
        let (version, expected) = pick.get(&at_version).clone();
        let state = w.state.clone();
        let commit = rollback(&state, &common::ns("cfg"), version, w.ctx(), "admin").expect("rolls back");
        w.keep(&commit);
        prop_assert_eq!(effectives(&w), expected);
    }

    /// Any version of one layer reads back from the current state and the history alone,
    /// with no other layer in view: the tenant's and each user's own values at version v.
    #[test]
    fn each_layer_reads_back_at_every_version(strategy in prop::sample::select(STRATEGIES.to_vec()), ops in prop::collection::vec(op(), 1..10)) {
        let mut w = world(strategy);
        let keys = || {
            std::iter::once(LayerKey::Tenant).chain(USERS.iter().map(|u| LayerKey::User((*u).to_owned())))
        };
        let own = |w: &World, key: &LayerKey| {
            let ns = w.state.namespace(&common::ns("cfg"));
            let lower = ns.and_then(|ns| match key {
                LayerKey::User(id) => ns.users.get(id),
                _ => Some(&ns.tenant),
            });
            lower.map_or(json!({}), |l| l.layer.as_value().clone())
        };
        let mut seen: Vec<(u64, Vec<Value>)> = vec![(0, keys().map(|k| own(&w, &k)).collect())];
        for op in &ops {
            let commit = run(&mut w, op);
            seen.push((commit.seq, keys().map(|k| own(&w, &k)).collect()));
        }
        let Some(ns) = w.state.namespace(&common::ns("cfg")) else { return Ok(()) };
        for (version, layers) in &seen {
            for (key, expected) in keys().zip(layers) {
                let mut view = ns.clone();
                view.users.retain(|id, _| key == LayerKey::User(id.clone()));
                let got = layer_at(&view, &key, *version, w.state.seq).expect("reads back");
                prop_assert_eq!(&got, expected, "{:?} at {}", key, version);
            }
        }
        prop_assert!(layer_at(ns, &LayerKey::Tenant, w.state.seq + 1, w.state.seq).is_err());
    }

    /// Any version of a subject's effective config reads back with only that subject's
    /// layers loaded (how a hub serves `?version=`): other users changed in the history
    /// since are neither loaded nor replayed.
    #[test]
    fn each_effective_config_reads_back_with_only_its_subject_loaded(strategy in prop::sample::select(STRATEGIES.to_vec()), ops in prop::collection::vec(op(), 1..10)) {
        let mut w = world(strategy);
        let mut seen = vec![(0u64, effectives(&w))];
        for op in &ops {
            let commit = run(&mut w, op);
            seen.push((commit.seq, effectives(&w)));
        }
        let namespace = common::ns("cfg");
        let Some(ns) = w.state.namespace(&namespace) else { return Ok(()) };
        let policy = NamespacePolicy::derive(&w.rules, &namespace, &w.tenant);
        for (version, expected) in &seen {
            for subject in subjects() {
                let mut view = ns.clone();
                view.users.retain(|id, _| subject == Subject::User(id.clone()));
                let then = subject_layers_at(&view, &subject, *version, w.state.seq).expect("reads back");
                let name = match &subject { Subject::User(id) => id.clone(), Subject::Tenant => "tenant".into() };
                prop_assert_eq!(&then.effective(&subject, policy.resolution), &expected[&name], "{} at {}", name, version);
            }
        }
    }

    /// No upper change removes a lower value without an `overridden` or `merged` outcome at
    /// that path, and under `merge` a customization is never lost without a conflict or such
    /// an event.
    #[test]
    fn lower_values_are_never_lost_silently(strategy in prop::sample::select(STRATEGIES.to_vec()), ops in prop::collection::vec(op(), 1..12)) {
        let mut w = world(strategy);
        for op in &ops {
            let before: Vec<(Subject, Vec<(String, Value)>)> = subjects().into_iter().map(|s| { let l = layer_leaves(&w, &s); (s, l) }).collect();
            let commit = run(&mut w, op);
            if !matches!(op, Op::Platform(_)) {
                continue;
            }
            for (subject, old_leaves) in before {
                let new_leaves = layer_leaves(&w, &subject);
                for (path, value) in old_leaves {
                    if new_leaves.contains(&(path.clone(), value.clone())) {
                        continue;
                    }
                    let recorded = commit.outcomes.iter().any(|o| match o {
                        Outcome::Overridden { subject: s, path: p, removed, .. } => s == &subject && p.to_string() == path && removed == &value,
                        Outcome::Merged { subject: s, path: p, removed: Some(removed), .. } => s == &subject && p.to_string() == path && removed == &value,
                        _ => false,
                    });
                    prop_assert!(recorded, "{:?} lost {} = {} silently: {:#?}", subject, path, value, commit.outcomes);
                    // Under merge, only a value that was no customization (equal to its base) goes.
                    let merged = commit.outcomes.iter().any(|o| {
                        matches!(o, Outcome::Merged { subject: s, path: p, removed: Some(_), .. } if s == &subject && p.to_string() == path)
                    });
                    prop_assert!(strategy != "merge" || merged, "merge lost {} without a merged outcome", path);
                }
            }
        }
    }

    /// Events of one scope keep their order: seqs go up by one per commit, history is in seq
    /// order, and the tenant layer is the in-order fold of the tenant's own merge patches.
    #[test]
    fn event_order_within_a_scope_is_preserved(configs in prop::collection::vec(config(), 1..10)) {
        let mut w = world("user-wins");
        let mut folded = json!({});
        for (i, c) in configs.iter().enumerate() {
            let commit = w.tenant("cfg", "update", c.clone());
            prop_assert_eq!(commit.seq, i as u64 + 1);
            json_patch::merge(&mut folded, c);
        }
        strip_empty(&mut folded);
        let ns = w.state.namespace(&common::ns("cfg")).expect("touched");
        let seqs: Vec<u64> = ns.history.entries.iter().map(|e| e.seq).collect();
        prop_assert_eq!(seqs, (1..=configs.len() as u64).collect::<Vec<_>>());
        prop_assert_eq!(ns.tenant.layer.as_value(), &folded);
    }
}

fn strip_empty(value: &mut Value) {
    if let Value::Object(map) = value {
        for child in map.values_mut() {
            strip_empty(child);
        }
        map.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
    }
}
