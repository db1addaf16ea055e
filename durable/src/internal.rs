//! The internal HTTP interface between the Worker and the hubs.
//!
//! The Worker has already authenticated and validated the request; hubs trust these calls.
//! URLs use a fixed fake host because a Durable Object stub needs an absolute URL.
//!
//! | method and path            | hub      | body / answer                               |
//! |----------------------------|----------|---------------------------------------------|
//! | `PUT /layers/{namespace}`  | both     | [`LayerWrite`] → [`WriteAck`]                |
//! | `GET /layers/{namespace}`  | both     | → `StoredDocument`                          |
//! | `GET /connect`             | tenant   | WebSocket upgrade                            |
//! | `GET /status`              | both     | → [`HubStatus`]                              |
//!
//! Every call carries the hub's identity in [`HUB_NAME_HEADER`] so the object knows which
//! tenant it serves even when it is woken by an alarm, with no request at all.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Header carrying the hub's name (the tenant id, or `platform`).
pub const HUB_NAME_HEADER: &str = "x-cascade-hub";

/// Header carrying the connecting [`Member`] as JSON on `GET /connect`.
pub const MEMBER_HEADER: &str = "x-cascade-member";

/// The WebSocket subprotocol Cascade speaks; browsers offer it next to `bearer.<jwt>`.
pub const SUBPROTOCOL: &str = "cascade";

/// Base URL of internal calls.
pub const BASE_URL: &str = "https://hub.internal";

/// Who is connecting, as authenticated by the Worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// Subject (user or service id).
    pub sub: String,
    /// Role: `platform-admin`, `tenant-admin` or `user`.
    pub role: String,
}

/// A whole-document write of one namespace layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerWrite {
    /// The layer's new values (only this scope's own values).
    pub config: Map<String, Value>,
    /// Who made the change.
    pub triggered_by: String,
    /// `If-Match`: the version the writer read; the write is refused if the document moved on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<u64>,
    /// `Idempotency-Key`: a retry with the same key gets the first answer and applies nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// What a hub answers once a write is durable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteAck {
    /// The hub sequence number the write was applied at.
    pub seq: u64,
    /// Version of the namespace document after the write.
    pub version: u64,
    /// Whether the document changed (a write of identical content changes nothing and takes
    /// no sequence number).
    pub changed: bool,
    /// Whether this answer is the replay of an earlier request with the same idempotency key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

/// A hub's own view of its health, for the health check and the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubStatus {
    /// Hub name: tenant id or `platform`.
    pub hub: String,
    /// Current sequence number.
    pub seq: u64,
    /// Open WebSocket connections attached to the hub.
    pub connections: u64,
    /// History rows written in the hub but not yet flushed to D1.
    pub outbox_pending: u64,
    /// How many times the object has been constructed (woken) since it was created.
    pub wakes: u64,
    /// The last error the hub met (a failed D1 flush, say), if any since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
