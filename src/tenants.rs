//! The tenants registry in D1: create or update a tenant with its attributes (business type,
//! plan, ...) and per-namespace opt-outs, read one, list all.
//!
//! Registration is a durable, resumable sequence (`cascade_durable::lifecycle_steps`): the
//! row is inserted as `registering` with a new incarnation, the hub catches up with the
//! platform, the row turns `active`. A `PUT` that finds its tenant still `registering` (a
//! retry after a crash) finishes it and answers 201; the platform hub's alarm finishes it
//! when nobody retries; and any read or write of the tenant finishes it first. A tenant being
//! deleted is not found, and a `PUT` for it finishes the deletion, then creates it anew.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env, Response};

use cascade_durable::internal::DeliveryAck;
use cascade_durable::lifecycle_steps::{self, DELETING, REGISTERING};
use cascade_durable::registry::Entry;

use crate::problem::ApiError;

/// Name of the D1 binding.
pub const D1_BINDING: &str = "DB";

/// A tenant as stored and returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "id": "acme", "name": "Acme Corp", "attributes": {"businessType": "retail"},
    "optOuts": ["notifications"], "createdAt": 1764720000000_u64,
    "updatedAt": 1764720000000_u64, "lifecycle": "active"
})))]
pub struct Tenant {
    /// Tenant id (also its hub's name).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Attributes that sync rules can filter on, e.g. `{"businessType": "retail"}`.
    #[cfg_attr(test, schema(value_type = Object))]
    pub attributes: Map<String, Value>,
    /// Namespaces the tenant opted out of (selective sync).
    pub opt_outs: Vec<String>,
    /// Unix milliseconds of creation.
    pub created_at: u64,
    /// Unix milliseconds of the last update.
    pub updated_at: u64,
    /// Where the registry row stands: `registering` (created, its registration — catching up
    /// with the platform — not yet finished; the next read or write of the tenant, a retried
    /// PUT or the platform hub's alarm finishes it) or `active`; a tenant being deleted is not
    /// found.
    #[serde(default)]
    #[cfg_attr(test, schema(pattern = "^(registering|active)$"))]
    pub lifecycle: String,
    /// This creation's incarnation (its history rows in D1 carry it).
    #[serde(skip)]
    pub incarnation: String,
}

impl Tenant {
    /// The lifecycle entry of this row.
    #[must_use]
    pub fn entry(&self) -> Entry {
        Entry {
            id: self.id.clone(),
            lifecycle: self.lifecycle.clone(),
            incarnation: self.incarnation.clone(),
            lifecycle_at: 0,
        }
    }
}

/// Body of `PUT /v1/tenants/{tenant}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "name": "Acme Corp", "attributes": {"businessType": "retail"}, "optOuts": ["notifications"]
})))]
pub struct TenantInput {
    /// Display name; defaults to the id.
    pub name: Option<String>,
    /// Attributes that sync rules can filter on; default empty.
    #[serde(default)]
    #[cfg_attr(test, schema(value_type = Object))]
    pub attributes: Map<String, Value>,
    /// Namespaces opted out of (selective sync), each a namespace name; default none.
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
    lifecycle: String,
    incarnation: String,
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
            lifecycle: row.lifecycle,
            incarnation: row.incarnation,
        })
    }
}

const SELECT: &str =
    "SELECT id, name, attributes, opt_outs, created_at, updated_at, lifecycle, incarnation
     FROM tenants";

/// The D1 database.
pub fn db(env: &Env) -> Result<D1Database, ApiError> {
    Ok(env.d1(D1_BINDING)?)
}

/// Reads one tenant's registry row whatever its lifecycle (one being deleted included).
pub async fn find_any(env: &Env, id: &str) -> Result<Option<Tenant>, ApiError> {
    let row: Option<TenantRow> = db(env)?
        .prepare(format!("{SELECT} WHERE id = ?1"))
        .bind(&[JsValue::from_str(id)])?
        .first(None)
        .await?;
    row.map(Tenant::try_from).transpose()
}

/// Reads one tenant, if registered and not being deleted. One whose registration a crash
/// cut short is finished first (if that fails, the tenant is still answered: the platform
/// hub's alarm finishes it).
pub async fn find(env: &Env, id: &str) -> Result<Option<Tenant>, ApiError> {
    let Some(mut tenant) = find_any(env, id).await? else {
        return Ok(None);
    };
    match tenant.lifecycle.as_str() {
        DELETING => Ok(None),
        REGISTERING => {
            if let Err(e) =
                lifecycle_steps::finish_registration(env, &db(env)?, &tenant.entry()).await
            {
                worker::console_error!("finishing the registration of '{id}' failed: {e}");
            } else {
                tenant.lifecycle = lifecycle_steps::ACTIVE.to_owned();
            }
            Ok(Some(tenant))
        }
        _ => Ok(Some(tenant)),
    }
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
        .prepare(format!(
            "{SELECT} WHERE lifecycle != 'deleting' ORDER BY id"
        ))
        .all()
        .await?
        .results()?;
    rows.into_iter().map(Tenant::try_from).collect()
}

/// How often a `PUT` finishes a deletion it finds under way before giving up (a deletion
/// racing each attempt).
const PUT_ATTEMPTS: usize = 3;

/// Creates or updates a tenant. Answers 201 on creation (also to a retry that finds its
/// creation unfinished, which it finishes), 200 on update.
pub async fn put(env: &Env, id: &str, input: TenantInput) -> Result<Response, ApiError> {
    for namespace in &input.opt_outs {
        crate::input::namespace("optOuts namespace", namespace)?;
    }
    let name = input.name.clone().unwrap_or_else(|| id.to_owned());
    let attributes = serde_json::to_string(&input.attributes)?;
    let opt_outs = serde_json::to_string(&input.opt_outs)?;
    let db = db(env)?;
    for _ in 0..PUT_ATTEMPTS {
        let before = find_any(env, id).await?;
        if let Some(old) = before.as_ref().filter(|t| t.lifecycle == DELETING) {
            // A deletion a crash cut short: finish it, then create the tenant anew.
            lifecycle_steps::finish_deletion(env, &db, &old.entry(), None).await?;
            continue;
        }
        let now = worker::js_sys::Date::now();
        if before.is_none() {
            // The alarm that finishes this registration if the request does not.
            crate::hubs::watch_lifecycles(env).await?;
        }
        db.prepare(
            "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at,
                                  lifecycle, incarnation, lifecycle_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'registering', ?6, ?5)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, attributes = excluded.attributes,
               opt_outs = excluded.opt_outs, updated_at = excluded.updated_at",
        )
        .bind(&[
            JsValue::from_str(id),
            JsValue::from_str(&name),
            JsValue::from_str(&attributes),
            JsValue::from_str(&opt_outs),
            JsValue::from_f64(now),
            JsValue::from_str(&lifecycle_steps::new_incarnation(now as u64)),
        ])?
        .run()
        .await?;
        let tenant = find_any(env, id)
            .await?
            .ok_or_else(|| ApiError::TenantNotFound(id.to_owned()))?;
        match tenant.lifecycle.as_str() {
            DELETING => continue,
            REGISTERING => return finish_creation(env, &db, tenant).await,
            _ => {
                let changed = before.as_ref().is_some_and(|b| {
                    b.attributes != tenant.attributes || b.opt_outs != tenant.opt_outs
                });
                if changed {
                    // Opting back in, or attributes a rule's filter now accepts: the tenant
                    // converges with the platform layers it missed.
                    crate::convergence::queue(env, crate::convergence::TENANT_CHANGED, Some(id))
                        .await;
                }
                return Ok(Response::from_json(&tenant)?.with_status(200));
            }
        }
    }
    Err(ApiError::Internal(format!(
        "tenant '{id}' was being deleted at each of {PUT_ATTEMPTS} attempts to create it"
    )))
}

/// Finishes a registration for the `PUT` that found it unfinished, and answers 201. A new
/// tenant starts from the platform as it is now; if catching up fails the tenant still
/// exists, the answer says so, and the next read or write, or the platform hub's alarm,
/// finishes it.
async fn finish_creation(
    env: &Env,
    db: &D1Database,
    mut tenant: Tenant,
) -> Result<Response, ApiError> {
    lifecycle_steps::crash_point(env, "register:after-registry", &tenant.id)?;
    let finished = lifecycle_steps::finish_registration(env, db, &tenant.entry()).await;
    if finished.is_ok() {
        tenant.lifecycle = lifecycle_steps::ACTIVE.to_owned();
    }
    let mut body = serde_json::to_value(&tenant)?;
    match finished {
        Ok(ack) => body["platformSeq"] = ack.platform_seq.into(),
        Err(e) if lifecycle_steps::is_crash(&e) => return Err(e.into()),
        Err(e) => {
            body["syncError"] = cascade_durable::message::short_message(&e.to_string()).into()
        }
    }
    Ok(Response::from_json(&body)?.with_status(201))
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
