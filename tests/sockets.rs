//! End-to-end: hibernating sockets at scale and at rest — 1,000 concurrent sockets on one
//! tenant all receive a change, and heartbeats are answered without waking a hibernated hub
//! (shown by the hub's own wake counter).
//!
//! `CASCADE_SOCKETS` sets the socket count (default 1,000).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{token, Runtime};

fn socket_count() -> usize {
    std::env::var("CASCADE_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[test]
fn a_thousand_sockets_on_one_tenant_all_receive_a_change() {
    let n = socket_count();
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let admin = token("tenant-admin", Some("acme"), "ada");
    let started = Instant::now();
    let mut sockets: Vec<_> = (0..n)
        .map(|i| {
            // Half users (each its own room), half admins.
            let mut socket = if i % 2 == 0 {
                rt.websocket_as(&admin, "/v1/connect")
            } else {
                let user = token("user", Some("acme"), &format!("u{i}"));
                rt.websocket_as(&user, "/v1/connect")
            };
            socket.greeting();
            socket
        })
        .collect();
    eprintln!("{n} sockets open in {:?}", started.elapsed());
    let hub = hub_status(&rt);
    assert_eq!(hub["connections"], n as u64, "{hub}");
    assert_eq!(
        hub["connectionsByRole"],
        json!({"admins": n.div_ceil(2), "users": n / 2})
    );

    let put = rt.put_json(
        "/v1/tenants/acme/config/notifications",
        &json!({"email": true}),
    );
    assert_eq!(put.status, 200, "{put:?}");
    let sent = Instant::now();
    for (i, socket) in sockets.iter_mut().enumerate() {
        let frame = socket.next_json();
        assert_eq!(
            (frame["seq"].as_u64(), frame["patch"][0]["path"].as_str()),
            (Some(1), Some("/email")),
            "socket {i}: {frame}"
        );
    }
    eprintln!(
        "all {n} sockets had the change {:?} after the ack",
        sent.elapsed()
    );
}

/// The hub's own report on `acme`, as the cron health check reads it (running the check
/// asks the hub for its status, which wakes a hibernated hub once).
fn hub_status(rt: &Runtime) -> Value {
    let snapshot = rt.run_health_check();
    snapshot["tenants"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["tenant"] == "acme"))
        .map(|line| line["hub"].clone())
        .unwrap_or_else(|| panic!("acme not in {snapshot}"))
}

/// Reads the hub's wake counter through a health check.
fn wakes(rt: &Runtime) -> u64 {
    hub_status(rt)["wakes"].as_u64().unwrap()
}

#[test]
fn heartbeats_do_not_wake_a_hibernated_hub() {
    // The runtime hibernates an idle hub with only hibernatable sockets after about 10 s.
    let idle = Duration::from_secs(15);
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let mut socket = rt.websocket("/v1/connect?tenant=acme");
    socket.greeting();

    std::thread::sleep(idle);
    let rested = wakes(&rt);
    std::thread::sleep(idle);
    let after_rest = wakes(&rt);
    assert_eq!(
        after_rest,
        rested + 1,
        "an idle hub hibernates (so the status read woke it once)"
    );

    // Heartbeats all through a hibernation period: every one answered by the runtime.
    let pinging = Instant::now();
    let mut pongs = 0;
    while pinging.elapsed() < idle {
        socket.send_text(r#"{"type":"ping"}"#);
        assert_eq!(socket.next_any()["type"], "pong");
        pongs += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(idle);
    let after_pings = wakes(&rt);
    assert_eq!(
        after_pings,
        after_rest + 1,
        "{pongs} heartbeats were answered without waking the hub; only the status read did"
    );

    // The socket is still attached and live.
    rt.put_json("/v1/tenants/acme/config/auth", &json!({"mfa": true}));
    assert_eq!(socket.next_json()["seq"], 1);
}
