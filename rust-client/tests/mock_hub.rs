//! The client against a scripted in-process WebSocket server: what it sends (`since`,
//! `namespaces`, the bearer token, pings) and how it reacts (resume, duplicates, a patch that
//! does not apply, a dead connection, a refused token, close).

use std::time::Duration;

use cascade_client::{
    Backoff, Client, ConnectionState, Event, Heartbeat, Options, Resume, ServerFrame,
};
use cascade_protocol::{ConfigChange, SnapshotDocument};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const WAIT: Duration = Duration::from_secs(10);

/// One accepted socket and the request line it was opened with.
struct Accepted {
    uri: String,
    auth: Option<String>,
    socket: WebSocketStream<TcpStream>,
}

impl Accepted {
    async fn send(&mut self, frame: &ServerFrame) {
        let text = serde_json::to_string(frame).expect("serializes");
        self.socket.send(Message::text(text)).await.expect("send");
    }

    async fn next_text(&mut self) -> Option<String> {
        loop {
            match tokio::time::timeout(WAIT, self.socket.next())
                .await
                .ok()??
            {
                Ok(Message::Text(t)) => return Some(t.as_str().to_owned()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    fn since(&self) -> Option<u64> {
        self.uri
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("since="))
            .and_then(|v| v.parse().ok())
    }
}

/// A server that hands each accepted socket to the test; `refuse` answers every upgrade
/// with that HTTP status instead.
async fn server(refuse: Option<u16>) -> (String, mpsc::Receiver<Accepted>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut uri = String::new();
                let mut auth = None;
                // The callback's signature is tungstenite's.
                #[allow(clippy::result_large_err)]
                let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    uri = req.uri().to_string();
                    auth = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    match refuse {
                        Some(status) => {
                            let mut err = ErrorResponse::new(Some("refused".into()));
                            *err.status_mut() = status.try_into().expect("status");
                            Err(err)
                        }
                        None => Ok(resp),
                    }
                };
                if let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await {
                    let _ = tx.send(Accepted { uri, auth, socket }).await;
                }
            });
        }
    });
    (base, rx)
}

fn options(base: &str) -> Options {
    Options::new(base, "tok", "acme")
        .with_backoff(Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(50),
        ))
        .with_heartbeat(None)
}

fn change(seq: u64, namespace: &str, patch: Value) -> ServerFrame {
    ServerFrame::for_change(ConfigChange {
        seq,
        tenant: "acme".into(),
        scope: cascade_protocol::Scope::Tenant,
        namespace: namespace.into(),
        version: seq,
        patch: serde_json::from_value(patch).expect("patch"),
        triggered_by: Some("ann".into()),
        origins: None,
    })
}

fn hello(seq: u64, resume: Resume) -> ServerFrame {
    ServerFrame::Hello {
        tenant: "acme".into(),
        seq,
        resume,
    }
}

fn snapshot(seq: u64, namespace: &str, config: Value) -> ServerFrame {
    ServerFrame::Snapshot {
        tenant: "acme".into(),
        seq,
        configs: [(
            namespace.to_owned(),
            SnapshotDocument {
                version: seq,
                config: config.as_object().cloned().expect("object"),
                origins: None,
            },
        )]
        .into_iter()
        .collect(),
    }
}

async fn accept(rx: &mut mpsc::Receiver<Accepted>) -> Accepted {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a connection in time")
        .expect("server running")
}

#[tokio::test]
async fn snapshot_then_live_then_resume_after_a_drop_without_duplicates() {
    let (base, mut rx) = server(None).await;
    let (client, mut events) =
        Client::connect_with_events(options(&base).with_namespaces(["notifications", "auth"]));
    let mut hub = accept(&mut rx).await;
    assert!(hub.uri.contains("tenant=acme"), "{}", hub.uri);
    assert!(
        hub.uri.contains("namespaces=notifications,auth"),
        "{}",
        hub.uri
    );
    assert_eq!(hub.since(), Some(0), "a fresh client asks for a snapshot");
    assert_eq!(hub.auth.as_deref(), Some("Bearer tok"));

    hub.send(&hello(3, Resume::Snapshot)).await;
    hub.send(&snapshot(3, "notifications", json!({"email": true})))
        .await;
    hub.send(&ServerFrame::Synced { seq: 3 }).await;
    assert_eq!(client.wait_for_seq(3, WAIT).await, Some(3));
    assert_eq!(client.state(), ConnectionState::Live);
    hub.send(&change(
        5,
        "notifications",
        json!([{"op": "replace", "path": "/email", "value": false}]),
    ))
    .await;
    assert_eq!(client.wait_for_seq(5, WAIT).await, Some(5));
    assert_eq!(
        client.config("notifications"),
        Some(json!({"email": false}))
    );

    // The socket drops; the client resumes from 5 and the hub replays with an overlap.
    drop(hub);
    let mut hub = accept(&mut rx).await;
    assert_eq!(hub.since(), Some(5));
    hub.send(&hello(9, Resume::Replay)).await;
    hub.send(&change(
        5,
        "notifications",
        json!([{"op": "replace", "path": "/email", "value": "dup"}]),
    ))
    .await;
    hub.send(&change(
        9,
        "auth",
        json!([{"op": "add", "path": "/mfa", "value": true}]),
    ))
    .await;
    hub.send(&ServerFrame::Synced { seq: 9 }).await;
    assert_eq!(client.wait_for_seq(9, WAIT).await, Some(9));
    assert_eq!(
        client.config("notifications"),
        Some(json!({"email": false}))
    );
    assert_eq!(client.config("auth"), Some(json!({"mfa": true})));
    assert_eq!(client.duplicates(), 1);

    let mut seen = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), events.recv()).await
    {
        match &event {
            Event::Changed(c) => seen.push(c.change.seq),
            Event::Reconnecting { attempt, .. } => assert_eq!(*attempt, 1),
            _ => {}
        }
    }
    assert_eq!(seen, [5, 9], "each change once, in order");
    drop(hub); // (a scripted hub that does not read would leave `close` waiting for its reply)
    client.close().await;
}

#[tokio::test]
async fn a_patch_that_does_not_apply_reconnects_for_a_snapshot() {
    let (base, mut rx) = server(None).await;
    let (client, mut events) = Client::connect_with_events(options(&base));
    let mut hub = accept(&mut rx).await;
    hub.send(&hello(2, Resume::Snapshot)).await;
    hub.send(&snapshot(2, "auth", json!({"a": 1}))).await;
    hub.send(&ServerFrame::Synced { seq: 2 }).await;
    client.wait_for_seq(2, WAIT).await.expect("live");
    hub.send(&change(
        4,
        "auth",
        json!([{"op": "remove", "path": "/missing"}]),
    ))
    .await;
    let failed = events
        .next_matching(WAIT, |e| match e {
            Event::PatchFailed { seq, .. } => Some(*seq),
            _ => None,
        })
        .await;
    assert_eq!(failed, Some(4));
    let mut hub = accept(&mut rx).await;
    assert_eq!(hub.since(), Some(0), "asks for a snapshot");
    hub.send(&hello(4, Resume::Snapshot)).await;
    hub.send(&snapshot(4, "auth", json!({"b": 2}))).await;
    hub.send(&ServerFrame::Synced { seq: 4 }).await;
    assert_eq!(client.wait_for_seq(4, WAIT).await, Some(4));
    assert_eq!(client.config("auth"), Some(json!({"b": 2})));
    drop(hub);
    client.close().await;
}

#[tokio::test]
async fn a_silent_server_is_declared_dead_by_the_heartbeat() {
    let (base, mut rx) = server(None).await;
    let heartbeat = Heartbeat {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(200),
    };
    let (client, mut events) =
        Client::connect_with_events(options(&base).with_heartbeat(Some(heartbeat)));
    let mut hub = accept(&mut rx).await;
    hub.send(&hello(0, Resume::Snapshot)).await;
    // The ping is exactly the auto-response's text; answer the first one only.
    assert_eq!(hub.next_text().await.as_deref(), Some(r#"{"type":"ping"}"#));
    hub.send(&ServerFrame::Pong).await;
    assert_eq!(hub.next_text().await.as_deref(), Some(r#"{"type":"ping"}"#));
    let reason = events
        .next_matching(WAIT, |e| match e {
            Event::Disconnected { reason } => Some(reason.clone()),
            _ => None,
        })
        .await
        .expect("disconnected");
    assert!(reason.contains("no pong"), "{reason}");
    // And it comes back.
    let hub = accept(&mut rx).await;
    assert_eq!(hub.since(), Some(0));
    drop(hub);
    client.close().await;
}

#[tokio::test]
async fn a_refused_token_closes_the_client_for_good() {
    let (base, _rx) = server(Some(401)).await;
    let (client, mut events) = Client::connect_with_events(options(&base));
    let closed = events
        .next_matching(WAIT, |e| match e {
            Event::Closed { error } => Some(error.clone()),
            _ => None,
        })
        .await
        .expect("closed");
    assert!(closed.expect("an error").contains("401"));
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(client.wait_live(Duration::from_millis(50)).await, None);
}

#[tokio::test]
async fn a_server_error_is_refused_then_retried_and_close_is_clean() {
    let (base, _rx) = server(Some(503)).await;
    let (client, mut events) = Client::connect_with_events(options(&base));
    let attempt = events
        .next_matching(WAIT, |e| match e {
            Event::Reconnecting { attempt, .. } if *attempt >= 3 => Some(*attempt),
            _ => None,
        })
        .await;
    assert!(attempt.is_some(), "503 is retried");
    assert_eq!(client.state(), ConnectionState::Reconnecting);
    client.close().await;
    let closed = events
        .next_matching(WAIT, |e| match e {
            Event::Closed { error } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(closed, Some(None));
}

#[tokio::test]
async fn close_sends_a_close_frame_and_reconnect_resumes() {
    let (base, mut rx) = server(None).await;
    let client = Client::connect(options(&base));
    let mut hub = accept(&mut rx).await;
    hub.send(&hello(1, Resume::Snapshot)).await;
    hub.send(&snapshot(1, "n", json!({}))).await;
    hub.send(&ServerFrame::Synced { seq: 1 }).await;
    client.wait_for_seq(1, WAIT).await.expect("live");
    client.reconnect();
    let mut hub = accept(&mut rx).await;
    assert_eq!(hub.since(), Some(1));
    hub.send(&hello(1, Resume::Replay)).await;
    hub.send(&ServerFrame::Synced { seq: 1 }).await;
    client.wait_for_seq(1, WAIT).await.expect("live again");
    let closing = tokio::spawn(client.close());
    // The server sees a close frame (and its reply completes the handshake).
    assert_eq!(hub.next_text().await, None);
    drop(hub);
    tokio::time::timeout(WAIT, closing)
        .await
        .expect("close in time")
        .expect("joined");
}

#[tokio::test]
async fn a_bare_connection_reads_the_greeting() {
    let (base, mut rx) = server(None).await;
    let opening =
        tokio::spawn(
            async move { cascade_client::Connection::open(&options(&base), Some(4)).await },
        );
    let mut hub = accept(&mut rx).await;
    let mut connection = opening.await.expect("joined").expect("opened");
    assert_eq!(hub.since(), Some(4));
    hub.send(&hello(6, Resume::Replay)).await;
    hub.send(&change(
        6,
        "n",
        json!([{"op": "add", "path": "/a", "value": 1}]),
    ))
    .await;
    hub.send(&ServerFrame::Synced { seq: 6 }).await;
    let greeting = connection.greeting(WAIT).await.expect("greeting");
    assert_eq!(
        (
            greeting.seq,
            greeting.resume,
            greeting.synced,
            greeting.frames.len()
        ),
        (6, Resume::Replay, 6, 1)
    );
    connection.ping().await.expect("ping");
    assert_eq!(hub.next_text().await.as_deref(), Some(cascade_client::PING));
    hub.send(&ServerFrame::Pong).await;
    assert_eq!(
        connection.next_frame_within(WAIT).await.expect("frame"),
        Some(ServerFrame::Pong)
    );
    drop(hub);
    assert_eq!(connection.next_frame().await.ok().flatten(), None);
}

#[tokio::test]
async fn a_token_provider_is_asked_on_every_connection() {
    let (base, mut rx) = server(None).await;
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&calls);
    let client = Client::connect(options(&base).with_token_provider(move || {
        format!(
            "jwt-{}",
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        )
    }));
    let mut hub = accept(&mut rx).await;
    assert_eq!(hub.auth.as_deref(), Some("Bearer jwt-0"));
    hub.send(&hello(0, Resume::Snapshot)).await;
    drop(hub);
    let hub = accept(&mut rx).await;
    assert_eq!(hub.auth.as_deref(), Some("Bearer jwt-1"));
    drop(hub);
    client.close().await;
}
