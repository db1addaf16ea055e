//! The hub's side of its hibernating WebSockets: what each socket listens to (its room and
//! subscription tags and its attachment), sending one encoded frame to many sockets, the
//! per-connection inbound rate limit, and closing sockets that stopped heartbeating.
//!
//! Tags, fixed when a socket is accepted: `tenant:{id}`; `tenant:{id}:admins` for admins, or
//! `tenant:{id}:users` and `user:{sub}` for users; and `config:*` (every namespace) or one
//! `config:{ns}` per followed namespace.

use std::collections::BTreeSet;

use cascade_protocol::room;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{State, WebSocket};

use crate::frame_log::{Audience, Listener, LoggedFrame};

/// Tag of sockets that follow every namespace.
pub const ALL_NAMESPACES_TAG: &str = "config:*";

/// Most namespaces one socket may follow (the runtime allows ten tags per socket, and up to
/// three are rooms).
pub const MAX_SUBSCRIPTIONS: usize = 7;

/// Largest client frame the hub reads, in bytes.
pub const MAX_CLIENT_FRAME: usize = 4096;

/// Client frames a socket may send in a burst, then [`CLIENT_FRAMES_PER_SEC`] sustained.
pub const CLIENT_FRAME_BURST: f64 = 10.0;
/// Sustained client frames per second per socket.
pub const CLIENT_FRAMES_PER_SEC: f64 = 1.0;
/// Refused frames after which the hub closes the socket (1008, policy violation).
pub const MAX_STRIKES: u32 = 20;

/// A socket that answered no heartbeat for this long, after having sent one, is closed when
/// the hub next wakes.
pub const HEARTBEAT_STALE_MS: f64 = 90_000.0;

/// `tenant:{id}:users`: the tenant's user sockets (admins are in `tenant:{id}:admins`).
pub fn users_room(tenant: &str) -> String {
    format!("tenant:{tenant}:users")
}

/// What the hub remembers about a socket across hibernation (its attachment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SocketInfo {
    /// The authenticated subject.
    pub sub: String,
    /// Its role: `platform-admin`, `tenant-admin` or `user`.
    pub role: String,
    /// Followed namespaces; `None` follows all.
    pub namespaces: Option<Vec<String>>,
    /// Tokens left in the inbound rate limit.
    pub tokens: f64,
    /// When the tokens were last counted (ms since the epoch).
    pub counted_at: f64,
    /// Frames refused so far (rate limited, too large, malformed).
    pub strikes: u32,
}

impl SocketInfo {
    /// A fresh socket's record, with a full bucket.
    pub fn new(sub: &str, role: &str, namespaces: Option<Vec<String>>, now_ms: f64) -> Self {
        Self {
            sub: sub.to_owned(),
            role: role.to_owned(),
            namespaces,
            tokens: CLIENT_FRAME_BURST,
            counted_at: now_ms,
            strikes: 0,
        }
    }

    /// Whether the socket belongs to an admin (who sees the tenant's effective config).
    pub fn is_admin(&self) -> bool {
        matches!(self.role.as_str(), "tenant-admin" | "platform-admin")
    }

    /// The socket as a listener of frames.
    pub fn listener(&self) -> Listener {
        Listener {
            user: (!self.is_admin()).then(|| self.sub.clone()),
            namespaces: self
                .namespaces
                .as_ref()
                .map(|names| names.iter().cloned().collect()),
        }
    }

    /// The tags to accept the socket with in `tenant`'s hub.
    pub fn tags(&self, tenant: &str) -> Vec<String> {
        let mut tags = vec![room::tenant(tenant)];
        if self.is_admin() {
            tags.push(room::tenant_admins(tenant));
        } else {
            tags.push(users_room(tenant));
            tags.push(room::user(&self.sub));
        }
        match &self.namespaces {
            None => tags.push(ALL_NAMESPACES_TAG.to_owned()),
            Some(names) => tags.extend(names.iter().map(|n| room::config(n))),
        }
        tags
    }

    /// Takes one token for an inbound frame at `now_ms`; false when the socket is over its
    /// rate (the frame is then refused and counted as a strike).
    pub fn admit_frame(&mut self, now_ms: f64) -> bool {
        let elapsed = ((now_ms - self.counted_at) / 1000.0).max(0.0);
        self.tokens = (self.tokens + elapsed * CLIENT_FRAMES_PER_SEC).min(CLIENT_FRAME_BURST);
        self.counted_at = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.strikes += 1;
            false
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// A runtime WebSocket, typed only for `send` with a ready JavaScript value.
    type RawSocket;

    /// `WebSocket.send(data)` with a value already on the JavaScript side.
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_value(this: &RawSocket, data: &JsValue) -> Result<(), JsValue>;

    /// A Durable Object's state, typed only for the heartbeat timestamp.
    type RawState;

    /// `state.getWebSocketAutoResponseTimestamp(ws)`: when the runtime last answered the
    /// socket's heartbeat, or null.
    #[wasm_bindgen(method, catch, js_name = getWebSocketAutoResponseTimestamp)]
    fn auto_response_timestamp(this: &RawState, ws: &JsValue) -> Result<JsValue, JsValue>;
}

/// Sends frames to many sockets, converting each frame's text to a JavaScript string once.
///
/// `WebSocket::send_with_str` copies and decodes the Rust string across the wasm boundary
/// on every call; a broadcast to thousands of sockets would pay that per socket. Here the
/// string crosses once and every socket is handed the same JavaScript value.
pub struct Broadcaster<'a> {
    state: &'a State,
}

impl<'a> Broadcaster<'a> {
    /// A broadcaster over the hub's sockets.
    pub fn new(state: &'a State) -> Self {
        Self { state }
    }

    /// Delivers one logged frame live to every socket it is for; returns how many got it.
    pub fn deliver(&self, frame: &LoggedFrame) -> usize {
        let text = JsValue::from_str(&frame.frame);
        let ns_tag = room::config(&frame.namespace);
        match &frame.audience {
            Audience::Tenant { excluded } => {
                let excluded: BTreeSet<String> = excluded.iter().map(|u| room::user(u)).collect();
                let mut sent = 0;
                for tag in [ALL_NAMESPACES_TAG, ns_tag.as_str()] {
                    for ws in self.state.get_websockets_with_tag(tag) {
                        if !excluded.is_empty()
                            && self
                                .state
                                .get_tags(&ws)
                                .iter()
                                .any(|t| excluded.contains(t))
                        {
                            continue;
                        }
                        sent += usize::from(send_value(&ws, &text));
                    }
                }
                sent
            }
            Audience::User(user) => {
                let mut sent = 0;
                for ws in self.state.get_websockets_with_tag(&room::user(user)) {
                    let tags = self.state.get_tags(&ws);
                    if tags.iter().any(|t| t == ALL_NAMESPACES_TAG || *t == ns_tag) {
                        sent += usize::from(send_value(&ws, &text));
                    }
                }
                sent
            }
        }
    }

    /// Sends one text to every socket with `tag`.
    pub fn send_tag(&self, tag: &str, text: &str) -> usize {
        let sockets = self.state.get_websockets_with_tag(tag);
        if sockets.is_empty() {
            return 0;
        }
        let text = JsValue::from_str(text);
        sockets
            .iter()
            .map(|ws| usize::from(send_value(ws, &text)))
            .sum()
    }
}

/// What one commit hands to its sockets: its change frames, and the `sync-status` text for
/// the tenant's admins when any are connected.
pub struct Batch {
    /// The commit's frames, in order.
    pub frames: Vec<LoggedFrame>,
    /// `(room, text)` of a `sync-status` frame for the admins.
    pub status: Option<(String, String)>,
}

/// Committed frames waiting to be handed to sockets, delivered once the commit is durable —
/// when the runtime releases the writer's acknowledgement — so the hub's answer is not held
/// while thousands of sockets are written to.
///
/// Order is kept: batches are delivered first in, first out, and a socket being accepted
/// first flushes the queue (see [`Outgoing::flush`]), so it never receives a frame its
/// replay already contained. A hub that dies before the timer fires loses only live
/// delivery; the frames are in the log and reconnecting clients are replayed them.
#[derive(Clone, Default)]
pub struct Outgoing(std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<Batch>>>);

impl Outgoing {
    /// Queues a commit's batch and schedules delivery.
    pub fn push(&self, raw_state: &JsValue, batch: Batch) {
        let first = {
            let mut queue = self.0.borrow_mut();
            queue.push_back(batch);
            queue.len() == 1
        };
        if first {
            let queue = self.clone();
            let state = State::from(
                raw_state
                    .clone()
                    .unchecked_into::<worker::worker_sys::DurableObjectState>(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                // Once the commit is durable the runtime releases the writer's answer; one
                // more turn of the event loop lets it go out before thousands of sockets are
                // written to. Sending before the commit is durable would also make the
                // runtime hold every frame back (its output gate), at a cost per socket.
                if let Err(e) = state.storage().sync().await {
                    worker::console_warn!("storage sync before delivery: {e}");
                }
                worker::Delay::from(std::time::Duration::ZERO).await;
                queue.flush(&state);
            });
        }
    }

    /// Delivers every queued batch now, in order.
    pub fn flush(&self, state: &State) {
        let out = Broadcaster::new(state);
        loop {
            let next = self.0.borrow_mut().pop_front();
            let Some(batch) = next else { break };
            for frame in &batch.frames {
                out.deliver(frame);
            }
            if let Some((room, text)) = &batch.status {
                out.send_tag(room, text);
            }
        }
    }
}

/// Reciprocates a client's close handshake with its code (1005 and 1006 are reserved and
/// cannot be sent back: 1000 then).
pub fn reciprocate_close(ws: &WebSocket, code: usize) -> worker::Result<()> {
    let code = u16::try_from(code)
        .ok()
        .filter(|c| *c != 1005 && *c != 1006)
        .unwrap_or(1000);
    ws.close(Some(code), Some("closing"))
}

/// The 101 answer carrying `client`; a browser that offered our subprotocol (to carry its
/// token) must see it accepted.
pub fn upgrade_response(
    req: &worker::Request,
    client: WebSocket,
) -> worker::Result<worker::Response> {
    let mut resp = worker::Response::from_websocket(client)?;
    let offered = req
        .headers()
        .get("sec-websocket-protocol")?
        .unwrap_or_default();
    if offered
        .split(',')
        .any(|p| p.trim() == crate::internal::SUBPROTOCOL)
    {
        resp.headers_mut()
            .set("sec-websocket-protocol", crate::internal::SUBPROTOCOL)?;
    }
    Ok(resp)
}

/// Sends a prepared value; a socket that fails to take it is closing, and its close is
/// reported to the hub separately.
fn send_value(ws: &WebSocket, text: &JsValue) -> bool {
    let raw: &RawSocket = ws.as_ref().unchecked_ref();
    match raw.send_value(text) {
        Ok(()) => true,
        Err(e) => {
            worker::console_warn!("dropping send to a closing socket: {e:?}");
            false
        }
    }
}

/// Closes sockets whose heartbeats stopped: the runtime answered their last `ping` more than
/// [`HEARTBEAT_STALE_MS`] before `now_ms`. Sockets that never sent a heartbeat are left open.
/// Returns how many it closed.
pub fn close_stale(state: &State, raw_state: &JsValue, now_ms: f64) -> usize {
    let raw: &RawState = raw_state.unchecked_ref();
    let mut closed = 0;
    for ws in state.get_websockets() {
        let last = match raw.auto_response_timestamp(ws.as_ref()) {
            Ok(value) => value.dyn_into::<js_sys::Date>().ok().map(|d| d.get_time()),
            Err(_) => None,
        };
        if last.is_some_and(|at| now_ms - at > HEARTBEAT_STALE_MS)
            && ws.close(Some(1001), Some("heartbeat timeout")).is_ok()
        {
            closed += 1;
        }
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_role_and_subscription() {
        let admin = SocketInfo::new("ann", "tenant-admin", None, 0.0);
        assert_eq!(
            admin.tags("acme"),
            ["tenant:acme", "tenant:acme:admins", "config:*"]
        );
        let user = SocketInfo::new("bob", "user", Some(vec!["auth".into(), "rbac".into()]), 0.0);
        assert_eq!(
            user.tags("acme"),
            [
                "tenant:acme",
                "tenant:acme:users",
                "user:bob",
                "config:auth",
                "config:rbac"
            ]
        );
        assert_eq!(user.listener().user.as_deref(), Some("bob"));
        assert!(admin.listener().user.is_none());
        assert!(user.tags("acme").len() <= 3 + MAX_SUBSCRIPTIONS);
    }

    #[test]
    fn inbound_rate_limit_allows_a_burst_then_one_per_second() {
        let mut info = SocketInfo::new("bob", "user", None, 0.0);
        let admitted = (0..15).filter(|_| info.admit_frame(0.0)).count();
        assert_eq!(admitted, CLIENT_FRAME_BURST as usize);
        assert_eq!(info.strikes, 5);
        assert!(info.admit_frame(1000.0), "one token back after a second");
        assert!(!info.admit_frame(1000.0));
    }
}
