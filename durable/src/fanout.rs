//! Durable fan-out of platform updates to tenant hubs.
//!
//! A platform commit stores a job row (its `platform_seq`) in the same atomic write as the
//! commit itself, so a crash cannot lose it. The platform hub's alarm then works jobs oldest
//! first. A job keeps nothing that grows with the tenant count: the enabled rules, read from
//! D1 once when the job starts (their number does not depend on the tenants), and a cursor,
//! the id of the last tenant delivered. Each alarm run reads one page of tenants after the
//! cursor from the D1 registry (ordered by id, see [`crate::walk`]), delivers the update to
//! them [`BATCH`] at a time, and stores the cursor after every batch, so a restart resumes
//! where it stopped and redelivers at most one batch. Delivery is idempotent at each tenant
//! (it ignores a platform sequence it already applied, and catches up on any it missed), so
//! that redelivery is harmless.
//!
//! Tenants are read live, page by page, rather than snapshotted when the job starts: a
//! tenant deleted before its page is read is simply not visited, and one registered during
//! the walk may be visited too (it already caught up when it was created, so the delivery is
//! a no-op). A tenant deleted after its page was read is skipped, not retried: its hub
//! answers 410 without writing anything (see [`crate::lifecycle`] for why the check lives in
//! the hub and how a delete racing a delivery is kept from leaving a half-created hub).

use cascade_engine::event::PlatformUpdate;
use cascade_engine::rule::SyncRule;
use cascade_engine::scope::TenantContext;
use futures::future::join_all;
use serde::Deserialize;
use worker::{Env, Method, Result};

use crate::engine_store;
use crate::internal::{Delivery, HubContext};
use crate::registry;
use crate::store::{as_u64, sql_int, Store};
use crate::walk;

pub use crate::walk::BATCH;

/// Tables for fan-out jobs; idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS fanout_queue (
  platform_seq INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,     -- the platform commit's time (Unix ms), sent with each delivery
  rules TEXT,                      -- enabled rules as JSON, read from D1 when the job starts
  after TEXT NOT NULL DEFAULT '',  -- cursor: id of the last tenant delivered ('' before the first)
  delivered INTEGER NOT NULL DEFAULT 0
);
";

/// Tenants one alarm run delivers to by default (`FANOUT_TENANTS_PER_RUN` overrides it, up
/// to [`MAX_PER_RUN`]): one D1 page read per run, then [`BATCH`] hubs at a time.
pub const DEFAULT_PER_RUN: usize = 500;
/// Upper bound of tenants per run: with up to [`ATTEMPTS`] calls for a failing tenant, a run
/// must stay below the runtime's 1,000 subrequests in the common case.
pub const MAX_PER_RUN: usize = 500;
/// Attempts for one tenant within a run before it is left to catch up later.
pub const ATTEMPTS: usize = 3;

#[derive(Deserialize)]
struct JobRow {
    platform_seq: f64,
    created_at: f64,
    rules: Option<String>,
    after: String,
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

/// Moves jobs queued by the earlier layout (`fanout_jobs`, which kept every target in one
/// row) into [`SCHEMA`]'s queue, restarting them from the first tenant: delivery is
/// idempotent, so tenants that already had the update ignore it. Runs once per object start.
pub fn migrate(store: &Store) -> Result<()> {
    let legacy: Vec<NameRow> = store
        .sql()
        .exec(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'fanout_jobs'",
            None,
        )?
        .to_array()?;
    if legacy.iter().any(|t| t.name == "fanout_jobs") {
        store.sql().exec(
            "INSERT OR IGNORE INTO fanout_queue (platform_seq, created_at)
             SELECT platform_seq, created_at FROM fanout_jobs",
            None,
        )?;
        store.sql().exec("DROP TABLE fanout_jobs", None)?;
    }
    Ok(())
}

/// Queues the fan-out of `platform_seq`, committed at `committed_at_ms` (Unix ms; every
/// delivery carries it so tenants can record the propagation latency). Synchronous: part of
/// the commit's atomic run.
pub fn enqueue(store: &Store, platform_seq: u64, committed_at_ms: u64) -> Result<()> {
    store.sql().exec(
        "INSERT OR IGNORE INTO fanout_queue (platform_seq, created_at) VALUES (?, ?)",
        vec![sql_int(platform_seq)?, sql_int(committed_at_ms)?],
    )?;
    Ok(())
}

/// The highest platform seq whose fan-out, and every earlier one, has finished: a tenant
/// behind it missed a delivery, where one behind only `latest` may still be waiting for it.
pub fn settled_seq(store: &Store, latest: u64) -> Result<u64> {
    #[derive(Deserialize)]
    struct Oldest {
        seq: Option<f64>,
    }
    let rows: Vec<Oldest> = store
        .sql()
        .exec("SELECT MIN(platform_seq) AS seq FROM fanout_queue", None)?
        .to_array()?;
    Ok(match rows.first().and_then(|r| r.seq) {
        Some(oldest) => as_u64(oldest).saturating_sub(1).min(latest),
        None => latest,
    })
}

/// Jobs not finished yet.
pub fn pending_jobs(store: &Store) -> Result<u64> {
    store.count("fanout_queue")
}

/// What one alarm run did.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Whether work remains (the alarm should run again).
    pub more: bool,
    /// Tenants that could not be reached in this run (they catch up later).
    pub failures: Vec<String>,
}

/// Works the oldest jobs for one alarm run: at most the configured number of tenants
/// (`FANOUT_TENANTS_PER_RUN`), over as many jobs as that reaches.
pub async fn run(store: &Store, env: &Env) -> Result<RunReport> {
    let mut report = RunReport::default();
    let mut budget = walk::page_size(env, "FANOUT_TENANTS_PER_RUN", DEFAULT_PER_RUN, MAX_PER_RUN);
    while budget > 0 {
        let jobs: Vec<JobRow> = store
            .sql()
            .exec(
                "SELECT platform_seq, created_at, rules, after FROM fanout_queue ORDER BY platform_seq LIMIT 1",
                None,
            )?
            .to_array()?;
        let Some(job) = jobs.into_iter().next() else {
            break;
        };
        let platform_seq = as_u64(job.platform_seq);
        let Some(update) = engine_store::platform_updates_since(store, platform_seq - 1, 1)?
            .into_iter()
            .find(|u| u.platform_seq == platform_seq)
        else {
            // The update is gone (cannot happen: it is stored with the job); drop the job.
            finish(store, platform_seq)?;
            continue;
        };
        let db = env.d1(crate::core::D1_BINDING)?;
        let limit = u32::try_from(budget).unwrap_or(u32::MAX);
        let (rules, page): (Vec<SyncRule>, _) = match &job.rules {
            Some(json) => (
                serde_json::from_str(json)?,
                registry::tenants_page(&db, &job.after, limit).await?,
            ),
            None => {
                // A new job: its rules and its first page in one D1 round trip's time.
                let (rules, page) = futures::join!(
                    registry::rules(&db),
                    registry::tenants_page(&db, &job.after, limit)
                );
                let rules = rules?;
                store.sql().exec(
                    "UPDATE fanout_queue SET rules = ? WHERE platform_seq = ?",
                    vec![
                        serde_json::to_string(&rules)?.into(),
                        sql_int(platform_seq)?,
                    ],
                )?;
                (rules, page?)
            }
        };
        let last_page = page.len() < budget;
        let committed_at = as_u64(job.created_at);
        for batch in page.chunks(BATCH) {
            deliver_batch(env, batch, &rules, &update, committed_at, &mut report).await;
            let last = batch.last().map_or(job.after.as_str(), |t| t.id.as_str());
            store.sql().exec(
                "UPDATE fanout_queue SET after = ?, delivered = delivered + ? WHERE platform_seq = ?",
                vec![
                    last.into(),
                    sql_int(batch.len() as u64)?,
                    sql_int(platform_seq)?,
                ],
            )?;
        }
        budget -= page.len();
        if last_page {
            finish(store, platform_seq)?;
        }
    }
    report.more = pending_jobs(store)? > 0;
    Ok(report)
}

fn finish(store: &Store, platform_seq: u64) -> Result<()> {
    store.sql().exec(
        "DELETE FROM fanout_queue WHERE platform_seq = ?",
        vec![sql_int(platform_seq)?],
    )?;
    Ok(())
}

/// Delivers `update` to one batch of tenants at once; failures are logged and reported.
async fn deliver_batch(
    env: &Env,
    batch: &[TenantContext],
    rules: &[SyncRule],
    update: &PlatformUpdate,
    committed_at: u64,
    report: &mut RunReport,
) {
    let platform_seq = update.platform_seq;
    let results = join_all(
        batch
            .iter()
            .map(|t| deliver_with_retries(env, t, rules, update, committed_at)),
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
}

/// What a delivery to one tenant came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivered {
    /// The tenant has the update (now or already).
    Applied,
    /// The tenant was deleted since its page was read: skipped.
    Gone,
}

async fn deliver_with_retries(
    env: &Env,
    tenant: &TenantContext,
    rules: &[SyncRule],
    update: &PlatformUpdate,
    committed_at: u64,
) -> Result<Delivered> {
    let body = serde_json::to_string(&Delivery {
        update: update.clone(),
        platform_committed_at: Some(committed_at),
        context: HubContext {
            tenant: tenant.clone(),
            rules: rules.to_vec(),
            incarnation: None,
            platform_seq: None,
        },
    })?;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match deliver(env, &tenant.id, body.clone()).await {
            Ok(done) => return Ok(done),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| worker::Error::RustError("no attempt made".into())))
}

async fn deliver(env: &Env, tenant: &str, body: String) -> Result<Delivered> {
    let resp = walk::call_tenant(env, tenant, Method::Post, "/platform-update", Some(body)).await?;
    match resp.status_code() {
        200 => Ok(Delivered::Applied),
        410 => Ok(Delivered::Gone),
        status => Err(worker::Error::RustError(format!(
            "tenant hub answered {status}"
        ))),
    }
}
