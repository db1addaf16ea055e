//! The tenants registry in D1: create or update a tenant with its attributes (business type,
//! plan, ...) and per-namespace opt-outs, read one, list all.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env, Response};

use cascade_durable::internal::DeliveryAck;

use crate::problem::ApiError;

/// Name of the D1 binding.
pub const D1_BINDING: &str = "DB";

/// A tenant as stored and returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Tenant id (also its hub's name).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Attributes that sync rules can filter on, e.g. `{"businessType": "retail"}`.
    pub attributes: Map<String, Value>,
    /// Namespaces the tenant opted out of (selective sync).
    pub opt_outs: Vec<String>,
    /// Unix milliseconds of creation.
    pub created_at: u64,
    /// Unix milliseconds of the last update.
    pub updated_at: u64,
}

/// Body of `PUT /v1/tenants/{tenant}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantInput {
    /// Display name; defaults to the id.
    pub name: Option<String>,
    /// Attributes; default empty.
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Opt-outs; default none.
    #[serde(default)]
    pub opt_outs: Vec<String>,
}

#[derive(Deserialize)]
struct TenantRow {
    id: String,
    name: String,
    attributes: String,
    opt_outs: String,
    created_at: f64,
    updated_at: f64,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = ApiError;
    fn try_from(row: TenantRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id,
            name: row.name,
            attributes: serde_json::from_str(&row.attributes)?,
            opt_outs: serde_json::from_str(&row.opt_outs)?,
            created_at: row.created_at as u64,
            updated_at: row.updated_at as u64,
        })
    }
}

const SELECT: &str = "SELECT id, name, attributes, opt_outs, created_at, updated_at FROM tenants";

/// The D1 database.
pub fn db(env: &Env) -> Result<D1Database, ApiError> {
    Ok(env.d1(D1_BINDING)?)
}

/// Reads one tenant, if registered.
pub async fn find(env: &Env, id: &str) -> Result<Option<Tenant>, ApiError> {
    let row: Option<TenantRow> = db(env)?
        .prepare(format!("{SELECT} WHERE id = ?1"))
        .bind(&[JsValue::from_str(id)])?
        .first(None)
        .await?;
    row.map(Tenant::try_from).transpose()
}

/// Reads one tenant or answers 404.
pub async fn require(env: &Env, id: &str) -> Result<Tenant, ApiError> {
    find(env, id)
        .await?
        .ok_or_else(|| ApiError::TenantNotFound(id.to_owned()))
}

/// Lists every tenant, ordered by id.
pub async fn list(env: &Env) -> Result<Vec<Tenant>, ApiError> {
    let rows: Vec<TenantRow> = db(env)?
        .prepare(format!("{SELECT} ORDER BY id"))
        .all()
        .await?
        .results()?;
    rows.into_iter().map(Tenant::try_from).collect()
}

/// Creates or updates a tenant. Answers 201 on creation, 200 on update.
pub async fn put(env: &Env, id: &str, input: TenantInput) -> Result<Response, ApiError> {
    for namespace in &input.opt_outs {
        crate::input::namespace("optOuts namespace", namespace)?;
    }
    let before = find(env, id).await?;
    let existed = before.is_some();
    let now = worker::js_sys::Date::now();
    let name = input.name.unwrap_or_else(|| id.to_owned());
    db(env)?
        .prepare(
            "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, attributes = excluded.attributes,
               opt_outs = excluded.opt_outs, updated_at = excluded.updated_at",
        )
        .bind(&[
            JsValue::from_str(id),
            JsValue::from_str(&name),
            JsValue::from_str(&serde_json::to_string(&input.attributes)?),
            JsValue::from_str(&serde_json::to_string(&input.opt_outs)?),
            JsValue::from_f64(now),
        ])?
        .run()
        .await?;
    let tenant = require(env, id).await?;
    let mut body = serde_json::to_value(&tenant)?;
    // A new tenant starts from the platform as it is now. If that fails the tenant still
    // exists; the answer says so and a manual or cron sync catches it up.
    if !existed {
        match sync_hub(env, id).await {
            Ok(ack) => body["platformSeq"] = ack.platform_seq.into(),
            Err(e) => body["syncError"] = e.to_problem().detail.into(),
        }
    } else if before
        .is_some_and(|b| b.attributes != tenant.attributes || b.opt_outs != tenant.opt_outs)
    {
        // Opting back in, or attributes a rule's filter now accepts: the tenant converges
        // with the platform layers it missed.
        crate::convergence::queue(env, crate::convergence::TENANT_CHANGED, Some(id)).await;
    }
    Ok(Response::from_json(&body)?.with_status(if existed { 200 } else { 201 }))
}

/// `POST /v1/tenants/{tenant}/sync`: catches the tenant's hub up with every platform update
/// it has not applied yet.
pub async fn sync(env: &Env, id: &str) -> Result<Response, ApiError> {
    require(env, id).await?;
    Ok(Response::from_json(&sync_hub(env, id).await?)?)
}

/// Asks the tenant's hub to catch up with the platform (used by creation, manual sync and
/// the health check's self-healing).
pub async fn sync_hub(env: &Env, id: &str) -> Result<DeliveryAck, ApiError> {
    let context = crate::config::hub_context(env, id).await?;
    crate::hubs::Hub::tenant(env, id)?
        .call(worker::Method::Post, "/sync", Some(&context))
        .await
}
