//! End-to-end: what the dashboard needs from the server to run the product — a rule's
//! targeted tenants before it is saved (`POST /v1/platform/rules/preview`, paged, at 10,000
//! tenants), invalid rule fields named in the problem (`pointer`), and the platform admins'
//! room told when a tenant's status changes (a `sync-status` frame with `scope: "tenant"`).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{Runtime, State};

fn post_json(rt: &Runtime, path: &str, body: &Value) -> support::Reply {
    rt.request("POST", path, Some(&body.to_string()))
}

fn rule(filter: Value, triggers: &[&str]) -> Value {
    json!({"triggerEvents": triggers, "targetScopes": ["tenant", "user"], "syncDirection": "down",
           "conflictResolution": "merge", "autoApply": true, "tenantFilter": filter})
}

/// 10,000 tenants in the registry: every fourth on plan `pro`, every tenth opted out of
/// `promo`. So 2,500 are `pro`, and 2,000 of them take platform writes of `promo`.
#[test]
fn a_rule_preview_counts_and_pages_the_tenants_it_reaches_among_10000() {
    let state = State::fresh();
    state.execute_sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
         SELECT printf('bulk%05d', i), 'Bulk', \
           CASE WHEN i % 4 = 0 THEN '{\"plan\":\"pro\"}' ELSE '{\"plan\":\"free\"}' END, \
           CASE WHEN i % 10 = 0 THEN '[\"promo\"]' ELSE '[]' END, 0, 0 FROM n;",
    );
    let rt = Runtime::start_on(state);
    let pro = rule(json!({"plan": "pro"}), &["promo.*"]);

    let started = Instant::now();
    let first = post_json(&rt, "/v1/platform/rules/preview?limit=3", &pro);
    let took = started.elapsed();
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(
        first.body,
        json!({"targetedTenants": 2500, "tenants": ["bulk00004", "bulk00008", "bulk00012"], "next": "bulk00012"})
    );
    eprintln!("preview over 10,000 tenants answered in {took:?}");
    assert!(took < Duration::from_secs(5), "preview took {took:?}");

    // The next page follows the cursor; opt-outs count once the namespace is named.
    let next = post_json(
        &rt,
        "/v1/platform/rules/preview?limit=2&after=bulk00012",
        &pro,
    );
    // Without a namespace, opt-outs do not count: bulk00020 (opted out of `promo`) is listed.
    assert_eq!(next.body["tenants"], json!(["bulk00016", "bulk00020"]));
    let promo = post_json(&rt, "/v1/platform/rules/preview?namespace=promo", &pro);
    assert_eq!(promo.body["targetedTenants"], 2000, "{promo:?}");
    assert_eq!(promo.body["tenants"].as_array().unwrap().len(), 20);
    assert!(!promo.body["tenants"]
        .as_array()
        .unwrap()
        .contains(&json!("bulk00020")));
    // The last page names no next one.
    let last = post_json(
        &rt,
        "/v1/platform/rules/preview?limit=2&after=bulk09996",
        &pro,
    );
    assert_eq!(last.body["tenants"], json!(["bulk10000"]));
    assert_eq!(last.body["next"], Value::Null);

    // A rule reaching no one says why; one not delivering the namespace too.
    let nobody = post_json(
        &rt,
        "/v1/platform/rules/preview",
        &rule(json!({"plan": "gold"}), &["promo.*"]),
    );
    assert_eq!(nobody.body["targetedTenants"], 0);
    assert!(nobody.body["warning"]
        .as_str()
        .unwrap()
        .contains("accept no registered tenant"));
    let elsewhere = post_json(&rt, "/v1/platform/rules/preview?namespace=auth", &pro);
    assert_eq!(elsewhere.body["targetedTenants"], 0);
    assert!(elsewhere.body["warning"]
        .as_str()
        .unwrap()
        .contains("does not deliver platform writes of 'auth'"));
    let mut up = pro.clone();
    up["syncDirection"] = json!("up");
    let up = post_json(&rt, "/v1/platform/rules/preview", &up);
    assert_eq!(up.body["targetedTenants"], 0);
    assert!(up.body["warning"]
        .as_str()
        .unwrap()
        .contains("delivers nothing to tenants"));

    // An array means one of.
    let either = post_json(
        &rt,
        "/v1/platform/rules/preview?limit=1",
        &rule(json!({"plan": ["gold", "pro"]}), &["promo.*"]),
    );
    assert_eq!(either.body["targetedTenants"], 2500, "{either:?}");
    // Any attribute name is compared as the string it is: quotes, backslashes, dots.
    let odd = post_json(
        &rt,
        "/v1/platform/rules/preview",
        &rule(
            json!({"a\"b\\": "x", "plan.x": "pro", "$": 1}),
            &["promo.*"],
        ),
    );
    assert_eq!(odd.status, 200, "{odd:?}");
    assert_eq!(odd.body["targetedTenants"], 0);
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!(i))).collect();
    let too_many = post_json(
        &rt,
        "/v1/platform/rules/preview",
        &rule(Value::Object(many), &["promo.*"]),
    );
    too_many.assert_problem(422, "CASCADE:Rule:Invalid");
    assert_eq!(too_many.body["pointer"], "/tenantFilter");

    // Bad input: the invalid field is named; bad queries are 400; tenant admins may not.
    let mut sideways = pro.clone();
    sideways["syncDirection"] = json!("sideways");
    let bad = post_json(&rt, "/v1/platform/rules/preview", &sideways);
    bad.assert_problem(422, "CASCADE:Rule:Invalid");
    assert_eq!(bad.body["pointer"], "/syncDirection", "{bad:?}");
    assert!(bad.body["detail"]
        .as_str()
        .unwrap()
        .starts_with("invalid sync rule: syncDirection: unknown variant `sideways`"));
    let mut missing = pro.clone();
    missing.as_object_mut().unwrap().remove("autoApply");
    let missing = post_json(&rt, "/v1/platform/rules/preview", &missing);
    missing.assert_problem(422, "CASCADE:Rule:Invalid");
    assert_eq!(missing.body["pointer"], "/autoApply");
    assert_eq!(
        missing.body["detail"],
        "invalid sync rule: autoApply: required"
    );
    // The same check guards a save.
    let saved = rt.put_json("/v1/rules/bad", &sideways);
    saved.assert_problem(422, "CASCADE:Rule:Invalid");
    assert_eq!(saved.body["pointer"], "/syncDirection");
    post_json(&rt, "/v1/platform/rules/preview?limit=101", &pro)
        .assert_problem(400, "CASCADE:Request:BadQuery");
    post_json(&rt, "/v1/platform/rules/preview?page=2", &pro)
        .assert_problem(400, "CASCADE:Request:BadQuery");
    let tenant_admin = support::token("tenant-admin", Some("bulk00004"), "tina");
    rt.request_as(
        &tenant_admin,
        "POST",
        "/v1/platform/rules/preview",
        Some(&pro.to_string()),
    )
    .assert_problem(403, "CASCADE:Auth:Forbidden");
    // Nothing was stored.
    assert_eq!(rt.get("/v1/rules").body, json!([]));
}

/// Frames of `socket` until one matches, skipping others (greetings, earlier statuses).
fn frame_where(socket: &mut support::Socket, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no frame with {what}");
        if let Some(frame) = socket.frame_within(Duration::from_secs(2)) {
            if check(&frame) {
                return frame;
            }
        }
    }
}

#[test]
fn platform_admins_hear_when_a_tenant_status_changes_and_not_on_every_write() {
    let rt = Runtime::start();
    let held = json!({"triggerEvents": ["mods.*"], "targetScopes": ["tenant"], "syncDirection": "down",
                      "conflictResolution": "platform-wins", "autoApply": false});
    assert_eq!(rt.put_json("/v1/rules/held", &held).status, 201);
    rt.create_tenant("acme");
    rt.create_tenant("bravo");
    assert_eq!(
        rt.put_json("/v1/tenants/acme/config/notes", &json!({"a": 1}))
            .status,
        200
    );

    let mut admins = rt.websocket("/v1/connect");
    let (hello, _) = admins.greeting();
    assert_eq!(hello["tenant"], "platform");

    // A platform write held for approval gives each tenant a pending change: one frame each.
    let write = rt.put_json("/v1/platform/config/mods", &json!({"billing": true}));
    assert_eq!(write.status, 200, "{write:?}");
    // The preview of the saved rule counts what the write reached.
    let preview = post_json(&rt, "/v1/platform/rules/preview?namespace=mods", &held);
    assert_eq!(
        preview.body["targetedTenants"],
        write.body["targetedTenants"]
    );
    assert_eq!(preview.body["tenants"], json!(["acme", "bravo"]));
    let is_acme =
        |f: &Value| f["type"] == "sync-status" && f["scope"] == "tenant" && f["tenant"] == "acme";
    let frame = frame_where(&mut admins, "acme pending", |f| {
        is_acme(f) && f["pendingChanges"] == 1
    });
    assert_eq!(frame["status"], "partial", "{frame}");
    assert_eq!(frame["openConflicts"], 0);

    // A write that leaves acme's status as it was sends the platform admins nothing.
    while admins.frame_within(Duration::from_secs(1)).is_some() {}
    assert_eq!(
        rt.put_json("/v1/tenants/acme/config/notes", &json!({"a": 2}))
            .status,
        200
    );
    let quiet = admins.frame_within(Duration::from_secs(2));
    assert!(quiet.is_none(), "a same-status write sent {quiet:?}");

    // A second held write: two pending changes, another frame. They are accepted oldest
    // first: the newer one is refused with a 409 that names the one to decide first.
    let second = rt.put_json("/v1/platform/config/mods", &json!({"billing": false}));
    assert_eq!(second.status, 200, "{second:?}");
    frame_where(&mut admins, "acme with two pending", |f| {
        is_acme(f) && f["pendingChanges"] == 2
    });
    let pending = rt.get("/v1/tenants/acme/pending").body;
    let mut ids: Vec<(u64, String)> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["createdSeq"].as_u64().unwrap(),
                p["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ids.sort();
    let (older, newer) = (ids[0].1.clone(), ids[1].1.clone());
    let refused = rt.request(
        "POST",
        &format!("/v1/tenants/acme/pending/mods/{newer}/accept"),
        None,
    );
    refused.assert_problem(409, "CASCADE:Pending:OutOfOrder");
    assert_eq!(
        refused.body["detail"],
        format!("pending change {newer} cannot be accepted before {older}: accept or reject the oldest first")
    );

    // Deciding both moves acme back to success: one more frame.
    for (id, decision) in [(&older, "accept"), (&newer, "reject")] {
        let decided = rt.request(
            "POST",
            &format!("/v1/tenants/acme/pending/mods/{id}/{decision}"),
            None,
        );
        assert_eq!(decided.status, 200, "{decided:?}");
    }
    let frame = frame_where(&mut admins, "acme settled", |f| {
        is_acme(f) && f["pendingChanges"] == 0
    });
    assert_eq!(frame["status"], "success", "{frame}");
}
