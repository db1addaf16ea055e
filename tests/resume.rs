//! End-to-end: the real-time protocol's resume rules on the real runtime — replay of exactly
//! the missed frames per subject, snapshots for `since=0` and for clients older than the
//! retained log, replay after the runtime is killed, `config:{type}` subscriptions, and the
//! hub's answers to client frames (status, malformed, oversized, rate limited).

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use support::{token, Runtime, State};

const NOTIFY: &str = "/v1/tenants/acme/config/notifications";
const AUTH: &str = "/v1/tenants/acme/config/auth";

fn acme(rt: &Runtime) {
    rt.create_tenant("acme");
}

/// Applies a change frame's patch to `doc`.
fn apply(doc: &mut Value, frame: &Value) {
    let patch: json_patch::Patch = serde_json::from_value(frame["patch"].clone()).unwrap();
    json_patch::patch(doc, &patch).unwrap();
}

fn seqs(frames: &[Value]) -> Vec<u64> {
    frames.iter().map(|f| f["seq"].as_u64().unwrap()).collect()
}

#[test]
fn a_returning_admin_is_replayed_exactly_the_missed_changes_in_order() {
    let rt = Runtime::start();
    acme(&rt);
    let mut socket = rt.websocket("/v1/connect?tenant=acme&since=0");
    let (hello, between) = socket.greeting();
    assert_eq!(hello["resume"], "snapshot");
    assert_eq!(between.len(), 1);
    assert_eq!(between[0]["type"], "snapshot");
    assert_eq!(between[0]["configs"], json!({}));

    rt.put_json(NOTIFY, &json!({"email": true}));
    let live = socket.next_json();
    assert_eq!(live["seq"], 1);
    socket.close();

    // Missed while away: two tenant changes and one user-only change (not the admin's).
    rt.put_json(NOTIFY, &json!({"email": false}));
    rt.put_json(AUTH, &json!({"mfa": true}));
    rt.put_json(
        "/v1/tenants/acme/users/ulla/config/notifications",
        &json!({"sms": true}),
    );

    let mut back = rt.websocket("/v1/connect?tenant=acme&since=1");
    let (hello, replay) = back.greeting();
    assert_eq!(
        (hello["resume"].as_str(), hello["seq"].as_u64()),
        (Some("replay"), Some(4))
    );
    assert_eq!(seqs(&replay), [2, 3], "{replay:?}");
    assert_eq!(replay[0]["type"], "config-updated");
    assert_eq!(replay[1]["type"], "auth-changed");

    // Resuming at the hub's seq replays nothing; live frames follow.
    let mut current = rt.websocket("/v1/connect?tenant=acme&since=4");
    let (hello, replay) = current.greeting();
    assert_eq!(hello["resume"], "replay");
    assert!(replay.is_empty(), "{replay:?}");
    rt.put_json(AUTH, &json!({"mfa": false}));
    assert_eq!(current.next_json()["seq"], 5);
    assert_eq!(back.next_json()["seq"], 5);
}

#[test]
fn a_user_is_replayed_only_its_own_effective_changes() {
    let rt = Runtime::start();
    acme(&rt);
    let ulla = token("user", Some("acme"), "ulla");
    rt.put_json(NOTIFY, &json!({"email": true, "digest": "daily"})); // 1
    rt.put_json(
        "/v1/tenants/acme/users/ulla/config/notifications",
        &json!({"email": false}),
    ); // 2: ulla's own layer
    rt.put_json(
        "/v1/tenants/acme/users/otto/config/notifications",
        &json!({"digest": "weekly"}),
    ); // 3: another user's layer
    rt.put_json(NOTIFY, &json!({"email": false, "digest": "daily"})); // 4: shadowed for ulla
    rt.put_json(NOTIFY, &json!({"email": false, "digest": "hourly"})); // 5: reaches ulla

    let mut from_start = rt.websocket_as(&ulla, "/v1/connect?since=0");
    let (_, snapshot) = from_start.greeting();
    let mut doc = snapshot[0]["configs"]["notifications"]["config"].clone();
    assert_eq!(doc, json!({"email": false, "digest": "hourly"}));

    let mut socket = rt.websocket_as(&ulla, "/v1/connect?since=1");
    let (hello, replay) = socket.greeting();
    assert_eq!(hello["resume"], "replay");
    assert_eq!(
        seqs(&replay),
        [2, 5],
        "3 is otto's, 4 is shadowed: {replay:?}"
    );

    // Replayed patches take ulla's document at seq 1 to her document now.
    doc = json!({"email": true, "digest": "daily"});
    for frame in &replay {
        apply(&mut doc, frame);
    }
    let server = rt
        .get("/v1/tenants/acme/users/ulla/effective/notifications")
        .body["config"]
        .clone();
    assert_eq!(doc, server);
}

#[test]
fn the_log_survives_a_killed_runtime_and_old_clients_get_a_snapshot() {
    let state = State::fresh();
    let mut rt = Runtime::start_with(state, &[("FRAME_LOG_SEQS", "3")]);
    acme(&rt);
    for n in 1..=5 {
        rt.put_json(NOTIFY, &json!({"n": n}));
    }
    let state = rt.state.clone();
    rt.crash();
    let rt = Runtime::start_with(state, &[("FRAME_LOG_SEQS", "3")]);

    // Seqs 3..5 are retained: resuming from 2 replays them, from the durable log.
    let mut recent = rt.websocket("/v1/connect?tenant=acme&since=2");
    let (hello, replay) = recent.greeting();
    assert_eq!(hello["resume"], "replay");
    assert_eq!(seqs(&replay), [3, 4, 5]);

    // From 1 the log no longer reaches back: a snapshot of the current config.
    let mut old = rt.websocket("/v1/connect?tenant=acme&since=1");
    let (hello, between) = old.greeting();
    assert_eq!(hello["resume"], "snapshot");
    assert_eq!(between[0]["type"], "snapshot");
    assert_eq!(between[0]["seq"], 5);
    assert_eq!(
        between[0]["configs"]["notifications"],
        json!({"version": 5, "config": {"n": 5}})
    );

    // A client ahead of the hub (it knew a newer hub) is given a snapshot too.
    let mut ahead = rt.websocket("/v1/connect?tenant=acme&since=99");
    assert_eq!(ahead.greeting().0["resume"], "snapshot");
}

#[test]
fn subscriptions_limit_frames_to_the_followed_namespaces() {
    let rt = Runtime::start();
    acme(&rt);
    let mut auth_only = rt.websocket("/v1/connect?tenant=acme&namespaces=auth");
    let mut everything = rt.websocket("/v1/connect?tenant=acme");
    auth_only.greeting();
    everything.greeting();
    rt.put_json(NOTIFY, &json!({"email": true}));
    rt.put_json(AUTH, &json!({"mfa": true}));
    assert_eq!(everything.next_json()["namespace"], "notifications");
    assert_eq!(everything.next_json()["namespace"], "auth");
    let frame = auth_only.next_json();
    assert_eq!(
        (frame["namespace"].as_str(), frame["seq"].as_u64()),
        (Some("auth"), Some(2))
    );

    // Replay and snapshots honour the subscription too.
    let mut replayed = rt.websocket("/v1/connect?tenant=acme&namespaces=auth&since=0");
    let (_, between) = replayed.greeting();
    let configs = between[0]["configs"].as_object().unwrap();
    assert_eq!(configs.keys().collect::<Vec<_>>(), ["auth"]);

    let auth = format!("Bearer {}", rt.admin_token);
    for bad in [
        "namespaces=bad%20name",
        "namespaces=a,b,c,d,e,f,g,h",
        "since=-1",
        "since=soon",
    ] {
        let status = rt
            .try_websocket(
                &[("authorization", &auth)],
                &format!("/v1/connect?tenant=acme&{bad}"),
            )
            .err();
        assert_eq!(status, Some(400), "{bad}");
    }
}

#[test]
fn client_frames_are_answered_and_abuse_is_refused() {
    let rt = Runtime::start();
    acme(&rt);
    let mut admin = rt.websocket("/v1/connect?tenant=acme");
    admin.greeting();
    let ulla = token("user", Some("acme"), "ulla");
    let mut user = rt.websocket_as(&ulla, "/v1/connect");
    user.greeting();

    admin.send_text(r#"{"type":"status"}"#);
    let status = admin.next_any();
    assert_eq!(
        (
            status["type"].as_str(),
            status["scope"].as_str(),
            status["status"].as_str()
        ),
        (Some("sync-status"), Some("tenant"), Some("success"))
    );

    user.send_text(r#"{"type":"status"}"#);
    assert_eq!(user.next_json()["code"], "CASCADE:Frame:Forbidden");
    user.send_text("{not json");
    assert_eq!(user.next_json()["code"], "CASCADE:Frame:Malformed");
    user.send_text(&format!(
        r#"{{"type":"status","pad":"{}"}}"#,
        "x".repeat(5000)
    ));
    assert_eq!(user.next_json()["code"], "CASCADE:Frame:TooLarge");

    // A burst beyond the per-connection budget is refused frame by frame.
    let mut codes = Vec::new();
    for _ in 0..12 {
        admin.send_text(r#"{"type":"status"}"#);
    }
    for _ in 0..12 {
        let frame = admin.next_any();
        codes.push(frame["code"].as_str().unwrap_or("ok").to_owned());
    }
    assert!(
        codes.iter().any(|c| c == "CASCADE:Frame:RateLimited"),
        "{codes:?}"
    );

    // An admin sees the tenant's sync status change after a write that leaves work open.
    rt.put_json(NOTIFY, &json!({"email": true}));
    let mut seen_status = None;
    for _ in 0..3 {
        let frame = admin.next_any();
        if frame["type"] == "sync-status" {
            seen_status = Some(frame);
            break;
        }
    }
    let seen_status = seen_status.expect("a sync-status frame after the change");
    assert_eq!(seen_status["seq"], 1);
}

#[test]
fn the_hub_still_answers_after_bad_frames() {
    let rt = Runtime::start();
    acme(&rt);
    let mut socket = rt.websocket("/v1/connect?tenant=acme");
    socket.greeting();
    socket.send_text(r#"{"type":"ping"} "#);
    assert_eq!(socket.next_any()["type"], "pong");
    rt.put_json(NOTIFY, &json!({"email": true}));
    assert_eq!(socket.next_json()["seq"], 1);
}
