//! Incidents in D1 (`alert_incidents`): the durable part of alerting, so that a notice the
//! webhook did not accept is sent again by the next run, and an incident is alerted once.

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::D1Database;

use super::incidents::{AlertKind, Incident, NoticeKind, Plan};
use crate::health::SyncState;
use crate::problem::ApiError;

/// Most incidents whose notices one run tries to deliver.
pub const DELIVERY_PAGE: u32 = 20;

const COLUMNS: &str = "id, tenant, kind, state, since, detail, opened_at, resolved_at, \
    recovered_state, alert_delivered_at, recovery_delivered_at";

#[derive(Deserialize)]
struct Row {
    id: String,
    tenant: String,
    kind: String,
    state: String,
    since: f64,
    detail: Option<String>,
    opened_at: f64,
    resolved_at: Option<f64>,
    recovered_state: Option<String>,
    alert_delivered_at: Option<f64>,
    recovery_delivered_at: Option<f64>,
}

impl Row {
    fn into_incident(self) -> Option<Incident> {
        let kind = match self.kind.as_str() {
            "failed" => AlertKind::Failed,
            "pending" => AlertKind::Pending,
            "drifted" => AlertKind::Drifted,
            _ => return None,
        };
        let ms = |v: Option<f64>| v.map(|v| v as u64);
        Some(Incident {
            id: self.id,
            tenant: self.tenant,
            kind,
            state: SyncState::parse(&self.state)?,
            since: self.since as u64,
            detail: self.detail,
            opened_at: self.opened_at as u64,
            resolved_at: ms(self.resolved_at),
            recovered_state: self.recovered_state,
            alert_delivered_at: ms(self.alert_delivered_at),
            recovery_delivered_at: ms(self.recovery_delivered_at),
        })
    }
}

async fn select(
    db: &D1Database,
    condition: &str,
    limit: Option<u32>,
) -> Result<Vec<Incident>, ApiError> {
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let rows: Vec<Row> = db
        .prepare(format!(
            "SELECT {COLUMNS} FROM alert_incidents WHERE {condition} ORDER BY opened_at{limit}"
        ))
        .all()
        .await?
        .results()?;
    Ok(rows.into_iter().filter_map(Row::into_incident).collect())
}

/// Every open incident (one per tenant at most).
pub async fn open(db: &D1Database) -> Result<Vec<Incident>, ApiError> {
    select(db, "resolved_at IS NULL", None).await
}

/// Incidents that still owe a notice, oldest first, at most [`DELIVERY_PAGE`].
pub async fn undelivered(db: &D1Database) -> Result<Vec<Incident>, ApiError> {
    select(
        db,
        "alert_delivered_at IS NULL OR (resolved_at IS NOT NULL AND recovery_delivered_at IS NULL)",
        Some(DELIVERY_PAGE),
    )
    .await
}

/// Applies a plan in one batch: closes first (a tenant's old incident must be closed before
/// its new one opens), then opens (`INSERT OR IGNORE`: an id already there is the same
/// incident).
pub async fn apply(db: &D1Database, plan: &Plan, now: u64) -> Result<(), ApiError> {
    let mut statements = Vec::new();
    for (id, healed_to) in &plan.resolve {
        statements.push(
            db.prepare(
                "UPDATE alert_incidents SET resolved_at = ?1, recovered_state = ?2 \
                 WHERE id = ?3 AND resolved_at IS NULL",
            )
            .bind(&[
                JsValue::from_f64(now as f64),
                JsValue::from_str(healed_to),
                JsValue::from_str(id),
            ])?,
        );
    }
    for i in &plan.open {
        statements.push(
            db.prepare(
                "INSERT OR IGNORE INTO alert_incidents \
                 (id, tenant, kind, state, since, detail, opened_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .bind(&[
                JsValue::from_str(&i.id),
                JsValue::from_str(&i.tenant),
                JsValue::from_str(i.kind.as_str()),
                JsValue::from_str(i.state.as_str()),
                JsValue::from_f64(i.since as f64),
                i.detail.as_deref().map_or(JsValue::NULL, JsValue::from_str),
                JsValue::from_f64(i.opened_at as f64),
            ])?,
        );
    }
    if !statements.is_empty() {
        db.batch(statements).await?;
    }
    Ok(())
}

/// Records one delivery's outcome: delivered (`error` is `None`) or not, after `attempts`.
pub async fn record_delivery(
    db: &D1Database,
    id: &str,
    notice: NoticeKind,
    attempts: u32,
    error: Option<&str>,
    now: u64,
) -> Result<(), ApiError> {
    let column = match notice {
        NoticeKind::Alert => "alert_delivered_at",
        NoticeKind::Recovery => "recovery_delivered_at",
    };
    let statement = match error {
        None => db
            .prepare(format!(
                "UPDATE alert_incidents SET {column} = ?1, attempts = attempts + ?2, \
                 last_error = NULL WHERE id = ?3"
            ))
            .bind(&[
                JsValue::from_f64(now as f64),
                JsValue::from_f64(f64::from(attempts)),
                JsValue::from_str(id),
            ])?,
        Some(error) => db
            .prepare(
                "UPDATE alert_incidents SET attempts = attempts + ?1, last_error = ?2 WHERE id = ?3",
            )
            .bind(&[
                JsValue::from_f64(f64::from(attempts)),
                JsValue::from_str(error),
                JsValue::from_str(id),
            ])?,
    };
    statement.run().await?;
    Ok(())
}
