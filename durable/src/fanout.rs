//! Durable fan-out of platform updates to tenant hubs.
//!
//! A platform commit stores a job row (its `platform_seq`) in the same atomic write as the
//! commit itself, so a crash cannot lose it. The platform hub's alarm then works jobs oldest
//! first: it snapshots the tenants and rules from D1 into the job, delivers the update to
//! tenant hubs in concurrent batches, and stores its cursor after every batch, so a restart
//! resumes where it stopped. Delivery is idempotent at each tenant (it ignores a platform
//! sequence it already applied, and catches up on any it missed), so redelivering a batch
//! after a crash is harmless.
//!
//! A tenant deleted after the snapshot is skipped, not retried: its hub answers 410 without
//! writing anything (see [`crate::lifecycle`] for why the check lives in the hub and how a
//! delete racing a delivery is kept from leaving a half-created hub).

use cascade_engine::event::PlatformUpdate;
use cascade_engine::rule::SyncRule;
use cascade_engine::scope::TenantContext;
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use worker::{Env, Headers, Method, Request, RequestInit, Result};

use crate::engine_store;
use crate::internal::{Delivery, HubContext, BASE_URL, HUB_NAME_HEADER};
use crate::registry;
use crate::store::{as_u64, sql_int, Store};

/// Tables for fan-out jobs; idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS fanout_jobs (
  platform_seq INTEGER PRIMARY KEY,
  targets TEXT,
  cursor INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL  -- the platform commit's time (Unix ms), sent with each delivery
);
";

/// Tenant hubs called at once.
pub const BATCH: usize = 50;
/// Batches one alarm run delivers before it re-arms the alarm (keeps each run well inside
/// the runtime's subrequest limit).
pub const BATCHES_PER_RUN: usize = 10;
/// Attempts for one tenant within a run before it is left to catch up later.
pub const ATTEMPTS: usize = 3;

/// Who a job delivers to: the tenants and rules as they were when the job started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Targets {
    /// Tenants, in id order.
    pub tenants: Vec<TenantContext>,
    /// Enabled rules.
    pub rules: Vec<SyncRule>,
}

#[derive(Deserialize)]
struct JobRow {
    platform_seq: f64,
    targets: Option<String>,
    cursor: f64,
    created_at: f64,
}

/// Queues the fan-out of `platform_seq`, committed at `committed_at_ms` (Unix ms; every
/// delivery carries it so tenants can record the propagation latency). Synchronous: part of
/// the commit's atomic run.
pub fn enqueue(store: &Store, platform_seq: u64, committed_at_ms: u64) -> Result<()> {
    store.sql().exec(
        "INSERT OR IGNORE INTO fanout_jobs (platform_seq, cursor, created_at) VALUES (?, 0, ?)",
        vec![sql_int(platform_seq)?, sql_int(committed_at_ms)?],
    )?;
    Ok(())
}

/// Jobs not finished yet.
pub fn pending_jobs(store: &Store) -> Result<u64> {
    store.count("fanout_jobs")
}

/// What one alarm run did.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Whether work remains (the alarm should run again).
    pub more: bool,
    /// Tenants that could not be reached in this run (they catch up later).
    pub failures: Vec<String>,
}

/// Works the oldest jobs for one alarm run.
pub async fn run(store: &Store, env: &Env) -> Result<RunReport> {
    let mut report = RunReport::default();
    let mut batches = 0;
    while batches < BATCHES_PER_RUN {
        let jobs: Vec<JobRow> = store
            .sql()
            .exec("SELECT platform_seq, targets, cursor, created_at FROM fanout_jobs ORDER BY platform_seq LIMIT 1", None)?
            .to_array()?;
        let Some(job) = jobs.into_iter().next() else {
            break;
        };
        let platform_seq = as_u64(job.platform_seq);
        let committed_at = as_u64(job.created_at);
        let targets: Targets = match job.targets {
            Some(json) => serde_json::from_str(&json)?,
            None => {
                let db = env.d1(crate::core::D1_BINDING)?;
                let targets = Targets {
                    tenants: registry::tenants(&db).await?,
                    rules: registry::rules(&db).await?,
                };
                store.sql().exec(
                    "UPDATE fanout_jobs SET targets = ? WHERE platform_seq = ?",
                    vec![
                        serde_json::to_string(&targets)?.into(),
                        sql_int(platform_seq)?,
                    ],
                )?;
                targets
            }
        };
        let Some(update) = engine_store::platform_updates_since(store, platform_seq - 1, 1)?
            .into_iter()
            .find(|u| u.platform_seq == platform_seq)
        else {
            // The update is gone (cannot happen: it is stored with the job); drop the job.
            store.sql().exec(
                "DELETE FROM fanout_jobs WHERE platform_seq = ?",
                vec![sql_int(platform_seq)?],
            )?;
            continue;
        };
        let cursor = as_u64(job.cursor) as usize;
        let end = (cursor + BATCH).min(targets.tenants.len());
        let batch = &targets.tenants[cursor..end];
        let results = join_all(
            batch
                .iter()
                .map(|t| deliver_with_retries(env, t, &targets.rules, &update, committed_at)),
        )
        .await;
        for (tenant, result) in batch.iter().zip(results) {
            match result {
                Ok(Delivered::Applied) => {}
                Ok(Delivered::Gone) => worker::console_log!(
                    "fan-out of platform update {platform_seq}: tenant {} is gone, skipped",
                    tenant.id
                ),
                Err(e) => {
                    worker::console_error!(
                        "fan-out of platform update {platform_seq} to {}: {e}",
                        tenant.id
                    );
                    report.failures.push(tenant.id.clone());
                }
            }
        }
        if end >= targets.tenants.len() {
            store.sql().exec(
                "DELETE FROM fanout_jobs WHERE platform_seq = ?",
                vec![sql_int(platform_seq)?],
            )?;
        } else {
            store.sql().exec(
                "UPDATE fanout_jobs SET cursor = ? WHERE platform_seq = ?",
                vec![sql_int(end as u64)?, sql_int(platform_seq)?],
            )?;
        }
        batches += 1;
    }
    report.more = pending_jobs(store)? > 0;
    Ok(report)
}

/// What a delivery to one tenant came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivered {
    /// The tenant has the update (now or already).
    Applied,
    /// The tenant was deleted since the job's snapshot: skipped.
    Gone,
}

async fn deliver_with_retries(
    env: &Env,
    tenant: &TenantContext,
    rules: &[SyncRule],
    update: &PlatformUpdate,
    committed_at: u64,
) -> Result<Delivered> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match deliver(env, tenant, rules, update, committed_at).await {
            Ok(done) => return Ok(done),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| worker::Error::RustError("no attempt made".into())))
}

async fn deliver(
    env: &Env,
    tenant: &TenantContext,
    rules: &[SyncRule],
    update: &PlatformUpdate,
    committed_at: u64,
) -> Result<Delivered> {
    let stub = env.durable_object("TENANT_HUB")?.get_by_name(&tenant.id)?;
    let headers = Headers::new();
    headers.set(HUB_NAME_HEADER, &tenant.id)?;
    headers.set("content-type", "application/json")?;
    let body = Delivery {
        update: update.clone(),
        platform_committed_at: Some(committed_at),
        context: HubContext {
            tenant: tenant.clone(),
            rules: rules.to_vec(),
        },
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(&body)?.into()));
    let resp = stub
        .fetch_with_request(Request::new_with_init(
            &format!("{BASE_URL}/platform-update"),
            &init,
        )?)
        .await?;
    match resp.status_code() {
        200 => Ok(Delivered::Applied),
        410 => Ok(Delivered::Gone),
        status => Err(worker::Error::RustError(format!(
            "tenant hub answered {status}"
        ))),
    }
}
