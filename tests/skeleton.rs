//! End-to-end: the walking skeleton on the real local runtime (`wrangler dev` → workerd, with
//! D1 and Durable Objects on disk). Each test starts its own runtime on fresh state.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{eventually, Runtime};

#[test]
fn tenant_write_is_stored_versioned_broadcast_and_recorded() {
    let rt = Runtime::start();
    rt.create_tenant("acme");

    let mut socket = rt.websocket("/v1/connect?tenant=acme");
    let (hello, between) = socket.greeting();
    assert_eq!(
        hello,
        json!({"type": "hello", "tenant": "acme", "seq": 0, "resume": "none"})
    );
    assert!(between.is_empty(), "{between:?}");

    let put = rt.put_json(
        "/v1/tenants/acme/config/notifications",
        &json!({"email": true, "digest": "daily"}),
    );
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(
        (&put.body["seq"], &put.body["version"], &put.body["changed"]),
        (&json!(1), &json!(1), &json!(true))
    );
    // The engine's account of what happened: the tenant layer was written and applied.
    let kinds: Vec<&str> = put.body["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"written") && kinds.contains(&"applied"),
        "{kinds:?}"
    );
    assert_eq!(put.header("etag"), Some("\"v1\""));

    let frame = socket.next_json();
    assert_eq!(frame["type"], "config-updated");
    assert_eq!(frame["seq"], 1);
    assert_eq!(frame["tenant"], "acme");
    assert_eq!(frame["namespace"], "notifications");
    let mut patched = json!({});
    let patch: json_patch::Patch = serde_json::from_value(frame["patch"].clone()).unwrap();
    json_patch::patch(&mut patched, &patch).unwrap();
    assert_eq!(patched, json!({"email": true, "digest": "daily"}));

    // A second write carries a patch against the first document, not the whole document.
    rt.put_json(
        "/v1/tenants/acme/config/notifications",
        &json!({"email": false, "digest": "daily"}),
    );
    let frame = socket.next_json();
    assert_eq!(frame["seq"], 2);
    assert_eq!(
        frame["patch"],
        json!([{"op": "replace", "path": "/email", "value": false}])
    );

    let get = rt.get("/v1/tenants/acme/config/notifications");
    assert_eq!(get.status, 200);
    assert_eq!(get.header("etag"), Some("\"v2\""));
    assert_eq!(get.body["version"], 2);
    assert_eq!(
        get.body["config"],
        json!({"email": false, "digest": "daily"})
    );

    // History reaches D1 from the hub's outbox: one row per event, in order.
    let history = eventually(Duration::from_secs(15), || {
        let h = rt.get("/v1/tenants/acme/history");
        (h.body["entries"].as_array().map_or(0, Vec::len) == 2).then_some(h)
    });
    let entries = history.body["entries"].as_array().unwrap();
    assert_eq!(entries[0]["seq"], 2);
    assert_eq!(entries[1]["seq"], 1);
    assert_eq!(entries[1]["type"], "notifications");
    assert_eq!(entries[1]["outcome"], "applied");
    assert_eq!(entries[1]["scope"], "tenant");
}

#[test]
fn identical_write_takes_no_sequence_number_and_sends_nothing() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let doc = json!({"sms": {"provider": "twilio"}});
    let first = rt.put_json("/v1/tenants/acme/config/notifications", &doc);
    assert_eq!(first.body["seq"], 1);
    let mut socket = rt.websocket("/v1/connect?tenant=acme");
    assert_eq!(socket.greeting().0["seq"], 1);
    let again = rt.put_json("/v1/tenants/acme/config/notifications", &doc);
    assert_eq!(
        again.body,
        json!({"seq": 1, "version": 1, "changed": false})
    );
    assert_eq!(socket.frame_within(Duration::from_millis(700)), None);
}

#[test]
fn tenants_do_not_see_each_others_changes() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    rt.create_tenant("globex");
    let mut acme = rt.websocket("/v1/connect?tenant=acme");
    let mut globex = rt.websocket("/v1/connect?tenant=globex");
    acme.greeting();
    globex.greeting();
    rt.put_json("/v1/tenants/globex/config/auth", &json!({"sso": "okta"}));
    let frame = globex.next_json();
    assert_eq!(frame["type"], "auth-changed");
    assert_eq!(frame["tenant"], "globex");
    assert_eq!(acme.frame_within(Duration::from_millis(700)), None);
}

#[test]
fn bad_input_gets_problem_json_and_changes_nothing() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let path = "/v1/tenants/acme/config/auth";

    rt.put_json(path, &json!(["not", "an", "object"]))
        .assert_problem(422, "CASCADE:Config:NotAnObject");
    rt.request("PUT", path, Some("{\"sso\": "))
        .assert_problem(400, "CASCADE:Request:MalformedJson");
    let deep = "[".repeat(40) + &"]".repeat(40);
    rt.request("PUT", path, Some(&format!("{{\"a\": {deep}}}")))
        .assert_problem(422, "CASCADE:Request:TooDeep");
    let huge = format!("{{\"blob\": \"{}\"}}", "x".repeat(300 * 1024));
    rt.request("PUT", path, Some(&huge))
        .assert_problem(413, "CASCADE:Request:TooLarge");
    rt.put_json("/v1/tenants/nobody/config/auth", &json!({}))
        .assert_problem(404, "CASCADE:Tenant:NotFound");
    rt.put_json("/v1/tenants/a%20b/config/auth", &json!({}))
        .assert_problem(400, "CASCADE:Request:InvalidName");
    rt.get("/v1/nothing-here")
        .assert_problem(404, "CASCADE:Route:NotFound");
    rt.request("DELETE", path, None)
        .assert_problem(405, "CASCADE:Route:MethodNotAllowed");
    rt.get("/v1/connect?tenant=acme")
        .assert_problem(426, "CASCADE:Connect:UpgradeRequired");
    rt.get("/v1/status")
        .assert_problem(404, "CASCADE:Health:NoSnapshot");

    // Nothing above was applied.
    let get = rt.get(path);
    assert_eq!(get.body["version"], 0);
    assert_eq!(get.body["config"], json!({}));
}

#[test]
fn data_survives_a_restart_of_the_runtime() {
    let mut rt = Runtime::start();
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/tenants/acme/config/modules",
        &json!({"billing": {"enabled": true}}),
    );
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"providers": ["google"]}),
    );
    // The platform change reaches acme (no rule delivers it, so it is recorded as skipped,
    // at acme's seq 2) before the runtime stops.
    eventually(Duration::from_secs(15), || {
        let h = rt.get("/v1/tenants/acme/history");
        (h.body["entries"].as_array().map_or(0, Vec::len) == 2).then_some(())
    });
    let state = rt.state.clone();
    rt.stop();

    let rt = Runtime::start_on(state);
    let get = rt.get("/v1/tenants/acme/config/modules");
    assert_eq!(get.body["version"], 1);
    assert_eq!(get.body["config"], json!({"billing": {"enabled": true}}));
    let platform = rt.get("/v1/platform/config/auth");
    assert_eq!(platform.body["config"], json!({"providers": ["google"]}));
    assert_eq!(platform.body["scope"], "platform");
    // The sequence continues where it stopped.
    let next = rt.put_json(
        "/v1/tenants/acme/config/modules",
        &json!({"billing": {"enabled": false}}),
    );
    assert_eq!(next.body["seq"], 3);
    assert_eq!(rt.get("/v1/tenants").body.as_array().map(Vec::len), Some(1));
}

#[test]
fn scheduled_health_check_records_a_snapshot() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    rt.create_tenant("globex");
    rt.put_json(
        "/v1/tenants/acme/config/rbac",
        &json!({"roles": {"admin": ["*"]}}),
    );
    // Let the history outbox drain so acme is fully in sync.
    eventually(Duration::from_secs(15), || {
        (rt.get("/v1/tenants/acme/history").body["entries"]
            .as_array()
            .map_or(0, Vec::len)
            == 1)
            .then_some(())
    });

    let fired = rt.get("/__scheduled?cron=*/5+*+*+*+*");
    assert_eq!(fired.status, 200, "{fired:?}");
    let status = eventually(Duration::from_secs(10), || {
        let s = rt.get("/v1/status");
        (s.status == 200).then_some(s)
    });
    assert_eq!(status.body["cron"], "*/5 * * * *");
    assert_eq!(status.body["counts"]["success"], 2);
    assert_eq!(status.body["healthPct"], 100.0);
    let tenants = status.body["tenants"].as_array().unwrap();
    let acme = tenants.iter().find(|t| t["tenant"] == "acme").unwrap();
    assert_eq!(acme["state"], "success");
    assert_eq!(acme["hub"]["seq"], 1);
}
