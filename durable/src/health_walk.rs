//! The health check's walk over every tenant, run by the platform hub's alarm in pages.
//!
//! A check over 10,000 tenants cannot run in the cron invocation: every hub's status is a
//! Durable Object call, and an invocation may make at most 1,000 subrequests. So the cron
//! handler only asks the platform hub to start a check ([`start`]); the hub's alarm then
//! walks the D1 registry a page at a time after a stored cursor ([`step`]): it asks each
//! tenant hub of the page for its status ([`crate::walk::BATCH`] at once), classifies it,
//! heals (syncs) the ones that lag the platform, writes the page's lines to D1
//! (`health_lines`, keyed by the check's id), and stores the cursor. A crash repeats at most
//! one page, which only reads statuses and re-syncs tenants that still lag (idempotent).
//!
//! When the walk has seen every tenant, the same alarm hands the check to the finishing step
//! the Worker registered with [`set_finisher`] (it compares states with the previous check,
//! alerts, prunes and stores the snapshot, in `cascade_worker::health`), and broadcasts the
//! `sync-status` it returns to the platform admins. A snapshot is complete only then.
//!
//! The Worker registers the finisher at module start because the finishing step needs the
//! Worker's alerting and retention code, which this crate cannot depend on; the platform
//! hub runs in the same module, so it sees the registration.

use std::sync::OnceLock;
use std::time::Duration;

use cascade_engine::rule::SyncRule;
use cascade_engine::scope::TenantContext;
use cascade_protocol::{PlatformSyncStatus, Problem, SyncFacts, SyncState};
use futures::future::{join_all, LocalBoxFuture};
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env, Method, Result, State};

use cascade_engine::converge::DriftReason;

use crate::digest::layer_digest;
use crate::internal::{
    ConvergeRequest, DeliveryAck, HealthProbe, HealthReport, HubContext, HubStatus, NamespaceDrift,
    PlatformLayer,
};
use crate::message::{error_message, short_message};
use crate::store::{as_u64, sql_int, Meta, Store};
use crate::{converge_walk, engine_store, platform_room, registry, walk};

/// The platform hub's table for the check in progress (at most one row); idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS health_walk (
  id INTEGER PRIMARY KEY,          -- the check's id: its start time (Unix ms), always growing
  cron TEXT NOT NULL,
  platform_seq INTEGER NOT NULL,   -- the platform seq tenants are classified against
  rules TEXT,                      -- enabled rules as JSON (for healing), read on the first page
  after TEXT NOT NULL DEFAULT '',  -- cursor: id of the last tenant checked
  checked INTEGER NOT NULL DEFAULT 0,
  walked INTEGER NOT NULL DEFAULT 0,          -- 1 once every tenant is checked
  finish_attempts INTEGER NOT NULL DEFAULT 0
);
";

/// Tenants one alarm run checks by default (`HEALTH_TENANTS_PER_RUN` overrides it, up to
/// [`MAX_PER_RUN`]).
pub const DEFAULT_PER_RUN: usize = 200;
/// Upper bound of tenants per run: each costs a status call and, when it lags, a sync call,
/// and a run must stay below the runtime's 1,000 subrequests.
pub const MAX_PER_RUN: usize = 400;
/// Lines per D1 statement (one JSON parameter each, far below D1's 100 KB statement and
/// 2 MB value limits).
pub const LINES_PER_STATEMENT: usize = 100;
/// Finishing attempts before a check is abandoned (the next cron starts a fresh one).
pub const FINISH_ATTEMPTS: u64 = 3;
/// A check still walking after this long is abandoned when the next one is asked for.
pub const STALE_AFTER_MS: u64 = 30 * 60 * 1000;

/// One tenant's line in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "tenant": "acme", "state": "drifted", "error": null,
    "hub": {"hub": "acme", "seq": 12, "platformSeq": 7, "connections": 3,
            "connectionsByRole": {"admins": 1, "users": 2}, "outboxPending": 0,
            "pendingChanges": 0, "openConflicts": 0, "wakes": 4},
    "drift": [{"namespace": "auth", "reason": "rolledBack", "mustConverge": false}]
})))]
pub struct TenantHealth {
    /// Tenant id.
    pub tenant: String,
    /// Its state. failed: the hub failed or was unreachable; pending: platform updates or
    /// history not applied yet; partial: open conflicts or pending changes; drifted: a copy of
    /// a platform layer differs from the platform's where the rules deliver it (a rollback the
    /// rules let stand, or a convergence that failed); success: none of these.
    pub state: SyncState,
    /// The hub's report, when it answered.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub hub: Option<HubStatus>,
    /// Why it failed, when it did.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub error: Option<String>,
    /// When it lagged the platform: how many platform updates the check's resync applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resynced: Option<u64>,
    /// When the resync failed: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_error: Option<String>,
    /// Namespaces whose copy of the platform layer differs from the platform's after the
    /// check's convergence, with why (absent when none). optedOut and noRule do not count
    /// against health; rolledBack and behind make the tenant drifted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<NamespaceDrift>,
    /// Namespaces the check converged (their copy had drifted where the rules deliver; absent
    /// when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub converged: Vec<String>,
    /// When the convergence failed: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converge_error: Option<String>,
}

/// Whether a drift counts against the tenant's health: a copy kept on purpose (opted out,
/// no rule delivers it) does not; pending changes count as `partial` already.
fn counts_as_drift(d: &NamespaceDrift) -> bool {
    matches!(d.reason, DriftReason::RolledBack | DriftReason::Behind)
}

/// Classifies a hub's report against the platform's latest sequence: an error makes it
/// `failed`; platform updates not applied yet or history not yet in D1 make it `pending`;
/// open conflicts or pending changes make it `partial`; otherwise `success`.
/// (The rule is [`SyncState::classify`], the one the hubs' `sync-status` frames use too;
/// this reads its facts from the report.)
pub fn classify(status: &HubStatus, platform_seq: u64) -> SyncState {
    SyncState::classify(&SyncFacts {
        failed: status.last_error.is_some(),
        platform_behind: platform_seq.saturating_sub(status.platform_seq),
        unrecorded: status.outbox_pending,
        pending_changes: status.pending_changes,
        open_conflicts: status.open_conflicts,
    })
}

/// Body of the platform hub's `POST /health-check`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartCheck {
    /// The cron expression that triggered the check.
    pub cron: String,
}

/// The platform hub's answer to `POST /health-check`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckStarted {
    /// The check's id (its start time, Unix ms).
    pub check_id: u64,
    /// False when a check was already under way: that one goes on, no second one starts.
    pub started: bool,
}

/// A check whose walk has seen every tenant, handed to the finisher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckDone {
    /// The check's id: its lines are the `health_lines` rows with this `check_id`.
    pub check_id: u64,
    /// The cron expression that triggered it.
    pub cron: String,
    /// The platform seq tenants were classified against.
    pub platform_seq: u64,
    /// Tenants the walk checked.
    pub checked: u64,
}

/// The Worker's finishing step: stores the snapshot of a walked check and returns the
/// platform admins' `sync-status`.
pub type Finisher = fn(Env, CheckDone) -> LocalBoxFuture<'static, Result<PlatformSyncStatus>>;

static FINISHER: OnceLock<Finisher> = OnceLock::new();

/// Registers the finishing step (once, at module start; later calls are ignored).
pub fn set_finisher(finisher: Finisher) {
    let _ = FINISHER.set(finisher);
}

#[derive(Deserialize)]
struct WalkRow {
    id: f64,
    cron: String,
    platform_seq: f64,
    rules: Option<String>,
    after: String,
    checked: f64,
    walked: f64,
    finish_attempts: f64,
}

fn current(store: &Store) -> Result<Option<WalkRow>> {
    let rows: Vec<WalkRow> = store
        .sql()
        .exec(
            "SELECT id, cron, platform_seq, rules, after, checked, walked, finish_attempts FROM health_walk ORDER BY id LIMIT 1",
            None,
        )?
        .to_array()?;
    Ok(rows.into_iter().next())
}

/// Starts a check at `now` against `platform_seq`, unless one is under way (a check still
/// walking after [`STALE_AFTER_MS`] is abandoned and replaced). Synchronous; the caller arms
/// the alarm.
pub fn start(store: &Store, cron: &str, platform_seq: u64, now: u64) -> Result<CheckStarted> {
    if let Some(walk) = current(store)? {
        let id = as_u64(walk.id);
        if now.saturating_sub(id) < STALE_AFTER_MS {
            return Ok(CheckStarted {
                check_id: id,
                started: false,
            });
        }
        worker::console_error!("health check {id} abandoned after {STALE_AFTER_MS} ms");
        store.sql().exec("DELETE FROM health_walk", None)?;
    }
    let id = now.max(store.counter(Meta::HealthLastCheck)? + 1);
    store.set_meta(Meta::HealthLastCheck, &id.to_string())?;
    store.sql().exec(
        "INSERT INTO health_walk (id, cron, platform_seq) VALUES (?, ?, ?)",
        vec![sql_int(id)?, cron.into(), sql_int(platform_seq)?],
    )?;
    Ok(CheckStarted {
        check_id: id,
        started: true,
    })
}

/// Whether a check is under way.
pub fn running(store: &Store) -> Result<bool> {
    Ok(current(store)?.is_some())
}

/// One alarm run's share of the check in progress: a page of tenants, or the finishing step
/// once all are checked. Returns when the alarm should run again (`None`: nothing left).
pub async fn step(state: &State, store: &Store, env: &Env) -> Result<Option<Duration>> {
    let Some(walk) = current(store)? else {
        return Ok(None);
    };
    if walk.walked > 0.0 {
        return finish(state, store, env, &walk).await;
    }
    let id = as_u64(walk.id);
    let db = env.d1(crate::core::D1_BINDING)?;
    let rules = walk::rules_once(store, &db, "health_walk", id, walk.rules.as_deref()).await?;
    let per_run = walk::page_size(env, "HEALTH_TENANTS_PER_RUN", DEFAULT_PER_RUN, MAX_PER_RUN);
    let page = registry::tenants_page(&db, &walk.after, u32::try_from(per_run).unwrap_or(u32::MAX))
        .await?;
    let platform_seq = as_u64(walk.platform_seq);
    let platform = Platform::read(store)?;
    let mut lines = Vec::with_capacity(page.len());
    for batch in page.chunks(walk::BATCH) {
        lines.extend(check_batch(env, batch, &rules, platform_seq, &platform).await);
    }
    write_lines(&db, id, &lines).await?;
    let after = page.last().map_or(walk.after.as_str(), |t| t.id.as_str());
    let walked = page.len() < per_run;
    store.sql().exec(
        "UPDATE health_walk SET after = ?, checked = checked + ?, walked = ? WHERE id = ?",
        vec![
            after.into(),
            sql_int(page.len() as u64)?,
            sql_int(u64::from(walked))?,
            sql_int(id)?,
        ],
    )?;
    Ok(Some(Duration::ZERO))
}

/// Hands a walked check to the finisher and broadcasts its `sync-status`; a failed finish is
/// retried a few times, a few seconds apart, then abandoned.
async fn finish(
    state: &State,
    store: &Store,
    env: &Env,
    walk: &WalkRow,
) -> Result<Option<Duration>> {
    let id = as_u64(walk.id);
    let done = CheckDone {
        check_id: id,
        cron: walk.cron.clone(),
        platform_seq: as_u64(walk.platform_seq),
        checked: as_u64(walk.checked),
    };
    let outcome = match FINISHER.get() {
        Some(finisher) => finisher(env.clone(), done).await,
        None => Err(worker::Error::RustError(
            "CASCADE:Health:NoFinisher: no health-check finisher registered".into(),
        )),
    };
    match outcome {
        Ok(status) => {
            store
                .sql()
                .exec("DELETE FROM health_walk WHERE id = ?", vec![sql_int(id)?])?;
            platform_room::broadcast(state, store, status)?;
            Ok(None)
        }
        Err(e) => {
            let attempts = as_u64(walk.finish_attempts) + 1;
            worker::console_error!("health check {id}: finishing failed ({attempts}): {e}");
            if attempts >= FINISH_ATTEMPTS {
                store
                    .sql()
                    .exec("DELETE FROM health_walk WHERE id = ?", vec![sql_int(id)?])?;
                store.set_meta(
                    Meta::LastError,
                    &format!("health check {id} abandoned: its snapshot could not be stored: {e}"),
                )?;
                return Ok(None);
            }
            store.sql().exec(
                "UPDATE health_walk SET finish_attempts = ? WHERE id = ?",
                vec![sql_int(attempts)?, sql_int(id)?],
            )?;
            Ok(Some(Duration::from_secs(5)))
        }
    }
}

/// The platform layers as the check compares and converges tenants against them.
struct Platform {
    /// Platform seq the layers are at.
    seq: u64,
    layers: Vec<PlatformLayer>,
    digests: std::collections::BTreeMap<String, String>,
}

impl Platform {
    fn read(store: &Store) -> Result<Self> {
        let layers: Vec<PlatformLayer> = engine_store::platform_layers(store)?
            .into_iter()
            .map(|(namespace, config)| PlatformLayer {
                namespace: namespace.as_str().to_owned(),
                config,
            })
            .collect();
        let digests = layers
            .iter()
            .map(|l| (l.namespace.clone(), layer_digest(&l.config)))
            .collect();
        Ok(Self {
            seq: engine_store::last_platform_update(store)?,
            layers,
            digests,
        })
    }
}

/// Checks one batch of tenants at once, then heals those that lag or drifted, at once.
async fn check_batch(
    env: &Env,
    batch: &[TenantContext],
    rules: &[SyncRule],
    platform_seq: u64,
    platform: &Platform,
) -> Vec<TenantHealth> {
    let contexts: Vec<HubContext> = batch
        .iter()
        .map(|t| HubContext {
            tenant: t.clone(),
            rules: rules.to_vec(),
            incarnation: None,
            platform_seq: None,
        })
        .collect();
    let reports = join_all(contexts.iter().map(|c| health(env, c, platform))).await;
    let mut lines: Vec<TenantHealth> = batch
        .iter()
        .zip(reports)
        .map(|(t, report)| match report {
            Ok(report) => TenantHealth {
                tenant: t.id.clone(),
                state: classify(&report.status, platform_seq),
                error: report.status.last_error.as_deref().map(short_message),
                hub: Some(report.status),
                resynced: None,
                resync_error: None,
                drift: report.drift,
                converged: Vec::new(),
                converge_error: None,
            },
            Err(e) => TenantHealth {
                tenant: t.id.clone(),
                state: SyncState::Failed,
                hub: None,
                error: Some(short_message(&e)),
                resynced: None,
                resync_error: None,
                drift: Vec::new(),
                converged: Vec::new(),
                converge_error: None,
            },
        })
        .collect();
    // Self-healing: every reachable tenant that lags the platform is synced now (it applies
    // the updates it missed, each recorded in its history). The line keeps the state the
    // check found and says what healing did.
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
    let syncs = join_all(lagging.iter().map(|&i| sync(env, &batch[i], rules))).await;
    for (&i, result) in lagging.iter().zip(syncs) {
        match result {
            Ok(ack) => lines[i].resynced = Some(ack.applied),
            Err(e) => lines[i].resync_error = Some(short_message(&e)),
        }
    }
    // Then every tenant with a copy that must converge converges it; what is left of its
    // drift decides whether it counts as `drifted`.
    let drifted: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.drift.iter().any(|d| d.must_converge))
        .map(|(i, _)| i)
        .collect();
    let requests: Vec<ConvergeRequest> = drifted
        .iter()
        .map(|&i| {
            let wanted: Vec<&str> = lines[i]
                .drift
                .iter()
                .filter(|d| d.must_converge)
                .map(|d| d.namespace.as_str())
                .collect();
            ConvergeRequest {
                context: contexts[i].clone(),
                platform_seq: platform.seq,
                layers: platform
                    .layers
                    .iter()
                    .filter(|l| wanted.contains(&l.namespace.as_str()))
                    .cloned()
                    .collect(),
                cause: "health-check".into(),
            }
        })
        .collect();
    let converges = join_all(
        requests
            .iter()
            .map(|r| converge_walk::converge_tenant(env, r)),
    )
    .await;
    for (&i, result) in drifted.iter().zip(converges) {
        let line = &mut lines[i];
        match result {
            Ok(ack) if !ack.stale => {
                line.drift.retain(|d| !ack.converged.contains(&d.namespace));
                line.converged = ack.converged;
            }
            Ok(_) => {
                line.converge_error =
                    Some("the platform moved on during the check; the next check converges".into());
            }
            Err(e) => line.converge_error = Some(error_message(&e)),
        }
    }
    for line in &mut lines {
        if line.state == SyncState::Success && line.drift.iter().any(counts_as_drift) {
            line.state = SyncState::Drifted;
        }
    }
    lines
}

/// A tenant hub's status and drift, or why they could not be had.
async fn health(
    env: &Env,
    context: &HubContext,
    platform: &Platform,
) -> std::result::Result<HealthReport, String> {
    let probe = HealthProbe {
        context: context.clone(),
        digests: platform.digests.clone(),
    };
    let body = serde_json::to_string(&probe).map_err(|e| e.to_string())?;
    let tenant = &context.tenant.id;
    let mut resp = walk::call_tenant(env, tenant, Method::Post, "/health", Some(body))
        .await
        .map_err(|e| format!("tenant hub unreachable: {}", error_message(&e)))?;
    if resp.status_code() >= 400 {
        return Err(problem_detail(&mut resp).await);
    }
    resp.json()
        .await
        .map_err(|e| format!("unreadable hub health: {e}"))
}

/// Asks a tenant hub to catch up with the platform.
async fn sync(
    env: &Env,
    tenant: &TenantContext,
    rules: &[SyncRule],
) -> std::result::Result<DeliveryAck, String> {
    let body = serde_json::to_string(&HubContext {
        tenant: tenant.clone(),
        rules: rules.to_vec(),
        incarnation: None,
        platform_seq: None,
    })
    .map_err(|e| e.to_string())?;
    let mut resp = walk::call_tenant(env, &tenant.id, Method::Post, "/sync", Some(body))
        .await
        .map_err(|e| format!("tenant hub unreachable: {}", error_message(&e)))?;
    if resp.status_code() >= 400 {
        return Err(problem_detail(&mut resp).await);
    }
    resp.json()
        .await
        .map_err(|e| format!("unreadable sync answer: {e}"))
}

async fn problem_detail(resp: &mut worker::Response) -> String {
    let status = resp.status_code();
    match resp.json::<Problem>().await {
        Ok(problem) => problem.detail,
        Err(_) => format!("tenant hub answered {status}"),
    }
}

/// Writes a page's lines to D1, [`LINES_PER_STATEMENT`] per statement, in one batch.
/// `INSERT OR REPLACE`: a page repeated after a crash overwrites its own lines.
async fn write_lines(db: &D1Database, check_id: u64, lines: &[TenantHealth]) -> Result<()> {
    let mut statements = Vec::new();
    for chunk in lines.chunks(LINES_PER_STATEMENT) {
        let rows = chunk
            .iter()
            .map(|l| {
                Ok(serde_json::json!([
                    l.tenant,
                    l.state.as_str(),
                    serde_json::to_string(l)?
                ]))
            })
            .collect::<serde_json::Result<Vec<_>>>()?;
        statements.push(
            db.prepare(
                "INSERT OR REPLACE INTO health_lines (check_id, tenant, state, line) \
                 SELECT ?1, value ->> 0, value ->> 1, value ->> 2 FROM json_each(?2)",
            )
            .bind(&[
                JsValue::from_f64(check_id as f64),
                JsValue::from_str(&serde_json::to_string(&rows)?),
            ])?,
        );
    }
    if !statements.is_empty() {
        db.batch(statements).await?;
    }
    Ok(())
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
        assert_eq!(classify(&status(0, None), 3), SyncState::Success);
        assert_eq!(
            classify(&status(0, None), 4),
            SyncState::Pending,
            "lags the platform"
        );
        assert_eq!(
            classify(&status(3, None), 3),
            SyncState::Pending,
            "history not in D1 yet"
        );
        assert_eq!(classify(&status(3, Some("d1 down")), 3), SyncState::Failed);
        let conflicted = HubStatus {
            open_conflicts: 1,
            ..status(0, None)
        };
        assert_eq!(classify(&conflicted, 3), SyncState::Partial);
        let pending = HubStatus {
            pending_changes: 2,
            ..status(0, None)
        };
        assert_eq!(classify(&pending, 3), SyncState::Partial);
    }

    #[test]
    fn states_have_stable_names() {
        for state in SyncState::ALL {
            assert_eq!(SyncState::parse(state.as_str()), Some(state));
            let wire = serde_json::to_value(state).expect("serializes");
            assert_eq!(wire, state.as_str());
        }
        assert_eq!(SyncState::parse("unknown"), None);
    }
}
