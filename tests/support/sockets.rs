//! WebSockets: opening one to a runtime (or having the handshake refused) and reading its
//! frames.

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::{Reply, Runtime};

impl Runtime {
    /// Opens a WebSocket to `path` (with query) as a platform admin.
    pub fn websocket(&self, path: &str) -> Socket {
        self.websocket_as(&self.admin_token, path)
    }

    /// Opens a WebSocket to `path` with `token` in the Authorization header.
    pub fn websocket_as(&self, token: &str, path: &str) -> Socket {
        let auth = format!("Bearer {token}");
        self.try_websocket(&[("authorization", &auth)], path)
            .unwrap()
    }

    /// Opens a WebSocket with the given headers; the HTTP status if the handshake is refused.
    pub fn try_websocket(&self, headers: &[(&str, &str)], path: &str) -> Result<Socket, u16> {
        self.try_websocket_reply(headers, path)
            .map_err(|refused| refused.status)
    }

    /// Opens a WebSocket with `token` as bearer; the whole refusal (status, headers, problem
    /// document) if the handshake is refused.
    pub fn try_websocket_as(&self, token: &str, path: &str) -> Result<Socket, Reply> {
        let auth = format!("Bearer {token}");
        self.try_websocket_reply(&[("authorization", &auth)], path)
    }

    /// Opens a WebSocket with the given headers; the whole HTTP answer if the handshake is
    /// refused.
    pub fn try_websocket_reply(
        &self,
        headers: &[(&str, &str)],
        path: &str,
    ) -> Result<Socket, Reply> {
        use tungstenite::client::IntoClientRequest;
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // A refusal's body may arrive after its headers: tungstenite hands back only what it
        // had read, so the rest is read through a second handle on the same connection.
        let mut rest = stream.try_clone().unwrap();
        let url = format!("ws://127.0.0.1:{}{path}", self.port);
        let mut request = url.into_client_request().unwrap();
        for (k, v) in headers {
            let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
            request.headers_mut().insert(name, v.parse().unwrap());
        }
        match tungstenite::client(request, stream) {
            Ok((socket, resp)) => {
                let protocol = resp
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                Ok(Socket(socket, protocol))
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_ascii_lowercase(),
                            v.to_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                let mut bytes = resp.body().clone().unwrap_or_default();
                let length = resp
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut chunk = [0u8; 4096];
                while bytes.len() < length {
                    match rest.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                Err(Reply {
                    status: resp.status().as_u16(),
                    headers,
                    body,
                })
            }
            Err(e) => panic!("websocket handshake: {e}"),
        }
    }
}

/// A test WebSocket client.
pub struct Socket(tungstenite::WebSocket<TcpStream>, Option<String>);

impl Socket {
    /// The next text frame as JSON, skipping control frames and the `sync-status` frames
    /// admins get after each change; panics after the read timeout.
    pub fn next_json(&mut self) -> Value {
        loop {
            let frame = self.next_any();
            if frame["type"] != "sync-status" {
                return frame;
            }
        }
    }

    /// The next text frame as JSON, whatever its type; panics after the read timeout.
    pub fn next_any(&mut self) -> Value {
        loop {
            match self.0.read().expect("websocket frame before the timeout") {
                tungstenite::Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).unwrap()
                }
                tungstenite::Message::Close(frame) => panic!("socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Reads the greeting: `hello`, then every frame up to and including `synced`. Returns
    /// the `hello` and the frames between it and `synced` (a replay or a snapshot).
    pub fn greeting(&mut self) -> (Value, Vec<Value>) {
        let hello = self.next_json();
        assert_eq!(hello["type"], "hello", "{hello}");
        let mut between = Vec::new();
        loop {
            let frame = self.next_json();
            if frame["type"] == "synced" {
                assert_eq!(frame["seq"], hello["seq"], "synced at hello's seq");
                return (hello, between);
            }
            between.push(frame);
        }
    }

    /// Closes the socket (the close handshake is not awaited).
    pub fn close(mut self) {
        let _ = self.0.close(None);
        let _ = self.0.flush();
    }

    /// The subprotocol the server accepted, if any.
    pub fn protocol(&self) -> Option<String> {
        self.1.clone()
    }

    /// Sends `count` copies of a text frame in one write, so that they reach the server
    /// together.
    pub fn send_burst(&mut self, text: &str, count: usize) {
        for _ in 0..count {
            self.0.write(tungstenite::Message::text(text)).unwrap();
        }
        self.0.flush().unwrap();
    }

    /// Sends a text frame.
    pub fn send_text(&mut self, text: &str) {
        self.0.send(tungstenite::Message::text(text)).unwrap();
    }

    /// Reads until the server closes the socket; its close code and reason (skipping data
    /// frames). Panics after the read timeout.
    pub fn close_frame(&mut self) -> (u16, String) {
        loop {
            match self.0.read().expect("close frame before the timeout") {
                tungstenite::Message::Close(Some(frame)) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                tungstenite::Message::Close(None) => return (1005, String::new()),
                _ => continue,
            }
        }
    }

    /// Reads until the server closes the socket, without answering its close (the server
    /// side stays closing until the next call on this socket): the text frames before the
    /// close, and its code. Panics after the read timeout.
    pub fn frames_until_close(&mut self) -> (Vec<Value>, u16) {
        let mut frames = Vec::new();
        loop {
            match self.0.read().expect("close frame before the timeout") {
                tungstenite::Message::Text(text) => {
                    frames.push(serde_json::from_str(text.as_str()).unwrap())
                }
                tungstenite::Message::Close(frame) => {
                    return (frames, frame.map_or(1005, |f| u16::from(f.code)))
                }
                _ => continue,
            }
        }
    }

    /// Whether a frame arrives within `wait` (used to show that nothing was sent).
    pub fn frame_within(&mut self, wait: Duration) -> Option<Value> {
        self.0.get_mut().set_read_timeout(Some(wait)).unwrap();
        let got = match self.0.read() {
            Ok(tungstenite::Message::Text(text)) => {
                Some(serde_json::from_str(text.as_str()).unwrap())
            }
            _ => None,
        };
        self.0
            .get_mut()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        got
    }
}
