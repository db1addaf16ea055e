//! Health checks: the cron handler asks every tenant's hub for its status, classifies each
//! tenant, heals the ones that lag, alerts on incidents ([`crate::alerts`]), prunes old
//! history ([`crate::retention`]), stores a snapshot in D1, and sends the platform summary to
//! the platform admins' sockets. `GET /v1/status` serves the latest snapshot and
//! `GET /v1/tenants/{tenant}/status` one tenant's line of it.
//!
//! A tenant whose hub cannot be reached, or that reports an error, is `failed`; one whose
//! history is still waiting to reach D1 is `pending`; otherwise `success`. A failure in one
//! tenant never stops the check for the others, and neither does a failure of alerting,
//! pruning or the broadcast: each is reported in the snapshot or the log.

use std::collections::BTreeMap;

use cascade_durable::internal::HubStatus;
use cascade_protocol::PlatformSyncStatus;
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{Env, Method, Response};

use crate::alerts::{self, AlertReport};
use crate::hubs::Hub;
use crate::problem::ApiError;
use crate::retention::{self, Pruned};
use crate::tenant_states::{self, Tracked};
use crate::tenants;

/// How many hubs are asked at once (well below the runtime's subrequest limits).
pub const STATUS_BATCH: usize = 50;

/// A tenant's sync state in a health snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantState {
    /// Everything applied and recorded.
    Success,
    /// Some configurations have conflicts or pending changes.
    Partial,
    /// The hub failed or could not be reached.
    Failed,
    /// Changes are waiting to be applied or recorded.
    Pending,
}

impl TenantState {
    /// Every state, in the order the dashboard lists them.
    pub const ALL: [Self; 4] = [Self::Success, Self::Partial, Self::Pending, Self::Failed];

    /// The state's name on the wire and in D1.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Pending => "pending",
        }
    }

    /// The state named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// One tenant's line in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantHealth {
    /// Tenant id.
    pub tenant: String,
    /// Its state.
    pub state: TenantState,
    /// The hub's report, when it answered.
    pub hub: Option<HubStatus>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// When it lagged the platform: how many platform updates the check's resync applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resynced: Option<u64>,
    /// When the resync failed: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_error: Option<String>,
}

/// A stored health snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// What alerting did.
    #[serde(default)]
    pub alerts: AlertReport,
    /// What retention pruned.
    #[serde(default)]
    pub pruned: Pruned,
}

/// Tenants per state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Tenants in `success`.
    pub success: u32,
    /// Tenants in `partial`.
    pub partial: u32,
    /// Tenants in `failed`.
    pub failed: u32,
    /// Tenants in `pending`.
    pub pending: u32,
}

/// Classifies a hub's report against the platform's latest sequence: an error makes it
/// `failed`; platform updates not applied yet or history not yet in D1 make it `pending`;
/// open conflicts or pending changes make it `partial`; otherwise `success`.
pub fn classify(status: &HubStatus, platform_seq: u64) -> TenantState {
    if status.last_error.is_some() {
        TenantState::Failed
    } else if status.platform_seq < platform_seq || status.outbox_pending > 0 {
        TenantState::Pending
    } else if status.open_conflicts > 0 || status.pending_changes > 0 {
        TenantState::Partial
    } else {
        TenantState::Success
    }
}

/// Summarises tenant lines into counts and the health percentage.
pub fn summarise(lines: &[TenantHealth]) -> (Counts, f64) {
    let mut counts = Counts::default();
    for line in lines {
        match line.state {
            TenantState::Success => counts.success += 1,
            TenantState::Partial => counts.partial += 1,
            TenantState::Failed => counts.failed += 1,
            TenantState::Pending => counts.pending += 1,
        }
    }
    let pct = if lines.is_empty() {
        100.0
    } else {
        f64::from(counts.success) * 100.0 / lines.len() as f64
    };
    (counts, pct)
}

/// Runs one health check and stores its snapshot.
pub async fn run_check(env: &Env, cron: &str) -> Result<Snapshot, ApiError> {
    let tenants = tenants::list(env).await?;
    let platform: HubStatus = Hub::platform(env)?
        .call::<(), _>(Method::Get, "/status", None)
        .await?;
    let mut lines = Vec::with_capacity(tenants.len());
    for batch in tenants.chunks(STATUS_BATCH) {
        let checks = batch
            .iter()
            .map(|t| tenant_health(env, t.id.clone(), platform.platform_seq));
        lines.extend(join_all(checks).await);
    }
    heal(env, &mut lines, platform.platform_seq).await;
    let (counts, health_pct) = summarise(&lines);
    let now = worker::js_sys::Date::now() as u64;
    let db = tenants::db(env)?;
    let tracked = remember_states(&db, &lines, now).await;
    let alerts = alerts::run(&db, &alerts::Settings::from_env(env), &tracked, now).await;
    let pruned = retention::prune(&db, retention::retention_days(env), now).await;
    let snapshot = Snapshot {
        taken_at: now,
        cron: cron.to_owned(),
        health_pct,
        counts,
        tenants: lines,
        platform_seq: platform.platform_seq,
        alerts,
        pruned,
    };
    db.prepare("INSERT INTO health_snapshots (taken_at, cron, health_pct, snapshot) VALUES (?1, ?2, ?3, ?4)")
        .bind(&[
            JsValue::from_f64(snapshot.taken_at as f64),
            JsValue::from_str(cron),
            JsValue::from_f64(health_pct),
            JsValue::from_str(&serde_json::to_string(&snapshot)?),
        ])?
        .run()
        .await?;
    let status = platform_status(&snapshot, &tracked);
    if let Err(e) = Hub::platform(env)?
        .call::<_, serde_json::Value>(Method::Post, "/sync-status", Some(&status))
        .await
    {
        worker::console_error!("sync-status broadcast failed: {}", e.to_problem().detail);
    }
    Ok(snapshot)
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
    let tenants_by_status = TenantState::ALL
        .into_iter()
        .map(|s| {
            let n = match s {
                TenantState::Success => c.success,
                TenantState::Partial => c.partial,
                TenantState::Pending => c.pending,
                TenantState::Failed => c.failed,
            };
            (s.as_str().to_owned(), u64::from(n))
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
            .map(|t| (t.tenant.clone(), t.state.as_str().to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Self-healing: every reachable tenant that lags the platform is synced now (it applies the
/// platform updates it missed, each recorded in its history). The line keeps the state the
/// check found, and says what healing did.
async fn heal(env: &Env, lines: &mut [TenantHealth], platform_seq: u64) {
    let lagging: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.hub
                .as_ref()
                .is_some_and(|h| h.platform_seq < platform_seq)
        })
        .map(|(i, _)| i)
        .collect();
    let ids: Vec<String> = lagging.iter().map(|&i| lines[i].tenant.clone()).collect();
    let results = crate::sync_all::sync_each(env, &ids).await;
    for (&i, result) in lagging.iter().zip(results) {
        match result {
            Ok(ack) => lines[i].resynced = Some(ack.applied),
            Err(e) => lines[i].resync_error = Some(e.to_problem().detail),
        }
    }
}

async fn tenant_health(env: &Env, tenant: String, platform_seq: u64) -> TenantHealth {
    let status = match Hub::tenant(env, &tenant) {
        Ok(hub) => {
            hub.call::<(), HubStatus>(Method::Get, "/status", None)
                .await
        }
        Err(e) => Err(e),
    };
    match status {
        Ok(hub) => TenantHealth {
            tenant,
            state: classify(&hub, platform_seq),
            error: hub.last_error.clone(),
            hub: Some(hub),
            resynced: None,
            resync_error: None,
        },
        Err(e) => TenantHealth {
            tenant,
            state: TenantState::Failed,
            hub: None,
            error: Some(e.to_problem().detail),
            resynced: None,
            resync_error: None,
        },
    }
}

#[derive(Deserialize)]
struct SnapshotRow {
    snapshot: String,
}

async fn latest_snapshot(env: &Env) -> Result<Snapshot, ApiError> {
    let row: Option<SnapshotRow> = tenants::db(env)?
        .prepare("SELECT snapshot FROM health_snapshots ORDER BY id DESC LIMIT 1")
        .first(None)
        .await?;
    match row {
        Some(row) => Ok(serde_json::from_str(&row.snapshot)?),
        None => Err(ApiError::NoSnapshot),
    }
}

/// `GET /v1/status`: the latest snapshot (404 before the first check ran).
pub async fn latest(env: &Env) -> Result<Response, ApiError> {
    Ok(Response::from_json(&latest_snapshot(env).await?)?)
}

/// One tenant's view from the latest snapshot: its line and the check's time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    let snapshot = latest_snapshot(env).await?;
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

    fn status(outbox_pending: u64, last_error: Option<&str>) -> HubStatus {
        HubStatus {
            hub: "t".into(),
            seq: 1,
            platform_seq: 3,
            connections: 0,
            connections_by_role: Default::default(),
            outbox_pending,
            pending_changes: 0,
            open_conflicts: 0,
            wakes: 1,
            last_error: last_error.map(str::to_owned),
        }
    }

    #[test]
    fn classification() {
        assert_eq!(classify(&status(0, None), 3), TenantState::Success);
        assert_eq!(
            classify(&status(0, None), 4),
            TenantState::Pending,
            "lags the platform"
        );
        assert_eq!(
            classify(&status(3, None), 3),
            TenantState::Pending,
            "history not in D1 yet"
        );
        assert_eq!(
            classify(&status(3, Some("d1 down")), 3),
            TenantState::Failed
        );
        let conflicted = HubStatus {
            open_conflicts: 1,
            ..status(0, None)
        };
        assert_eq!(classify(&conflicted, 3), TenantState::Partial);
        let pending = HubStatus {
            pending_changes: 2,
            ..status(0, None)
        };
        assert_eq!(classify(&pending, 3), TenantState::Partial);
    }

    #[test]
    fn health_percentage_counts_only_success() {
        let line = |state| TenantHealth {
            tenant: "t".into(),
            state,
            hub: None,
            error: None,
            resynced: None,
            resync_error: None,
        };
        let (counts, pct) = summarise(&[
            line(TenantState::Success),
            line(TenantState::Failed),
            line(TenantState::Pending),
            line(TenantState::Success),
        ]);
        assert_eq!((counts.success, counts.failed, counts.pending), (2, 1, 1));
        assert!((pct - 50.0).abs() < f64::EPSILON);
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
                tracked("a", TenantState::Success, false),
                tracked("b", TenantState::Failed, true),
            ],
        );
        assert_eq!((status.checked_at, status.platform_seq), (42, 7));
        assert_eq!(status.tenants_by_status.len(), 4);
        assert_eq!(status.tenants_by_status["failed"], 1);
        assert_eq!(status.tenants_by_status["pending"], 0);
        assert_eq!(
            status.changed,
            BTreeMap::from([("b".to_owned(), "failed".to_owned())])
        );
    }

    #[test]
    fn states_have_stable_names() {
        for state in TenantState::ALL {
            assert_eq!(TenantState::parse(state.as_str()), Some(state));
            let wire = serde_json::to_value(state).expect("serializes");
            assert_eq!(wire, state.as_str());
        }
        assert_eq!(TenantState::parse("unknown"), None);
    }
}
