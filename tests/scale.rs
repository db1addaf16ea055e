//! End-to-end: a tenant at scale on the real runtime. 20,000 users each keep a personal layer
//! in one namespace — about 3 MB of layers, which a hub that kept a namespace in one row
//! refused past ~3,300 users with `SQLITE_TOOBIG` — and the namespace keeps accepting user,
//! tenant and platform writes and answering reads. A tenant change reaches, as its own
//! patch, only the users whose layer holds the changed paths; everyone else shares the
//! tenant's frame. Oversized documents are refused with their code and store nothing; an
//! admin decision retried with its `Idempotency-Key` answers as the first one did.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use support::{token, Runtime, State};

const USERS: usize = 20_000;
/// Every `BANNER_EVERY`-th user also overrides `/banner/text`.
const BANNER_EVERY: usize = 100;
const PREFS: &str = "/v1/tenants/acme/config/prefs";

/// A runtime whose write budget does not throttle the seeding.
fn runtime() -> Runtime {
    Runtime::start_with(
        State::fresh(),
        &[("WRITE_RATE_PER_SEC", "100000"), ("WRITE_BURST", "100000")],
    )
}

fn user_layer(i: usize) -> Value {
    let mut layer = json!({
        "ui": {"theme": if i.is_multiple_of(2) { "dark" } else { "light" }, "density": i % 3, "locale": "en-GB"},
        "notify": {"digest": "weekly", "channels": ["email", "push"]},
        "mfa": {"method": "totp"}
    });
    if i.is_multiple_of(BANNER_EVERY) {
        layer["banner"] = json!({"text": format!("mine-{i}")});
    }
    layer
}

/// Seeds `USERS` users' layers in batches of 100 user-scope events (`POST /v1/events`).
fn seed_users(rt: &Runtime) {
    for start in (0..USERS).step_by(100) {
        let batch: Vec<Value> = (start..start + 100)
            .map(|i| {
                json!({"type": "prefs", "action": "update", "scope": "user", "targetId": format!("u{i}"),
                       "tenantId": "acme", "config": user_layer(i), "triggeredBy": "seed"})
            })
            .collect();
        let reply = rt.request("POST", "/v1/events", Some(&Value::Array(batch).to_string()));
        assert_eq!(reply.status, 200, "batch at {start}: {reply:?}");
    }
}

/// Reads the next change frame of `seq` (skipping status frames).
fn change_at(socket: &mut support::Socket, seq: u64) -> Value {
    loop {
        let frame = socket.next_json();
        if frame["seq"] == seq && frame.get("patch").is_some() {
            return frame;
        }
        assert!(
            frame["seq"].as_u64().is_none_or(|s| s < seq),
            "expected a frame of seq {seq}, got {frame}"
        );
    }
}

/// The next change frame, whatever its seq.
fn next_change(socket: &mut support::Socket) -> Value {
    loop {
        let frame = socket.next_json();
        if frame.get("patch").is_some() {
            return frame;
        }
    }
}

fn apply(doc: &mut Value, frame: &Value) {
    let patch: json_patch::Patch = serde_json::from_value(frame["patch"].clone()).unwrap();
    json_patch::patch(doc, &patch).unwrap();
}

/// `PATCH path` with an RFC 7396 merge patch, as the holder of `token`.
fn merge_patch(rt: &Runtime, token: &str, path: &str, patch: &Value) -> support::Reply {
    let auth = format!("Bearer {token}");
    rt.request_with(
        &[
            ("authorization", &auth),
            ("content-type", "application/merge-patch+json"),
        ],
        "PATCH",
        path,
        Some(&patch.to_string()),
    )
}

fn user_effective(rt: &Runtime, user: &str) -> Value {
    let reply = rt.get(&format!("/v1/tenants/acme/users/{user}/effective/prefs"));
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["config"].clone()
}

#[test]
fn twenty_thousand_users_keep_a_namespace_writable_and_share_one_frame() {
    let rt = runtime();
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/rules/prefs",
        &json!({"triggerEvents": ["prefs.*"], "targetScopes": ["tenant", "user"],
                "syncDirection": "down", "conflictResolution": "user-wins", "autoApply": true}),
    );
    seed_users(&rt);

    // Reads: a user's effective config is their layer over the tenant's.
    assert_eq!(user_effective(&rt, "u7"), user_layer(7));

    // Sockets: an admin, a user whose layer has nothing under /banner, and one who
    // overrides /banner/text.
    let mut admin = rt.websocket("/v1/connect?tenant=acme&since=0");
    let (_, snapshot) = admin.greeting();
    assert_eq!(snapshot[0]["type"], "snapshot");
    let plain_token = token("user", Some("acme"), "u7");
    let mut plain = rt.websocket_as(&plain_token, "/v1/connect?tenant=acme&since=0");
    let (_, snap) = plain.greeting();
    let mut plain_doc = Value::Object(
        snap[0]["configs"]["prefs"]["config"]
            .as_object()
            .unwrap()
            .clone(),
    );
    assert_eq!(plain_doc, user_layer(7));
    let banner_token = token("user", Some("acme"), "u100");
    let mut banner = rt.websocket_as(&banner_token, "/v1/connect?tenant=acme&since=0");
    let (_, snap) = banner.greeting();
    let mut banner_doc = snap[0]["configs"]["prefs"]["config"].clone();

    // A tenant write no user's layer touches: one shared frame for everyone.
    let reply = rt.put_json(PREFS, &json!({"features": {"beta": true}}));
    assert_eq!(reply.status, 200, "{reply:?}");
    let seq = reply.body["seq"].as_u64().unwrap();
    let shared = change_at(&mut admin, seq);
    let to_plain = change_at(&mut plain, seq);
    let to_banner = change_at(&mut banner, seq);
    assert_eq!(to_plain["patch"], shared["patch"]);
    assert_eq!(to_banner["patch"], shared["patch"]);
    apply(&mut plain_doc, &to_plain);
    apply(&mut banner_doc, &to_banner);

    // A tenant write on a path 1% of the users override: those get their own patch, in
    // which their own value stays; the others get the shared one.
    let reply = merge_patch(
        &rt,
        &rt.admin_token,
        PREFS,
        &json!({"banner": {"text": "maintenance tonight", "color": "red"}}),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let seq = reply.body["seq"].as_u64().unwrap();
    let shared = change_at(&mut admin, seq);
    let to_plain = change_at(&mut plain, seq);
    let to_banner = change_at(&mut banner, seq);
    assert_eq!(to_plain["patch"], shared["patch"]);
    assert_ne!(
        to_banner["patch"], shared["patch"],
        "u100 shadows /banner/text"
    );
    apply(&mut plain_doc, &to_plain);
    apply(&mut banner_doc, &to_banner);
    assert_eq!(plain_doc, user_effective(&rt, "u7"));
    assert_eq!(banner_doc, user_effective(&rt, "u100"));
    assert_eq!(
        banner_doc["banner"],
        json!({"text": "mine-100", "color": "red"})
    );
    assert_eq!(plain_doc["banner"]["text"], "maintenance tonight");

    // A user's own write, and a platform write, still land.
    let own = merge_patch(
        &rt,
        &plain_token,
        "/v1/tenants/acme/users/u7/config/prefs",
        &json!({"ui": {"theme": "solarized"}}),
    );
    assert_eq!(own.status, 200, "{own:?}");
    let seq = own.body["seq"].as_u64().unwrap();
    apply(&mut plain_doc, &change_at(&mut plain, seq));
    assert_eq!(plain_doc["ui"]["theme"], "solarized");
    let platform = rt.put_json(
        "/v1/platform/config/prefs",
        &json!({"limits": {"exports": 5}}),
    );
    assert_eq!(platform.status, 200, "{platform:?}");
    support::eventually(std::time::Duration::from_secs(60), || {
        (user_effective(&rt, "u19999")["limits"]["exports"] == 5).then_some(())
    });
    let platform_frame = next_change(&mut plain);
    let seq = platform_frame["seq"].as_u64().unwrap();
    apply(&mut plain_doc, &platform_frame);
    assert_eq!(plain_doc, user_effective(&rt, "u7"));

    // Replay after a reconnect is exact too: u100 resumes from before the banner change.
    let mut back = rt.websocket_as(
        &banner_token,
        &format!("/v1/connect?tenant=acme&since={}", seq - 3),
    );
    let (hello, replay) = back.greeting();
    assert_eq!(hello["resume"], "replay");
    assert!(
        replay.iter().any(|f| f["patch"] == to_banner["patch"]),
        "u100's own banner patch is replayed: {replay:?}"
    );
}

#[test]
fn oversized_documents_are_refused_with_their_code_and_store_nothing() {
    let rt = runtime();
    rt.create_tenant("acme");
    let ulla = token("user", Some("acme"), "ulla");
    let layer = "/v1/tenants/acme/users/ulla/config/prefs";

    // A 120 KB array in a user's own layer is well within the limits: stored and read back.
    let big: Vec<String> = (0..7_500).map(|i| format!("item-{i:08}")).collect();
    let reply = rt.request_as(&ulla, "PUT", layer, Some(&json!({"list": big}).to_string()));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        rt.request_as(&ulla, "GET", layer, None).body["config"]["list"],
        json!(big)
    );

    // Growing the layer past the document limit with a second write is refused, whole.
    let more: Vec<String> = (0..9_000).map(|i| format!("more-{i:08}")).collect();
    let reply = merge_patch(&rt, &ulla, layer, &json!({"more": more}));
    reply.assert_problem(422, "CASCADE:Validation:TooLarge");
    let stored = rt.request_as(&ulla, "GET", layer, None);
    assert_eq!(
        stored.body["config"],
        json!({"list": big}),
        "nothing stored"
    );

    // A body over the request limit never reaches the hub.
    let huge = "x".repeat(300 * 1024);
    let reply = rt.request_as(
        &ulla,
        "PUT",
        layer,
        Some(&json!({"huge": huge}).to_string()),
    );
    reply.assert_problem(413, "CASCADE:Request:TooLarge");
    assert_eq!(
        rt.request_as(&ulla, "GET", layer, None).body["config"],
        json!({"list": big})
    );
}

#[test]
fn a_retried_decision_with_its_idempotency_key_answers_as_the_first() {
    let rt = runtime();
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/rules/billing",
        &json!({"triggerEvents": ["billing.*"], "targetScopes": ["tenant"],
                "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": false}),
    );
    rt.put_json("/v1/platform/config/billing", &json!({"plan": "pro"}));
    let pending = support::eventually(std::time::Duration::from_secs(30), || {
        let list = rt.get("/v1/tenants/acme/pending").body;
        list.as_array().and_then(|l| l.first().cloned())
    });
    let id = pending["id"].as_str().unwrap();
    let path = format!("/v1/tenants/acme/pending/billing/{id}/accept");
    let auth = format!("Bearer {}", rt.admin_token);
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", "accept-once"),
    ];
    let first = rt.request_with(&headers, "POST", &path, None);
    assert_eq!(first.status, 200, "{first:?}");
    let again = rt.request_with(&headers, "POST", &path, None);
    assert_eq!(
        again.status, 200,
        "the retry is answered, not 404: {again:?}"
    );
    assert_eq!(again.body["seq"], first.body["seq"]);
    assert_eq!(again.body["version"], first.body["version"]);
    assert_eq!(again.body["replayed"], true);
    // And it applied once: nothing is pending, and a fresh decision on the id is refused.
    assert_eq!(rt.get("/v1/tenants/acme/pending").body, json!([]));
    rt.request("POST", &path, None)
        .assert_problem(404, "CASCADE:Pending:NotFound");
}
