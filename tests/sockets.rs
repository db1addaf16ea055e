//! End-to-end: hibernating sockets at scale and at rest — 1,000 concurrent sockets on one
//! tenant all receive a change, and heartbeats are answered without waking a hibernated hub
//! (shown by the hub's own wake counter) — and connection hygiene: the caps on sockets per
//! user and per tenant (refused with 429 before the upgrade, set small through the runtime's
//! variables), a socket closed for flooding that gets nothing more while the hub goes on, and
//! a socket closed with 4001 when its token expires, before any change after that.
//!
//! `CASCADE_SOCKETS` sets the socket count (default 1,000).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{eventually, token, token_with, Reply, Runtime, Socket, State, TEST_JWT_SECRET};

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
    let started = Instant::now();
    let mut sockets: Vec<_> = (0..n)
        .map(|i| {
            // Half users (each its own room), half admins; one socket per subject, as the
            // cap on sockets per user would refuse a 9th from the same one.
            let mut socket = if i % 2 == 0 {
                let admin = token("tenant-admin", Some("acme"), &format!("ada{i}"));
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

/// The code of a connect refused for a socket cap.
const TOO_MANY_SOCKETS: &str = "CASCADE:Connect:TooManySockets";

/// Frames a socket may have refused before the hub closes it (`MAX_STRIKES`,
/// docs/PROTOCOL.md).
const MAX_STRIKES: usize = 20;

const NOTIFY: &str = "/v1/tenants/acme/config/notifications";

/// The refusal of a connect that should have been refused.
fn refused(attempt: Result<Socket, Reply>) -> Reply {
    match attempt {
        Ok(_) => panic!("a connect over the cap was accepted"),
        Err(reply) => reply,
    }
}

/// Asserts `reply` is the 429 of a socket cap, with a detail that names the cap and the count
/// (`says`), and a `Retry-After` equal to the document's `retryAfter`.
fn assert_too_many_sockets(reply: &Reply, says: &[&str]) {
    reply.assert_problem(429, TOO_MANY_SOCKETS);
    let detail = reply.body["detail"].as_str().unwrap();
    for phrase in says {
        assert!(detail.contains(phrase), "{phrase:?} not in {detail:?}");
    }
    let retry: u64 = reply
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .unwrap();
    assert!(retry > 0, "{reply:?}");
    assert_eq!(reply.body["retryAfter"], retry, "{reply:?}");
}

/// A socket for `token` at `path`, greeted, once the hub has room for it again (a closed
/// socket leaves the count when the hub has seen its close).
fn connect_when_room(rt: &Runtime, token: &str, path: &str) -> Socket {
    let mut socket = eventually(Duration::from_secs(20), || {
        rt.try_websocket_as(token, path).ok()
    });
    socket.greeting();
    socket
}

/// A greeted socket for `token` at `path`.
fn connected(rt: &Runtime, token: &str, path: &str) -> Socket {
    let mut socket = rt.websocket_as(token, path);
    socket.greeting();
    socket
}

/// Writes to `acme` and checks every socket in `sockets` gets the change frame.
fn write_reaches(rt: &Runtime, sockets: &mut [(&str, &mut Socket)]) {
    let put = rt.put_json(NOTIFY, &json!({"email": true}));
    assert_eq!(put.status, 200, "{put:?}");
    for (who, socket) in sockets.iter_mut() {
        let frame = socket.next_json();
        assert_eq!(
            (frame["seq"].as_u64(), frame["patch"][0]["path"].as_str()),
            (Some(1), Some("/email")),
            "{who}: {frame}"
        );
    }
}

#[test]
fn one_socket_over_the_per_user_cap_is_refused_before_the_upgrade() {
    let rt = Runtime::start_with(
        State::fresh(),
        &[
            ("MAX_SOCKETS_PER_USER", "2"),
            ("MAX_SOCKETS_PER_TENANT", "100"),
        ],
    );
    rt.create_tenant("acme");
    let bob = token("user", Some("acme"), "bob");
    let mut bob1 = connected(&rt, &bob, "/v1/connect");
    let mut bob2 = connected(&rt, &bob, "/v1/connect");
    assert_too_many_sockets(
        &refused(rt.try_websocket_as(&bob, "/v1/connect")),
        &["'bob' already has 2 open sockets", "cap is 2 per user"],
    );

    // Admins are counted per subject as well.
    let ann = token("tenant-admin", Some("acme"), "ann");
    let mut ann1 = connected(&rt, &ann, "/v1/connect");
    let _ann2 = connected(&rt, &ann, "/v1/connect");
    assert_too_many_sockets(
        &refused(rt.try_websocket_as(&ann, "/v1/connect")),
        &["'ann' already has 2 open sockets", "cap is 2 per user"],
    );

    // Another user is not held back by bob's sockets.
    let carol = token("user", Some("acme"), "carol");
    let mut carol1 = connected(&rt, &carol, "/v1/connect");

    // Bob closes one socket and gets back in, and still no further.
    bob1.send_text(r#"{"type":"ping"} "#);
    assert_eq!(bob1.next_any()["type"], "pong");
    bob1.close();
    let mut bob3 = connect_when_room(&rt, &bob, "/v1/connect");
    assert_too_many_sockets(
        &refused(rt.try_websocket_as(&bob, "/v1/connect")),
        &["'bob' already has 2 open sockets"],
    );

    // The hub goes on serving writes and delivering to every open socket.
    write_reaches(
        &rt,
        &mut [
            ("bob2", &mut bob2),
            ("bob3", &mut bob3),
            ("carol", &mut carol1),
            ("ann", &mut ann1),
        ],
    );
}

#[test]
fn one_socket_over_the_per_tenant_cap_is_refused_and_other_tenants_are_not() {
    let rt = Runtime::start_with(State::fresh(), &[("MAX_SOCKETS_PER_TENANT", "3")]);
    rt.create_tenant("acme");
    rt.create_tenant("globex");
    let users: Vec<String> = (0..3)
        .map(|i| token("user", Some("acme"), &format!("u{i}")))
        .collect();
    let mut open: Vec<Socket> = users
        .iter()
        .map(|t| connected(&rt, t, "/v1/connect"))
        .collect();

    let dan = token("user", Some("acme"), "dan");
    assert_too_many_sockets(
        &refused(rt.try_websocket_as(&dan, "/v1/connect")),
        &[
            "tenant 'acme' already has 3 open sockets",
            "cap is 3 per tenant",
        ],
    );
    // Every role counts against the tenant, a platform admin's too.
    assert_too_many_sockets(
        &refused(rt.try_websocket_as(&rt.admin_token, "/v1/connect?tenant=acme")),
        &["tenant 'acme' already has 3 open sockets"],
    );

    // Another tenant has a count of its own.
    let gus = token("user", Some("globex"), "gus");
    let _globex = connected(&rt, &gus, "/v1/connect");

    // One socket closes: dan gets in, and the tenant is full again.
    open.remove(0).close();
    let mut dan1 = connect_when_room(&rt, &dan, "/v1/connect");
    assert_too_many_sockets(
        &refused(rt.try_websocket_as(&users[0], "/v1/connect")),
        &["tenant 'acme' already has 3 open sockets"],
    );

    let (u1, u2) = open.split_at_mut(1);
    write_reaches(
        &rt,
        &mut [("u1", &mut u1[0]), ("u2", &mut u2[0]), ("dan", &mut dan1)],
    );
}

#[test]
fn a_socket_closed_for_flooding_gets_nothing_more_and_the_hub_goes_on() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let mut healthy = connected(&rt, &token("user", Some("acme"), "hal"), "/v1/connect");
    let mut flooder = connected(&rt, &token("user", Some("acme"), "flo"), "/v1/connect");

    // Many more than the refused frames that close it, in one burst: the runtime has read
    // most of them before the hub closes the socket, and hands them to it afterwards.
    let burst = 10 * MAX_STRIKES;
    flooder.send_burst("{not json", burst);
    let (answers, code) = flooder.frames_until_close();
    assert_eq!(code, 1008, "closed for policy violation");
    assert_eq!(
        answers.len(),
        MAX_STRIKES,
        "one error frame per refused frame up to the close, none after: {answers:?}"
    );
    assert!(answers.iter().all(|f| f["type"] == "error"), "{answers:?}");

    // The flooder has not answered the close, so the hub still lists its socket, closing,
    // when it delivers this write; the other socket gets the change and keeps being served.
    write_reaches(&rt, &mut [("healthy", &mut healthy)]);
    healthy.send_text(r#"{"type":"ping"} "#);
    assert_eq!(healthy.next_any()["type"], "pong");
    assert!(
        flooder.frame_within(Duration::from_secs(2)).is_none(),
        "a frame after the close"
    );

    let log = rt.log_text();
    assert!(
        !log.contains("after close()"),
        "the hub wrote to a socket it had closed:\n{log}"
    );
}

#[test]
fn a_socket_is_closed_with_4001_when_its_token_expires_and_gets_no_change_after() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let claims = json!({"sub": "eli", "role": "user", "tid": "acme"});
    let mut expiring = connected(&rt, &token_with(&claims, 3, TEST_JWT_SECRET), "/v1/connect");
    let mut lasting = connected(&rt, &token("user", Some("acme"), "lou"), "/v1/connect");
    let expires = Instant::now() + Duration::from_secs(3);

    // A change before the expiry reaches both.
    write_reaches(
        &rt,
        &mut [("expiring", &mut expiring), ("lasting", &mut lasting)],
    );

    // After it: the expired socket gets no change, it is closed with 4001.
    std::thread::sleep(
        expires.saturating_duration_since(Instant::now()) + Duration::from_millis(300),
    );
    let put = rt.put_json(NOTIFY, &json!({"email": false}));
    assert_eq!(put.status, 200, "{put:?}");
    let (frames, code) = expiring.frames_until_close();
    assert_eq!(code, cascade_protocol::CLOSE_TOKEN_EXPIRED, "{frames:?}");
    // Only the expiry notice, no change.
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "error");
    assert_eq!(frames[0]["code"], cascade_protocol::TOKEN_EXPIRED_CODE);
    assert_eq!(lasting.next_json()["seq"], put.body["seq"]);
}

#[test]
fn an_idle_socket_is_closed_at_its_tokens_expiry() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let claims = json!({"sub": "ida", "role": "tenant-admin", "tid": "acme"});
    let mut socket = connected(&rt, &token_with(&claims, 3, TEST_JWT_SECRET), "/v1/connect");
    let started = Instant::now();
    // No write, no frame: the hub's alarm closes it.
    let (_, code) = socket.frames_until_close();
    assert_eq!(code, cascade_protocol::CLOSE_TOKEN_EXPIRED);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "closed {:?} after connecting",
        started.elapsed()
    );

    // A token past its `exp` (inside the clock leeway HTTP requests get) opens no socket.
    let expired = token_with(&claims, -5, TEST_JWT_SECRET);
    let read = rt.request_as(&expired, "GET", NOTIFY, None);
    assert_ne!(read.status, 401, "HTTP keeps its leeway: {read:?}");
    let refused = rt.try_websocket_as(&expired, "/v1/connect").err().unwrap();
    refused.assert_problem(401, "CASCADE:Auth:Unauthenticated");
}

#[test]
fn a_platform_admins_socket_is_closed_at_its_tokens_expiry_and_gets_no_status_after() {
    let rt = Runtime::start();
    let claims = json!({"sub": "pat", "role": "platform-admin"});
    let mut expiring = connected(&rt, &token_with(&claims, 3, TEST_JWT_SECRET), "/v1/connect");
    let mut lasting = connected(&rt, &token("platform-admin", None, "pia"), "/v1/connect");
    let started = Instant::now();

    // No health check, no frame: the platform hub's alarm closes the expired socket alone.
    let (frames, code) = expiring.frames_until_close();
    assert_eq!(code, cascade_protocol::CLOSE_TOKEN_EXPIRED, "{frames:?}");
    assert_eq!(frames.len(), 1, "only the expiry notice: {frames:?}");
    assert_eq!(frames[0]["code"], cascade_protocol::TOKEN_EXPIRED_CODE);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "closed {:?} after connecting",
        started.elapsed()
    );

    // The admin whose token lasts keeps the room: a health check's status still reaches it.
    rt.run_health_check();
    let status = lasting.next_any();
    assert_eq!(status["type"], "sync-status", "{status}");
}
