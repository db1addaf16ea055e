//! Fault injection on the real runtime: clients connected through a relay and writers
//! running while the runtime (workerd and wrangler) is killed with SIGKILL at random points
//! and restarted, several times; and a reconnect storm of every client at once.
//!
//! Afterwards: every client's effective config equals the server's; every acknowledged write
//! is in the history exactly once and its value was not lost; every acknowledged change was
//! seen by each admin client once, or is covered by a snapshot it received.
//!
//! `CASCADE_CHAOS_CRASHES` sets the number of crashes (default 3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cascade_client::{Backoff, Client, Event, Events, Options};
use serde_json::{json, Value};
use support::relay::Relay;
use support::{eventually, token, tokio_runtime, Runtime};

const WAIT: Duration = Duration::from_secs(90);
const NAMESPACE: &str = "chaos";

fn crashes() -> usize {
    std::env::var("CASCADE_CHAOS_CRASHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// A random number below `bound` (std's randomly keyed hasher; no seed to manage).
fn random_below(bound: u64) -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(bound);
    hasher.finish() % bound.max(1)
}

fn options(port: u16, token: &str) -> Options {
    Options::new(format!("http://127.0.0.1:{port}"), token, "acme")
        .with_backoff(Backoff::new(
            Duration::from_millis(50),
            Duration::from_millis(1000),
        ))
        .with_namespaces([NAMESPACE])
        .with_event_capacity(65_536)
}

/// An acknowledged write: which writer, its value, and the seq the hub gave it.
#[derive(Debug, Clone, Copy)]
struct Acked {
    writer: usize,
    n: u64,
    seq: u64,
}

/// Writes `{"w{writer}": n}` for n = 1, 2, ... until stopped, recording every write the
/// server acknowledged. Writes refused while the runtime is down are not acknowledged.
fn writer(
    port: Arc<Mutex<u16>>,
    writer: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let auth = format!(
            "Bearer {}",
            token("tenant-admin", Some("acme"), &format!("writer{writer}"))
        );
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let url = format!(
                "http://127.0.0.1:{}/v1/tenants/acme/config/{NAMESPACE}",
                *port.lock().unwrap()
            );
            let body = json!({ format!("w{writer}"): n });
            let answer = agent
                .patch(&url)
                .header("authorization", &auth)
                .header("content-type", "application/merge-patch+json")
                .send(body.to_string());
            if let Ok(mut resp) = answer {
                // Acknowledged only when the whole answer arrived (a crash can cut it).
                let reply = (resp.status() == 200)
                    .then(|| resp.body_mut().read_json::<Value>().ok())
                    .flatten();
                if let Some(seq) = reply.and_then(|r| r["seq"].as_u64()) {
                    acked.lock().unwrap().push(Acked { writer, n, seq });
                }
            }
            std::thread::sleep(Duration::from_millis(20 + random_below(60)));
        }
    })
}

/// Every history seq of the tenant (all pages).
fn history_seqs(rt: &Runtime) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/v1/tenants/acme/history?limit=500&before={b}"),
            None => "/v1/tenants/acme/history?limit=500".to_owned(),
        };
        let page = rt.get(&path);
        assert_eq!(page.status, 200, "{page:?}");
        for entry in page.body["entries"].as_array().unwrap() {
            seqs.push(entry["seq"].as_u64().unwrap());
        }
        match page.body["nextBefore"].as_u64() {
            Some(next) => before = Some(next),
            None => return seqs,
        }
    }
}

fn drain(events: &mut Events, into: &mut Vec<Event>) {
    into.extend(events.drain());
}

#[test]
fn kills_and_restarts_lose_no_acknowledged_write_and_leave_clients_equal_to_the_server() {
    let mut rt = Runtime::start();
    rt.create_tenant("acme");
    let tokio = tokio_runtime();
    let _guard = tokio.enter();
    let relay = tokio.block_on(Relay::start(rt.port));

    // Three admins and two users, each holding the chaos namespace.
    let subjects: Vec<(String, Option<String>)> = (0..5)
        .map(|i| {
            if i < 3 {
                (
                    token("tenant-admin", Some("acme"), &format!("ann{i}")),
                    None,
                )
            } else {
                let user = format!("ulla{i}");
                (token("user", Some("acme"), &user), Some(user))
            }
        })
        .collect();
    let mut clients: Vec<(Client, Events, Vec<Event>, Option<String>)> = subjects
        .into_iter()
        .map(|(tok, user)| {
            let (client, events) = Client::connect_with_events(options(relay.port, &tok));
            (client, events, Vec::new(), user)
        })
        .collect();
    for (client, ..) in &clients {
        tokio.block_on(client.wait_live(WAIT)).expect("live");
    }
    // One user has a layer of their own that shadows writer 0.
    rt.put_json(
        &format!("/v1/tenants/acme/users/ulla4/config/{NAMESPACE}"),
        &json!({"w0": -1}),
    );

    let port = Arc::new(Mutex::new(rt.port));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..2)
        .map(|w| writer(Arc::clone(&port), w, Arc::clone(&stop), Arc::clone(&acked)))
        .collect();

    for round in 0..crashes() {
        std::thread::sleep(Duration::from_millis(800 + random_below(2500)));
        let state = rt.state.clone();
        let before = acked.lock().unwrap().len();
        rt.crash();
        relay.cut();
        eprintln!("crash {round}: {before} writes acknowledged so far");
        rt = Runtime::start_on(state);
        *port.lock().unwrap() = rt.port;
        relay.target.store(rt.port, Ordering::SeqCst);
    }
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 10, "writers got through: {acked:?}");

    // A last change every subject sees (no user shadows `done`): once a client has it, it
    // has caught up, whether it last resumed before or after the writers' final changes.
    let done = rt.request_with(
        &[
            ("authorization", &format!("Bearer {}", rt.admin_token)),
            ("content-type", "application/merge-patch+json"),
        ],
        "PATCH",
        &format!("/v1/tenants/acme/config/{NAMESPACE}"),
        Some(r#"{"done": true}"#),
    );
    assert_eq!(done.status, 200, "{done:?}");
    let server_seq = done.body["seq"].as_u64().unwrap();
    let effective = rt
        .get(&format!("/v1/tenants/acme/effective/{NAMESPACE}"))
        .body["config"]
        .clone();

    // Every acknowledged write: its seq once in the history, its value not lost.
    let history = eventually(WAIT, || {
        let seqs = history_seqs(&rt);
        acked.iter().all(|a| seqs.contains(&a.seq)).then_some(seqs)
    });
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for seq in &history {
        *counts.entry(*seq).or_default() += 1;
    }
    assert!(counts.values().all(|c| *c == 1), "a seq twice in history");
    for w in 0..2 {
        let last = acked.iter().filter(|a| a.writer == w).map(|a| a.n).max();
        let held = effective[format!("w{w}")].as_u64();
        assert!(
            held >= last,
            "writer {w}: server holds {held:?}, last ack {last:?}"
        );
    }

    // Every client: the server's config; each admin saw every acked change once or holds
    // a snapshot that covers it.
    for (client, events, log, user) in &mut clients {
        let reached = tokio.block_on(client.wait_for_seq(server_seq, WAIT));
        drain(events, log);
        assert_eq!(
            reached,
            Some(server_seq),
            "{user:?} in state {:?} at seq {}; last events: {:?}",
            client.state(),
            client.seq(),
            &log[log.len().saturating_sub(6)..]
        );
        let server = match user {
            Some(u) => rt
                .get(&format!("/v1/tenants/acme/users/{u}/effective/{NAMESPACE}"))
                .body["config"]
                .clone(),
            None => effective.clone(),
        };
        assert_eq!(
            client.config(NAMESPACE).unwrap_or(json!({})),
            server,
            "{user:?}"
        );
        let seen: Vec<u64> = log
            .iter()
            .filter_map(|e| match e {
                Event::Changed(c) => Some(c.change.seq),
                _ => None,
            })
            .collect();
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "duplicates or disorder: {seen:?}"
        );
        let snapshot_cover = log
            .iter()
            .filter_map(|e| match e {
                Event::Snapshot { seq, .. } => Some(*seq),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        if user.is_none() {
            let seen: BTreeSet<u64> = seen.into_iter().collect();
            for a in &acked {
                assert!(
                    seen.contains(&a.seq) || a.seq <= snapshot_cover,
                    "admin missed seq {} (snapshot covers up to {snapshot_cover})",
                    a.seq
                );
            }
        }
    }
}

#[test]
fn a_reconnect_storm_of_every_client_loses_nothing() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let tokio = tokio_runtime();
    let _guard = tokio.enter();
    let relay = tokio.block_on(Relay::start(rt.port));
    let clients: Vec<Client> = (0..150)
        .map(|i| {
            let tok = if i % 3 == 0 {
                token("tenant-admin", Some("acme"), &format!("a{i}"))
            } else {
                token("user", Some("acme"), &format!("u{i}"))
            };
            Client::connect(options(relay.port, &tok))
        })
        .collect();
    for client in &clients {
        tokio.block_on(client.wait_live(WAIT)).expect("live");
    }
    // Everyone drops at once, and new connections fail for a moment while writes go on.
    relay.open.store(false, Ordering::SeqCst);
    relay.cut();
    let mut last = 0;
    for n in 1..=5 {
        let reply = rt.put_json(
            &format!("/v1/tenants/acme/config/{NAMESPACE}"),
            &json!({"n": n}),
        );
        last = reply.body["seq"].as_u64().unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    relay.open.store(true, Ordering::SeqCst);
    for client in &clients {
        assert_eq!(tokio.block_on(client.wait_for_seq(last, WAIT)), Some(last));
        assert_eq!(client.config(NAMESPACE), Some(json!({"n": 5})));
        assert_eq!(client.duplicates(), 0);
    }
}
