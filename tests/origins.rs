//! End-to-end: where each effective value came from. A user's value shadows a tenant's value
//! over a platform default; effective reads with `?origins=true` and sockets connected with
//! `origins=1` say `user`, `tenant` and `platform` at the right JSON Pointers, a change frame
//! carries the origin entries of the subtree it changed (the user deletes their own value:
//! the origin falls back to the tenant), clients that did not ask get no origins at all, and
//! a change made while no socket asked for origins is resumed by a snapshot.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{eventually, token, Runtime, Socket};

/// A platform default, a tenant value over it and a user value over that, in `prefs`.
fn layered(rt: &Runtime) {
    let rule = json!({
        "triggerEvents": ["prefs.*"], "targetScopes": ["tenant", "user"],
        "syncDirection": "down", "conflictResolution": "user-wins", "autoApply": true
    });
    assert_eq!(rt.put_json("/v1/rules/prefs", &rule).status, 201);
    rt.create_tenant("acme");
    let platform = json!({"theme": {"color": "grey", "font": "sans"}, "beta": false});
    let reply = rt.put_json("/v1/platform/config/prefs", &platform);
    assert!(reply.status < 300, "{reply:?}");
    eventually(Duration::from_secs(20), || {
        let doc = rt.get("/v1/tenants/acme/effective/prefs").body;
        (doc["config"]["theme"]["font"] == "sans").then_some(())
    });
    let reply = rt.put_json(
        "/v1/tenants/acme/config/prefs",
        &json!({"theme": {"color": "blue"}}),
    );
    assert!(reply.status < 300, "{reply:?}");
    let reply = rt.put_json(
        "/v1/tenants/acme/users/ann/config/prefs",
        &json!({"theme": {"color": "red"}}),
    );
    assert!(reply.status < 300, "{reply:?}");
}

/// Connects as `token` and returns the socket with its snapshot of `prefs`.
fn connect(rt: &Runtime, token: &str, query: &str) -> (Socket, Value) {
    let mut socket = rt.websocket_as(token, &format!("/v1/connect?since=0{query}"));
    let (_, between) = socket.greeting();
    let snapshot = between
        .iter()
        .find(|f| f["type"] == "snapshot")
        .unwrap_or_else(|| panic!("a snapshot in {between:?}"));
    (socket, snapshot["configs"]["prefs"].clone())
}

/// The next change frame, skipping anything else.
fn next_change(socket: &mut Socket) -> Value {
    loop {
        let frame = socket.next_json();
        if frame.get("patch").is_some() {
            return frame;
        }
    }
}

#[test]
fn origins_over_http_and_over_the_socket() {
    let rt = Runtime::start();
    layered(&rt);
    let ann = token("user", Some("acme"), "ann");

    // HTTP: the user's value over the tenant's over the platform's.
    let user_doc = rt.get("/v1/tenants/acme/users/ann/effective/prefs?origins=true");
    assert_eq!(user_doc.status, 200, "{user_doc:?}");
    assert_eq!(
        user_doc.body["config"],
        json!({"theme": {"color": "red", "font": "sans"}, "beta": false})
    );
    assert_eq!(
        user_doc.body["origins"],
        json!({"": "platform", "/theme/color": "user"})
    );
    let tenant_doc = rt.get("/v1/tenants/acme/effective/prefs?origins=true");
    assert_eq!(
        tenant_doc.body["origins"],
        json!({"": "platform", "/theme/color": "tenant"})
    );
    // Not asked, not answered; a bad value is refused.
    let plain = rt.get("/v1/tenants/acme/users/ann/effective/prefs");
    assert!(plain.body.get("origins").is_none(), "{plain:?}");
    let no = rt.get("/v1/tenants/acme/effective/prefs?origins=false");
    assert!(no.body.get("origins").is_none(), "{no:?}");
    rt.get("/v1/tenants/acme/effective/prefs?origins=yes")
        .assert_problem(400, "CASCADE:Request:BadQuery");
    // A layer read has no origins to give: its values are all its own.
    let layer = rt.get("/v1/tenants/acme/users/ann/config/prefs?origins=true");
    assert!(layer.body.get("origins").is_none(), "{layer:?}");
    // An earlier version's effective config, resolved from that version's layers.
    let version = user_doc.body["version"].as_u64().unwrap();
    let then = rt.get(&format!(
        "/v1/tenants/acme/users/ann/effective/prefs?origins=true&version={}",
        version - 1
    ));
    assert_eq!(then.status, 200, "{then:?}");
    assert_eq!(
        then.body["origins"],
        json!({"": "platform", "/theme/color": "tenant"}),
        "before ann's write"
    );

    // The socket: origins in the snapshot only for the socket that asked.
    let (mut with, snapshot) = connect(&rt, &ann, "&origins=1");
    assert_eq!(
        snapshot["origins"],
        json!({"": "platform", "/theme/color": "user"})
    );
    let (mut without, plain_snapshot) = connect(&rt, &ann, "");
    assert!(plain_snapshot.get("origins").is_none(), "{plain_snapshot}");
    let seq_before = user_doc.body["version"].as_u64().unwrap();

    // Ann deletes her own value: the tenant's shows through, and the frame says so.
    let reply = rt.put_json("/v1/tenants/acme/users/ann/config/prefs", &json!({}));
    assert!(reply.status < 300, "{reply:?}");
    let change = next_change(&mut with);
    assert_eq!(
        change["patch"],
        json!([{"op": "replace", "path": "/theme/color", "value": "blue"}])
    );
    assert_eq!(
        change["origins"],
        json!({"/theme": "platform", "/theme/color": "tenant"}),
        "the changed container's subtree, root entry included"
    );
    let plain_change = next_change(&mut without);
    assert_eq!(plain_change["patch"], change["patch"]);
    assert!(plain_change.get("origins").is_none(), "{plain_change}");
    let after = rt.get("/v1/tenants/acme/users/ann/effective/prefs?origins=true");
    assert_eq!(
        after.body["origins"],
        json!({"": "platform", "/theme/color": "tenant"})
    );

    // The tenant changes the font: the tenant frame (ann shares it now) carries origins too.
    let reply = rt.put_json(
        "/v1/tenants/acme/config/prefs",
        &json!({"theme": {"color": "blue", "font": "mono"}}),
    );
    assert!(reply.status < 300, "{reply:?}");
    let change = next_change(&mut with);
    assert_eq!(
        change["origins"],
        json!({"/theme": "platform", "/theme/color": "tenant", "/theme/font": "tenant"})
    );
    with.close();
    without.close();

    // A reconnection replayed from the log gets the origins form of each frame it missed.
    let mut replayed = rt.websocket_as(&ann, &format!("/v1/connect?since={seq_before}&origins=1"));
    let (hello, frames) = replayed.greeting();
    assert_eq!(hello["resume"], "replay", "{hello}");
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(
        frames[0]["origins"],
        json!({"/theme": "platform", "/theme/color": "tenant"})
    );
    assert!(frames[1]["origins"].is_object(), "{frames:?}");
    replayed.close();

    // With no socket asking for origins, a change is logged without them (nobody pays), and
    // a socket with origins that would be replayed it gets a snapshot instead.
    let seq_now = frames[1]["seq"].as_u64().unwrap();
    let mut plain_only = rt.websocket_as(&ann, "/v1/connect?since=0");
    plain_only.greeting();
    let reply = rt.put_json(
        "/v1/tenants/acme/users/ann/config/prefs",
        &json!({"beta": true}),
    );
    assert!(reply.status < 300, "{reply:?}");
    let plain_change = next_change(&mut plain_only);
    assert!(plain_change.get("origins").is_none(), "{plain_change}");
    let mut late = rt.websocket_as(&ann, &format!("/v1/connect?since={seq_now}&origins=1"));
    let (hello, frames) = late.greeting();
    assert_eq!(hello["resume"], "snapshot", "{hello} {frames:?}");
    assert_eq!(
        frames[0]["configs"]["prefs"]["origins"],
        json!({"": "platform", "/beta": "user", "/theme/color": "tenant", "/theme/font": "tenant"})
    );
    // A plain socket still resumes by replay.
    let mut plain_resume = rt.websocket_as(&ann, &format!("/v1/connect?since={seq_now}"));
    let (hello, _) = plain_resume.greeting();
    assert_eq!(hello["resume"], "replay", "{hello}");

    // A bad flag is refused before the upgrade.
    let refused = rt
        .try_websocket_as(&ann, "/v1/connect?since=0&origins=maybe")
        .err()
        .expect("refused");
    refused.assert_problem(400, "CASCADE:Connect:BadQuery");
}
