//! The internal HTTP interface between the Worker and the hubs, and between hubs.
//!
//! The Worker has already authenticated, authorized and validated the request; hubs trust
//! these calls. URLs use a fixed fake host because a Durable Object stub needs an absolute URL.
//!
//! | method and path                      | hub      | body → answer                              |
//! |--------------------------------------|----------|--------------------------------------------|
//! | `PUT /layers/{namespace}`            | both     | [`LayerWrite`] → [`WriteAck`]              |
//! | `GET /layers/{namespace}[?user=u]`   | both     | → `StoredDocument` (the layer's own values) |
//! | `GET /layers/{namespace}?version=N[&user=u]` | tenant | → `StoredDocument` (the layer at version N) |
//! | `GET /effective/{namespace}[?user=u]`| tenant   | → `StoredDocument` (resolved)               |
//! | `POST /changes`                      | tenant   | [`ChangeSet`] → [`WriteAck`]               |
//! | `POST /platform-update`              | tenant   | [`Delivery`] → [`DeliveryAck`]             |
//! | `GET /updates?since=P`               | platform | → `[PlatformUpdate]` (catch-up)             |
//! | `GET /pending`, `GET /conflicts`     | tenant   | → open items, each with its `namespace`    |
//! | `POST /pending/{ns}/{id}/{accept\|reject}` | tenant | [`Operation`] → [`WriteAck`]         |
//! | `POST /conflicts/{ns}/{id}/resolve`  | tenant   | [`Operation`] → [`WriteAck`]               |
//! | `POST /rollback/{ns}`                | tenant   | [`Operation`] (`version`) → [`WriteAck`]   |
//! | `GET /connect`                       | both     | WebSocket upgrade ([`MEMBER_HEADER`]); platform: admins only |
//! | `POST /sync-status`                  | platform | `PlatformSyncStatus` → `{sent}` (broadcast to `platform:admins`) |
//! | `POST /tenant-status`                | platform | `TenantSyncStatus` → `{sent}` (a tenant's changed status to `platform:admins`) |
//! | `GET /status`                        | both     | → [`HubStatus`]                            |
//! | `POST /erase`                        | tenant   | `{idempotencyKey?}` → [`Erased`] (wipes the hub) |
//! | `GET /erasure?key=K`                 | tenant   | → [`Erased`] if key K erased it, else 404  |
//!
//! `POST /platform-update` answers 410 `CASCADE:Tenant:Gone` on an erased hub, as does
//! `POST /sync` when an erasure interrupts it (see `crate::lifecycle`).
//!
//! Writes from the Worker carry the [`Caller`] in [`CALLER_HEADER`].
//!
//! Every call carries the hub's identity in [`HUB_NAME_HEADER`] so the object knows which
//! tenant it serves even when it is woken by an alarm, with no request at all.

use cascade_engine::conflict::{Conflict, ConflictAction};
use cascade_engine::event::{ChangeEvent, PlatformUpdate};
use cascade_engine::outcome::Outcome;
use cascade_engine::pending::PendingChange;
use cascade_engine::rule::SyncRule;
use cascade_engine::scope::TenantContext;
use cascade_protocol::Role;
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

/// Header carrying the writing request's [`Caller`] as JSON on write calls; the hub records
/// it in the write's history entry.
pub const CALLER_HEADER: &str = "x-cascade-caller";

/// Who makes a write and under which request, as the Worker authenticated it: recorded in
/// the history entry of every change it commits. Each caller (subject and role) also has its
/// own write budget inside the hub's, and its own idempotency keys (another caller's key is a
/// different key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// Subject (user or service id) of the token.
    pub sub: String,
    /// Role of the token.
    pub role: Role,
    /// The request's id (`Cascade-Request-Id`), given by the client or made by the Worker.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_id: String,
}

/// Who is connecting, as authenticated by the Worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// Subject (user or service id).
    pub sub: String,
    /// Role of the token.
    pub role: Role,
    /// When the member's token expires (`exp`, Unix seconds): the hub closes the socket then
    /// (see `crate::socket_expiry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// What a tenant hub needs to apply changes: the tenant (from the D1 registry) and the sync
/// rules (from D1), read by the caller for each call so they are never stale.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubContext {
    /// The tenant: id, attributes, opt-outs.
    pub tenant: TenantContext,
    /// Enabled sync rules, in precedence order as stored.
    pub rules: Vec<SyncRule>,
    /// The tenant's incarnation from its registry row (one per creation). Sent with `/sync`,
    /// where the hub adopts it (see [`crate::lifecycle::adopt_incarnation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incarnation: Option<String>,
    /// The platform seq up to which every fan-out has finished, as the Worker saw it (cached
    /// for up to a second): a hub that has applied less missed a delivery and catches up
    /// before it takes a write (see `TenantHub::catch_up_first`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_seq: Option<u64>,
}

/// Optimistic concurrency and idempotency of a write.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteGuard {
    /// `If-Match`: the namespace version the writer read; refused if it moved on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<u64>,
    /// `Idempotency-Key`: a retry with the same key gets the first answer, applies nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Who writes, as authenticated by the Worker: the caller's own write budget and the
    /// scope of its idempotency keys. Absent only on calls that act for nobody in particular.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
}

impl Caller {
    /// The key under which this caller's idempotency key `key` is stored. Keys are visible
    /// ASCII and roles have no line break, so the first and last line break delimit the
    /// subject whatever it contains.
    pub fn scoped_key(&self, key: &str) -> String {
        format!("{}\n{}\n{key}", self.role, self.sub)
    }
}

/// How a write changes a layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum LayerChange {
    /// `PUT`: the layer's new values, whole.
    Replace(Map<String, Value>),
    /// `PATCH` with `application/merge-patch+json` (RFC 7396).
    Merge(Map<String, Value>),
    /// `PATCH` with `application/json-patch+json` (RFC 6902), applied to the current layer.
    Json(json_patch::Patch),
}

/// A write of one layer: the platform layer, the tenant layer, or a user's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerWrite {
    /// The user whose layer is written; absent for the tenant (or platform) layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The change to the layer (only this scope's own values).
    pub change: LayerChange,
    /// Who made the change.
    pub triggered_by: String,
    /// Guards.
    #[serde(default)]
    pub guard: WriteGuard,
    /// Tenant and rules (tenant hub only).
    #[serde(default)]
    pub context: HubContext,
}

/// A batch of the seed's change events for one tenant, applied atomically with one `seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSet {
    /// The events (tenant and user scope of this tenant).
    pub events: Vec<ChangeEvent>,
    /// Guards (`ifMatch` applies to the first event's namespace).
    #[serde(default)]
    pub guard: WriteGuard,
    /// Tenant and rules.
    pub context: HubContext,
}

/// An admin's operation on a tenant's namespace: a pending-change decision, a conflict
/// resolution, or a rollback.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Who does it.
    pub by: String,
    /// For conflict resolution: `{"action": "takeUpper" | "keepLower" | "setValue", "value": ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ConflictAction>,
    /// For rollback: the version to restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// `Idempotency-Key` (and `If-Match`, unused here) of the request: a retried decision
    /// gets the first answer instead of "not found".
    #[serde(default)]
    pub guard: WriteGuard,
    /// Tenant and rules.
    pub context: HubContext,
}

/// What a hub answers once a write is durable.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "seq": 13, "version": 13, "changed": true,
    "outcomes": [{"kind": "written", "namespace": "auth", "subject": {"scope": "tenant"}}]
})))]
pub struct WriteAck {
    /// The hub sequence number after the write.
    pub seq: u64,
    /// Version of the (first) namespace written, after the write.
    pub version: u64,
    /// Whether anything changed (a write of identical content takes no sequence number).
    pub changed: bool,
    /// Whether this answer is the replay of an earlier request with the same idempotency key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// Everything that happened, as the engine's outcomes (kind: written, applied,
    /// overridden, shadowed, merged, conflictOpened, pending, skipped, refused, reported,
    /// ...); at most 1,000 (`MAX_OUTCOMES_LISTED`), then one `{"kind": "omitted", "count": N}`
    /// item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub outcomes: Vec<Value>,
}

impl WriteAck {
    /// The acknowledgement of a commit at `seq` that left the written namespace at `version`.
    pub fn committed(seq: u64, version: u64, outcomes: &[Outcome]) -> serde_json::Result<Self> {
        Ok(Self {
            seq,
            version,
            changed: true,
            replayed: false,
            outcomes: crate::history::listed_outcomes(outcomes)?,
        })
    }
}

/// A platform update delivered to a tenant hub by the fan-out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The update.
    pub update: PlatformUpdate,
    /// When the platform hub committed the update (Unix ms): the tenant records its
    /// propagation latency from it. Absent from deliveries sent before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_committed_at: Option<u64>,
    /// Tenant and rules.
    pub context: HubContext,
}

/// A tenant hub's answer to a delivery, and `POST /v1/tenants/{tenant}/sync`'s.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SyncAck, example = json!({"platformSeq": 7, "applied": 2})))]
pub struct DeliveryAck {
    /// The platform sequence the tenant is at now.
    pub platform_seq: u64,
    /// How many platform updates this call applied (0: it already had them).
    pub applied: u64,
}

/// A hub's own view of its health, for the health check and the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "hub": "acme", "seq": 12, "platformSeq": 7, "connections": 3,
    "connectionsByRole": {"admins": 1, "users": 2}, "outboxPending": 0, "pendingChanges": 1,
    "openConflicts": 0, "wakes": 4
})))]
pub struct HubStatus {
    /// Hub name: tenant id or `platform`.
    pub hub: String,
    /// Current sequence number.
    pub seq: u64,
    /// Platform sequence applied (tenant hubs) or committed (platform hub).
    #[serde(default)]
    pub platform_seq: u64,
    /// Open WebSocket connections attached to the hub.
    pub connections: u64,
    /// Open connections per role: `admins` and `users` on a tenant hub.
    #[serde(default)]
    pub connections_by_role: std::collections::BTreeMap<String, u64>,
    /// History rows written in the hub but not yet flushed to D1.
    pub outbox_pending: u64,
    /// Platform changes waiting for a tenant admin's decision.
    #[serde(default)]
    pub pending_changes: u64,
    /// Conflicts waiting for manual resolution.
    #[serde(default)]
    pub open_conflicts: u64,
    /// How many times the object has been constructed (woken) since it was created.
    pub wakes: u64,
    /// The last error the hub met (a failed D1 flush, say), if any since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A tenant hub's answer to an erasure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Erased {
    /// WebSockets closed by the erasure.
    pub closed: usize,
}

/// One platform layer as the platform hub holds it, sent to a tenant to converge its copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformLayer {
    /// The namespace.
    pub namespace: String,
    /// The platform's layer.
    pub config: serde_json::Value,
}

/// Body of a tenant hub's `POST /converge`: bring the tenant's copies of these platform
/// layers to the platform's, where the rules say they must (see `cascade_engine::converge`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConvergeRequest {
    /// Tenant and rules.
    pub context: HubContext,
    /// The platform seq the layers were read at: a tenant behind it catches up first; one
    /// ahead of it (a newer update arrived since) converges against newer layers later.
    pub platform_seq: u64,
    /// The platform layers to converge to.
    pub layers: Vec<PlatformLayer>,
    /// What started it: `rule-changed`, `tenant-changed` or `health-check`.
    pub cause: String,
}

/// A namespace whose copy of the platform layer differs from the platform's (compared by
/// digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"namespace": "auth", "reason": "rolledBack", "mustConverge": false})))]
pub struct NamespaceDrift {
    /// The namespace.
    pub namespace: String,
    /// Why: optedOut: the tenant opted out (kept on purpose); noRule: no enabled rule delivers
    /// a platform write of the namespace to this tenant; pending: platform changes wait for the
    /// tenant admin; rolledBack: the tenant rolled back a platform change; behind: the copy
    /// missed changes.
    pub reason: cascade_engine::converge::DriftReason,
    /// Whether the rules require the copy to converge: behind always; rolledBack under a
    /// platform-wins rule.
    pub must_converge: bool,
}

/// A tenant hub's answer to `POST /converge`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConvergeAck {
    /// Namespaces whose copy this call brought to the platform's (or queued as a pending
    /// change, when the governing rule does not apply automatically).
    pub converged: Vec<String>,
    /// Namespaces that still differ, with why (kept on purpose, or waiting).
    pub drift: Vec<NamespaceDrift>,
    /// The tenant seq of the convergence's commit (absent: nothing was committed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// True when the tenant had newer platform updates than the layers sent: nothing done.
    #[serde(default)]
    pub stale: bool,
}

/// Body of a tenant hub's `POST /health`: the platform's digest per namespace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthProbe {
    /// Tenant and rules, to tell why a copy differs.
    pub context: HubContext,
    /// The platform hub's layer digest per namespace (`crate::digest::layer_digest`).
    pub digests: std::collections::BTreeMap<String, String>,
}

/// A tenant hub's answer to `POST /health`: its status and its drift from the platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The hub's status.
    pub status: HubStatus,
    /// Namespaces whose copy differs from the platform's.
    pub drift: Vec<NamespaceDrift>,
}

/// One pending change as `GET /v1/tenants/{tenant}/pending` lists it: the engine's held
/// platform change with its namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = PendingItem::openapi_example))]
pub struct PendingItem {
    /// The namespace the change waits in.
    pub namespace: String,
    /// The held change.
    #[serde(flatten)]
    pub change: PendingChange,
}

/// One open conflict as `GET /v1/tenants/{tenant}/conflicts` lists it: the engine's conflict
/// with its namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = ConflictItem::openapi_example))]
pub struct ConflictItem {
    /// The namespace the conflict is in.
    pub namespace: String,
    /// The conflict.
    #[serde(flatten)]
    pub conflict: Conflict,
}

#[cfg(feature = "openapi")]
impl PendingItem {
    /// The example docs/openapi.json shows: the engine's pending-change example in `auth`.
    #[must_use]
    pub fn openapi_example() -> serde_json::Value {
        with_namespace(PendingChange::openapi_example())
    }
}

#[cfg(feature = "openapi")]
impl ConflictItem {
    /// The example docs/openapi.json shows: the engine's conflict example in `auth`.
    #[must_use]
    pub fn openapi_example() -> serde_json::Value {
        with_namespace(Conflict::openapi_example())
    }
}

/// A listing item's example: the engine's example of what it flattens, in namespace `auth`.
#[cfg(feature = "openapi")]
fn with_namespace(mut example: serde_json::Value) -> serde_json::Value {
    example["namespace"] = serde_json::json!("auth");
    example
}
