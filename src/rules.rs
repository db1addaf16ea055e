//! Sync rules in D1: list, create or replace, delete. A rule is validated by the engine's own
//! parser before it is stored, so the hubs never meet a rule they cannot read.

use cascade_engine::rule::SyncRule;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Response};

use crate::problem::ApiError;
use crate::tenants;

/// A stored rule as returned.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRule {
    /// Rule id.
    pub id: String,
    /// Whether the rule is in force.
    pub enabled: bool,
    /// The rule in the seed's shape.
    pub rule: Value,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    rule: String,
    enabled: f64,
}

/// Every rule, enabled or not, in precedence order.
pub async fn list(env: &Env) -> Result<Response, ApiError> {
    let rows: Vec<Row> = tenants::db(env)?
        .prepare("SELECT id, rule, enabled FROM sync_rules ORDER BY priority DESC, created_at, id")
        .all()
        .await?
        .results()?;
    let rules = rows
        .into_iter()
        .map(|r| {
            Ok(StoredRule {
                id: r.id,
                enabled: r.enabled != 0.0,
                rule: serde_json::from_str(&r.rule)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Response::from_json(&rules)?)
}

/// Creates or replaces rule `id` from a body in the seed's shape (plus optional `enabled`).
/// Answers 201 on creation, 200 on replacement.
pub async fn put(env: &Env, id: &str, mut body: Value) -> Result<Response, ApiError> {
    let enabled = match body.as_object_mut().and_then(|o| o.remove("enabled")) {
        None => true,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(ApiError::InvalidRule(format!(
                "enabled must be a boolean, got {other}"
            )))
        }
    };
    let mut rule: SyncRule =
        serde_json::from_value(body).map_err(|e| ApiError::InvalidRule(e.to_string()))?;
    // Stored and answered as the engine reads it (defaults dropped, `null`s gone), never as
    // the raw body: what a client reads back always matches the documented rule shape.
    rule.id = None;
    let body = serde_json::to_value(&rule)?;
    let db = tenants::db(env)?;
    let existed = db
        .prepare("SELECT id FROM sync_rules WHERE id = ?1")
        .bind(&[JsValue::from_str(id)])?
        .first::<Value>(None)
        .await?
        .is_some();
    let now = worker::js_sys::Date::now();
    db.prepare(
        "INSERT INTO sync_rules (id, rule, priority, enabled, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT(id) DO UPDATE SET rule = excluded.rule, priority = excluded.priority,
           enabled = excluded.enabled, updated_at = excluded.updated_at",
    )
    .bind(&[
        JsValue::from_str(id),
        JsValue::from_str(&serde_json::to_string(&body)?),
        JsValue::from_f64(f64::from(rule.priority)),
        JsValue::from_f64(if enabled { 1.0 } else { 0.0 }),
        JsValue::from_f64(now),
    ])?
    .run()
    .await?;
    let stored = StoredRule {
        id: id.to_owned(),
        enabled,
        rule: body,
    };
    // Tenants this rule now governs converge with the platform layers it delivers.
    crate::convergence::queue(env, crate::convergence::RULE_CHANGED, None).await;
    Ok(Response::from_json(&stored)?.with_status(if existed { 200 } else { 201 }))
}

/// Deletes rule `id` (404 when there is none).
pub async fn delete(env: &Env, id: &str) -> Result<Response, ApiError> {
    let result = tenants::db(env)?
        .prepare("DELETE FROM sync_rules WHERE id = ?1")
        .bind(&[JsValue::from_str(id)])?
        .run()
        .await?;
    let changed = result.meta()?.and_then(|m| m.changes).unwrap_or(0);
    if changed == 0 {
        return Err(ApiError::RuleNotFound(id.to_owned()));
    }
    // Another rule may now govern what this one did, with another strategy.
    crate::convergence::queue(env, crate::convergence::RULE_CHANGED, None).await;
    Ok(Response::empty()?.with_status(204))
}
