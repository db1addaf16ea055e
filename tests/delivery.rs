//! End-to-end: live delivery written across turns of the event loop keeps its promises. With
//! the hub writing only a few sockets per turn (`DELIVERY_SOCKETS_PER_TURN`), commits land
//! while earlier broadcasts are half-written and new sockets join in between; every socket
//! still gets each change after its greeting exactly once, in order, and ends on the
//! server's config.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use support::{token, Runtime, Socket, State};

const NOTIFY: &str = "/v1/tenants/acme/config/notifications";
const WRITES: u64 = 30;

/// A socket of an admin (even `i`) or a user (odd `i`), greeted with a snapshot; its seq.
fn join(rt: &Runtime, i: usize) -> (Socket, u64, Value) {
    let who = if i.is_multiple_of(2) {
        token("tenant-admin", Some("acme"), &format!("a{i}"))
    } else {
        token("user", Some("acme"), &format!("u{i}"))
    };
    let mut socket = rt.websocket_as(&who, "/v1/connect?since=0&namespaces=notifications");
    let (hello, between) = socket.greeting();
    let config = between
        .iter()
        .find(|f| f["type"] == "snapshot")
        .map(|s| s["configs"]["notifications"]["config"].clone())
        .unwrap_or(Value::Null);
    (socket, hello["seq"].as_u64().unwrap(), config)
}

#[test]
fn broadcasts_written_over_many_turns_reach_every_socket_once_in_order() {
    let rt = Runtime::start_with(State::fresh(), &[("DELIVERY_SOCKETS_PER_TURN", "2")]);
    rt.create_tenant("acme");
    let mut sockets: Vec<(Socket, u64, Value)> = (0..8).map(|i| join(&rt, i)).collect();

    let url = rt.url("");
    let admin = token("platform-admin", None, "writer");
    let writer = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        for n in 1..=WRITES {
            let status = agent
                .put(&format!("{url}{NOTIFY}"))
                .header("authorization", &format!("Bearer {admin}"))
                .header("content-type", "application/json")
                .send(json!({"n": n}).to_string())
                .unwrap()
                .status()
                .as_u16();
            assert_eq!(status, 200, "write {n}");
        }
    });
    // Sockets joining while broadcasts are half-written.
    for i in 8..16 {
        sockets.push(join(&rt, i));
    }
    writer.join().unwrap();

    for (i, (socket, from, config)) in sockets.iter_mut().enumerate() {
        let mut doc = config.clone();
        if doc.is_null() {
            doc = json!({});
        }
        for seq in *from + 1..=WRITES {
            let frame = socket.next_json();
            assert_eq!(frame["seq"].as_u64(), Some(seq), "socket {i}: {frame}");
            let patch: json_patch::Patch = serde_json::from_value(frame["patch"].clone()).unwrap();
            json_patch::patch(&mut doc, &patch).unwrap();
        }
        assert_eq!(
            doc,
            json!({"n": WRITES}),
            "socket {i} ends on the server's config"
        );
        assert!(
            socket
                .frame_within(std::time::Duration::from_millis(300))
                .filter(|f| f["type"] != "sync-status")
                .is_none(),
            "socket {i} got a frame after the last change"
        );
    }
}
