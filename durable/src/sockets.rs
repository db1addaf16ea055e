//! The hub's side of its hibernating WebSockets: what each socket listens to (its room and
//! subscription tags and its attachment), the per-connection inbound rate limit, and closing
//! sockets that stopped heartbeating. Sending committed frames to them is
//! [`crate::delivery`]'s job.
//!
//! Tags, fixed when a socket is accepted: `tenant:{id}`; `tenant:{id}:admins` and
//! `admin:{sub}` for admins, or `tenant:{id}:users` and `user:{sub}` for users; and `config:*`
//! (every namespace) or one `config:{ns}` per followed namespace. The subject tag
//! (`admin:{sub}` or `user:{sub}`) is what [`crate::socket_caps`] counts a subject's sockets by.
//!
//! A socket the hub has closed stays listed by the runtime until the client answers the close,
//! and the client's frames sent before that still arrive; `WebSocket.send()` on it throws. So
//! the hub marks it in its attachment ([`SocketInfo::closed`]) and both inbound handling and
//! delivery check [`is_open`] before writing.

use cascade_protocol::{room, Role};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{State, WebSocket};

use crate::frame_log::Listener;

/// Tag of sockets that follow every namespace.
pub const ALL_NAMESPACES_TAG: &str = "config:*";

/// Tag of sockets that follow every namespace with origins.
pub const ALL_NAMESPACES_ORIGINS_TAG: &str = "origins:*";

/// `origins:{ns}`: the tag of a socket that follows `namespace` with origins.
pub fn origins_tag(namespace: &str) -> String {
    format!("origins:{namespace}")
}

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

/// Least time between two sweeps for stale sockets (the hub's alarm sweeps when it fires).
pub const SWEEP_INTERVAL_MS: f64 = 30_000.0;

/// `tenant:{id}:users`: the tenant's user sockets (admins are in `tenant:{id}:admins`).
pub fn users_room(tenant: &str) -> String {
    format!("tenant:{tenant}:users")
}

/// `admin:{sub}`: the sockets of one admin (tenant or platform admin), counted by the cap on
/// sockets per subject.
pub fn admin_tag(sub: &str) -> String {
    format!("admin:{sub}")
}

/// What the hub remembers about a socket across hibernation (its attachment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SocketInfo {
    /// The authenticated subject.
    pub sub: String,
    /// Its role.
    pub role: Role,
    /// Followed namespaces; `None` follows all.
    pub namespaces: Option<Vec<String>>,
    /// Tokens left in the inbound rate limit.
    pub tokens: f64,
    /// When the tokens were last counted (ms since the epoch).
    pub counted_at: f64,
    /// Frames refused so far (rate limited, too large, malformed).
    pub strikes: u32,
    /// Set when the hub closed the socket (too many refused frames): its later frames are
    /// ignored. Absent in attachments written before the field existed.
    #[serde(default)]
    pub closed: bool,
    /// When the socket's token expires (Unix ms): the hub closes it then
    /// ([`crate::socket_expiry`]). Absent in attachments written before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<f64>,
    /// Whether the socket asked for origins (`origins=1`): its snapshots and change frames
    /// say where each value came from.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub origins: bool,
}

impl SocketInfo {
    /// A fresh socket's record, with a full bucket.
    pub fn new(sub: &str, role: Role, namespaces: Option<Vec<String>>, now_ms: f64) -> Self {
        Self {
            sub: sub.to_owned(),
            role,
            namespaces,
            tokens: CLIENT_FRAME_BURST,
            counted_at: now_ms,
            strikes: 0,
            closed: false,
            expires_at: None,
            origins: false,
        }
    }

    /// The same record, for a socket that asked for origins or not.
    pub fn with_origins(self, origins: bool) -> Self {
        Self { origins, ..self }
    }

    /// The same record, for a socket whose token expires at `expires_at_secs` (Unix s).
    pub fn expiring(self, expires_at_secs: Option<i64>) -> Self {
        Self {
            expires_at: expires_at_secs.map(|s| s as f64 * 1000.0),
            ..self
        }
    }

    /// Whether the socket belongs to an admin (who sees the tenant's effective config).
    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }

    /// The socket as a listener of frames.
    pub fn listener(&self) -> Listener {
        Listener {
            user: (!self.is_admin()).then(|| self.sub.clone()),
            namespaces: self
                .namespaces
                .as_ref()
                .map(|names| names.iter().cloned().collect()),
            origins: self.origins,
        }
    }

    /// The tag naming the socket's subject: `user:{sub}` for a user (also the room of its own
    /// frames), `admin:{sub}` for an admin (who must not be in a user's room, as it gets the
    /// tenant's frames instead).
    pub fn subject_tag(&self) -> String {
        if self.is_admin() {
            admin_tag(&self.sub)
        } else {
            room::user(&self.sub)
        }
    }

    /// The tags to accept the socket with in `tenant`'s hub.
    pub fn tags(&self, tenant: &str) -> Vec<String> {
        let mut tags = vec![room::tenant(tenant)];
        if self.is_admin() {
            tags.push(room::tenant_admins(tenant));
        } else {
            tags.push(users_room(tenant));
        }
        tags.push(self.subject_tag());
        match (&self.namespaces, self.origins) {
            (None, false) => tags.push(ALL_NAMESPACES_TAG.to_owned()),
            (None, true) => tags.push(ALL_NAMESPACES_ORIGINS_TAG.to_owned()),
            (Some(names), false) => tags.extend(names.iter().map(|n| room::config(n))),
            (Some(names), true) => tags.extend(names.iter().map(|n| origins_tag(n))),
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
    /// A runtime WebSocket, typed only for its `readyState`.
    type StateOfSocket;

    /// `WebSocket.readyState`: 0 connecting, 1 open, 2 closing (a close was sent or
    /// received), 3 closed. The runtime keeps "close sent" across hibernation.
    #[wasm_bindgen(method, getter, js_name = readyState)]
    fn ready_state(this: &StateOfSocket) -> u16;
}

/// `WebSocket.readyState` of an open socket.
const READY_STATE_OPEN: u16 = 1;

/// Whether `ws` can still be written to: neither side has started closing it. Reads one
/// property, so delivery can ask it of every socket it writes to.
pub fn is_open(ws: &WebSocket) -> bool {
    let raw: &StateOfSocket = ws.as_ref().unchecked_ref();
    raw.ready_state() == READY_STATE_OPEN
}

/// Closes `ws` for breaking the frame policy (1008): marks it closed in its attachment first,
/// so that frames still arriving from its client are ignored, even after hibernation.
pub fn close_for_policy(ws: &WebSocket, info: &mut SocketInfo) -> worker::Result<()> {
    info.closed = true;
    ws.serialize_attachment(&*info)?;
    ws.close(Some(1008), Some("too many refused frames"))
}

#[wasm_bindgen]
extern "C" {
    /// A Durable Object's state, typed only for the heartbeat timestamp.
    type RawState;

    /// `state.getWebSocketAutoResponseTimestamp(ws)`: when the runtime last answered the
    /// socket's heartbeat, or null.
    #[wasm_bindgen(method, catch, js_name = getWebSocketAutoResponseTimestamp)]
    fn auto_response_timestamp(this: &RawState, ws: &JsValue) -> Result<JsValue, JsValue>;
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
        let admin = SocketInfo::new("ann", Role::TenantAdmin, None, 0.0);
        assert_eq!(
            admin.tags("acme"),
            ["tenant:acme", "tenant:acme:admins", "admin:ann", "config:*"]
        );
        assert_eq!(admin.subject_tag(), "admin:ann");
        let user = SocketInfo::new(
            "bob",
            Role::User,
            Some(vec!["auth".into(), "rbac".into()]),
            0.0,
        );
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
        assert_eq!(user.subject_tag(), "user:bob");
        assert!(user.tags("acme").len() <= 3 + MAX_SUBSCRIPTIONS);
        let all = Some((0..MAX_SUBSCRIPTIONS).map(|i| format!("n{i}")).collect());
        let admin = SocketInfo::new("ann", Role::PlatformAdmin, all, 0.0);
        assert!(
            admin.tags("acme").len() <= 10,
            "the runtime allows ten tags"
        );
    }

    #[test]
    fn attachments_without_the_closed_flag_still_read() {
        let old = r#"{"sub":"bob","role":"user","namespaces":null,"tokens":3.0,"counted_at":0.0,"strikes":2}"#;
        let info: SocketInfo = serde_json::from_str(old).unwrap();
        assert!(!info.closed);
    }

    #[test]
    fn inbound_rate_limit_allows_a_burst_then_one_per_second() {
        let mut info = SocketInfo::new("bob", Role::User, None, 0.0);
        let admitted = (0..15).filter(|_| info.admit_frame(0.0)).count();
        assert_eq!(admitted, CLIENT_FRAME_BURST as usize);
        assert_eq!(info.strikes, 5);
        assert!(info.admit_frame(1000.0), "one token back after a second");
        assert!(!info.admit_frame(1000.0));
    }
}
