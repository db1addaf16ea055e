//! End-to-end: the Rust client (`cascade-client`) against the real local runtime. It holds
//! the right effective config from a snapshot and live patches; a user's client receives its
//! own effective changes only; after dropped sockets, writes while away and a runtime crash it
//! resumes and ends with exactly the server's effective config, each change applied once;
//! `since=0` and a client older than the retained log get a snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cascade_client::{
    Backoff, Client, Connection, ConnectionState, Event, Events, Options, Resume, ServerFrame,
    SyncStatusReport,
};
use serde_json::{json, Value};
use support::relay::Relay;
use support::{token, token_with, tokio_runtime, Runtime, TEST_JWT_SECRET};

const WAIT: Duration = Duration::from_secs(60);

/// Client options for `tenant` on `port` with quick reconnection.
fn options(port: u16, token: &str, tenant: &str) -> Options {
    Options::new(format!("http://127.0.0.1:{port}"), token, tenant).with_backoff(Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(1000),
    ))
}

/// `PUT path` as the platform admin; returns the change's seq.
fn put(rt: &Runtime, path: &str, body: Value) -> u64 {
    let reply = rt.put_json(path, &body);
    assert!(reply.status == 200 || reply.status == 201, "{reply:?}");
    reply.body["seq"].as_u64().expect("seq in the reply")
}

/// The server's effective config of `namespace` for the tenant, or for `user`.
fn effective(rt: &Runtime, tenant: &str, user: Option<&str>, namespace: &str) -> Value {
    let path = match user {
        Some(u) => format!("/v1/tenants/{tenant}/users/{u}/effective/{namespace}"),
        None => format!("/v1/tenants/{tenant}/effective/{namespace}"),
    };
    let reply = rt.get(&path);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["config"].clone()
}

/// The seqs of the `Changed` events among `events`.
fn changed(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Changed(c) => Some(c.change.seq),
            _ => None,
        })
        .collect()
}

fn assert_strictly_increasing(seqs: &[u64]) {
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "duplicate or out-of-order seqs: {seqs:?}"
    );
}

/// Drains what `events` holds now.
fn drain(events: &mut Events, into: &mut Vec<Event>) {
    into.extend(events.drain());
}

#[test]
fn connects_receives_a_live_change_and_holds_the_effective_config() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    put(
        &rt,
        "/v1/tenants/acme/config/notifications",
        json!({"email": {"enabled": true}, "sms": {"provider": "twilio"}}),
    );
    let tokio = tokio_runtime();
    let _guard = tokio.enter();
    let admin = token("tenant-admin", Some("acme"), "ann");
    let (client, mut events) = Client::connect_with_events(options(rt.port, &admin, "acme"));
    let synced = tokio.block_on(client.wait_live(WAIT)).expect("live");
    assert_eq!(client.state(), ConnectionState::Live);
    assert!(synced >= 1);
    assert_eq!(
        client.config("notifications"),
        Some(effective(&rt, "acme", None, "notifications"))
    );

    let seq = put(
        &rt,
        "/v1/tenants/acme/config/notifications",
        json!({"email": {"enabled": false}, "sms": {"provider": "twilio"}}),
    );
    // The change, and (admins) the tenant's sync status after it, in either order.
    let (mut change, mut status) = (None, None);
    tokio.block_on(events.next_matching(WAIT, |e| {
        match e {
            Event::Changed(c) => change = Some(c.clone()),
            Event::SyncStatus(SyncStatusReport::Tenant(s)) if s.seq >= seq => {
                status = Some(s.clone())
            }
            _ => {}
        }
        (change.is_some() && status.is_some()).then_some(())
    }));
    let change = change.expect("a live change");
    let status = status.expect("a sync-status frame");
    assert_eq!((status.tenant.as_str(), status.seq), ("acme", seq));
    assert_eq!(change.change.seq, seq);
    assert_eq!(change.change.namespace, "notifications");
    assert_eq!(change.kind.as_str(), "config-updated");
    assert_eq!(
        change.change.triggered_by.as_deref(),
        Some("e2e-platform-admin")
    );
    assert_eq!(
        change.config,
        json!({"email": {"enabled": false}, "sms": {"provider": "twilio"}})
    );
    assert_eq!(
        client.config("notifications"),
        Some(effective(&rt, "acme", None, "notifications"))
    );
    assert_eq!(client.seq(), seq);
    tokio.block_on(client.close());
}

#[test]
fn a_user_client_receives_its_own_effective_changes_only() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    // Ulla has her own theme; Bob has nothing of his own.
    put(
        &rt,
        "/v1/tenants/acme/users/ulla/config/ui",
        json!({"theme": "dark"}),
    );
    let tokio = tokio_runtime();
    let _guard = tokio.enter();
    let connect = |user: &str| {
        let t = token("user", Some("acme"), user);
        Client::connect_with_events(options(rt.port, &t, "acme"))
    };
    let (ulla, mut ulla_events) = connect("ulla");
    let (bob, mut bob_events) = connect("bob");
    tokio.block_on(ulla.wait_live(WAIT)).expect("ulla live");
    tokio.block_on(bob.wait_live(WAIT)).expect("bob live");
    assert_eq!(ulla.config("ui"), Some(json!({"theme": "dark"})));

    // A tenant change: Ulla's own theme shadows half of it.
    let both = put(
        &rt,
        "/v1/tenants/acme/config/ui",
        json!({"theme": "light", "lang": "en"}),
    );
    // Only the theme changes: shadowed for Ulla, who receives nothing.
    let bob_only = put(
        &rt,
        "/v1/tenants/acme/config/ui",
        json!({"theme": "blue", "lang": "en"}),
    );
    // Bob's own layer: nobody else's business.
    let bob_own = put(
        &rt,
        "/v1/tenants/acme/users/bob/config/ui",
        json!({"lang": "fr"}),
    );
    // A change for everyone closes the sequence.
    let last = put(&rt, "/v1/tenants/acme/config/banner", json!({"done": true}));

    let collect = |events: &mut Events| {
        let mut seen = Vec::new();
        tokio.block_on(events.next_matching(WAIT, |e| {
            if let Event::Changed(c) = e {
                seen.push((c.change.seq, c.change.namespace.clone(), c.config.clone()));
            }
            (seen.last().map(|s| s.0) == Some(last)).then_some(())
        }));
        seen
    };
    let ulla_seen = collect(&mut ulla_events);
    let bob_seen = collect(&mut bob_events);
    assert_eq!(
        ulla_seen,
        vec![
            (both, "ui".into(), json!({"theme": "dark", "lang": "en"})),
            (last, "banner".into(), json!({"done": true})),
        ]
    );
    let bob_seqs: Vec<u64> = bob_seen.iter().map(|s| s.0).collect();
    assert_eq!(bob_seqs, [both, bob_only, bob_own, last]);
    assert_eq!(
        bob_seen[2].2,
        json!({"theme": "blue", "lang": "fr"}),
        "Bob's own effective config"
    );
    for (client, user) in [(&ulla, "ulla"), (&bob, "bob")] {
        for ns in ["ui", "banner"] {
            assert_eq!(
                client.config(ns),
                Some(effective(&rt, "acme", Some(user), ns)),
                "{user} {ns}"
            );
        }
    }
    tokio.block_on(async {
        ulla.close().await;
        bob.close().await;
    });
}

#[test]
fn a_socket_closed_at_token_expiry_resumes_with_a_fresh_token_and_misses_nothing() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let tokio = tokio_runtime();
    let _guard = tokio.enter();
    // Every connection asks for a token that expires within 3 s.
    let minted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&minted);
    let opts = options(rt.port, "unused", "acme").with_token_provider(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let claims = json!({"sub": "ann", "role": "tenant-admin", "tid": "acme"});
        token_with(&claims, 3, TEST_JWT_SECRET)
    });
    let (client, mut events) = Client::connect_with_events(opts);
    tokio.block_on(client.wait_live(WAIT)).expect("live");

    // Writes every 200 ms for 8 s: the socket expires twice or more in between.
    let mut written = Vec::new();
    for n in 0..40 {
        written.push(put(&rt, "/v1/tenants/acme/config/flags", json!({"n": n})));
        std::thread::sleep(Duration::from_millis(200));
    }
    let last = *written.last().unwrap();
    assert_eq!(tokio.block_on(client.wait_for_seq(last, WAIT)), Some(last));
    let log = events.drain();

    let expiries = log
        .iter()
        .filter(|e| matches!(e, Event::Disconnected { reason } if reason.contains("token expired")))
        .count();
    assert!(expiries >= 2, "{expiries} expiries: {log:?}");
    assert!(
        minted.load(Ordering::SeqCst) > expiries,
        "a fresh token per connection"
    );
    // Every change arrived, once and in order, across the reconnections.
    assert_eq!(changed(&log), written, "{log:?}");
    assert_eq!(
        client.config("flags"),
        Some(effective(&rt, "acme", None, "flags"))
    );
    // Reconnected at once, not after a backoff.
    assert!(
        log.iter().all(|e| !matches!(e, Event::Reconnecting { delay, .. } if *delay > Duration::from_millis(50))),
        "{log:?}"
    );
    tokio.block_on(client.close());
}

#[test]
fn resumes_across_drops_and_a_crash_with_the_servers_config_and_no_duplicates() {
    let mut rt = Runtime::start();
    rt.create_tenant("acme");
    put(&rt, "/v1/tenants/acme/config/flags", json!({"n": 0}));
    let tokio = tokio_runtime();
    let _guard = tokio.enter();
    let relay = tokio.block_on(Relay::start(rt.port));
    let admin = token("tenant-admin", Some("acme"), "ann");
    let (client, mut events) = Client::connect_with_events(options(relay.port, &admin, "acme"));
    let mut log = Vec::new();
    tokio.block_on(client.wait_live(WAIT)).expect("live");

    // Live changes, with the socket cut in the middle of them.
    for n in 1..=3 {
        put(&rt, "/v1/tenants/acme/config/flags", json!({"n": n}));
    }
    relay.cut();
    for n in 4..=6 {
        put(
            &rt,
            "/v1/tenants/acme/config/flags",
            json!({"n": n, "even": n % 2 == 0}),
        );
    }
    // Away for a while: new connections fail while writes go on.
    relay.open.store(false, Ordering::SeqCst);
    relay.cut();
    for n in 7..=9 {
        put(&rt, "/v1/tenants/acme/config/flags", json!({"n": n}));
        put(&rt, "/v1/tenants/acme/config/other", json!({"m": n}));
    }
    relay.open.store(true, Ordering::SeqCst);
    let before_crash = put(&rt, "/v1/tenants/acme/config/flags", json!({"n": 10}));
    assert_eq!(
        tokio.block_on(client.wait_for_seq(before_crash, WAIT)),
        Some(before_crash)
    );
    drain(&mut events, &mut log);

    // The runtime dies (SIGKILL) and comes back on the same state, on another port.
    let state = rt.state.clone();
    rt.crash();
    relay.cut();
    let rt = Runtime::start_on(state);
    relay.target.store(rt.port, Ordering::SeqCst);
    let mut last = 0;
    for n in 11..=13 {
        last = put(&rt, "/v1/tenants/acme/config/flags", json!({"n": n}));
    }
    assert!(last > before_crash);
    assert_eq!(tokio.block_on(client.wait_for_seq(last, WAIT)), Some(last));
    drain(&mut events, &mut log);

    let seqs = changed(&log);
    assert_strictly_increasing(&seqs);
    assert_eq!(seqs.last(), Some(&last));
    assert_eq!(client.seq(), last);
    let held: BTreeMap<String, Value> = client.configs();
    for ns in ["flags", "other"] {
        assert_eq!(
            held.get(ns),
            Some(&effective(&rt, "acme", None, ns)),
            "{ns}"
        );
    }
    assert_eq!(held["flags"], json!({"n": 13}));
    let reconnects = log
        .iter()
        .filter(|e| matches!(e, Event::Connected { .. }))
        .count();
    assert!(reconnects >= 3, "{reconnects} connections: {log:?}");
    tokio.block_on(client.close());
}

#[test]
fn since_zero_gets_a_snapshot_and_since_n_a_replay() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let first = put(&rt, "/v1/tenants/acme/config/auth", json!({"mfa": true}));
    let second = put(
        &rt,
        "/v1/tenants/acme/config/notifications",
        json!({"email": true}),
    );
    let tokio = tokio_runtime();
    let admin = token("tenant-admin", Some("acme"), "ann");
    let o = options(rt.port, &admin, "acme");
    tokio.block_on(async {
        // since=0: hello(snapshot), the whole effective config, synced.
        let mut c = Connection::open(&o, Some(0)).await.unwrap();
        let hello = c.next_frame().await.unwrap().unwrap();
        assert!(
            matches!(hello, ServerFrame::Hello { seq, resume: Resume::Snapshot, .. } if seq == second),
            "{hello:?}"
        );
        let Some(ServerFrame::Snapshot { seq, configs, .. }) = c.next_frame().await.unwrap() else {
            panic!("a snapshot");
        };
        assert_eq!(seq, second);
        assert_eq!(configs["auth"].config, json!({"mfa": true}).as_object().cloned().unwrap());
        assert_eq!(configs["auth"].version, first);
        assert_eq!(configs["notifications"].version, second);
        assert_eq!(
            c.next_frame().await.unwrap(),
            Some(ServerFrame::Synced { seq: second })
        );
        c.close().await.unwrap();

        // since=first: the later change only, then synced.
        let mut c = Connection::open(&o, Some(first)).await.unwrap();
        assert!(matches!(
            c.next_frame().await.unwrap(),
            Some(ServerFrame::Hello { resume: Resume::Replay, .. })
        ));
        let replayed = c.next_frame().await.unwrap().unwrap();
        assert_eq!(replayed.change().map(|ch| ch.seq), Some(second));
        assert_eq!(
            c.next_frame().await.unwrap(),
            Some(ServerFrame::Synced { seq: second })
        );
        // The heartbeat is answered.
        c.ping().await.unwrap();
        assert_eq!(c.next_frame().await.unwrap(), Some(ServerFrame::Pong));
        c.close().await.unwrap();

    });

    // A client following one namespace holds only that one, and gets only its changes.
    let _guard = tokio.enter();
    let (client, mut events) = Client::connect_with_events(o.with_namespaces(["auth"]));
    tokio.block_on(client.wait_live(WAIT)).expect("live");
    assert_eq!(
        client.configs().keys().cloned().collect::<Vec<_>>(),
        ["auth"]
    );
    put(
        &rt,
        "/v1/tenants/acme/config/notifications",
        json!({"email": false}),
    );
    let auth = put(&rt, "/v1/tenants/acme/config/auth", json!({"mfa": false}));
    let first_change = tokio.block_on(events.next_matching(WAIT, |e| match e {
        Event::Changed(c) => Some((c.change.seq, c.change.namespace.clone())),
        _ => None,
    }));
    assert_eq!(first_change, Some((auth, "auth".to_owned())));
    assert_eq!(client.config("auth"), Some(json!({"mfa": false})));
    tokio.block_on(client.close());
}

#[test]
fn a_client_away_longer_than_the_retained_log_resumes_from_a_snapshot() {
    let rt = Runtime::start_with(support::State::fresh(), &[("FRAME_LOG_SEQS", "3")]);
    rt.create_tenant("acme");
    put(&rt, "/v1/tenants/acme/config/flags", json!({"n": 0}));
    let tokio = tokio_runtime();
    let _guard = tokio.enter();
    let relay = tokio.block_on(Relay::start(rt.port));
    let admin = token("tenant-admin", Some("acme"), "ann");
    let (client, mut events) = Client::connect_with_events(options(relay.port, &admin, "acme"));
    let first = tokio.block_on(client.wait_live(WAIT)).expect("live");

    // Away for more changes than the hub keeps.
    relay.open.store(false, Ordering::SeqCst);
    relay.cut();
    for n in 1..=4 {
        put(&rt, "/v1/tenants/acme/config/flags", json!({"n": n}));
        put(&rt, "/v1/tenants/acme/config/other", json!({"m": n}));
    }
    let away = put(&rt, "/v1/tenants/acme/config/flags", json!({"n": 5}));
    relay.open.store(true, Ordering::SeqCst);
    assert_eq!(tokio.block_on(client.wait_for_seq(away, WAIT)), Some(away));
    // Then live again.
    let live = put(&rt, "/v1/tenants/acme/config/other", json!({"m": 6}));
    assert_eq!(tokio.block_on(client.wait_for_seq(live, WAIT)), Some(live));

    let mut log = Vec::new();
    drain(&mut events, &mut log);
    let resumes: Vec<Resume> = log
        .iter()
        .filter_map(|e| match e {
            Event::Connected { resume, .. } => Some(*resume),
            _ => None,
        })
        .collect();
    assert!(resumes.len() >= 2, "reconnected: {resumes:?}");
    assert_eq!(
        resumes.last(),
        Some(&Resume::Snapshot),
        "the log no longer reaches back to {first}: {log:?}"
    );
    let seqs = changed(&log);
    assert_strictly_increasing(&seqs);
    assert_eq!(seqs, [live], "the missed changes came as a snapshot");
    for ns in ["flags", "other"] {
        assert_eq!(
            client.config(ns),
            Some(effective(&rt, "acme", None, ns)),
            "{ns}"
        );
    }
    tokio.block_on(client.close());
}
