//! Reading the D1 registry: the tenants (as the engine's `TenantContext`) and the enabled
//! sync rules. Shared by the Worker (for every write) and the platform hub (for fan-out).

use std::collections::{BTreeMap, BTreeSet};

use cascade_engine::rule::SyncRule;
use cascade_engine::scope::{Namespace, TenantContext};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Result};

#[derive(Deserialize)]
struct TenantRow {
    id: String,
    attributes: String,
    opt_outs: String,
}

#[derive(Deserialize)]
struct RuleRow {
    id: String,
    rule: String,
}

fn context(row: TenantRow) -> Result<TenantContext> {
    let attributes: BTreeMap<String, serde_json::Value> = serde_json::from_str(&row.attributes)?;
    let opt_outs: Vec<String> = serde_json::from_str(&row.opt_outs)?;
    let opted_out: BTreeSet<Namespace> = opt_outs
        .into_iter()
        .filter_map(|n| Namespace::new(n).ok())
        .collect();
    Ok(TenantContext {
        id: row.id,
        attributes,
        opted_out,
    })
}

/// Every registered tenant, ordered by id.
pub async fn tenants(db: &D1Database) -> Result<Vec<TenantContext>> {
    let rows: Vec<TenantRow> = db
        .prepare("SELECT id, attributes, opt_outs FROM tenants ORDER BY id")
        .all()
        .await?
        .results()?;
    rows.into_iter().map(context).collect()
}

/// A page of registered tenants: up to `limit` with an id after `after` (`""` for the first
/// page), ordered by id. Walks over every tenant (fan-out, health check, sync-all) read the
/// registry a page at a time with this cursor, so no call reads or holds all tenants.
pub async fn tenants_page(db: &D1Database, after: &str, limit: u32) -> Result<Vec<TenantContext>> {
    let rows: Vec<TenantRow> = db
        .prepare("SELECT id, attributes, opt_outs FROM tenants WHERE id > ?1 ORDER BY id LIMIT ?2")
        .bind(&[
            JsValue::from_str(after),
            JsValue::from_f64(f64::from(limit)),
        ])?
        .all()
        .await?
        .results()?;
    rows.into_iter().map(context).collect()
}

/// One tenant, if registered.
pub async fn tenant(db: &D1Database, id: &str) -> Result<Option<TenantContext>> {
    let row: Option<TenantRow> = db
        .prepare("SELECT id, attributes, opt_outs FROM tenants WHERE id = ?1")
        .bind(&[JsValue::from_str(id)])?
        .first(None)
        .await?;
    row.map(context).transpose()
}

/// The enabled sync rules in precedence order (priority, then creation). A stored rule that
/// no longer parses is an error, never silently skipped.
pub async fn rules(db: &D1Database) -> Result<Vec<SyncRule>> {
    let rows: Vec<RuleRow> = db
        .prepare("SELECT id, rule FROM sync_rules WHERE enabled = 1 ORDER BY priority DESC, created_at, id")
        .all()
        .await?
        .results()?;
    rows.into_iter()
        .map(|r| {
            let mut rule: SyncRule = serde_json::from_str(&r.rule).map_err(|e| {
                worker::Error::RustError(format!("stored sync rule '{}' is invalid: {e}", r.id))
            })?;
            rule.id = Some(r.id);
            Ok(rule)
        })
        .collect()
}
