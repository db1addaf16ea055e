//! Batches, idempotence, refusals, reports and history: the operational guarantees hubs
//! rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use cascade_engine::apply::{apply_platform_update, PlatformApply};
use cascade_engine::event::PlatformUpdate;
use cascade_engine::outcome::Outcome;
use cascade_engine::rollback::rollback;
use cascade_engine::scope::Scope;
use cascade_engine::validate::Limits;
use common::{event, kinds, ns, rule, rules, World};
use serde_json::json;

fn world() -> World {
    World::new(rules(json!([
        rule("auth", "user-wins", &["tenant", "user"], true),
        rule("mfa", "user-wins", &["tenant", "user"], true),
        {"id": "report-mfa", "triggerEvents": ["mfa.*"], "targetScopes": ["tenant", "platform"],
         "syncDirection": "up", "conflictResolution": "user-wins", "autoApply": true},
        {"id": "lock", "triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "down",
         "conflictResolution": "user-wins", "autoApply": true, "lockedPaths": ["/sso/enforced"]}
    ])))
}

#[test]
fn a_batch_is_one_seq_across_namespaces_and_scopes() {
    let mut w = world();
    let commit = w
        .try_events(&[
            event(
                "auth",
                "update",
                "tenant",
                Some("t1"),
                json!({"a": 1}),
                "admin",
            ),
            event(
                "mfa",
                "update",
                "tenant",
                Some("t1"),
                json!({"required": true}),
                "admin",
            ),
            event(
                "mfa",
                "update",
                "user",
                Some("u1"),
                json!({"method": "totp"}),
                "u1",
            ),
        ])
        .expect("batch applies");
    assert_eq!(commit.seq, 1);
    assert_eq!(w.state.seq, 1);
    assert_eq!(commit.deltas.len(), 2);
    for name in ["auth", "mfa"] {
        let state = w.state.namespace(&ns(name)).expect("touched");
        assert_eq!(state.version, 1);
        assert_eq!(state.history.entries.len(), 1);
    }
    assert_eq!(
        w.user_eff("mfa", "u1"),
        json!({"required": true, "method": "totp"})
    );
}

#[test]
fn a_refused_batch_changes_nothing() {
    let mut w = world();
    w.tenant("auth", "update", json!({"a": 1}));
    let before = w.state.clone();
    let err = w
        .try_events(&[
            event(
                "auth",
                "update",
                "tenant",
                Some("t1"),
                json!({"a": 2}),
                "admin",
            ),
            event(
                "auth",
                "update",
                "tenant",
                Some("t1"),
                json!({"sso": {"enforced": false}}),
                "admin",
            ),
        ])
        .expect_err("second event is locked");
    assert_eq!(err.code(), "CASCADE:Rule:LockedPath");
    assert_eq!(
        w.state, before,
        "all or nothing: the first event is not applied either"
    );
    // Another tenant's event and platform events are refused too.
    let other = w.try_events(&[event(
        "auth",
        "update",
        "tenant",
        Some("t2"),
        json!({}),
        "x",
    )]);
    assert_eq!(
        other.map(|c| c.seq).map_err(|e| e.code()),
        Err("CASCADE:Event:ScopeMismatch")
    );
    let empty = w.try_events(&[]);
    assert_eq!(
        empty.map(|c| c.seq).map_err(|e| e.code()),
        Err("CASCADE:Event:EmptyBatch")
    );
}

#[test]
fn platform_updates_are_idempotent_by_platform_seq() {
    let mut w = world();
    let update = PlatformUpdate {
        platform_seq: 7,
        events: vec![event(
            "auth",
            "update",
            "platform",
            None,
            json!({"x": 1}),
            "platform-admin",
        )],
    };
    let first = w.platform_update(&update);
    assert_eq!(first.state.platform_seq, 7);
    let state = w.state.clone();
    let again = apply_platform_update(&state, &update, w.ctx()).expect("processes");
    assert_eq!(again, PlatformApply::AlreadyApplied { platform_seq: 7 });
    let older = PlatformUpdate {
        platform_seq: 3,
        ..update
    };
    assert!(matches!(
        apply_platform_update(&state, &older, w.ctx()),
        Ok(PlatformApply::AlreadyApplied { .. })
    ));
    assert_eq!(w.tenant_eff("auth"), json!({"x": 1}));
}

#[test]
fn a_platform_update_too_large_for_this_tenant_is_refused_and_recorded() {
    let mut w = world();
    w.tenant("auth", "update", json!({"big": "y".repeat(400)}));
    w.limits = Limits {
        max_document_bytes: 600,
        ..Limits::default()
    };
    let before = w.tenant_eff("auth");
    let update = PlatformUpdate {
        platform_seq: 1,
        events: vec![event(
            "auth",
            "update",
            "platform",
            None,
            json!({"huge": "z".repeat(300)}),
            "platform-admin",
        )],
    };
    let commit = w.platform_update(&update);
    assert_eq!(kinds(&commit.outcomes), ["refused"]);
    assert!(
        matches!(&commit.outcomes[0], Outcome::Refused { code, .. } if code == "CASCADE:Validation:TooLarge")
    );
    assert_eq!(w.tenant_eff("auth"), before);
    assert_eq!(w.state.platform_seq, 1, "redelivery stays a no-op");
    assert_eq!(commit.seq, 2, "the refusal is an event in the tenant's log");
}

#[test]
fn up_rules_report_without_applying() {
    let mut w = world();
    let commit = w.user("u1", "mfa", "update", json!({"method": "sms"}));
    let reported: Vec<Scope> = commit
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Reported { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(reported, [Scope::Platform, Scope::Tenant]);
    assert_eq!(w.tenant_eff("mfa"), json!({}), "never applied upward");
}

#[test]
fn unchanged_writes_are_reported_not_silent() {
    let mut w = world();
    w.tenant("auth", "update", json!({"a": 1}));
    let commit = w.tenant("auth", "update", json!({"a": 1}));
    assert_eq!(kinds(&commit.outcomes), ["unchanged"]);
    assert!(commit.delta(&ns("auth")).expect("touched").is_empty());
}

#[test]
fn rollback_versions_and_errors() {
    let mut w = world();
    w.tenant("auth", "update", json!({"a": 1}));
    w.tenant("auth", "update", json!({"a": 2, "b": true}));
    w.user("u1", "auth", "update", json!({"c": 3}));
    let state = w.state.clone();
    let back = rollback(&state, &ns("auth"), 1, w.ctx(), "admin").expect("rolls back");
    w.keep(&back);
    assert_eq!(w.tenant_eff("auth"), json!({"a": 1}));
    assert_eq!(
        w.user_eff("auth", "u1"),
        json!({"a": 1}),
        "u1 had no layer at version 1"
    );
    assert_eq!(kinds(&back.outcomes), ["applied", "rolledBack"]);
    // The rollback is itself undoable.
    let state = w.state.clone();
    let forward = rollback(&state, &ns("auth"), 3, w.ctx(), "admin").expect("rolls forward");
    w.keep(&forward);
    assert_eq!(w.user_eff("auth", "u1"), json!({"a": 2, "b": true, "c": 3}));
    // Errors: future versions, pruned history.
    let state = w.state.clone();
    let future = rollback(&state, &ns("auth"), 99, w.ctx(), "admin");
    assert_eq!(
        future.map(|c| c.seq).map_err(|e| e.code()),
        Err("CASCADE:History:FutureVersion")
    );
    let mut pruned = w.state.clone();
    let auth = pruned.namespaces.get_mut(&ns("auth")).expect("loaded");
    assert_eq!(auth.history.prune_through(2), 2);
    let gone = rollback(&pruned, &ns("auth"), 1, w.ctx(), "admin");
    assert_eq!(
        gone.map(|c| c.seq).map_err(|e| e.code()),
        Err("CASCADE:History:Unreachable")
    );
    assert!(rollback(&pruned, &ns("auth"), 2, w.ctx(), "admin").is_ok());
}
