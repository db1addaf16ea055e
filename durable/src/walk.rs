//! What the platform hub's walks over every tenant share: the fan-out of a platform update
//! ([`crate::fanout`]) and the health check ([`crate::health_walk`]).
//!
//! A walk never holds all tenants: each alarm run reads one page of the D1 registry after a
//! stored cursor (`registry::tenants_page`, ordered by id), calls those tenants' hubs
//! [`BATCH`] at a time, and stores the cursor after every batch. Pages are sized so one run
//! stays well inside the runtime's per-invocation subrequest limit (1,000 on paid plans;
//! every Durable Object call and D1 query counts), and the work per run does not depend on
//! how many tenants exist.

use cascade_engine::rule::SyncRule;
use worker::{D1Database, Env, Headers, Method, Request, RequestInit, Response, Result};

use crate::registry;
use crate::store::{sql_int, Store};

use crate::internal::{BASE_URL, HUB_NAME_HEADER};

/// Tenant hubs called at once: bounded so a walk never holds thousands of connections open
/// (which exhausted the local runtime's file descriptors before walks were paged).
pub const BATCH: usize = 50;

/// Reads a positive page size from the Worker variable `name` (tests set small pages to
/// cross page boundaries with few tenants), else `default`; capped at `max` so no
/// configuration can push a run past the subrequest limit.
pub fn page_size(env: &Env, name: &str, default: usize, max: usize) -> usize {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
        .min(max)
}

/// Calls `path` on the hub of `tenant` with an optional JSON body.
pub async fn call_tenant(
    env: &Env,
    tenant: &str,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<Response> {
    let stub = env.durable_object("TENANT_HUB")?.get_by_name(tenant)?;
    let headers = Headers::new();
    headers.set(HUB_NAME_HEADER, tenant)?;
    if body.is_some() {
        headers.set("content-type", "application/json")?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(body.into()));
    }
    stub.fetch_with_request(Request::new_with_init(&format!("{BASE_URL}{path}"), &init)?)
        .await
}

/// The enabled rules a walk works with: those stored in its job row (`table`, row `id`), or,
/// on the walk's first run, read from D1 and stored there, so every page of the walk applies
/// the same rules.
pub async fn rules_once(
    store: &Store,
    db: &D1Database,
    table: &str,
    id: u64,
    stored: Option<&str>,
) -> Result<Vec<SyncRule>> {
    if let Some(json) = stored {
        return Ok(serde_json::from_str(json)?);
    }
    let rules = registry::rules(db).await?;
    store.sql().exec(
        &format!("UPDATE {table} SET rules = ? WHERE id = ?"),
        vec![serde_json::to_string(&rules)?.into(), sql_int(id)?],
    )?;
    Ok(rules)
}
