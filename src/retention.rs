//! History retention: each health check deletes D1 rows older than `HISTORY_RETENTION_DAYS`
//! (default 90) — event history (with the namespaces it is filed under), refused-write audit
//! rows, health snapshots, and closed incidents whose notices were
//! delivered — in bounded batches, so one run never holds D1 for long. What is left over is
//! pruned by the next runs.

use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use crate::problem::ApiError;

/// Default for `HISTORY_RETENTION_DAYS`.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;
/// Rows deleted by one statement.
pub const PRUNE_BATCH: u32 = 500;
/// Statements per table per run (so at most `PRUNE_BATCH * MAX_BATCHES` rows each).
pub const MAX_BATCHES: u32 = 10;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// The retention in days: `HISTORY_RETENTION_DAYS` when it is a positive integer.
pub fn retention_days(env: &Env) -> u64 {
    parse_days(
        env.var("HISTORY_RETENTION_DAYS")
            .ok()
            .map(|v| v.to_string())
            .as_deref(),
    )
}

/// See [`retention_days`].
pub fn parse_days(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|d| *d > 0)
        .unwrap_or(DEFAULT_RETENTION_DAYS)
}

/// The cut-off: rows created before it are pruned.
pub fn cutoff(now: u64, days: u64) -> u64 {
    now.saturating_sub(days.saturating_mul(DAY_MS))
}

/// What one run pruned, recorded in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"retentionDays": 90, "historyRows": 120, "snapshots": 3, "incidents": 0, "refusals": 2, "more": false})))]
pub struct Pruned {
    /// The retention applied, in days.
    pub retention_days: u64,
    /// Event history rows deleted (`sync_events`).
    pub history_rows: u64,
    /// Health snapshots deleted.
    pub snapshots: u64,
    /// Closed, fully delivered alert incidents deleted.
    pub incidents: u64,
    /// Refused-write audit rows deleted (`audit_refusals`).
    #[serde(default)]
    pub refusals: u64,
    /// Whether rows older than the retention are left for the next run.
    pub more: bool,
    /// What went wrong, if anything did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Prunes everything older than the retention. Never fails: an error is reported.
pub async fn prune(db: &D1Database, days: u64, now: u64) -> Pruned {
    let mut pruned = Pruned {
        retention_days: days,
        ..Pruned::default()
    };
    let before = cutoff(now, days);
    let tables = [
        ("sync_events", "created_at < ?1"),
        ("health_snapshots", "taken_at < ?1"),
        (
            "alert_incidents",
            "resolved_at < ?1 AND alert_delivered_at IS NOT NULL AND recovery_delivered_at IS NOT NULL",
        ),
        ("audit_refusals", "created_at < ?1"),
    ];
    for (i, (table, condition)) in tables.into_iter().enumerate() {
        match prune_table(db, table, condition, before).await {
            Ok((rows, more)) => {
                match i {
                    0 => pruned.history_rows = rows,
                    1 => pruned.snapshots = rows,
                    2 => pruned.incidents = rows,
                    _ => pruned.refusals = rows,
                }
                pruned.more |= more;
            }
            Err(e) => {
                let detail = match e {
                    ApiError::Internal(inner) => inner,
                    other => other.to_string(),
                };
                worker::console_error!("pruning {table} failed: {detail}");
                pruned.error = Some(format!("{table}: {detail}"));
            }
        }
    }
    pruned
}

/// Deletes up to `MAX_BATCHES` batches of rows matching `condition`; returns how many rows,
/// and whether a full last batch suggests more are left.
async fn prune_table(
    db: &D1Database,
    table: &str,
    condition: &str,
    before: u64,
) -> Result<(u64, bool), ApiError> {
    let sql = format!(
        "DELETE FROM {table} WHERE rowid IN \
         (SELECT rowid FROM {table} WHERE {condition} LIMIT {PRUNE_BATCH})"
    );
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let result = db
            .prepare(&sql)
            .bind(&[JsValue::from_f64(before as f64)])?
            .run()
            .await?;
        let changes = result.meta()?.and_then(|m| m.changes).unwrap_or(0) as u64;
        total += changes;
        if changes < u64::from(PRUNE_BATCH) {
            return Ok((total, false));
        }
    }
    Ok((total, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_defaults_and_cutoff() {
        assert_eq!(parse_days(None), 90);
        assert_eq!(parse_days(Some("0")), 90);
        assert_eq!(parse_days(Some(" 30 ")), 30);
        assert_eq!(cutoff(10 * DAY_MS, 3), 7 * DAY_MS);
        assert_eq!(cutoff(DAY_MS, 3), 0);
    }
}
