//! Reading the D1 registry: the tenants (as the engine's `TenantContext`) and the enabled
//! sync rules. Shared by the Worker (for every write) and the platform hub (for fan-out).
//!
//! A tenant being deleted (`lifecycle = 'deleting'`, see [`crate::lifecycle_steps`]) is no
//! longer served: the reads here leave it out. One being registered is served (the first
//! call that finds it so finishes its registration).

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
        .prepare("SELECT id, attributes, opt_outs FROM tenants WHERE lifecycle != 'deleting' ORDER BY id")
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
        .prepare("SELECT id, attributes, opt_outs FROM tenants WHERE id > ?1 AND lifecycle != 'deleting' ORDER BY id LIMIT ?2")
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
        .prepare("SELECT id, attributes, opt_outs FROM tenants WHERE id = ?1 AND lifecycle != 'deleting'")
        .bind(&[JsValue::from_str(id)])?
        .first(None)
        .await?;
    row.map(context).transpose()
}

/// Where a tenant's registry row stands in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entry {
    /// Tenant id.
    pub id: String,
    /// `registering`, `active` or `deleting` (see [`crate::lifecycle_steps`]).
    pub lifecycle: String,
    /// The incarnation: one per creation of the id (`""` before incarnations existed).
    pub incarnation: String,
    /// When the row entered its lifecycle state (Unix ms; 0 before lifecycles existed).
    #[serde(deserialize_with = "whole_ms")]
    pub lifecycle_at: u64,
}

fn whole_ms<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let ms = f64::deserialize(d)?;
    Ok(ms.max(0.0) as u64)
}

const ENTRY: &str = "SELECT id, lifecycle, incarnation, lifecycle_at FROM tenants";

/// What a write to one tenant needs from the registry: the tenant's lifecycle entry and
/// context (`None` when it is not registered) and the enabled rules.
pub struct WriteContext {
    /// The tenant's entry and context, whatever its lifecycle state.
    pub tenant: Option<(Entry, TenantContext)>,
    /// The enabled sync rules in precedence order (see [`rules`]).
    pub rules: Vec<SyncRule>,
}

/// [`Entry`] and [`TenantContext`] from one registry row.
#[derive(Deserialize)]
struct EntryRow {
    #[serde(flatten)]
    entry: Entry,
    attributes: String,
    opt_outs: String,
}

/// The registry's part of a write to tenant `id`, in one D1 call (a batch of two reads): on
/// the write path each D1 call is a round trip, and the entry, the tenant and the rules
/// used to take three.
pub async fn write_context(db: &D1Database, id: &str) -> Result<WriteContext> {
    let results = db
        .batch(vec![
            db.prepare("SELECT id, lifecycle, incarnation, lifecycle_at, attributes, opt_outs FROM tenants WHERE id = ?1")
            .bind(&[JsValue::from_str(id)])?,
            db.prepare(RULES),
        ])
        .await?;
    let [tenant, rules] = results.as_slice() else {
        return Err(worker::Error::RustError(format!(
            "a batch of two D1 reads answered {} results",
            results.len()
        )));
    };
    let tenant = match tenant.results::<EntryRow>()?.into_iter().next() {
        Some(row) => {
            let context = context(TenantRow {
                id: row.entry.id.clone(),
                attributes: row.attributes,
                opt_outs: row.opt_outs,
            })?;
            Some((row.entry, context))
        }
        None => None,
    };
    Ok(WriteContext {
        tenant,
        rules: parse_rules(rules.results()?)?,
    })
}

/// Up to `limit` tenants whose registration or deletion is unfinished and has not moved since
/// `before` (Unix ms), oldest first.
pub async fn unfinished(db: &D1Database, before: u64, limit: u32) -> Result<Vec<Entry>> {
    db.prepare(format!(
        "{ENTRY} WHERE lifecycle != 'active' AND lifecycle_at < ?1 ORDER BY lifecycle_at LIMIT ?2"
    ))
    .bind(&[
        JsValue::from_f64(before as f64),
        JsValue::from_f64(f64::from(limit)),
    ])?
    .all()
    .await?
    .results()
}

/// Whether any tenant's registration or deletion is unfinished.
pub async fn any_unfinished(db: &D1Database) -> Result<bool> {
    let row: Option<serde_json::Value> = db
        .prepare("SELECT id FROM tenants WHERE lifecycle != 'active' LIMIT 1")
        .first(None)
        .await?;
    Ok(row.is_some())
}

/// The enabled sync rules in precedence order (priority, then creation). A stored rule that
/// no longer parses is an error, never silently skipped.
pub async fn rules(db: &D1Database) -> Result<Vec<SyncRule>> {
    parse_rules(db.prepare(RULES).all().await?.results()?)
}

/// The enabled rules, in precedence order.
const RULES: &str =
    "SELECT id, rule FROM sync_rules WHERE enabled = 1 ORDER BY priority DESC, created_at, id";

/// Rules from their rows; one that no longer parses is an error.
fn parse_rules(rows: Vec<RuleRow>) -> Result<Vec<SyncRule>> {
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
