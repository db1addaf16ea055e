//! Health checks: the cron handler asks the platform hub to start a check, which walks every
//! tenant in pages in its alarm (`cascade_durable::health_walk`: each hub's status, its
//! classification, healing of the ones that lag, the lines written to D1). When the walk has
//! seen every tenant the hub calls [`finish`] (registered by the Worker at start, see
//! [`finisher`]): it compares states with the previous check, alerts on incidents
//! ([`crate::alerts`]), prunes old history ([`crate::retention`]), stores the snapshot in D1
//! and returns the platform summary the hub sends to the platform admins' sockets.
//! `GET /v1/status` serves the latest snapshot and `GET /v1/tenants/{tenant}/status` one
//! tenant's line of it.
//!
//! A tenant whose hub cannot be reached, or that reports an error, is `failed`; one whose
//! history is still waiting to reach D1 is `pending`; otherwise `success`. A failure in one
//! tenant never stops the check for the others, and neither does a failure of alerting,
//! pruning or the broadcast: each is reported in the snapshot or the log.

use std::collections::BTreeMap;

use cascade_durable::health_walk::{CheckDone, CheckStarted, StartCheck};
use cascade_protocol::PlatformSyncStatus;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{Env, Method, Response};

use crate::alerts::{self, AlertReport};
use crate::hubs::Hub;
use crate::problem::ApiError;
use crate::retention::{self, Pruned};
use crate::tenant_states::{self, Tracked};
use crate::tenants;

pub use cascade_durable::health_walk::{classify, TenantHealth};
pub use cascade_protocol::SyncState;

/// Lines of the latest checks kept in `health_lines`; older snapshots keep their counts.
pub const CHECKS_WITH_LINES: u32 = 3;
/// Rows one statement deletes when older checks' lines are pruned.
pub const LINES_PRUNE_BATCH: u32 = 5000;
/// Statements per run pruning old lines (a run prunes at most this many batches).
pub const LINES_PRUNE_STATEMENTS: u32 = 10;

/// A stored health snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "takenAt": 1767225600000_u64, "cron": "*/5 * * * *", "healthPct": 50.0,
    "counts": {"success": 1, "partial": 0, "failed": 0, "pending": 0, "drifted": 1},
    "tenants": [
        {"tenant": "acme", "state": "success", "hub": null, "error": null},
        {"tenant": "globex", "state": "drifted", "hub": null, "error": null,
         "drift": [{"namespace": "auth", "reason": "rolledBack", "mustConverge": false}]}
    ],
    "platformSeq": 7,
    "alerts": {"enabled": false, "opened": 0, "resolved": 0, "delivered": 0, "undelivered": 0},
    "pruned": {"retentionDays": 90, "historyRows": 0, "snapshots": 0, "incidents": 0, "refusals": 0, "more": false}
})))]
pub struct Snapshot {
    /// Unix milliseconds when taken.
    pub taken_at: u64,
    /// The cron expression that triggered it.
    pub cron: String,
    /// Share of tenants in `success`, in percent (100 with no tenants).
    pub health_pct: f64,
    /// Count per state.
    pub counts: Counts,
    /// Every tenant's line.
    pub tenants: Vec<TenantHealth>,
    /// The platform's sequence number at the check.
    #[serde(default)]
    pub platform_seq: u64,
    /// What alerting did in this run (docs/ALERTS.md).
    #[serde(default)]
    pub alerts: AlertReport,
    /// What retention pruned in this run (`HISTORY_RETENTION_DAYS`).
    #[serde(default)]
    pub pruned: Pruned,
}

/// Tenants per state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"success": 8, "partial": 1, "failed": 0, "pending": 0, "drifted": 1})))]
pub struct Counts {
    /// Tenants in `success`.
    pub success: u32,
    /// Tenants in `partial`.
    pub partial: u32,
    /// Tenants in `failed`.
    pub failed: u32,
    /// Tenants in `pending`.
    pub pending: u32,
    /// Tenants in `drifted`.
    #[serde(default)]
    pub drifted: u32,
}

/// Summarises tenant lines into counts and the health percentage.
pub fn summarise(lines: &[TenantHealth]) -> (Counts, f64) {
    let mut counts = Counts::default();
    for line in lines {
        match line.state {
            SyncState::Success => counts.success += 1,
            SyncState::Partial => counts.partial += 1,
            SyncState::Failed => counts.failed += 1,
            SyncState::Pending => counts.pending += 1,
            SyncState::Drifted => counts.drifted += 1,
        }
    }
    let pct = if lines.is_empty() {
        100.0
    } else {
        f64::from(counts.success) * 100.0 / lines.len() as f64
    };
    (counts, pct)
}

/// Starts a health check (the cron handler): the platform hub walks the tenants in its
/// alarm and finishes the check with [`finish`]. A check already under way goes on instead.
pub async fn start(env: &Env, cron: &str) -> Result<CheckStarted, ApiError> {
    Hub::platform(env)?
        .call(
            Method::Post,
            "/health-check",
            Some(&StartCheck {
                cron: cron.to_owned(),
            }),
        )
        .await
}

/// [`finish`] in the shape the platform hub calls it (registered at module start).
pub fn finisher(
    env: Env,
    done: CheckDone,
) -> LocalBoxFuture<'static, worker::Result<PlatformSyncStatus>> {
    Box::pin(async move {
        finish(&env, &done).await.map_err(|e| {
            let problem = e.to_problem();
            worker::Error::RustError(format!("{}: {}", problem.code, problem.detail))
        })
    })
}

/// Finishes a walked check: reads its lines, compares them with the previous check's states,
/// alerts, prunes, stores the snapshot, and returns the platform admins' `sync-status`.
pub async fn finish(env: &Env, done: &CheckDone) -> Result<PlatformSyncStatus, ApiError> {
    let db = tenants::db(env)?;
    let lines = check_lines(&db, done.check_id, None).await?;
    let (counts, health_pct) = summarise(&lines);
    let now = worker::js_sys::Date::now() as u64;
    let tracked = remember_states(&db, &lines, now).await;
    let alerts = alerts::run(&db, &alerts::Settings::from_env(env), &tracked, now).await;
    let pruned = retention::prune(&db, retention::retention_days(env), now).await;
    let snapshot = Snapshot {
        taken_at: now,
        cron: done.cron.clone(),
        health_pct,
        counts,
        // The lines stay in `health_lines`: one row holding 10,000 of them would pass D1's
        // 2 MB row limit.
        tenants: Vec::new(),
        platform_seq: done.platform_seq,
        alerts,
        pruned,
    };
    db.prepare("INSERT INTO health_snapshots (taken_at, cron, health_pct, snapshot, check_id) VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(&[
            JsValue::from_f64(snapshot.taken_at as f64),
            JsValue::from_str(&done.cron),
            JsValue::from_f64(health_pct),
            JsValue::from_str(&serde_json::to_string(&snapshot)?),
            JsValue::from_f64(done.check_id as f64),
        ])?
        .run()
        .await?;
    if let Err(e) = prune_lines(&db).await {
        worker::console_error!("pruning old health lines failed: {}", e.to_problem().detail);
    }
    Ok(platform_status(&snapshot, &tracked))
}

#[derive(Deserialize)]
struct LineRow {
    line: String,
}

/// The lines of check `check_id` in tenant order (only `tenant`'s when given).
async fn check_lines(
    db: &worker::D1Database,
    check_id: u64,
    tenant: Option<&str>,
) -> Result<Vec<TenantHealth>, ApiError> {
    let id = JsValue::from_f64(check_id as f64);
    let statement = match tenant {
        None => db
            .prepare("SELECT line FROM health_lines WHERE check_id = ?1 ORDER BY tenant")
            .bind(&[id])?,
        Some(t) => db
            .prepare("SELECT line FROM health_lines WHERE check_id = ?1 AND tenant = ?2")
            .bind(&[id, JsValue::from_str(t)])?,
    };
    let rows: Vec<LineRow> = statement.all().await?.results()?;
    rows.iter()
        .map(|r| Ok(serde_json::from_str(&r.line)?))
        .collect()
}

#[derive(Deserialize)]
struct CheckIdRow {
    check_id: f64,
}

/// Deletes the lines of checks older than the latest [`CHECKS_WITH_LINES`] snapshots (and of
/// abandoned checks before them), in bounded batches; what is left goes in later runs.
async fn prune_lines(db: &worker::D1Database) -> Result<(), ApiError> {
    let oldest_kept: Option<CheckIdRow> = db
        .prepare(format!(
            "SELECT check_id FROM health_snapshots WHERE check_id IS NOT NULL \
             ORDER BY id DESC LIMIT 1 OFFSET {}",
            CHECKS_WITH_LINES - 1
        ))
        .first(None)
        .await?;
    let Some(oldest_kept) = oldest_kept else {
        return Ok(());
    };
    let sql = format!(
        "DELETE FROM health_lines WHERE rowid IN \
         (SELECT rowid FROM health_lines WHERE check_id < ?1 LIMIT {LINES_PRUNE_BATCH})"
    );
    for _ in 0..LINES_PRUNE_STATEMENTS {
        let result = db
            .prepare(&sql)
            .bind(&[JsValue::from_f64(oldest_kept.check_id)])?
            .run()
            .await?;
        let changes = result.meta()?.and_then(|m| m.changes).unwrap_or(0);
        if changes < LINES_PRUNE_BATCH as usize {
            break;
        }
    }
    Ok(())
}

/// Compares this run's states with the previous run's and stores the changes. When D1 cannot
/// tell, every tenant counts as changed since now (alerting then waits longer, never less).
async fn remember_states(
    db: &worker::D1Database,
    lines: &[TenantHealth],
    now: u64,
) -> Vec<Tracked> {
    let previous = match tenant_states::load(db).await {
        Ok(previous) => previous,
        Err(e) => {
            worker::console_error!("tenant states unreadable: {}", e.to_problem().detail);
            tenant_states::Previous::new()
        }
    };
    let tracked = tenant_states::track(lines, &previous, now);
    if let Err(e) = tenant_states::save(db, &tracked, &previous).await {
        worker::console_error!("tenant states not stored: {}", e.to_problem().detail);
    }
    tracked
}

/// The platform admins' `sync-status`: the snapshot's summary and the tenants whose state
/// changed since the previous check.
pub fn platform_status(snapshot: &Snapshot, tracked: &[Tracked]) -> PlatformSyncStatus {
    let c = &snapshot.counts;
    let tenants_by_status = SyncState::ALL
        .into_iter()
        .map(|s| {
            let n = match s {
                SyncState::Success => c.success,
                SyncState::Partial => c.partial,
                SyncState::Pending => c.pending,
                SyncState::Failed => c.failed,
                SyncState::Drifted => c.drifted,
            };
            (s, u64::from(n))
        })
        .collect();
    PlatformSyncStatus {
        checked_at: snapshot.taken_at,
        platform_seq: snapshot.platform_seq,
        health_percent: snapshot.health_pct,
        tenants_by_status,
        changed: tracked
            .iter()
            .filter(|t| t.changed)
            .map(|t| (t.tenant.clone(), t.state))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[derive(Deserialize)]
struct SnapshotRow {
    snapshot: String,
    check_id: Option<f64>,
}

/// The latest snapshot with its lines: every tenant's, or only `tenant`'s when given.
/// Snapshots stored before lines had a table of their own carry them inline.
async fn latest_snapshot(env: &Env, tenant: Option<&str>) -> Result<Snapshot, ApiError> {
    let db = tenants::db(env)?;
    let row: Option<SnapshotRow> = db
        .prepare("SELECT snapshot, check_id FROM health_snapshots ORDER BY id DESC LIMIT 1")
        .first(None)
        .await?;
    let row = row.ok_or(ApiError::NoSnapshot)?;
    let mut snapshot: Snapshot = serde_json::from_str(&row.snapshot)?;
    match row.check_id {
        Some(id) => snapshot.tenants = check_lines(&db, id as u64, tenant).await?,
        None => {
            if let Some(t) = tenant {
                snapshot.tenants.retain(|l| l.tenant == t);
            }
        }
    }
    Ok(snapshot)
}

/// `GET /v1/status`: the latest snapshot (404 before the first check ran).
pub async fn latest(env: &Env) -> Result<Response, ApiError> {
    Ok(Response::from_json(&latest_snapshot(env, None).await?)?)
}

/// One tenant's view from the latest snapshot: its line and the check's time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "takenAt": 1767225600000_u64, "platformSeq": 7, "tenant": "acme", "state": "success",
    "hub": null, "error": null
})))]
pub struct TenantStatusView {
    /// Unix milliseconds of the check.
    pub taken_at: u64,
    /// The platform's sequence number at the check.
    pub platform_seq: u64,
    /// The tenant's line.
    #[serde(flatten)]
    pub line: TenantHealth,
}

/// `GET /v1/tenants/{tenant}/status`: the tenant's line in the latest snapshot (404 when the
/// tenant is unknown, or no check has seen it yet).
pub async fn tenant_latest(env: &Env, tenant: &str) -> Result<Response, ApiError> {
    tenants::require(env, tenant).await?;
    let snapshot = latest_snapshot(env, Some(tenant)).await?;
    let line = snapshot
        .tenants
        .into_iter()
        .find(|l| l.tenant == tenant)
        .ok_or_else(|| ApiError::NotChecked(tenant.to_owned()))?;
    Ok(Response::from_json(&TenantStatusView {
        taken_at: snapshot.taken_at,
        platform_seq: snapshot.platform_seq,
        line,
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_percentage_counts_only_success() {
        let line = |state| TenantHealth {
            tenant: "t".into(),
            state,
            hub: None,
            error: None,
            resynced: None,
            resync_error: None,
            drift: Vec::new(),
            converged: Vec::new(),
            converge_error: None,
        };
        let (counts, pct) = summarise(&[
            line(SyncState::Success),
            line(SyncState::Failed),
            line(SyncState::Pending),
            line(SyncState::Success),
            line(SyncState::Drifted),
        ]);
        assert_eq!(
            (
                counts.success,
                counts.failed,
                counts.pending,
                counts.drifted
            ),
            (2, 1, 1, 1)
        );
        assert!(
            (pct - 40.0).abs() < f64::EPSILON,
            "drift counts against health"
        );
        assert!((summarise(&[]).1 - 100.0).abs() < f64::EPSILON);
    }

    #[test]
    fn platform_status_lists_every_state_and_only_changed_tenants() {
        let tracked = |tenant: &str, state, changed| Tracked {
            tenant: tenant.into(),
            state,
            since: 0,
            changed,
            detail: None,
        };
        let snapshot = Snapshot {
            taken_at: 42,
            cron: "*/5 * * * *".into(),
            health_pct: 50.0,
            counts: Counts {
                success: 1,
                failed: 1,
                ..Counts::default()
            },
            tenants: Vec::new(),
            platform_seq: 7,
            alerts: AlertReport::default(),
            pruned: Pruned::default(),
        };
        let status = platform_status(
            &snapshot,
            &[
                tracked("a", SyncState::Success, false),
                tracked("b", SyncState::Failed, true),
            ],
        );
        assert_eq!((status.checked_at, status.platform_seq), (42, 7));
        assert_eq!(status.tenants_by_status.len(), 5);
        assert_eq!(status.tenants_by_status[&SyncState::Failed], 1);
        assert_eq!(status.tenants_by_status[&SyncState::Pending], 0);
        assert_eq!(
            status.changed,
            BTreeMap::from([("b".to_owned(), SyncState::Failed)])
        );
    }
}
