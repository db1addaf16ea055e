//! The floor: a minimal tokio WebSocket broadcast server (no auth, no storage, no rules), run
//! as its own process like workerd is. It greets each client as a hub would (`hello`,
//! `snapshot`, `synced`) so the same Rust client follows it, and broadcasts every text a
//! control connection (path `/go`) sends, encoded once and shared by all sockets.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The greeting every client gets.
pub(crate) const GREETING: [&str; 3] = [
    r#"{"type":"hello","tenant":"floor","seq":0,"resume":"snapshot"}"#,
    r#"{"type":"snapshot","tenant":"floor","seq":0,"configs":{}}"#,
    r#"{"type":"synced","seq":0}"#,
];

/// Serves until killed; prints `{"port": N}` once listening on 127.0.0.1.
pub async fn serve() -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    println!("{{\"port\": {port}}}");
    let (tx, _) = broadcast::channel::<Utf8Bytes>(1024);
    let tx = Arc::new(tx);
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        tokio::spawn(serve_socket(stream, Arc::clone(&tx)));
    }
}

// The handshake callback's error type is tungstenite's (a whole HTTP response), not ours.
#[allow(clippy::result_large_err)]
async fn serve_socket(stream: TcpStream, tx: Arc<broadcast::Sender<Utf8Bytes>>) {
    let _ = stream.set_nodelay(true);
    let mut control = false;
    let callback = |req: &Request, resp: Response| {
        control = req.uri().path() == "/go";
        Ok(resp)
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    if control {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Text(text) = message {
                let _ = tx.send(text);
            }
        }
        return;
    }
    let mut rx = tx.subscribe();
    for text in GREETING {
        if sink.send(Message::text(text)).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            frame = rx.recv() => match frame {
                Ok(text) => {
                    if sink.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
