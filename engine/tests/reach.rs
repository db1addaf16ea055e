//! Property test of partial loading (`cascade_engine::reach`): a hub that loads only the
//! users a change reaches — those whose own leaves lie on a path the change's events set or
//! its tenant patch addresses — commits exactly what it would with every user loaded, and
//! every user it left out sees the tenant patch take their old effective config to the new
//! one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use cascade_engine::apply::{apply_changes, apply_platform_update, PlatformApply};
use cascade_engine::commit::{Commit, Context};
use cascade_engine::event::PlatformUpdate;
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::patch::apply;
use cascade_engine::reach;
use cascade_engine::scope::Subject;
use cascade_engine::state::TenantState;
use common::gen::Op;
use common::{event, ns, rule, rules, World};
use proptest::prelude::*;
use serde_json::{json, Value};

const USERS: [&str; 4] = ["u1", "u2", "u3", "u4"];
const STRATEGIES: [&str; 4] = ["platform-wins", "tenant-wins", "user-wins", "merge"];

/// Merge patches over four keys, so that users' layers and changes overlap only in part.
fn config() -> impl Strategy<Value = Value> {
    common::gen::config(&["a", "b", "c", "d"])
}

fn op() -> impl Strategy<Value = Op> {
    common::gen::op(&["a", "b", "c", "d"], USERS.len(), 3)
}

fn upper_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        config().prop_map(Op::Platform),
        config().prop_map(Op::Tenant)
    ]
}

/// Applies `op` to `state` at a fixed time (both runs must see the same clock).
fn commit(w: &World, state: &TenantState, op: &Op) -> Commit {
    let ctx = Context {
        tenant: &w.tenant,
        rules: &w.rules,
        limits: &w.limits,
        at: 99_999,
    };
    match op {
        Op::Platform(config) => {
            let update = PlatformUpdate {
                platform_seq: state.platform_seq + 1,
                events: vec![event(
                    "cfg",
                    "update",
                    "platform",
                    None,
                    config.clone(),
                    "p",
                )],
            };
            match apply_platform_update(state, &update, ctx).expect("processes") {
                PlatformApply::Committed(commit) => commit,
                PlatformApply::AlreadyApplied { .. } => panic!("fresh platform seq"),
            }
        }
        Op::Tenant(config) => {
            let ev = event("cfg", "update", "tenant", Some("t1"), config.clone(), "t");
            apply_changes(state, &[ev], ctx).expect("tenant write applies")
        }
        Op::User(..) => unreachable!("only upper changes are compared"),
    }
}

fn config_of(op: &Op) -> &Value {
    match op {
        Op::Platform(c) | Op::Tenant(c) | Op::User(_, c) => c,
    }
}

/// `state` with only `users`' layers (and conflicts) of namespace `cfg` loaded.
fn restrict(state: &TenantState, users: &BTreeSet<String>) -> TenantState {
    let mut out = state.clone();
    if let Some(ns) = out.namespaces.get_mut(&ns("cfg")) {
        ns.users.retain(|id, _| users.contains(id));
        ns.conflicts.retain(|c| match &c.subject {
            Subject::Tenant => true,
            Subject::User(id) => users.contains(id),
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn loading_only_reached_users_commits_the_same(
        strategy in prop::sample::select(STRATEGIES.to_vec()),
        history in prop::collection::vec(op(), 0..12),
        last in upper_op(),
    ) {
        let mut w = World::new(rules(json!([rule("cfg", strategy, &["tenant", "user"], true)])));
        for op in &history {
            match op {
                Op::Platform(c) => { w.platform("cfg", "update", c.clone()); }
                Op::Tenant(c) => { w.tenant("cfg", "update", c.clone()); }
                Op::User(u, c) => { w.user(USERS[*u], "cfg", "update", c.clone()); }
            }
        }
        let full_state = w.state.clone();
        let namespace = ns("cfg");

        // What a hub does: a dry run with no users, then the users reached by the events'
        // paths and by the tenant patch's.
        let dry = commit(&w, &restrict(&full_state, &BTreeSet::new()), &last);
        let mut pointers = reach::merge_patch_pointers(config_of(&last));
        if let Some(patch) = dry.delta(&namespace).and_then(|d| d.tenant.as_ref()) {
            pointers.extend(reach::patch_pointers(patch));
        }
        let pointers = reach::minimal(pointers);
        let layers = full_state.namespace(&namespace).map(|n| n.users.clone()).unwrap_or_default();
        let reached: BTreeSet<String> = layers
            .iter()
            .filter(|(_, layer)| reach::layer_reached(layer, &pointers))
            .map(|(id, _)| id.clone())
            .collect();

        let full = commit(&w, &full_state, &last);
        let partial = commit(&w, &restrict(&full_state, &reached), &last);
        let (f, p) = (full.state.namespace(&namespace), partial.state.namespace(&namespace));
        let (f, p) = (f.expect("touched"), p.expect("touched"));
        prop_assert_eq!(&f.platform, &p.platform);
        prop_assert_eq!(&f.tenant, &p.tenant);
        prop_assert_eq!(&f.pending, &p.pending);
        prop_assert_eq!(&full.delta(&namespace).and_then(|d| d.tenant.clone()), &partial.delta(&namespace).and_then(|d| d.tenant.clone()));
        let opened = |c: &Commit| -> Vec<String> {
            let mut ids: Vec<String> = c.state.namespace(&namespace).map(|n| n.conflicts.iter().map(|c| format!("{}:{}", c.id, c.subject)).collect()).unwrap_or_default();
            ids.sort();
            ids
        };
        let mut expected_conflicts = opened(&partial);
        expected_conflicts.extend(
            full_state.namespace(&namespace).map(|n| n.conflicts.iter()
                .filter(|c| matches!(&c.subject, Subject::User(id) if !reached.contains(id)))
                .map(|c| format!("{}:{}", c.id, c.subject)).collect::<Vec<_>>()).unwrap_or_default());
        expected_conflicts.sort();
        prop_assert_eq!(opened(&full), expected_conflicts);

        let policy = NamespacePolicy::derive(&w.rules, &namespace, &w.tenant);
        let before = full_state.namespace(&namespace);
        for (id, layer) in &layers {
            if reached.contains(id) {
                prop_assert_eq!(f.users.get(id), p.users.get(id), "reached user {}", id);
                continue;
            }
            // Left out: untouched, and the tenant patch is exactly their change.
            prop_assert_eq!(f.users.get(id), Some(layer), "user {} left out but changed", id);
            let subject = Subject::User(id.clone());
            let mut doc = before.map_or(json!({}), |n| n.effective(&subject, policy.resolution));
            if let Some(patch) = full.delta(&namespace).and_then(|d| d.tenant.as_ref()) {
                apply(&mut doc, patch).expect("the tenant patch applies to a left-out user");
            }
            prop_assert_eq!(doc, f.effective(&subject, policy.resolution), "user {}", id);
        }
    }
}
