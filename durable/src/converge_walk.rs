//! Durable convergence jobs: after a rule changes, or a tenant's attributes or opt-outs do,
//! every tenant it may now govern converges its copies of the platform layers with the
//! platform's (`cascade_engine::converge` says which must, and how).
//!
//! A job is a row in the platform hub's `converge_queue`, worked by its alarm like a fan-out
//! job ([`crate::fanout`]): the enabled rules are read from D1 when the job starts, the
//! tenants (one, or every tenant a page at a time after a stored cursor) are sent the
//! platform layers [`crate::walk::BATCH`] at a time, and the cursor is stored after every
//! batch, so a crash resumes where it stopped. A convergence is idempotent at the tenant (a
//! copy that already equals the platform layer changes nothing and takes no seq), so the at
//! most one batch repeated after a crash commits nothing twice.
//!
//! A job not started yet reads the rules when it starts, so it covers every change queued
//! behind it: queuing the same walk again is a no-op until it starts.

use cascade_engine::scope::TenantContext;
use futures::future::join_all;
use serde::Deserialize;
use worker::{Env, Method, Result};

use crate::internal::{ConvergeAck, ConvergeRequest, HubContext, PlatformLayer};
use crate::store::{as_u64, sql_int, Store};
use crate::{engine_store, registry, walk};

/// The platform hub's table of convergence jobs; idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS converge_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cause TEXT NOT NULL,             -- rule-changed or tenant-changed
  tenant TEXT,                     -- the one tenant to converge (NULL: every tenant)
  rules TEXT,                      -- enabled rules as JSON, read from D1 when the job starts
  after TEXT NOT NULL DEFAULT '',  -- cursor: id of the last tenant sent
  converged INTEGER NOT NULL DEFAULT 0
);
";

/// Tenants one alarm run converges by default (`CONVERGE_TENANTS_PER_RUN` overrides it).
pub const DEFAULT_PER_RUN: usize = 200;
/// Upper bound of tenants per run, with [`ATTEMPTS`] calls for a failing tenant, within the
/// runtime's 1,000 subrequests.
pub const MAX_PER_RUN: usize = 300;
/// Attempts for one tenant within a run before it is left to the health check.
pub const ATTEMPTS: usize = 3;

/// What starts a convergence job.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enqueue {
    /// `rule-changed` or `tenant-changed`.
    pub cause: String,
    /// The one tenant concerned (absent: every tenant).
    #[serde(default)]
    pub tenant: Option<String>,
}

/// Queues a job unless an identical one has not started yet. Synchronous.
pub fn enqueue(store: &Store, job: &Enqueue) -> Result<()> {
    let tenant = job
        .tenant
        .as_deref()
        .map_or(worker::SqlStorageValue::Null, Into::into);
    store.sql().exec(
        "INSERT INTO converge_queue (cause, tenant)
         SELECT ?1, ?2 WHERE NOT EXISTS (
           SELECT 1 FROM converge_queue WHERE rules IS NULL AND tenant IS ?2)",
        vec![job.cause.as_str().into(), tenant],
    )?;
    Ok(())
}

/// Jobs not finished yet.
pub fn pending_jobs(store: &Store) -> Result<u64> {
    store.count("converge_queue")
}

#[derive(Deserialize)]
struct JobRow {
    id: f64,
    cause: String,
    tenant: Option<String>,
    rules: Option<String>,
    after: String,
}

/// Works the oldest job for one alarm run; returns the tenants that could not be reached.
pub async fn run(store: &Store, env: &Env) -> Result<Vec<String>> {
    let jobs: Vec<JobRow> = store
        .sql()
        .exec(
            "SELECT id, cause, tenant, rules, after FROM converge_queue ORDER BY id LIMIT 1",
            None,
        )?
        .to_array()?;
    let Some(job) = jobs.into_iter().next() else {
        return Ok(Vec::new());
    };
    let id = as_u64(job.id);
    let db = env.d1(crate::core::D1_BINDING)?;
    let rules = walk::rules_once(store, &db, "converge_queue", id, job.rules.as_deref()).await?;
    let per_run = walk::page_size(
        env,
        "CONVERGE_TENANTS_PER_RUN",
        DEFAULT_PER_RUN,
        MAX_PER_RUN,
    );
    let (page, last_page) = match &job.tenant {
        Some(tenant) => (
            registry::tenant(&db, tenant).await?.into_iter().collect(),
            true,
        ),
        None => {
            let limit = u32::try_from(per_run).unwrap_or(u32::MAX);
            let page: Vec<TenantContext> = registry::tenants_page(&db, &job.after, limit).await?;
            let last = page.len() < per_run;
            (page, last)
        }
    };
    let mut failures = Vec::new();
    for batch in page.chunks(walk::BATCH) {
        // Layers and seq read per batch: a platform commit may land while a batch is out.
        let platform_seq = engine_store::last_platform_update(store)?;
        let layers: Vec<PlatformLayer> = engine_store::platform_layers(store)?
            .into_iter()
            .map(|(namespace, config)| PlatformLayer {
                namespace: namespace.as_str().to_owned(),
                config,
            })
            .collect();
        let calls = batch.iter().map(|tenant| {
            let request = ConvergeRequest {
                context: HubContext {
                    tenant: tenant.clone(),
                    rules: rules.clone(),
                    incarnation: None,
                    platform_seq: None,
                },
                platform_seq,
                layers: layers.clone(),
                cause: job.cause.clone(),
            };
            converge_with_retries(env, request)
        });
        let results = join_all(calls).await;
        let mut converged = 0;
        for (tenant, result) in batch.iter().zip(results) {
            match result {
                Ok(ack) => converged += u64::from(ack.seq.is_some()),
                Err(e) => {
                    worker::console_error!("convergence of {}: {e}", tenant.id);
                    failures.push(tenant.id.clone());
                }
            }
        }
        let last = batch.last().map_or(job.after.as_str(), |t| t.id.as_str());
        store.sql().exec(
            "UPDATE converge_queue SET after = ?, converged = converged + ? WHERE id = ?",
            vec![last.into(), sql_int(converged)?, sql_int(id)?],
        )?;
    }
    if last_page {
        store.sql().exec(
            "DELETE FROM converge_queue WHERE id = ?",
            vec![sql_int(id)?],
        )?;
    }
    Ok(failures)
}

/// Sends one tenant the layers to converge to; a deleted tenant (410) counts as done.
pub async fn converge_tenant(env: &Env, request: &ConvergeRequest) -> Result<ConvergeAck> {
    let body = serde_json::to_string(request)?;
    let tenant = &request.context.tenant.id;
    let mut resp = walk::call_tenant(env, tenant, Method::Post, "/converge", Some(body)).await?;
    match resp.status_code() {
        200 => resp.json().await,
        410 => Ok(ConvergeAck::default()),
        status => Err(worker::Error::RustError(format!(
            "tenant hub answered {status}"
        ))),
    }
}

async fn converge_with_retries(env: &Env, request: ConvergeRequest) -> Result<ConvergeAck> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match converge_tenant(env, &request).await {
            Ok(ack) => return Ok(ack),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| worker::Error::RustError("no attempt made".into())))
}
