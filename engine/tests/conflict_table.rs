//! The conflict table of docs/RULES.md ("What each strategy does at each scope"), row by
//! row, as scenario tables.
//!
//! Every row starts from the same world, in namespace `auth`:
//!
//! | layer | value |
//! |---|---|
//! | platform | `{"sso": {"provider": "google", "timeout": 30}}` |
//! | tenant | `{"sso": {"provider": "okta"}}` (an override) |
//! | user u1 | `{"sso": {"provider": "mine"}}` (an override) |
//! | user u2 | `{"theme": "dark"}` (unrelated) |
//! | user u3 | no layer |
//!
//! then the platform changes `sso` to `{"provider": "azure", "timeout": 60}`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use cascade_engine::conflict::ConflictAction;
use cascade_engine::outcome::Outcome;
use cascade_engine::scope::{Scope, Subject};
use common::{kinds, ns, rule, rules, user, World};
use serde_json::{json, Value};

fn world(rule_json: Value, opted_out: bool) -> World {
    let mut w = World::new(rules(json!([rule_json])));
    // Build the starting layers under a neutral rule so setup never triggers the strategy.
    let strategy_rules = std::mem::replace(
        &mut w.rules,
        rules(json!([rule(
            "auth",
            "user-wins",
            &["tenant", "user"],
            true
        )])),
    );
    w.platform(
        "auth",
        "update",
        json!({"sso": {"provider": "google", "timeout": 30}}),
    );
    w.tenant("auth", "update", json!({"sso": {"provider": "okta"}}));
    w.user("u1", "auth", "update", json!({"sso": {"provider": "mine"}}));
    w.user("u2", "auth", "update", json!({"theme": "dark"}));
    w.rules = strategy_rules;
    if opted_out {
        w.tenant.opted_out.insert(ns("auth"));
    }
    w
}

struct Row {
    name: &'static str,
    rule: Value,
    opted_out: bool,
    tenant: Value,
    u1: Value,
    u2: Value,
    outcomes: &'static [&'static str],
    tenant_patched: bool,
    users_patched: &'static [&'static str],
}

#[test]
fn conflict_table() {
    let new_sso = json!({"sso": {"provider": "azure", "timeout": 60}});
    let rows = [
        Row {
            name: "platform-wins: the upper value replaces lower overrides",
            rule: rule("auth", "platform-wins", &["tenant", "user"], true),
            opted_out: false,
            tenant: json!({"sso": {"provider": "azure", "timeout": 60}}),
            u1: json!({"sso": {"provider": "azure", "timeout": 60}}),
            u2: json!({"sso": {"provider": "azure", "timeout": 60}, "theme": "dark"}),
            outcomes: &["applied", "overridden", "written"],
            tenant_patched: true,
            users_patched: &["u1", "u2"],
        },
        Row {
            name: "tenant-wins: the tenant's value beats the platform's and its users'",
            rule: rule("auth", "tenant-wins", &["tenant", "user"], true),
            opted_out: false,
            tenant: json!({"sso": {"provider": "okta", "timeout": 60}}),
            u1: json!({"sso": {"provider": "okta", "timeout": 60}}),
            u2: json!({"sso": {"provider": "okta", "timeout": 60}, "theme": "dark"}),
            outcomes: &["applied", "shadowed", "written"],
            tenant_patched: true,
            users_patched: &["u1", "u2"],
        },
        Row {
            name: "user-wins: a lower scope's own value is never overridden",
            rule: rule("auth", "user-wins", &["tenant", "user"], true),
            opted_out: false,
            tenant: json!({"sso": {"provider": "okta", "timeout": 60}}),
            u1: json!({"sso": {"provider": "mine", "timeout": 60}}),
            u2: json!({"sso": {"provider": "okta", "timeout": 60}, "theme": "dark"}),
            outcomes: &["applied", "shadowed", "written"],
            tenant_patched: true,
            users_patched: &["u1", "u2"],
        },
        Row {
            name: "merge: disjoint edits combine, the same leaf opens a conflict and keeps the customization",
            rule: rule("auth", "merge", &["tenant"], true),
            opted_out: false,
            tenant: json!({"sso": {"provider": "okta", "timeout": 60}}),
            u1: json!({"sso": {"provider": "mine", "timeout": 60}}),
            u2: json!({"sso": {"provider": "okta", "timeout": 60}, "theme": "dark"}),
            outcomes: &["applied", "conflictOpened", "written"],
            tenant_patched: true,
            users_patched: &["u1", "u2"],
        },
        Row {
            name: "platform-wins not targeting users: their overrides stay, recorded as shadowed",
            rule: rule("auth", "platform-wins", &["tenant"], true),
            opted_out: false,
            tenant: json!({"sso": {"provider": "azure", "timeout": 60}}),
            u1: json!({"sso": {"provider": "mine", "timeout": 60}}),
            u2: json!({"sso": {"provider": "azure", "timeout": 60}, "theme": "dark"}),
            outcomes: &["applied", "overridden", "shadowed", "written"],
            tenant_patched: true,
            users_patched: &["u1", "u2"],
        },
        Row {
            name: "autoApply false: nothing applied, a pending change for the tenant admin",
            rule: rule("auth", "platform-wins", &["tenant", "user"], false),
            opted_out: false,
            tenant: json!({"sso": {"provider": "okta", "timeout": 30}}),
            u1: json!({"sso": {"provider": "mine", "timeout": 30}}),
            u2: json!({"sso": {"provider": "okta", "timeout": 30}, "theme": "dark"}),
            outcomes: &["pending"],
            tenant_patched: false,
            users_patched: &[],
        },
        Row {
            name: "opted out (selective sync): skipped and recorded",
            rule: rule("auth", "platform-wins", &["tenant", "user"], true),
            opted_out: true,
            tenant: json!({"sso": {"provider": "okta", "timeout": 30}}),
            u1: json!({"sso": {"provider": "mine", "timeout": 30}}),
            u2: json!({"sso": {"provider": "okta", "timeout": 30}, "theme": "dark"}),
            outcomes: &["skipped"],
            tenant_patched: false,
            users_patched: &[],
        },
        Row {
            name: "no rule for the event: skipped and recorded",
            rule: rule("rbac", "platform-wins", &["tenant", "user"], true),
            opted_out: false,
            tenant: json!({"sso": {"provider": "okta", "timeout": 30}}),
            u1: json!({"sso": {"provider": "mine", "timeout": 30}}),
            u2: json!({"sso": {"provider": "okta", "timeout": 30}, "theme": "dark"}),
            outcomes: &["skipped"],
            tenant_patched: false,
            users_patched: &[],
        },
    ];
    for row in rows {
        let mut w = world(row.rule.clone(), row.opted_out);
        let seq_before = w.state.seq;
        let commit = w.platform("auth", "update", new_sso.clone());
        assert_eq!(
            commit.seq,
            seq_before + 1,
            "{}: one seq per change",
            row.name
        );
        assert_eq!(w.tenant_eff("auth"), row.tenant, "{}: tenant", row.name);
        assert_eq!(w.user_eff("auth", "u1"), row.u1, "{}: u1", row.name);
        assert_eq!(w.user_eff("auth", "u2"), row.u2, "{}: u2", row.name);
        assert_eq!(
            w.user_eff("auth", "u3"),
            row.tenant,
            "{}: u3 follows the tenant",
            row.name
        );
        assert_eq!(
            kinds(&commit.outcomes),
            row.outcomes,
            "{}: outcomes {:#?}",
            row.name,
            commit.outcomes
        );
        let delta = commit.delta(&ns("auth")).expect("auth touched");
        assert_eq!(
            delta.tenant.is_some(),
            row.tenant_patched,
            "{}: tenant patch",
            row.name
        );
        let patched: Vec<&str> = delta.users.keys().map(String::as_str).collect();
        assert_eq!(patched, row.users_patched, "{}: user patches", row.name);
        assert!(!delta.personal_users.contains("u3"), "{}", row.name);
    }
}

#[test]
fn platform_wins_keeps_the_removed_value_and_rollback_restores_it() {
    let mut w = world(
        rule("auth", "platform-wins", &["tenant", "user"], true),
        false,
    );
    let version = w.state.seq;
    let commit = w.platform("auth", "update", json!({"sso": {"provider": "azure"}}));
    let removed: Vec<(Subject, Value)> = commit
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Overridden {
                subject,
                removed,
                locked: false,
                ..
            } => Some((subject.clone(), removed.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        removed,
        [
            (Subject::Tenant, json!("okta")),
            (user("u1"), json!("mine"))
        ]
    );
    let back = cascade_engine::rollback::rollback(
        &w.state.clone(),
        &ns("auth"),
        version,
        w.ctx(),
        "tenant-admin",
    )
    .expect("rolls back");
    w.keep(&back);
    assert_eq!(
        w.tenant_eff("auth"),
        json!({"sso": {"provider": "okta", "timeout": 30}})
    );
    assert_eq!(
        w.user_eff("auth", "u1"),
        json!({"sso": {"provider": "mine", "timeout": 30}})
    );
    assert_eq!(back.seq, version + 2, "a rollback is a new, forward event");
}

#[test]
fn tenant_wins_tenant_value_beats_users_on_tenant_writes() {
    let mut w = world(
        rule("auth", "tenant-wins", &["tenant", "user"], true),
        false,
    );
    let commit = w.tenant("auth", "update", json!({"sso": {"provider": "onelogin"}}));
    assert_eq!(w.user_eff("auth", "u1")["sso"]["provider"], "onelogin");
    let shadowed: Vec<(Subject, Scope, Option<Value>)> = commit
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Shadowed {
                subject,
                winner,
                hidden,
                ..
            } => Some((subject.clone(), *winner, hidden.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(shadowed, [(user("u1"), Scope::Tenant, Some(json!("mine")))]);
    // A user's own write under a tenant value is stored but shadowed, and changes nothing.
    let commit = w.user(
        "u2",
        "auth",
        "update",
        json!({"sso": {"provider": "personal"}}),
    );
    assert_eq!(kinds(&commit.outcomes), ["shadowed", "written"]);
    assert!(commit.delta(&ns("auth")).expect("touched").is_empty());
}

#[test]
fn user_wins_shadowing_user_gets_no_patch() {
    let mut w = world(rule("auth", "user-wins", &["tenant", "user"], true), false);
    // Only the provider changes: u1 shadows it, so u1 gets nothing.
    let commit = w.platform("auth", "update", json!({"sso": {"provider": "azure"}}));
    let delta = commit.delta(&ns("auth")).expect("touched");
    assert!(
        delta.tenant.is_none(),
        "the tenant's own override shadows it too"
    );
    assert!(!delta.users.contains_key("u1"));
    let tenant_shadow = commit.outcomes.iter().any(|o| {
        matches!(o, Outcome::Shadowed { subject: Subject::Tenant, winner: Scope::Tenant, hidden: Some(h), .. } if h == "azure")
    });
    assert!(tenant_shadow, "{:#?}", commit.outcomes);
}

#[test]
fn merge_conflict_resolution_actions() {
    // (action, expected tenant provider after, expected override kept in the tenant layer)
    let table = [
        (ConflictAction::TakeUpper, json!("azure"), false),
        (ConflictAction::KeepLower, json!("okta"), true),
        (ConflictAction::SetValue(json!("ping")), json!("ping"), true),
    ];
    for (action, provider, kept) in table {
        let mut w = world(rule("auth", "merge", &["tenant"], true), false);
        let commit = w.platform("auth", "update", json!({"sso": {"provider": "azure"}}));
        let conflict = match commit
            .outcomes
            .iter()
            .find(|o| matches!(o, Outcome::ConflictOpened { .. }))
        {
            Some(Outcome::ConflictOpened { conflict, .. }) => conflict.clone(),
            _ => panic!("a conflict opens: {:#?}", commit.outcomes),
        };
        assert_eq!(conflict.base, Some(json!("google")));
        assert_eq!(conflict.upper, Some(json!("azure")));
        assert_eq!(conflict.lower, json!("okta"));
        let resolved = cascade_engine::conflict::resolve_conflict(
            &w.state.clone(),
            &ns("auth"),
            &conflict.id,
            &action,
            w.ctx(),
            "tenant-admin",
        )
        .expect("resolves");
        w.keep(&resolved);
        assert_eq!(
            w.tenant_eff("auth")["sso"]["provider"],
            provider,
            "{action:?}"
        );
        let ns_state = w.state.namespace(&ns("auth")).expect("loaded");
        assert!(ns_state.conflicts.is_empty(), "{action:?}: closed");
        assert_eq!(
            ns_state
                .tenant
                .layer
                .as_value()
                .pointer("/sso/provider")
                .is_some(),
            kept,
            "{action:?}"
        );
        // After keep/set, the override is rebased: the next platform change to the same leaf
        // conflicts again (it is still a customization), but a change elsewhere does not.
        let next = w.platform("auth", "update", json!({"sso": {"timeout": 5}}));
        assert!(
            !kinds(&next.outcomes).contains(&"conflictOpened".to_string()),
            "{action:?}: {:#?} {:#?}",
            next.outcomes,
            w.state.namespace(&ns("auth")).map(|s| &s.tenant)
        );
        let again = w.platform("auth", "update", json!({"sso": {"provider": "keycloak"}}));
        assert_eq!(
            kinds(&again.outcomes).contains(&"conflictOpened".to_string()),
            kept,
            "{action:?}"
        );
    }
}

#[test]
fn merge_takes_upper_when_the_lower_value_was_no_customization() {
    let mut w = World::new(rules(json!([rule("auth", "merge", &["tenant"], true)])));
    w.platform("auth", "update", json!({"sso": {"provider": "google"}}));
    w.tenant("auth", "update", json!({"sso": {"provider": "google"}}));
    let commit = w.platform("auth", "update", json!({"sso": {"provider": "azure"}}));
    assert_eq!(kinds(&commit.outcomes), ["applied", "merged", "written"]);
    assert_eq!(w.tenant_eff("auth"), json!({"sso": {"provider": "azure"}}));
}

#[test]
fn merge_combines_id_arrays_by_id() {
    let mut w = World::new(rules(json!([rule("rbac", "merge", &["tenant"], true)])));
    w.platform(
        "rbac",
        "template.update",
        json!({"roles": [{"id": "admin", "perms": ["all"]}, {"id": "viewer", "perms": ["read"]}]}),
    );
    w.tenant("rbac", "update", json!({"roles": [{"id": "viewer", "perms": ["read", "export"]}, {"id": "clerk", "perms": ["sell"]}]}));
    let commit = w.platform("rbac", "template.update", json!({"roles": [{"id": "admin", "perms": ["all", "audit"]}, {"id": "viewer", "perms": ["read"]}, {"id": "auditor", "perms": ["audit"]}]}));
    assert_eq!(
        kinds(&commit.outcomes),
        ["applied", "written"],
        "disjoint: no conflict"
    );
    assert_eq!(
        w.tenant_eff("rbac"),
        json!({"roles": [
            {"id": "admin", "perms": ["all", "audit"]},
            {"id": "viewer", "perms": ["read", "export"]},
            {"id": "auditor", "perms": ["audit"]},
            {"id": "clerk", "perms": ["sell"]}
        ]})
    );
}

#[test]
fn locked_paths_refuse_lower_writes_and_override_existing_values() {
    let mut w = world(rule("auth", "user-wins", &["tenant", "user"], true), false);
    let mut locked = rule("auth", "user-wins", &["tenant", "user"], true);
    locked["lockedPaths"] = json!(["/sso/provider"]);
    w.rules = rules(json!([locked]));
    let err = w
        .try_tenant("auth", "update", json!({"sso": {"provider": "evil"}}))
        .expect_err("locked");
    assert_eq!(err.code(), "CASCADE:Rule:LockedPath");
    assert!(err.to_string().contains("/sso/provider"));
    // Unlocked siblings stay writable, and deleting one's own override is allowed.
    assert!(w
        .try_tenant("auth", "update", json!({"sso": {"timeout": 10}}))
        .is_ok());
    // The next platform change to the locked leaf removes the existing overrides despite user-wins.
    let seq = w.state.seq;
    let commit = w.platform("auth", "update", json!({"sso": {"provider": "azure"}}));
    assert_eq!(commit.seq, seq + 1);
    let forced = commit
        .outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Overridden { locked: true, .. }))
        .count();
    assert_eq!(forced, 2, "tenant and u1: {:#?}", commit.outcomes);
    assert_eq!(w.user_eff("auth", "u1")["sso"]["provider"], "azure");
}

#[test]
fn pending_changes_accept_reject_and_keep_order() {
    let mut w = world(
        rule("auth", "platform-wins", &["tenant", "user"], false),
        false,
    );
    let p1 = w.platform("auth", "update", json!({"sso": {"provider": "azure"}}));
    let auto = rules(
        json!([rule("auth", "platform-wins", &["tenant", "user"], false), {
            "id": "timeouts", "triggerEvents": ["auth.timeout.*"], "targetScopes": ["tenant", "user"],
            "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true, "priority": 1
        }]),
    );
    w.rules = auto;
    // An auto-apply change behind a pending one is queued, to keep order.
    let p2 = w.platform("auth", "timeout.update", json!({"sso": {"timeout": 99}}));
    assert!(
        matches!(p2.outcomes[0], Outcome::Pending { queued: true, .. }),
        "{:#?}",
        p2.outcomes
    );
    assert_eq!(
        w.tenant_eff("auth"),
        json!({"sso": {"provider": "okta", "timeout": 30}})
    );
    let first = match &p1.outcomes[0] {
        Outcome::Pending {
            pending_id,
            queued: false,
            ..
        } => pending_id.clone(),
        other => panic!("pending expected, got {other:?}"),
    };
    let second = match &p2.outcomes[0] {
        Outcome::Pending { pending_id, .. } => pending_id.clone(),
        other => panic!("pending expected, got {other:?}"),
    };
    let out_of_order = cascade_engine::pending::accept_pending(
        &w.state.clone(),
        &ns("auth"),
        &second,
        w.ctx(),
        "admin",
    );
    assert_eq!(
        out_of_order.map(|c| c.seq).map_err(|e| e.code()),
        Err("CASCADE:Pending:OutOfOrder")
    );

    // Reject: the first is discarded, the queued one behind it is released.
    let mut rejected = World {
        state: w.state.clone(),
        rules: w.rules.clone(),
        ..World::new(Vec::new())
    };
    let c = cascade_engine::pending::reject_pending(
        &rejected.state.clone(),
        &ns("auth"),
        &first,
        rejected.ctx(),
        "admin",
    )
    .expect("rejects");
    rejected.keep(&c);
    assert_eq!(
        rejected.tenant_eff("auth"),
        json!({"sso": {"provider": "okta", "timeout": 99}})
    );

    // Accept: applied under the rule it was held by (platform-wins), then the queue drains.
    let c = cascade_engine::pending::accept_pending(
        &w.state.clone(),
        &ns("auth"),
        &first,
        w.ctx(),
        "admin",
    )
    .expect("accepts");
    w.keep(&c);
    assert_eq!(
        w.tenant_eff("auth"),
        json!({"sso": {"provider": "azure", "timeout": 99}})
    );
    assert_eq!(
        w.user_eff("auth", "u1"),
        json!({"sso": {"provider": "azure", "timeout": 99}})
    );
    let resolved: Vec<(String, bool)> = c
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::PendingResolved {
                pending_id,
                automatic,
                ..
            } => Some((pending_id.clone(), *automatic)),
            _ => None,
        })
        .collect();
    assert_eq!(resolved, [(first, false), (second, true)]);
    assert!(w
        .state
        .namespace(&ns("auth"))
        .expect("loaded")
        .pending
        .is_empty());
}
