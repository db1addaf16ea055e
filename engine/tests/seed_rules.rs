//! The seed's three rule examples, verbatim, driven by the seed's event shapes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use cascade_engine::outcome::Outcome;
use cascade_engine::scope::{Scope, Subject};
use common::{kinds, ns, rules, World};
use serde_json::{json, Value};

/// The seed's rules exactly as written there (no ids, no extras).
fn seed_rules() -> Value {
    json!([
        {"triggerEvents": ["auth.provider.create", "auth.provider.update", "auth.provider.enable"],
         "targetScopes": ["tenant", "user"], "syncDirection": "down",
         "conflictResolution": "platform-wins", "autoApply": true},
        {"triggerEvents": ["rbac.template.create", "rbac.template.update"],
         "targetScopes": ["tenant"], "syncDirection": "down",
         "conflictResolution": "merge", "autoApply": true},
        {"triggerEvents": ["notifications.config.update", "notifications.provider.add"],
         "targetScopes": ["tenant", "user"], "syncDirection": "down",
         "conflictResolution": "tenant-wins", "autoApply": true}
    ])
}

#[test]
fn auth_sso_platform_wins_reaches_tenant_and_users() {
    let mut w = World::new(rules(seed_rules()));
    w.platform(
        "auth",
        "provider.create",
        json!({"providers": [{"id": "google", "enabled": false, "label": "Google"}]}),
    );
    w.tenant("auth", "update", json!({"providers": [{"id": "google", "enabled": false, "label": "Acme SSO"}], "loginTitle": "Acme"}));
    w.user(
        "u1",
        "auth",
        "update",
        json!({"providers": [{"id": "google", "label": "Work Google"}]}),
    );
    assert_eq!(
        w.user_eff("auth", "u1")["providers"][0]["label"],
        "Work Google"
    );

    // (action, config, overrides removed as (subject, path), tenant/u1 effective afterwards)
    let table = [
        (
            "provider.update",
            json!({"providers": [{"id": "google", "enabled": false, "label": "Google SSO"}]}),
            vec![
                (Subject::Tenant, "/providers/[google]/label"),
                (Subject::User("u1".into()), "/providers/[google]/label"),
            ],
            json!({"providers": [{"id": "google", "enabled": false, "label": "Google SSO"}], "loginTitle": "Acme"}),
        ),
        (
            // The tenant pinned `enabled: false`; enabling it at the platform overrides the pin.
            "provider.enable",
            json!({"providers": [{"id": "google", "enabled": true, "label": "Google SSO"}]}),
            vec![(Subject::Tenant, "/providers/[google]/enabled")],
            json!({"providers": [{"id": "google", "enabled": true, "label": "Google SSO"}], "loginTitle": "Acme"}),
        ),
    ];
    for (action, config, removed, effective) in table {
        let commit = w.platform("auth", action, config);
        assert_eq!(w.tenant_eff("auth"), effective, "{action}");
        assert_eq!(
            w.user_eff("auth", "u1"),
            effective,
            "{action}: the user follows"
        );
        let overridden: Vec<(Subject, String)> = commit
            .outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Overridden { subject, path, .. } => {
                    Some((subject.clone(), path.to_string()))
                }
                _ => None,
            })
            .collect();
        let expected: Vec<(Subject, String)> = removed
            .into_iter()
            .map(|(s, p)| (s, p.to_string()))
            .collect();
        assert_eq!(overridden, expected, "{action}");
    }
    // Re-asserting a value the platform already had touches nothing: no override removed.
    w.tenant(
        "auth",
        "update",
        json!({"providers": [{"id": "google", "label": "Acme again"}]}),
    );
    let commit = w.platform("auth", "provider.update", json!({"providers": [{"id": "google", "enabled": true, "label": "Google SSO"}], "help": "x"}));
    assert!(!kinds(&commit.outcomes).contains(&"overridden".to_string()));
    assert_eq!(w.tenant_eff("auth")["providers"][0]["label"], "Acme again");
    // The tenant's unrelated customization survives platform-wins.
    assert_eq!(w.tenant_eff("auth")["loginTitle"], "Acme");
    // An event no seed rule names is not delivered, and says so.
    let commit = w.platform("auth", "provider.delete", json!({"providers": null}));
    assert_eq!(kinds(&commit.outcomes), ["skipped"]);
}

#[test]
fn rbac_template_merge_to_tenant_with_the_seed_event() {
    let mut w = World::new(rules(seed_rules()));
    // The seed's event: {type: 'rbac', action: 'update', scope: 'platform', config: {permissionTemplate}}.
    w.platform(
        "rbac",
        "update",
        json!({"permissionTemplate": {"roles": [
        {"id": "admin", "permissions": ["*"]},
        {"id": "member", "permissions": ["read"]}
    ], "sessionHours": 8}}),
    );
    w.tenant(
        "rbac",
        "update",
        json!({"permissionTemplate": {"roles": [
        {"id": "member", "permissions": ["read", "comment"]},
        {"id": "cashier", "permissions": ["pos"]}
    ], "sessionHours": 12}}),
    );
    // The platform edits the member role too (same leaf: conflict) and adds a role (disjoint).
    let commit = w.platform(
        "rbac",
        "update",
        json!({"permissionTemplate": {"roles": [
        {"id": "admin", "permissions": ["*"]},
        {"id": "member", "permissions": ["read", "share"]},
        {"id": "auditor", "permissions": ["audit"]}
    ], "sessionHours": 8}}),
    );
    assert_eq!(
        kinds(&commit.outcomes),
        ["applied", "conflictOpened", "written"]
    );
    let conflicts = &w.state.namespace(&ns("rbac")).expect("loaded").conflicts;
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        conflicts[0].path.to_string(),
        "/permissionTemplate/roles/[member]/permissions"
    );
    assert_eq!(
        w.tenant_eff("rbac"),
        json!({"permissionTemplate": {"roles": [
            {"id": "admin", "permissions": ["*"]},
            {"id": "member", "permissions": ["read", "comment"]},
            {"id": "auditor", "permissions": ["audit"]},
            {"id": "cashier", "permissions": ["pos"]}
        ], "sessionHours": 12}})
    );
    // Users are not a target of this rule: a user's own value stays, recorded as shadowed.
    w.user(
        "u1",
        "rbac",
        "update",
        json!({"permissionTemplate": {"sessionHours": 1}}),
    );
    let commit = w.tenant(
        "rbac",
        "update",
        json!({"permissionTemplate": {"sessionHours": 10}}),
    );
    assert!(commit.outcomes.iter().any(|o| matches!(
        o,
        Outcome::Shadowed {
            winner: Scope::User,
            ..
        }
    )));
    assert_eq!(
        w.user_eff("rbac", "u1")["permissionTemplate"]["sessionHours"],
        1
    );
}

#[test]
fn notifications_tenant_wins_with_the_seed_event() {
    let mut w = World::new(rules(seed_rules()));
    w.platform(
        "notifications",
        "provider.add",
        json!({"smsProvider": {"name": "platform-sms"}, "email": {"from": "noreply@saas"}}),
    );
    w.user(
        "u1",
        "notifications",
        "update",
        json!({"smsProvider": {"name": "my-own"}, "digest": "weekly"}),
    );
    // Before the tenant says anything, the user's own value stands.
    assert_eq!(
        w.user_eff("notifications", "u1")["smsProvider"]["name"],
        "my-own"
    );
    // The seed's tenant event: {type: 'notifications', action: 'update', scope: 'tenant', targetId, config: {smsProvider}}.
    let commit = w.tenant(
        "notifications",
        "update",
        json!({"smsProvider": {"name": "twilio"}}),
    );
    assert_eq!(
        w.tenant_eff("notifications")["smsProvider"]["name"],
        "twilio"
    );
    assert_eq!(
        w.user_eff("notifications", "u1"),
        json!({"smsProvider": {"name": "twilio"}, "email": {"from": "noreply@saas"}, "digest": "weekly"}),
        "the tenant's value beats its users'; the user's other preferences stay"
    );
    assert!(commit
        .delta(&ns("notifications"))
        .expect("touched")
        .users
        .contains_key("u1"));
    // A platform change under the tenant's value is shadowed: no tenant patch.
    let commit = w.platform(
        "notifications",
        "config.update",
        json!({"smsProvider": {"name": "platform-sms-2"}, "email": {"from": "hello@saas"}}),
    );
    assert_eq!(
        w.tenant_eff("notifications")["smsProvider"]["name"],
        "twilio"
    );
    assert_eq!(w.tenant_eff("notifications")["email"]["from"], "hello@saas");
    let shadowed = commit.outcomes.iter().any(|o| {
        matches!(
            o,
            Outcome::Shadowed {
                subject: Subject::Tenant,
                winner: Scope::Tenant,
                ..
            }
        )
    });
    assert!(shadowed, "{:#?}", commit.outcomes);
}
