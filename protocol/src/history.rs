//! The history entry as `GET /v1/tenants/{tenant}/history` answers it: one committed
//! operation of a hub, as recorded in D1 (`sync_events`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Role, Scope};

/// One history entry: one commit (one `seq`) of a tenant's hub.
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "seq": 12, "type": "auth", "action": "update", "scope": "tenant", "targetId": "acme",
    "outcome": "applied", "outcomes": [{"kind": "applied", "namespace": "auth"}],
    "triggeredBy": "admin-1", "durationMs": 1.5, "error": null, "createdAt": 1764720000000_u64,
    "propagationMs": null, "namespaces": ["auth"], "requestId": "r-1", "role": "tenant-admin",
    "changes": [{"namespace": "auth", "layer": {"scope": "tenant"},
                 "patch": [{"op": "replace", "path": "/mfa", "value": true}],
                 "replaced": [{"op": "replace", "path": "/mfa", "value": false}]}]
})))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Sequence number in the hub.
    pub seq: u64,
    /// Namespace (the seed's event `type`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The seed's `action`, or the operation (`pending.accept`, `rollback`, ...).
    pub action: String,
    /// Scope written.
    pub scope: Scope,
    /// Target of the write (tenant or user id).
    pub target_id: Option<String>,
    /// What happened, in one word, most notable first: `refused`, `conflict`, `pending`,
    /// `overridden`, `shadowed`, `applied`, `skipped`, `unchanged`.
    pub outcome: String,
    /// Every engine outcome (at most 1,000, then `{"kind": "omitted", "count": N}`).
    #[cfg_attr(test, ts(type = "Array<JsonObject>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub outcomes: Value,
    /// Who made the change.
    pub triggered_by: String,
    /// Time spent in the hub, in milliseconds.
    pub duration_ms: f64,
    /// Error text for failures.
    pub error: Option<String>,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Propagation latency, for a platform change the fan-out delivered to this tenant: the
    /// tenant hub's commit time minus the platform hub's, in milliseconds (never negative).
    /// `null` for every other entry: tenant and user writes and admin operations (they start
    /// at this tenant's hub, so nothing propagated), platform updates applied by a catch-up
    /// (sync, healing, a new tenant), and entries recorded before the field existed.
    pub propagation_ms: Option<u64>,
    /// Every namespace the entry touched (a batch touches several; `type` is the first of
    /// its events'); `?namespace=` finds the entry under each.
    pub namespaces: Vec<String>,
    /// The writing request's id (`Cascade-Request-Id`); `null` for platform updates and
    /// entries recorded before the field existed.
    pub request_id: Option<String>,
    /// The writer's role; `null` as `requestId`.
    pub role: Option<Role>,
    /// The layers the entry changed: `{namespace, layer: {scope, id?}, patch, replaced}` with
    /// `patch` the RFC 6902 patch from the layer before to after and `replaced` the patch
    /// back (what it replaced); at most 100, then `{"kind": "omitted", "count": N}`.
    #[cfg_attr(test, ts(type = "Array<JsonObject>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Value,
}

/// One page of history, newest first.
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"entries": [], "nextBefore": null})))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// The entries, newest first.
    pub entries: Vec<HistoryEntry>,
    /// `before` for the next page; `null` on the last one.
    pub next_before: Option<u64>,
}
