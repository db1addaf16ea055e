//! Sync rules in D1: list, create or replace, delete. A rule is validated by the engine's own
//! parser before it is stored, so the hubs never meet a rule they cannot read; an invalid
//! field is named in the problem's `pointer`. A rule can be previewed before it is saved:
//! which tenants it would reach.

use std::collections::BTreeMap;

use cascade_engine::path::PathPattern;
use cascade_engine::rule::{ConflictResolution, SyncDirection, SyncRule, TriggerPattern};
use cascade_engine::scope::{Namespace, Scope};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use worker::wasm_bindgen::JsValue;
use worker::{Env, Request, Response};

use crate::problem::ApiError;
use crate::{api_spec, targeting, tenants};

/// A stored rule as returned.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "id": "sso-enable", "enabled": true,
    "rule": {"triggerEvents": ["auth.provider.enable"], "targetScopes": ["tenant", "user"],
             "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true}
})))]
pub struct StoredRule {
    /// Rule id (the path's `{rule}`).
    pub id: String,
    /// Whether the rule is in force; a disabled rule is kept but triggers nothing.
    pub enabled: bool,
    /// The rule in the seed's shape, as the engine reads it (defaults dropped).
    #[cfg_attr(test, schema(value_type = SyncRule))]
    pub rule: Value,
}

/// The body of `PUT /v1/rules/{rule}` and `POST /v1/platform/rules/preview`: a rule in the
/// seed's shape, plus whether it is in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "triggerEvents": ["auth.provider.*"], "targetScopes": ["tenant", "user"],
    "syncDirection": "down", "conflictResolution": "merge", "autoApply": false,
    "tenantFilter": {"plan": "pro"}, "enabled": true
})))]
pub struct RuleBody {
    /// The rule.
    #[serde(flatten)]
    pub rule: SyncRule,
    /// `false` stores the rule without putting it in force (default `true`); a preview
    /// ignores it.
    #[cfg_attr(test, schema(required = false, default = true))]
    pub enabled: bool,
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

/// Most attributes a rule's `tenantFilter` may name: each is a condition of the registry
/// queries that count and list the tenants a rule reaches (`crate::targeting`).
pub const MAX_TENANT_FILTER_ATTRIBUTES: usize = 32;

/// A field's check: parses the field's value as its type, or says why it does not.
type FieldCheck = fn(&Value) -> Result<(), String>;

fn check<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(value.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Every field of a rule body: its name, whether it is required, and its check.
const FIELDS: &[(&str, bool, FieldCheck)] = &[
    ("triggerEvents", true, check::<Vec<TriggerPattern>>),
    ("targetScopes", true, check::<Vec<Scope>>),
    ("syncDirection", true, check::<SyncDirection>),
    ("conflictResolution", true, check::<ConflictResolution>),
    ("autoApply", true, check::<bool>),
    ("namespaces", false, check::<Option<Vec<Namespace>>>),
    ("tenantFilter", false, check::<BTreeMap<String, Value>>),
    ("lockedPaths", false, check::<Vec<PathPattern>>),
    ("priority", false, check::<i32>),
    ("enabled", false, check::<bool>),
];

/// The first field of `body` that is missing or does not parse, with why: so a client (the
/// dashboard's rule editor) can show the error beside the field (`pointer` in the problem).
fn field_error(body: &Map<String, Value>) -> Option<ApiError> {
    FIELDS.iter().find_map(|(field, required, check)| {
        let problem = match body.get(*field) {
            None if *required => "required".to_owned(),
            None => return None,
            Some(value) => check(value).err()?,
        };
        Some(ApiError::InvalidRuleField {
            field: (*field).to_owned(),
            problem,
        })
    })
}

/// Parses a rule body in the seed's shape (plus optional `enabled`, default true), as the
/// engine reads it; an invalid field is named (`InvalidRuleField`).
pub fn parse(mut body: Value) -> Result<RuleBody, ApiError> {
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::InvalidRule(format!(
            "the rule must be a JSON object, got {body:.40}"
        )));
    };
    if let Some(err) = field_error(object) {
        return Err(err);
    }
    let filtered = object
        .get("tenantFilter")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    if filtered > MAX_TENANT_FILTER_ATTRIBUTES {
        return Err(ApiError::InvalidRuleField {
            field: "tenantFilter".to_owned(),
            problem: format!("at most {MAX_TENANT_FILTER_ATTRIBUTES} attributes, got {filtered}"),
        });
    }
    let enabled = !matches!(object.remove("enabled"), Some(Value::Bool(false)));
    let rule: SyncRule =
        serde_json::from_value(body).map_err(|e| ApiError::InvalidRule(e.to_string()))?;
    Ok(RuleBody { rule, enabled })
}

/// Creates or replaces rule `id` from a body in the seed's shape (plus optional `enabled`).
/// Answers 201 on creation, 200 on replacement.
pub async fn put(env: &Env, id: &str, body: Value) -> Result<Response, ApiError> {
    let RuleBody { mut rule, enabled } = parse(body)?;
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

/// Serves `POST /v1/platform/rules/preview[?namespace=&after=&limit=]`: which tenants the
/// rule in the body would reach, without saving it (see [`crate::targeting::preview`]).
pub async fn preview(env: &Env, req: &Request, body: Value) -> Result<Response, ApiError> {
    let RuleBody { rule, .. } = parse(body)?;
    let url = req.url()?;
    let mut namespace = None;
    let mut after = String::new();
    let mut limit = targeting::DEFAULT_PREVIEW_PAGE;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            api_spec::NAMESPACE => {
                let name = crate::input::namespace(api_spec::NAMESPACE, &value)?;
                namespace = Some(Namespace::new(&name).map_err(|e| ApiError::BadQuery {
                    name: "namespace",
                    problem: e.to_string(),
                })?);
            }
            api_spec::AFTER => {
                after = crate::input::name("after", &value).map_err(|_| ApiError::BadQuery {
                    name: "after",
                    problem: format!("must be a tenant id, got '{value:.40}'"),
                })?;
            }
            api_spec::LIMIT => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=targeting::MAX_PREVIEW_PAGE).contains(n))
                    .ok_or_else(|| ApiError::BadQuery {
                        name: "limit",
                        problem: format!(
                            "must be 1..={}, got '{value:.40}'",
                            targeting::MAX_PREVIEW_PAGE
                        ),
                    })?;
            }
            _ => {
                return Err(ApiError::BadQuery {
                    name: "query",
                    problem: format!("unknown parameter '{key:.40}' (use namespace, after, limit)"),
                })
            }
        }
    }
    let preview = targeting::preview(env, &rule, namespace.as_ref(), &after, limit).await?;
    Ok(Response::from_json(&preview)?)
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
