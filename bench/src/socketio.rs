//! Clients of the Socket.IO reference server (`bench/socketio/server.mjs`, the seed's own
//! design on Node): each joins the seed's rooms, answers the server's pings, and applies every
//! `config-updated` event's payload to a [`SyncState`] exactly as a Cascade client applies a
//! frame, so all servers in the fan-out comparison feed the same client work.
//!
//! Engine.IO v4's WebSocket framing is spoken here directly over tokio-tungstenite (`0` open,
//! `40` namespace connect, `2`/`3` ping/pong, `42[event,payload]`) rather than through a
//! Socket.IO client library: the reference clients must share the exact socket stack of the
//! other fleets, or the comparison would measure two client libraries, not two servers.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use cascade_client::state::SyncState;
use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::fleet::{Fleet, Probe, Reporter};
use crate::floor::GREETING;

/// How a `config-updated` event starts on the wire; the payload follows, then `]`.
const EVENT_PREFIX: &str = r#"42["config-updated","#;

/// Opens `n` clients of the tenant `tenant` (even ones tenant admins, odd ones users), at
/// most `parallel` handshakes at once, each in its rooms before this returns.
pub async fn open(
    port: u16,
    n: usize,
    tenant: &str,
    probe: &Probe,
    parallel: usize,
) -> Result<Fleet, String> {
    let (tx, reports) = mpsc::unbounded_channel();
    let received = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(n);
    let indices: Vec<usize> = (0..n).collect();
    for chunk in indices.chunks(parallel.max(1)) {
        let opened = join_all(chunk.iter().map(|&i| async move {
            let role = if i % 2 == 0 { "tenant-admin" } else { "user" };
            let url = format!(
                "ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&tenant={tenant}&user=u{i}&role={role}"
            );
            let (mut socket, _) = tokio_tungstenite::connect_async(url)
                .await
                .map_err(|e| format!("socket.io client {i}: {e}"))?;
            // Engine.IO open packet, then connect to the default namespace and wait for it.
            let mut joined = false;
            while let Some(message) = socket.next().await {
                let text = match message {
                    Ok(Message::Text(text)) => text,
                    Ok(_) => continue,
                    Err(e) => return Err(format!("socket.io client {i}: {e}")),
                };
                if text.starts_with("0{") {
                    socket
                        .send(Message::text("40"))
                        .await
                        .map_err(|e| format!("socket.io client {i}: {e}"))?;
                } else if text.starts_with("40") {
                    joined = true;
                    break;
                }
            }
            if !joined {
                return Err(format!("socket.io client {i}: closed before joining"));
            }
            Ok::<_, String>((i, socket))
        }))
        .await;
        for result in opened {
            let (i, mut socket) = result?;
            let mut state = SyncState::new();
            for text in GREETING {
                state.handle_text(text);
            }
            let mut reporter =
                Reporter::new(i, &state, probe.clone(), tx.clone(), received.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    if text.as_str() == "2" {
                        if socket.send(Message::text("3")).await.is_err() {
                            return;
                        }
                    } else if let Some(payload) = text
                        .strip_prefix(EVENT_PREFIX)
                        .and_then(|rest| rest.strip_suffix(']'))
                    {
                        state.handle_text(payload);
                        if !reporter.observe(&state) {
                            return;
                        }
                    }
                }
            }));
        }
    }
    Ok(Fleet::from_tasks(reports, tasks, received))
}
