//! End-to-end: the seed's two flows on the real runtime — Platform Admin → Tenant → User and
//! Tenant Admin → User — under the seed's sync rules, with overrides treated per strategy,
//! pending changes, opt-outs, and history in D1.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{eventually, token, Runtime};

/// The seed's three rules, verbatim, plus a modules rule that needs a tenant admin's approval.
fn install_seed_rules(rt: &Runtime) {
    let rules = [
        (
            "auth-sso",
            json!({"triggerEvents": ["auth.provider.create", "auth.provider.update", "auth.provider.enable"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true}),
        ),
        (
            "rbac-templates",
            json!({"triggerEvents": ["rbac.template.create", "rbac.template.update"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "merge", "autoApply": true}),
        ),
        (
            "notifications",
            json!({"triggerEvents": ["notifications.config.update", "notifications.provider.add"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "tenant-wins", "autoApply": true}),
        ),
        (
            "modules-approval",
            json!({"triggerEvents": ["modules.*"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": false}),
        ),
    ];
    for (id, rule) in rules {
        let reply = rt.put_json(&format!("/v1/rules/{id}"), &rule);
        assert_eq!(reply.status, 201, "{reply:?}");
    }
}

fn effective(rt: &Runtime, tenant: &str, ns: &str) -> Value {
    rt.get(&format!("/v1/tenants/{tenant}/effective/{ns}")).body["config"].clone()
}

fn user_effective(rt: &Runtime, tenant: &str, user: &str, ns: &str) -> Value {
    rt.get(&format!("/v1/tenants/{tenant}/users/{user}/effective/{ns}"))
        .body["config"]
        .clone()
}

/// Waits until every tenant has applied platform update `seq` (the fan-out is asynchronous).
fn wait_for_platform(rt: &Runtime, tenants: &[&str], ns: &str, check: impl Fn(&Value) -> bool) {
    for tenant in tenants {
        eventually(Duration::from_secs(20), || {
            check(&effective(rt, tenant, ns)).then_some(())
        });
    }
}

fn history(rt: &Runtime, tenant: &str, count: usize) -> Vec<Value> {
    eventually(Duration::from_secs(15), || {
        let h = rt.get(&format!("/v1/tenants/{tenant}/history"));
        let entries = h.body["entries"].as_array().cloned().unwrap_or_default();
        (entries.len() >= count).then_some(entries)
    })
}

#[test]
fn platform_auth_change_reaches_every_tenant_and_platform_wins_over_overrides() {
    let rt = Runtime::start();
    install_seed_rules(&rt);
    rt.create_tenant("acme");
    rt.create_tenant("globex");
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "google", "timeout": 30}}),
    );
    wait_for_platform(&rt, &["acme", "globex"], "auth", |c| {
        c["sso"]["provider"] == "google"
    });

    // acme overrides the provider; its user ulla overrides the timeout.
    rt.put_json(
        "/v1/tenants/acme/config/auth",
        &json!({"sso": {"provider": "okta"}}),
    );
    rt.put_json(
        "/v1/tenants/acme/users/ulla/config/auth",
        &json!({"sso": {"timeout": 5}}),
    );
    assert_eq!(
        effective(&rt, "acme", "auth"),
        json!({"sso": {"provider": "okta", "timeout": 30}})
    );
    assert_eq!(
        user_effective(&rt, "acme", "ulla", "auth"),
        json!({"sso": {"provider": "okta", "timeout": 5}})
    );

    let ulla = token("user", Some("acme"), "ulla");
    let mut admin_socket = rt.websocket("/v1/connect?tenant=acme");
    let mut ulla_socket = rt.websocket_as(&ulla, "/v1/connect");
    admin_socket.greeting();
    ulla_socket.greeting();

    // The platform moves to azure with a longer timeout: platform-wins removes both overrides.
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "azure", "timeout": 60}}),
    );
    wait_for_platform(&rt, &["acme", "globex"], "auth", |c| {
        c["sso"]["provider"] == "azure"
    });
    assert_eq!(
        effective(&rt, "acme", "auth"),
        json!({"sso": {"provider": "azure", "timeout": 60}})
    );
    assert_eq!(
        user_effective(&rt, "acme", "ulla", "auth"),
        json!({"sso": {"provider": "azure", "timeout": 60}})
    );
    assert_eq!(
        rt.get("/v1/tenants/acme/config/auth").body["config"],
        json!({})
    );

    // Each socket got its own effective change as a patch, marked as a platform change.
    let frame = admin_socket.next_json();
    assert_eq!(
        (frame["type"].as_str(), frame["scope"].as_str()),
        (Some("auth-changed"), Some("platform"))
    );
    let frame = ulla_socket.next_json();
    assert_eq!(frame["type"], "auth-changed");
    let mut doc = json!({"sso": {"provider": "okta", "timeout": 5}});
    json_patch::patch(
        &mut doc,
        &serde_json::from_value::<json_patch::Patch>(frame["patch"].clone()).unwrap(),
    )
    .unwrap();
    assert_eq!(doc, json!({"sso": {"provider": "azure", "timeout": 60}}));

    // History in D1: one row per event; the override removal is recorded.
    let entries = history(&rt, "acme", 4);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert_eq!(entries[0]["scope"], "platform");
    assert_eq!(entries[0]["outcome"], "overridden");
}

#[test]
fn rbac_template_merge_keeps_customizations_and_opens_a_conflict_on_the_same_leaf() {
    let rt = Runtime::start();
    install_seed_rules(&rt);
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/platform/config/rbac",
        &json!({"templates": {"editor": {"read": true, "write": false}}}),
    );
    wait_for_platform(&rt, &["acme"], "rbac", |c| {
        c["templates"]["editor"]["read"] == true
    });
    rt.put_json(
        "/v1/tenants/acme/config/rbac",
        &json!({"templates": {"editor": {"write": true}}}),
    );

    // The platform edits the same leaf (write) and adds another (delete).
    rt.put_json(
        "/v1/platform/config/rbac",
        &json!({"templates": {"editor": {"read": true, "write": "own-only", "delete": false}}}),
    );
    wait_for_platform(&rt, &["acme"], "rbac", |c| {
        c["templates"]["editor"].get("delete").is_some()
    });
    assert_eq!(
        effective(&rt, "acme", "rbac"),
        json!({"templates": {"editor": {"read": true, "write": true, "delete": false}}})
    );
    let entries = history(&rt, "acme", 3);
    assert_eq!(entries[0]["outcome"], "conflict", "{entries:?}");

    // The health check reports the tenant as partial (an open conflict).
    rt.get("/__scheduled?cron=*/5+*+*+*+*");
    let status = eventually(Duration::from_secs(10), || {
        let s = rt.get("/v1/status");
        (s.status == 200).then_some(s)
    });
    let acme = &status.body["tenants"][0];
    assert_eq!(acme["state"], "partial", "{acme}");
    assert_eq!(acme["hub"]["openConflicts"], 1);

    // Manual resolution: take the platform's value.
    let conflicts = rt.get("/v1/tenants/acme/conflicts").body;
    assert_eq!(conflicts.as_array().map(Vec::len), Some(1), "{conflicts}");
    assert_eq!(
        (&conflicts[0]["upper"], &conflicts[0]["lower"]),
        (&json!("own-only"), &json!(true))
    );
    let id = conflicts[0]["id"].as_str().unwrap();
    let path = format!("/v1/tenants/acme/conflicts/rbac/{id}/resolve");
    let resolved = rt.request("POST", &path, Some(r#"{"action": "takeUpper"}"#));
    assert_eq!(resolved.status, 200, "{resolved:?}");
    assert_eq!(
        effective(&rt, "acme", "rbac")["templates"]["editor"]["write"],
        "own-only"
    );
    assert_eq!(rt.get("/v1/tenants/acme/conflicts").body, json!([]));
}

#[test]
fn notifications_tenant_wins_over_platform_and_users() {
    let rt = Runtime::start();
    install_seed_rules(&rt);
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/platform/config/notifications",
        &json!({"email": {"enabled": true, "from": "noreply@platform"}}),
    );
    wait_for_platform(&rt, &["acme"], "notifications", |c| {
        c["email"]["from"] == "noreply@platform"
    });
    rt.put_json(
        "/v1/tenants/acme/config/notifications",
        &json!({"email": {"from": "hello@acme"}}),
    );
    rt.put_json(
        "/v1/tenants/acme/users/ulla/config/notifications",
        &json!({"email": {"enabled": false, "from": "ulla@home"}}),
    );

    rt.put_json(
        "/v1/platform/config/notifications",
        &json!({"email": {"enabled": true, "from": "news@platform"}}),
    );
    eventually(Duration::from_secs(20), || {
        let entries = rt.get("/v1/tenants/acme/history").body["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        entries
            .iter()
            .any(|e| e["outcome"] == "shadowed")
            .then_some(())
    });
    // The tenant's value beats the platform's and the user's; the user keeps what the tenant
    // does not set.
    assert_eq!(
        effective(&rt, "acme", "notifications"),
        json!({"email": {"enabled": true, "from": "hello@acme"}})
    );
    assert_eq!(
        user_effective(&rt, "acme", "ulla", "notifications"),
        json!({"email": {"enabled": false, "from": "hello@acme"}})
    );
}

#[test]
fn changes_needing_approval_are_pending_and_opted_out_tenants_are_untouched() {
    let rt = Runtime::start();
    install_seed_rules(&rt);
    rt.create_tenant("acme");
    let optout = rt.put_json(
        "/v1/tenants/globex",
        &json!({"name": "Globex", "optOuts": ["modules"]}),
    );
    assert_eq!(optout.status, 201);

    rt.put_json(
        "/v1/platform/config/modules",
        &json!({"billing": {"enabled": true}}),
    );
    eventually(Duration::from_secs(20), || {
        let entries = rt.get("/v1/tenants/globex/history").body["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (entries.len() == 1).then_some(())
    });
    let globex = rt.get("/v1/tenants/globex/history").body["entries"][0].clone();
    assert_eq!(globex["outcome"], "skipped");
    assert_eq!(effective(&rt, "globex", "modules"), json!({}));

    let acme = history(&rt, "acme", 1);
    assert_eq!(acme[0]["outcome"], "pending");
    assert_eq!(
        effective(&rt, "acme", "modules"),
        json!({}),
        "not applied until accepted"
    );

    // The tenant admin sees it and accepts it: then it applies.
    let admin = token("tenant-admin", Some("acme"), "ann");
    let pending = rt.request_as(&admin, "GET", "/v1/tenants/acme/pending", None);
    let items = pending.body.as_array().unwrap();
    assert_eq!(items.len(), 1, "{pending:?}");
    assert_eq!(items[0]["namespace"], "modules");
    let id = items[0]["id"].as_str().unwrap();
    let bogus = rt.request_as(
        &admin,
        "POST",
        "/v1/tenants/acme/pending/modules/999.9/accept",
        None,
    );
    bogus.assert_problem(404, "CASCADE:Pending:NotFound");
    let accepted = rt.request_as(
        &admin,
        "POST",
        &format!("/v1/tenants/acme/pending/modules/{id}/accept"),
        None,
    );
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(
        effective(&rt, "acme", "modules"),
        json!({"billing": {"enabled": true}})
    );
    assert_eq!(
        rt.request_as(&admin, "GET", "/v1/tenants/acme/pending", None)
            .body,
        json!([])
    );

    // A second platform change, rejected: it never applies.
    rt.put_json(
        "/v1/platform/config/modules",
        &json!({"billing": {"enabled": false}}),
    );
    let id = eventually(Duration::from_secs(20), || {
        let items = rt
            .request_as(&admin, "GET", "/v1/tenants/acme/pending", None)
            .body;
        items[0]["id"].as_str().map(str::to_owned)
    });
    let rejected = rt.request_as(
        &admin,
        "POST",
        &format!("/v1/tenants/acme/pending/modules/{id}/reject"),
        None,
    );
    assert_eq!(rejected.status, 200, "{rejected:?}");
    assert_eq!(
        effective(&rt, "acme", "modules"),
        json!({"billing": {"enabled": true}})
    );
}

#[test]
fn rollback_restores_an_earlier_effective_config_as_a_new_change() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let v1 = rt.put_json(
        "/v1/tenants/acme/config/business",
        &json!({"hours": "9-17", "currency": "EUR"}),
    );
    let version = v1.body["version"].as_u64().unwrap();
    rt.put_json(
        "/v1/tenants/acme/config/business",
        &json!({"hours": "24/7"}),
    );
    assert_eq!(effective(&rt, "acme", "business"), json!({"hours": "24/7"}));

    let body = json!({"version": version}).to_string();
    let back = rt.request("POST", "/v1/tenants/acme/rollback/business", Some(&body));
    assert_eq!(back.status, 200, "{back:?}");
    assert!(
        back.body["seq"].as_u64().unwrap() > version,
        "a rollback is a new, forward change"
    );
    assert_eq!(
        effective(&rt, "acme", "business"),
        json!({"hours": "9-17", "currency": "EUR"})
    );
    let future = rt.request(
        "POST",
        "/v1/tenants/acme/rollback/business",
        Some(r#"{"version": 999}"#),
    );
    assert_eq!(future.status, 422, "{future:?}");
    let entries = history(&rt, "acme", 3);
    assert_eq!(entries[0]["action"], "rollback");
}

#[test]
fn tenant_admin_changes_reach_users_and_users_change_only_their_own_layer() {
    let rt = Runtime::start();
    install_seed_rules(&rt);
    rt.create_tenant("acme");
    let admin = token("tenant-admin", Some("acme"), "ann");
    let ulla = token("user", Some("acme"), "ulla");
    let mut ulla_socket = rt.websocket_as(&ulla, "/v1/connect");
    ulla_socket.greeting();

    let put = rt.request_as(
        &admin,
        "PUT",
        "/v1/tenants/acme/config/mfa",
        Some(r#"{"required": true, "methods": ["totp"]}"#),
    );
    assert_eq!(put.status, 200, "{put:?}");
    let frame = ulla_socket.next_json();
    assert_eq!(frame["scope"], "tenant");
    assert_eq!(frame["triggeredBy"], "ann");

    // The user's own MFA settings: personal layer only.
    let own = rt.request_as(
        &ulla,
        "PUT",
        "/v1/tenants/acme/users/ulla/config/mfa",
        Some(r#"{"methods": ["webauthn"]}"#),
    );
    assert_eq!(own.status, 200, "{own:?}");
    let mut doc = json!({"required": true, "methods": ["totp"]});
    let patch = ulla_socket.next_json()["patch"].clone();
    json_patch::patch(
        &mut doc,
        &serde_json::from_value::<json_patch::Patch>(patch).unwrap(),
    )
    .unwrap();
    assert_eq!(doc, json!({"required": true, "methods": ["webauthn"]}));
    assert_eq!(
        user_effective(&rt, "acme", "ulla", "mfa"),
        json!({"required": true, "methods": ["webauthn"]})
    );
    assert_eq!(
        effective(&rt, "acme", "mfa"),
        json!({"required": true, "methods": ["totp"]})
    );
    // Another user's layer is out of reach.
    let other = rt.request_as(
        &ulla,
        "PUT",
        "/v1/tenants/acme/users/bob/config/mfa",
        Some("{}"),
    );
    other.assert_problem(403, "CASCADE:Auth:Forbidden");

    // The seed's generic triggerConfigChange, as a batch applied atomically with one seq.
    let batch = json!([
        {"type": "notifications", "action": "config.update", "scope": "tenant", "targetId": "acme", "config": {"sms": {"provider": "twilio"}}, "triggeredBy": "forged"},
        {"type": "mfa", "action": "update", "scope": "tenant", "targetId": "acme", "config": {"required": false}, "triggeredBy": "forged"}
    ]);
    let posted = rt.request_as(&admin, "POST", "/v1/events", Some(&batch.to_string()));
    assert_eq!(posted.status, 200, "{posted:?}");
    let seq = posted.body["seq"].as_u64().unwrap();
    let entries = history(&rt, "acme", 3);
    assert_eq!(entries[0]["seq"], seq);
    assert_eq!(entries[0]["triggeredBy"], "ann", "the caller, not the body");
    assert_eq!(effective(&rt, "acme", "mfa")["required"], false);

    // A batch that touches a locked path changes nothing at all.
    rt.put_json("/v1/rules/mfa-lock", &json!({"triggerEvents": ["mfa.*"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true, "lockedPaths": ["/required"]}));
    let refused = rt.request_as(&admin, "POST", "/v1/events", Some(&json!([
        {"type": "notifications", "action": "config.update", "scope": "tenant", "targetId": "acme", "config": {"sms": {"provider": "vonage"}}, "triggeredBy": "ann"},
        {"type": "mfa", "action": "update", "scope": "tenant", "targetId": "acme", "config": {"required": true}, "triggeredBy": "ann"}
    ]).to_string()));
    refused.assert_problem(409, "CASCADE:Rule:LockedPath");
    assert_eq!(
        effective(&rt, "acme", "notifications")["sms"]["provider"],
        "twilio"
    );
}

#[test]
fn the_health_check_heals_a_tenant_that_missed_a_platform_change() {
    let state = support::State::fresh();
    let rt = Runtime::start_on(state.clone());
    install_seed_rules(&rt);
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "okta"}}),
    );
    wait_for_platform(&rt, &["acme"], "auth", |c| c["sso"]["provider"] == "okta");
    // "late" is registered behind the API's back (straight in D1), so nobody delivers the
    // platform change to it: its hub lags.
    // (It is not read before the check: a read would start its catch-up, see the next test.)
    state.execute_sql(
        "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) VALUES ('late', 'Late', '{}', '[]', 0, 0);",
    );

    assert_eq!(rt.get("/__scheduled?cron=*/5+*+*+*+*").status, 200);
    let status = eventually(Duration::from_secs(10), || {
        let s = rt.get("/v1/status");
        (s.status == 200).then_some(s)
    });
    let late = status.body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "late")
        .unwrap()
        .clone();
    assert_eq!(late["state"], "pending", "{late}");
    assert_eq!(late["resynced"], 1, "{late}");
    assert_eq!(
        effective(&rt, "late", "auth"),
        json!({"sso": {"provider": "okta"}})
    );
    let entries = history(&rt, "late", 1);
    assert_eq!(entries[0]["scope"], "platform");
}

#[test]
fn a_lagging_tenant_says_so_when_read_and_catches_up_when_read_or_written() {
    let state = support::State::fresh();
    let rt = Runtime::start_on(state.clone());
    install_seed_rules(&rt);
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "okta"}}),
    );
    wait_for_platform(&rt, &["acme"], "auth", |c| c["sso"]["provider"] == "okta");
    // Registered behind the API's back: no delivery reaches them, so they lag.
    state.execute_sql(
        "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) VALUES \
         ('late', 'Late', '{}', '[]', 0, 0), ('later', 'Later', '{}', '[]', 0, 0);",
    );

    // A read answers what the tenant has, says how far behind it is, and starts its
    // catch-up: a later read has the platform's change, with no health check in between.
    let first = eventually(Duration::from_secs(10), || {
        let r = rt.get("/v1/tenants/late/effective/auth");
        r.body.get("platformBehind").is_some().then_some(r)
    });
    assert_eq!(first.body["config"], json!({}), "{first:?}");
    assert_eq!(first.body["platformBehind"], 1, "{first:?}");
    assert_eq!(first.body["platformSeq"], 0, "{first:?}");
    eventually(Duration::from_secs(20), || {
        let r = rt.get("/v1/tenants/late/effective/auth");
        (r.body["config"]["sso"]["provider"] == "okta" && r.body.get("platformBehind").is_none())
            .then_some(())
    });

    // A write catches the tenant up before it applies: the platform's change comes first.
    let written = rt.put_json(
        "/v1/tenants/later/config/auth",
        &json!({"sso": {"timeout": 5}}),
    );
    assert_eq!(written.status, 200, "{written:?}");
    assert_eq!(
        written.body["seq"], 2,
        "the catch-up took seq 1: {written:?}"
    );
    assert_eq!(
        effective(&rt, "later", "auth"),
        json!({"sso": {"provider": "okta", "timeout": 5}})
    );
}

#[test]
fn a_change_inside_an_array_a_users_object_replaces_is_not_sent_to_that_user() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let rule = rt.put_json(
        "/v1/rules/layout",
        &json!({"triggerEvents": ["layout.*"], "targetScopes": ["tenant", "user"],
                "syncDirection": "down", "conflictResolution": "user-wins", "autoApply": true}),
    );
    assert_eq!(rule.status, 201, "{rule:?}");
    // The tenant's panels: the platform's and its own, merged by id.
    let platform = "/v1/platform/config/layout";
    assert_eq!(
        rt.put_json(platform, &json!({"panels": [{"id": "x", "w": 1}]}))
            .status,
        200
    );
    wait_for_platform(&rt, &["acme"], "layout", |c| c["panels"][0]["id"] == "x");
    let tenant_layout = "/v1/tenants/acme/config/layout";
    let put = rt.put_json(tenant_layout, &json!({"panels": [{"id": "y", "w": 2}]}));
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(
        effective(&rt, "acme", "layout"),
        json!({"panels": [{"id": "x", "w": 1}, {"id": "y", "w": 2}]})
    );
    // Ulla's object replaces the tenant's array of panels.
    let ulla = token("user", Some("acme"), "ulla");
    let own = rt.request_as(
        &ulla,
        "PUT",
        "/v1/tenants/acme/users/ulla/config/layout",
        Some(r#"{"panels": {"mode": "auto"}}"#),
    );
    assert_eq!(own.status, 200, "{own:?}");
    let mut doc = user_effective(&rt, "acme", "ulla", "layout");
    assert_eq!(doc, json!({"panels": {"mode": "auto"}}));
    let mut socket = rt.websocket_as(&ulla, "/v1/connect");
    socket.greeting();

    // The platform's panels become an object: the event sets /panels/a, beside ulla's
    // /panels/mode, but the tenant's patch removes element x inside its array (/panels/0).
    assert_eq!(
        rt.put_json(platform, &json!({"panels": {"a": 0}})).status,
        200
    );
    wait_for_platform(&rt, &["acme"], "layout", |c| {
        c["panels"] == json!([{"id": "y", "w": 2}])
    });
    let beside = rt.put_json(
        tenant_layout,
        &json!({"panels": [{"id": "y", "w": 2}], "title": "Home"}),
    );
    assert_eq!(beside.status, 200, "{beside:?}");
    let last = beside.body["version"].as_u64().unwrap();
    loop {
        let frame = socket.next_json();
        let Some(patch) = frame.get("patch") else {
            continue;
        };
        let patch: json_patch::Patch = serde_json::from_value(patch.clone()).unwrap();
        json_patch::patch(&mut doc, &patch)
            .unwrap_or_else(|e| panic!("ulla's frame {frame} does not apply to {doc}: {e}"));
        if frame["seq"].as_u64() == Some(last) {
            break;
        }
    }
    assert_eq!(doc, json!({"panels": {"mode": "auto"}, "title": "Home"}));
    assert_eq!(doc, user_effective(&rt, "acme", "ulla", "layout"));
}
