//! End-to-end: the audit trail on the real local runtime — refused writes are recorded with
//! who, role and request id; accepted entries carry their RFC 6902 patch and what it replaced;
//! a layer reads back at an old version; a batch is found under each namespace it touched;
//! a no-op merge patch and a rejected pending change keep the version and the ETag.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{eventually, token, Runtime, State};

const CONFIG: &str = "/v1/tenants/acme/config/notifications";

/// The tenant's history entries once there are at least `count` (the outbox flush is async).
fn history(rt: &Runtime, query: &str, count: usize) -> Vec<Value> {
    eventually(Duration::from_secs(15), || {
        let h = rt.get(&format!("/v1/tenants/acme/history{query}"));
        let entries = h.body["entries"].as_array().cloned().unwrap_or_default();
        (entries.len() >= count).then_some(entries)
    })
}

fn merge_patch(rt: &Runtime, path: &str, body: &Value) -> support::Reply {
    let auth = format!("Bearer {}", rt.admin_token);
    rt.request_with(
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/merge-patch+json"),
        ],
        "PATCH",
        path,
        Some(&body.to_string()),
    )
}

#[test]
fn a_noop_merge_patch_takes_no_seq_and_keeps_the_etag() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let first = rt.put_json(CONFIG, &json!({"email": true}));
    assert_eq!(
        (first.body["seq"].as_u64(), first.header("etag")),
        (Some(1), Some("\"v1\""))
    );

    let noop = merge_patch(&rt, CONFIG, &json!({"absent": null}));
    assert_eq!(noop.status, 200, "{noop:?}");
    assert_eq!(noop.body["seq"], 1, "{noop:?}");
    assert_eq!(noop.body["version"], 1, "{noop:?}");
    assert_eq!(noop.body["changed"], false, "{noop:?}");
    assert_eq!(noop.header("etag"), Some("\"v1\""));
    assert_eq!(rt.get(CONFIG).header("etag"), Some("\"v1\""));

    // The next real change is seq 2: nothing was taken in between.
    assert_eq!(rt.put_json(CONFIG, &json!({"email": false})).body["seq"], 2);
    let entries = history(&rt, "", 2);
    assert_eq!(entries.len(), 2, "{entries:?}");
}

#[test]
fn rejecting_a_pending_change_keeps_the_version_and_the_etag() {
    let rt = Runtime::start();
    let rule = json!({"triggerEvents": ["modules.*"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": false});
    assert_eq!(rt.put_json("/v1/rules/modules-approval", &rule).status, 201);
    rt.create_tenant("acme");
    let layer = "/v1/tenants/acme/config/modules";
    rt.put_json(layer, &json!({"billing": {"enabled": false}}));
    rt.put_json(
        "/v1/platform/config/modules",
        &json!({"billing": {"enabled": true}}),
    );
    let admin = token("tenant-admin", Some("acme"), "ann");
    let id = eventually(Duration::from_secs(20), || {
        let items = rt
            .request_as(&admin, "GET", "/v1/tenants/acme/pending", None)
            .body;
        items[0]["id"].as_str().map(str::to_owned)
    });
    let before = rt.get(layer);
    let etag = before.header("etag").unwrap().to_owned();

    let rejected = rt.request_as(
        &admin,
        "POST",
        &format!("/v1/tenants/acme/pending/modules/{id}/reject"),
        None,
    );
    assert_eq!(rejected.status, 200, "{rejected:?}");
    assert_eq!(rejected.header("etag"), Some(etag.as_str()), "{rejected:?}");
    let after = rt.get(layer);
    assert_eq!(after.header("etag"), Some(etag.as_str()));
    assert_eq!(after.body["config"], before.body["config"]);
    // The decision itself is audited.
    let entries = history(&rt, "?namespace=modules", 3);
    assert_eq!(entries[0]["action"], "pending.reject", "{entries:?}");
    assert_eq!(entries[0]["triggeredBy"], "ann");
    assert_eq!(entries[0]["role"], "tenant-admin");
}

#[test]
fn a_batch_is_found_under_each_namespace_it_touched() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let admin = token("tenant-admin", Some("acme"), "ann");
    let batch = json!([
        {"type": "notifications", "action": "update", "scope": "tenant", "targetId": "acme", "config": {"sms": true}, "triggeredBy": "ann"},
        {"type": "mfa", "action": "update", "scope": "tenant", "targetId": "acme", "config": {"required": true}, "triggeredBy": "ann"},
        {"type": "auth", "action": "update", "scope": "tenant", "targetId": "acme", "config": {"sso": "okta"}, "triggeredBy": "ann"}
    ]);
    let posted = rt.request_as(&admin, "POST", "/v1/events", Some(&batch.to_string()));
    assert_eq!(posted.status, 200, "{posted:?}");
    let seq = posted.body["seq"].clone();
    history(&rt, "", 1);
    for ns in ["notifications", "mfa", "auth"] {
        let found = history(&rt, &format!("?namespace={ns}"), 1);
        assert_eq!(found.len(), 1, "{ns}: {found:?}");
        assert_eq!(found[0]["seq"], seq, "{ns}");
        assert_eq!(
            found[0]["namespaces"],
            json!(["auth", "mfa", "notifications"]),
            "{ns}"
        );
    }
    assert_eq!(history(&rt, "?namespace=rbac", 0), Vec::<Value>::new());
}

#[test]
fn entries_carry_their_patch_and_a_layer_reads_back_at_an_old_version() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let request_id = "audit-test-request-1";
    let auth = format!("Bearer {}", rt.admin_token);
    let v1 = rt.request_with(
        &[
            ("authorization", auth.as_str()),
            ("cascade-request-id", request_id),
        ],
        "PUT",
        CONFIG,
        Some(&json!({"email": true, "sms": "twilio"}).to_string()),
    );
    assert_eq!(v1.status, 200, "{v1:?}");
    assert_eq!(v1.header("cascade-request-id"), Some(request_id));
    merge_patch(&rt, CONFIG, &json!({"sms": "vonage"}));
    rt.put_json(CONFIG, &json!({"push": true}));

    let entries = history(&rt, "", 3);
    let newest = &entries[0];
    assert_eq!(newest["seq"], 3);
    assert_eq!(newest["role"], "platform-admin");
    assert!(
        newest["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{newest}"
    );
    let change = &newest["changes"][0];
    assert_eq!(change["namespace"], "notifications", "{newest}");
    assert_eq!(change["layer"], json!({"scope": "tenant"}), "{newest}");
    // The forward patch turns the version before into this one; `replaced` turns it back.
    let mut doc = json!({"email": true, "sms": "vonage"});
    let patch: json_patch::Patch = serde_json::from_value(change["patch"].clone()).unwrap();
    json_patch::patch(&mut doc, &patch).unwrap();
    assert_eq!(doc, json!({"push": true}));
    let replaced: json_patch::Patch = serde_json::from_value(change["replaced"].clone()).unwrap();
    json_patch::patch(&mut doc, &replaced).unwrap();
    assert_eq!(doc, json!({"email": true, "sms": "vonage"}));
    assert_eq!(entries[2]["requestId"], request_id);

    // Any retained version reads back, with its ETag.
    let at1 = rt.get(&format!("{CONFIG}?version=1"));
    assert_eq!(at1.status, 200, "{at1:?}");
    assert_eq!(at1.body["config"], json!({"email": true, "sms": "twilio"}));
    assert_eq!(at1.header("etag"), Some("\"v1\""));
    let at2 = rt.get(&format!("{CONFIG}?version=2"));
    assert_eq!(at2.body["config"], json!({"email": true, "sms": "vonage"}));
    assert_eq!(
        rt.get(&format!("{CONFIG}?version=3")).body["config"],
        json!({"push": true})
    );
    assert_eq!(
        rt.get(&format!("{CONFIG}?version=0")).body["config"],
        json!({})
    );
    rt.get(&format!("{CONFIG}?version=9"))
        .assert_problem(404, "CASCADE:Config:VersionNotFound");
    rt.get(&format!("{CONFIG}?version=x"))
        .assert_problem(400, "CASCADE:Request:BadQuery");
    let user = "/v1/tenants/acme/users/ulla/config/notifications";
    rt.put_json(user, &json!({"sms": "none"}));
    assert_eq!(
        rt.get(&format!("{user}?version=3")).body["config"],
        json!({})
    );
    assert_eq!(
        rt.get(&format!("{user}?version=4")).body["config"],
        json!({"sms": "none"})
    );
}

#[test]
fn effective_configs_and_the_platform_layer_read_back_at_an_old_version() {
    let rt = Runtime::start();
    let rule = rt.put_json(
        "/v1/rules/notify-down",
        &json!({"triggerEvents": ["notifications.*"], "targetScopes": ["tenant", "user"],
                "syncDirection": "down", "conflictResolution": "merge", "autoApply": true}),
    );
    assert!(rule.status == 200 || rule.status == 201, "{rule:?}");
    rt.create_tenant("acme");
    let platform = "/v1/platform/config/notifications";
    // Platform seq 1 and 2; each reaches acme as a tenant version.
    assert_eq!(rt.put_json(platform, &json!({"email": true})).status, 200);
    let platform_2 = rt.put_json(platform, &json!({"email": false, "digest": "daily"}));
    assert_eq!(platform_2.status, 200, "{platform_2:?}");
    assert_eq!(
        rt.get(&format!("{platform}?version=1")).body["config"],
        json!({"email": true})
    );
    let at0 = rt.get(&format!("{platform}?version=0"));
    assert_eq!(
        (at0.status, &at0.body["config"]),
        (200, &json!({})),
        "{at0:?}"
    );
    assert_eq!(at0.header("etag"), Some("\"v0\""));
    rt.get(&format!("{platform}?version=7"))
        .assert_problem(404, "CASCADE:Config:VersionNotFound");

    let effective = "/v1/tenants/acme/effective/notifications";
    let reached = eventually(Duration::from_secs(20), || {
        let doc = rt.get(effective);
        (doc.body["config"]["digest"] == "daily").then_some(doc)
    });
    let platform_version = reached.body["version"].as_u64().unwrap();
    let tenant_write = rt.put_json(CONFIG, &json!({"sms": "twilio"}));
    assert_eq!(tenant_write.status, 200, "{tenant_write:?}");
    let written = tenant_write.body["version"].as_u64().unwrap();
    let user = "/v1/tenants/acme/users/ulla/config/notifications";
    assert_eq!(rt.put_json(user, &json!({"email": true})).status, 200);

    // The tenant's effective config at each version: the platform's copy and the tenant layer
    // as they were then.
    let then = rt.get(&format!("{effective}?version={platform_version}"));
    assert_eq!(then.status, 200, "{then:?}");
    assert_eq!(
        then.body["config"],
        json!({"email": false, "digest": "daily"})
    );
    assert_eq!(
        rt.get(&format!("{effective}?version={written}")).body["config"],
        json!({"email": false, "digest": "daily", "sms": "twilio"})
    );
    // A user's effective config before and after their own write.
    let user_effective = "/v1/tenants/acme/users/ulla/effective/notifications";
    assert_eq!(
        rt.get(&format!("{user_effective}?version={written}")).body["config"],
        json!({"email": false, "digest": "daily", "sms": "twilio"})
    );
    assert_eq!(
        rt.get(user_effective).body["config"],
        json!({"email": true, "digest": "daily", "sms": "twilio"})
    );
    rt.get(&format!("{effective}?version=999"))
        .assert_problem(404, "CASCADE:Config:VersionNotFound");

    // Another user changes their layer twice: reading the tenant's or ulla's past replays
    // neither of ulf's changes (the hub loads only the layers the read resolves).
    let ulf = "/v1/tenants/acme/users/ulf/config/notifications";
    assert_eq!(rt.put_json(ulf, &json!({"digest": "weekly"})).status, 200);
    assert_eq!(rt.put_json(ulf, &json!({"digest": "never"})).status, 200);
    let tenant_then = rt.get(&format!("{effective}?version={written}"));
    assert_eq!(
        (tenant_then.status, &tenant_then.body["config"]),
        (
            200,
            &json!({"email": false, "digest": "daily", "sms": "twilio"})
        ),
        "{tenant_then:?}"
    );
    assert_eq!(
        rt.get(&format!("{user_effective}?version={written}")).body["config"],
        json!({"email": false, "digest": "daily", "sms": "twilio"})
    );
    let ulf_effective = "/v1/tenants/acme/users/ulf/effective/notifications";
    let ulf_first = rt.get(&format!("{ulf_effective}?version={}", written + 2));
    assert_eq!(
        (ulf_first.status, &ulf_first.body["config"]),
        (
            200,
            &json!({"email": false, "digest": "weekly", "sms": "twilio"})
        ),
        "{ulf_first:?}"
    );
}

#[test]
fn refused_writes_are_audited_with_who_role_and_request_id() {
    let rt = Runtime::start_with(
        State::fresh(),
        &[("WRITE_RATE_PER_SEC", "0.2"), ("WRITE_BURST", "3")],
    );
    rt.create_tenant("acme");
    rt.create_tenant("globex");
    // 403: a tenant admin of another tenant, on an existing tenant.
    let eve = token("tenant-admin", Some("globex"), "eve");
    let forbidden = rt.request_with(
        &[
            ("authorization", &format!("Bearer {eve}")),
            ("x-request-id", "eve-1"),
        ],
        "PUT",
        CONFIG,
        Some("{\"email\": true}"),
    );
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
    assert_eq!(forbidden.header("cascade-request-id"), Some("eve-1"));
    // 409: a locked path.
    let lock = json!({"triggerEvents": ["notifications.*"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true, "lockedPaths": ["/locked"]});
    assert_eq!(rt.put_json("/v1/rules/lock", &lock).status, 201);
    let ann = token("tenant-admin", Some("acme"), "ann");
    let locked = rt.request_as(&ann, "PUT", CONFIG, Some("{\"locked\": 1}"));
    locked.assert_problem(409, "CASCADE:Rule:LockedPath");
    let locked_id = locked.header("cascade-request-id").unwrap().to_owned();
    // 429: over the write budget.
    let limited = eventually(Duration::from_secs(5), || {
        let r = rt.request_as(
            &ann,
            "PUT",
            "/v1/tenants/acme/config/mfa",
            Some("{\"n\": 1}"),
        );
        (r.status == 429).then_some(r)
    });
    limited.assert_problem(429, "CASCADE:RateLimit:Writes");

    let refusals = rt.get("/v1/tenants/acme/refusals").body["entries"].clone();
    let find = |code: &str| {
        refusals
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} not in {refusals}"))
    };
    let e403 = find("CASCADE:Auth:Forbidden");
    assert_eq!(
        (
            &e403["outcome"],
            &e403["status"],
            &e403["subject"],
            &e403["role"],
            &e403["requestId"]
        ),
        (
            &json!("refused"),
            &json!(403),
            &json!("eve"),
            &json!("tenant-admin"),
            &json!("eve-1")
        )
    );
    let e409 = find("CASCADE:Rule:LockedPath");
    assert_eq!(e409["subject"], "ann");
    assert_eq!(e409["requestId"], locked_id.as_str());
    assert_eq!(e409["namespace"], "notifications");
    assert!(
        e409["detail"].as_str().unwrap().contains("locked"),
        "{e409}"
    );
    let e429 = find("CASCADE:RateLimit:Writes");
    assert_eq!(e429["subject"], "ann");
    // Refusals take no seq: the config's version did not move for them.
    assert_eq!(rt.get(CONFIG).header("etag"), Some("\"v0\""));
    // A tenant admin of another tenant cannot read acme's refusals.
    rt.request_as(&eve, "GET", "/v1/tenants/acme/refusals", None)
        .assert_problem(403, "CASCADE:Auth:Forbidden");
}

#[test]
fn refused_platform_writes_are_audited_at_the_platform() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    // 403: a tenant admin writing a platform layer.
    let ann = token("tenant-admin", Some("acme"), "ann");
    let forbidden = rt.request_with(
        &[
            ("authorization", &format!("Bearer {ann}")),
            ("cascade-request-id", "ann-platform-1"),
        ],
        "PUT",
        "/v1/platform/config/auth",
        Some("{\"sso\": true}"),
    );
    forbidden.assert_problem(403, "CASCADE:Auth:Forbidden");
    // 422: a platform admin's rule the engine refuses.
    let bad_rule = rt.put_json(
        "/v1/rules/broken",
        &json!({"triggerEvents": ["auth..x"], "targetScopes": ["tenant"], "syncDirection": "down",
                "conflictResolution": "platform-wins", "autoApply": true}),
    );
    assert_eq!(bad_rule.status, 422, "{bad_rule:?}");
    let bad_rule_code = bad_rule.body["code"].as_str().unwrap().to_owned();

    let listed = rt.get("/v1/platform/refusals");
    assert_eq!(listed.status, 200, "{listed:?}");
    let entries = listed.body["entries"].as_array().unwrap().clone();
    let find = |code: &str| {
        entries
            .iter()
            .find(|e| e["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} not in {entries:?}"))
    };
    let e403 = find("CASCADE:Auth:Forbidden");
    assert_eq!(
        (
            &e403["subject"],
            &e403["role"],
            &e403["requestId"],
            &e403["namespace"]
        ),
        (
            &json!("ann"),
            &json!("tenant-admin"),
            &json!("ann-platform-1"),
            &json!("auth")
        ),
        "{e403}"
    );
    assert_eq!(e403["request"], "PUT /v1/platform/config/auth");
    let e422 = find(&bad_rule_code);
    assert_eq!(e422["role"], "platform-admin", "{e422}");
    assert_eq!(e422["request"], "PUT /v1/rules/broken");
    // Platform refusals are not a tenant's, and only platform admins read them.
    let tenant_refusals = rt.get("/v1/tenants/acme/refusals").body["entries"].clone();
    assert_eq!(tenant_refusals, json!([]), "{tenant_refusals}");
    rt.request_as(&ann, "GET", "/v1/platform/refusals", None)
        .assert_problem(403, "CASCADE:Auth:Forbidden");
}

#[test]
fn a_platform_layer_rolls_back_to_a_version_and_every_tenant_follows() {
    let rt = Runtime::start();
    let rule = rt.put_json(
        "/v1/rules/notify-down",
        &json!({"triggerEvents": ["notifications.*"], "targetScopes": ["tenant", "user"],
                "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true}),
    );
    assert!(rule.status == 200 || rule.status == 201, "{rule:?}");
    rt.create_tenant("acme");
    let platform = "/v1/platform/config/notifications";
    assert_eq!(rt.put_json(platform, &json!({"email": true})).status, 200);
    let v2 = rt.put_json(platform, &json!({"email": false, "digest": "daily"}));
    assert_eq!(v2.status, 200, "{v2:?}");
    let effective = "/v1/tenants/acme/effective/notifications";
    eventually(Duration::from_secs(20), || {
        (rt.get(effective).body["config"]["digest"] == "daily").then_some(())
    });

    let auth = format!("Bearer {}", rt.admin_token);
    let rollback = |version: u64, key: &str| {
        rt.request_with(
            &[("authorization", auth.as_str()), ("idempotency-key", key)],
            "POST",
            "/v1/platform/rollback/notifications",
            Some(&json!({"version": version}).to_string()),
        )
    };
    let back = rollback(1, "rollback-1");
    assert_eq!(back.status, 200, "{back:?}");
    assert_eq!(
        (&back.body["changed"], &back.body["targetedTenants"]),
        (&json!(true), &json!(1)),
        "{back:?}"
    );
    assert_eq!(rt.get(platform).body["config"], json!({"email": true}));
    // Fanned out like any platform change: the tenant's copy follows.
    eventually(Duration::from_secs(20), || {
        (rt.get(effective).body["config"] == json!({"email": true})).then_some(())
    });
    // A retry is the first answer; rolling back to what the layer holds commits nothing.
    let retried = rollback(1, "rollback-1");
    assert_eq!(
        retried.header("idempotent-replayed"),
        Some("true"),
        "{retried:?}"
    );
    assert_eq!(retried.body["seq"], back.body["seq"]);
    let again = rollback(back.body["seq"].as_u64().unwrap(), "rollback-2");
    assert_eq!(again.body["changed"], false, "{again:?}");
    // The rolled-back version itself reads back, and a version not reached is refused.
    assert_eq!(
        rt.get(&format!("{platform}?version=2")).body["config"],
        json!({"email": false, "digest": "daily"})
    );
    let future = rollback(99, "rollback-3");
    assert!(future.status >= 400 && future.status < 500, "{future:?}");
    // Only platform admins roll the platform back.
    let ann = token("tenant-admin", Some("acme"), "ann");
    rt.request_as(
        &ann,
        "POST",
        "/v1/platform/rollback/notifications",
        Some("{\"version\": 1}"),
    )
    .assert_problem(403, "CASCADE:Auth:Forbidden");
}
