//! The history outbox: event rows buffered in the hub's SQLite and flushed to D1 by an alarm.
//!
//! A row enters the outbox in the same atomic run of writes as the change it describes, so
//! the hub never acknowledges a change whose history could be lost. The alarm copies rows to
//! D1 with `INSERT OR IGNORE` on the unique `(hub, seq)` key, then deletes them here: a crash
//! between the two copies the same rows again and D1 keeps one of each.
//!
//! The key is `(hub, incarnation, seq)`: a tenant deleted and created again starts over at
//! `seq` 1 under a new incarnation, and its rows must never be dropped as copies of the deleted
//! one's. Every row in a hub's outbox belongs to the incarnation the hub serves now (erasure
//! wipes the outbox with everything else), so the flush stamps it on each row.

use cascade_protocol::Role;
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Result, SqlStorage};

use crate::store::{as_u64, sql_int};

/// Most rows one flush sends to D1 in a single batch.
pub const FLUSH_BATCH: usize = 100;

/// One event as recorded in D1's `sync_events` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    /// Hub that applied the event: a tenant id, or `platform`.
    pub hub: String,
    /// Tenant id, absent for platform events.
    pub tenant_id: Option<String>,
    /// The hub's sequence number for the event.
    pub seq: u64,
    /// Namespace (the seed's event `type`).
    pub event_type: String,
    /// The seed's `action` (`update`, `create`, ...).
    pub action: String,
    /// Scope written: `platform`, `tenant` or `user`.
    pub scope: String,
    /// Target of the write (tenant or user id).
    pub target_id: Option<String>,
    /// What happened, in one word (`applied`, `conflict`, `pending`, ...).
    pub outcome: String,
    /// Every engine outcome, as a JSON array.
    #[serde(default)]
    pub outcomes: String,
    /// Who made the change.
    pub triggered_by: String,
    /// Time spent applying the change in the hub, in milliseconds.
    pub duration_ms: f64,
    /// Error text when the outcome is a failure.
    pub error: Option<String>,
    /// Unix time in milliseconds.
    pub created_at: u64,
    /// Propagation latency of a platform change applied by a tenant hub: the tenant's commit
    /// time minus the platform hub's commit time, in milliseconds (never negative). Absent for
    /// every other row: changes that start at the tenant hub, platform updates applied by a
    /// catch-up, the platform hub's own rows, and rows written before this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation_ms: Option<u64>,
    /// Every namespace the commit touched, in order (`event_type` is the first); empty in
    /// rows buffered before the field existed, which then count under `event_type` alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The writing request's id (`Cascade-Request-Id`); absent for platform updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The writer's role; absent for platform updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The layers the commit changed, as a JSON array of `{namespace, layer, patch,
    /// replaced}` (RFC 6902 patches forward and back; see `crate::history::layer_changes`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub changes: String,
}

#[derive(Deserialize)]
struct OutboxRow {
    seq: f64,
    row: String,
}

/// Adds `row` to the outbox. Call it in the same run of synchronous writes as the change.
pub fn push(sql: &SqlStorage, row: &HistoryRow) -> Result<()> {
    let text = serde_json::to_string(row)?;
    sql.exec(
        "INSERT INTO outbox (seq, row) VALUES (?, ?)",
        vec![sql_int(row.seq)?, text.into()],
    )?;
    Ok(())
}

/// Sends up to [`FLUSH_BATCH`] buffered rows to D1 and removes them from the outbox once D1
/// has them, each under `incarnation` (the hub's, `""` for the platform hub and for tenants
/// created before incarnations existed). Returns how many rows were flushed; an error leaves
/// every row in place.
pub async fn flush(sql: &SqlStorage, db: &D1Database, incarnation: &str) -> Result<usize> {
    let rows: Vec<OutboxRow> = sql
        .exec(
            "SELECT seq, row FROM outbox ORDER BY seq LIMIT ?",
            vec![sql_int(FLUSH_BATCH as u64)?],
        )?
        .to_array()?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut statements = Vec::with_capacity(rows.len() * 2);
    for stored in &rows {
        let row: HistoryRow = serde_json::from_str(&stored.row)?;
        statements.push(insert_statement(db, &row, incarnation)?);
        for namespace in row.namespaces_touched() {
            statements.push(namespace_statement(db, &row, namespace, incarnation)?);
        }
    }
    db.batch(statements).await?;
    let last = rows.last().map_or(0, |r| as_u64(r.seq));
    sql.exec("DELETE FROM outbox WHERE seq <= ?", vec![sql_int(last)?])?;
    Ok(rows.len())
}

impl HistoryRow {
    /// The namespaces the row is found under: each it touched (`event_type` for older rows).
    pub fn namespaces_touched(&self) -> Vec<&str> {
        if self.namespaces.is_empty() {
            vec![self.event_type.as_str()]
        } else {
            self.namespaces.iter().map(String::as_str).collect()
        }
    }
}

/// Files the row under one namespace it touched (idempotent, like the row itself).
fn namespace_statement(
    db: &D1Database,
    row: &HistoryRow,
    namespace: &str,
    incarnation: &str,
) -> Result<worker::D1PreparedStatement> {
    db.prepare(
        "INSERT OR IGNORE INTO sync_event_namespaces (event_id, namespace)
         SELECT id, ?3 FROM sync_events WHERE hub = ?1 AND seq = ?2 AND incarnation = ?4",
    )
    .bind(&[
        JsValue::from_str(&row.hub),
        JsValue::from_f64(row.seq as f64),
        JsValue::from_str(namespace),
        JsValue::from_str(incarnation),
    ])
}

fn insert_statement(
    db: &D1Database,
    row: &HistoryRow,
    incarnation: &str,
) -> Result<worker::D1PreparedStatement> {
    let opt = |s: &Option<String>| s.as_deref().map_or(JsValue::NULL, JsValue::from_str);
    db.prepare(
        "INSERT OR IGNORE INTO sync_events
           (hub, tenant_id, seq, event_type, action, scope, target_id, outcome, triggered_by,
            duration_ms, error, created_at, outcomes, propagation_ms, request_id, role, changes,
            incarnation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )
    .bind(&[
        JsValue::from_str(&row.hub),
        opt(&row.tenant_id),
        JsValue::from_f64(row.seq as f64),
        JsValue::from_str(&row.event_type),
        JsValue::from_str(&row.action),
        JsValue::from_str(&row.scope),
        opt(&row.target_id),
        JsValue::from_str(&row.outcome),
        JsValue::from_str(&row.triggered_by),
        JsValue::from_f64(row.duration_ms),
        opt(&row.error),
        JsValue::from_f64(row.created_at as f64),
        JsValue::from_str(if row.outcomes.is_empty() {
            "[]"
        } else {
            &row.outcomes
        }),
        row.propagation_ms
            .map_or(JsValue::NULL, |ms| JsValue::from_f64(ms as f64)),
        opt(&row.request_id),
        row.role
            .map_or(JsValue::NULL, |r| JsValue::from_str(r.as_str())),
        JsValue::from_str(if row.changes.is_empty() {
            "[]"
        } else {
            &row.changes
        }),
        JsValue::from_str(incarnation),
    ])
}
