//! `GET /v1/tenants/{tenant}/history`: the tenant's event history from D1, newest first.

use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{Env, Request, Response};

use crate::problem::ApiError;
use crate::tenants;

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page.
pub const MAX_LIMIT: u32 = 500;

/// One history entry as returned.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Sequence number in the hub.
    pub seq: u64,
    /// Namespace (the seed's event `type`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The seed's `action`.
    pub action: String,
    /// Scope written.
    pub scope: String,
    /// Target of the write.
    pub target_id: Option<String>,
    /// What happened.
    pub outcome: String,
    /// Who made the change.
    pub triggered_by: String,
    /// Time spent in the hub, in milliseconds.
    pub duration_ms: f64,
    /// Error text for failures.
    pub error: Option<String>,
    /// Unix milliseconds.
    pub created_at: u64,
}

#[derive(Deserialize)]
struct Row {
    seq: f64,
    event_type: String,
    action: String,
    scope: String,
    target_id: Option<String>,
    outcome: String,
    triggered_by: String,
    duration_ms: f64,
    error: Option<String>,
    created_at: f64,
}

/// A page of history: entries with `seq` below `before` (all when absent), newest first.
pub async fn list(env: &Env, req: &Request, tenant: &str) -> Result<Response, ApiError> {
    tenants::require(env, tenant).await?;
    let url = req.url()?;
    let mut limit = DEFAULT_LIMIT;
    let mut before = u64::MAX >> 11; // above any seq a JavaScript number holds exactly
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "limit" => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or(ApiError::BadQuery {
                        name: "limit",
                        problem: format!("must be 1..={MAX_LIMIT}, got '{value}'"),
                    })?;
            }
            "before" => {
                before = value.parse().map_err(|_| ApiError::BadQuery {
                    name: "before",
                    problem: format!("must be a sequence number, got '{value}'"),
                })?;
            }
            _ => {}
        }
    }
    let rows: Vec<Row> = tenants::db(env)?
        .prepare(
            "SELECT seq, event_type, action, scope, target_id, outcome, triggered_by, duration_ms, error, created_at
             FROM sync_events WHERE tenant_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .bind(&[JsValue::from_str(tenant), JsValue::from_f64(before as f64), JsValue::from_f64(f64::from(limit))])?
        .all()
        .await?
        .results()?;
    let entries: Vec<HistoryEntry> = rows
        .into_iter()
        .map(|r| HistoryEntry {
            seq: r.seq as u64,
            event_type: r.event_type,
            action: r.action,
            scope: r.scope,
            target_id: r.target_id,
            outcome: r.outcome,
            triggered_by: r.triggered_by,
            duration_ms: r.duration_ms,
            error: r.error,
            created_at: r.created_at as u64,
        })
        .collect();
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Response::from_json(
        &serde_json::json!({ "entries": entries, "nextBefore": next_before }),
    )?)
}
