//! [`Connection`]: one WebSocket to a hub, frame by frame, without reconnection, heartbeat
//! task or held state. What the [`Client`](crate::Client) runs on, and what a test or a
//! benchmark that opens a thousand sockets uses directly.

use std::time::Duration;

use cascade_protocol::{ClientFrame, ServerFrame};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::Error;
use crate::options::Options;

/// The heartbeat text: exactly this, so the runtime answers it without waking the hub.
pub const PING: &str = r#"{"type":"ping"}"#;

/// What a hub sends between `hello` and `synced`, as [`Connection::greeting`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Greeting {
    /// Tenant the socket is attached to.
    pub tenant: String,
    /// The hub's sequence number at `hello`.
    pub seq: u64,
    /// How the hub brought the connection up to date.
    pub resume: cascade_protocol::Resume,
    /// The `seq` of `synced`: the connection's resume point.
    pub synced: u64,
    /// The replayed change frames, or the snapshot, in order.
    pub frames: Vec<ServerFrame>,
}

/// One open WebSocket to a hub.
#[derive(Debug)]
pub struct Connection {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The code of the server's close frame, once one arrived.
    close_code: Option<u16>,
}

impl Connection {
    /// Opens `GET /v1/connect` with the options' tenant, namespaces and token (from the
    /// provider when there is one), and `since`
    /// (`None`: no resume, `Some(0)`: a snapshot, `Some(n)`: the changes after `n`), within
    /// the options' connect timeout.
    pub async fn open(options: &Options, since: Option<u64>) -> Result<Self, Error> {
        let url = options.connect_url(since)?;
        let mut request = url.into_client_request().map_err(|e| Error::InvalidUrl {
            url: options.base_url.clone(),
            reason: e.to_string(),
        })?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", options.current_token()))
            .map_err(|_| Error::InvalidToken)?;
        request.headers_mut().insert("authorization", bearer);
        let connect = tokio_tungstenite::connect_async(request);
        let (socket, _response) = tokio::time::timeout(options.connect_timeout, connect)
            .await
            .map_err(|_| Error::Timeout(options.connect_timeout))??;
        Ok(Self {
            socket,
            close_code: None,
        })
    }

    /// The next server frame; `Ok(None)` once the server closed the connection. A text frame
    /// that is not a known server frame is an [`Error::Malformed`], after which the
    /// connection is still usable. Cancel-safe (for `tokio::select!`).
    pub async fn next_frame(&mut self) -> Result<Option<ServerFrame>, Error> {
        match self.next_text().await? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::Malformed {
                    error: e.to_string(),
                    text,
                }),
        }
    }

    /// The next text frame as received; `Ok(None)` once the server closed the connection.
    /// Control frames are answered (pings) and skipped. Cancel-safe.
    pub async fn next_text(&mut self) -> Result<Option<String>, Error> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Close(frame))) => {
                    self.close_code = frame.map(|f| u16::from(f.code));
                    return Ok(None);
                }
                None => return Ok(None),
                Some(Ok(Message::Text(text))) => return Ok(Some(text.as_str().to_owned())),
                Some(Ok(Message::Binary(bytes))) => {
                    return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// The code of the server's close frame, once the server closed the connection with one
    /// (e.g. [`cascade_protocol::CLOSE_TOKEN_EXPIRED`]).
    pub fn close_code(&self) -> Option<u16> {
        self.close_code
    }

    /// The next server frame within `wait`: `Ok(None)` when none came in time or the
    /// connection closed.
    pub async fn next_frame_within(
        &mut self,
        wait: Duration,
    ) -> Result<Option<ServerFrame>, Error> {
        match tokio::time::timeout(wait, self.next_frame()).await {
            Ok(result) => result,
            Err(_) => Ok(None),
        }
    }

    /// Reads the greeting: `hello`, then every frame up to and including `synced` (the
    /// replay or the snapshot), within `within`. Skips `sync-status` frames. Fails with
    /// [`Error::Timeout`] when `synced` does not come in time, and with
    /// [`Error::Malformed`] when the first frame is not `hello`.
    pub async fn greeting(&mut self, within: Duration) -> Result<Greeting, Error> {
        let read = async {
            let (tenant, seq, resume) = match self.next_frame().await? {
                Some(ServerFrame::Hello {
                    tenant,
                    seq,
                    resume,
                }) => (tenant, seq, resume),
                Some(other) => {
                    return Err(Error::Malformed {
                        text: format!("{other:?}"),
                        error: "expected hello first".into(),
                    })
                }
                None => return Err(Error::Closed),
            };
            let mut frames = Vec::new();
            loop {
                match self.next_frame().await? {
                    Some(ServerFrame::Synced { seq: synced }) => {
                        return Ok(Greeting {
                            tenant,
                            seq,
                            resume,
                            synced,
                            frames,
                        })
                    }
                    Some(ServerFrame::SyncStatus(_)) => {}
                    Some(frame) => frames.push(frame),
                    None => return Err(Error::Closed),
                }
            }
        };
        tokio::time::timeout(within, read)
            .await
            .map_err(|_| Error::Timeout(within))?
    }

    /// Sends the heartbeat text [`PING`].
    pub async fn ping(&mut self) -> Result<(), Error> {
        self.send_text(PING).await
    }

    /// Sends a client frame.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), Error> {
        let text = match frame {
            // Exactly the auto-response's request text.
            ClientFrame::Ping => PING.to_owned(),
            other => serde_json::to_string(other).map_err(|e| Error::Malformed {
                error: e.to_string(),
                text: format!("{other:?}"),
            })?,
        };
        self.send_text(&text).await
    }

    /// Sends any text frame (tests send malformed ones on purpose).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.socket.send(Message::text(text)).await?;
        Ok(())
    }

    /// Closes with code 1000 and waits (at most 5 s) for the server's close frame.
    pub async fn close(mut self) -> Result<(), Error> {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "client closed".into(),
        };
        match self.socket.close(Some(frame)).await {
            Ok(()) | Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed) => {}
            Err(e) => return Err(e.into()),
        }
        let drain = async { while let Some(Ok(_)) = self.socket.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        Ok(())
    }
}
