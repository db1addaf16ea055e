//! `DELETE /v1/tenants/{tenant}`: erases a tenant for good.
//!
//! In order: the registry row in D1 goes first (so a platform fan-out that starts now skips
//! the tenant, and one already delivering is refused by the hub: see
//! `cascade_durable::lifecycle`); then the tenant's hub is erased (its sockets closed with
//! close code 4410, its alarm and all its storage deleted); then its history rows in D1
//! (after the erasure, so rows the hub's outbox flushed meanwhile go too). Opt-outs and
//! attributes live in the registry row; sync rules are platform-wide and stay. Health
//! snapshots already taken are a record of the past and keep their line for the tenant.
//!
//! If the hub cannot be erased, the registry row is put back and the error answered, so the
//! `DELETE` can simply be retried. A re-created tenant with the same id starts empty.
//!
//! Guards: `If-Match` takes the tenant's `ETag` (from `GET /v1/tenants/{tenant}`, derived from
//! `updatedAt`), so a delete does not race an update unseen; `Idempotency-Key` is remembered by
//! the erased hub, so a retry of a delete that succeeded answers 204 again
//! (`Idempotent-Replayed: true`) instead of 404.

use cascade_durable::internal::Erased;
use serde_json::json;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Method, Request, Response};

use crate::config::header_guard as write_guard;
use crate::hubs::Hub;
use crate::problem::ApiError;
use crate::tenants::{self, Tenant};

/// The `ETag` of a tenant's registry entry (its `updatedAt` in milliseconds).
pub fn tenant_etag(tenant: &Tenant) -> String {
    crate::config::etag(tenant.updated_at)
}

/// Serves `DELETE /v1/tenants/{tenant}`: 204 once erased.
pub async fn delete(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    let guard = write_guard(req)?;
    let Some(tenant) = tenants::find(env, id).await? else {
        if let Some(key) = &guard.idempotency_key {
            if erased_under(env, id, key).await? {
                return no_content(true);
            }
        }
        return Err(ApiError::TenantNotFound(id.to_owned()));
    };
    if let Some(expected) = guard.if_match {
        if expected != tenant.updated_at {
            return Err(ApiError::TenantChanged {
                tenant: id.to_owned(),
                etag: tenant_etag(&tenant),
            });
        }
    }
    let db = tenants::db(env)?;
    db.prepare("DELETE FROM tenants WHERE id = ?1")
        .bind(&[JsValue::from_str(id)])?
        .run()
        .await?;
    let erased: Result<Erased, ApiError> = Hub::tenant(env, id)?
        .call(
            Method::Post,
            "/erase",
            Some(&json!({ "idempotencyKey": guard.idempotency_key })),
        )
        .await;
    if let Err(e) = erased {
        restore(env, &tenant).await?;
        return Err(e);
    }
    db.prepare("DELETE FROM sync_events WHERE tenant_id = ?1")
        .bind(&[JsValue::from_str(id)])?
        .run()
        .await?;
    db.prepare("DELETE FROM audit_refusals WHERE tenant_id = ?1")
        .bind(&[JsValue::from_str(id)])?
        .run()
        .await?;
    no_content(false)
}

/// Whether the tenant's hub was erased by a `DELETE` with this idempotency key.
async fn erased_under(env: &Env, id: &str, key: &str) -> Result<bool, ApiError> {
    let path = format!("/erasure?key={}", percent_encode(key));
    match Hub::tenant(env, id)?
        .call::<(), Erased>(Method::Get, &path, None)
        .await
    {
        Ok(_) => Ok(true),
        Err(ApiError::Hub(p)) if p.status == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Percent-encodes every byte but ASCII letters and digits (for a query value).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Puts a registry row back after a failed erasure.
async fn restore(env: &Env, tenant: &Tenant) -> Result<(), ApiError> {
    tenants::db(env)?
        .prepare(
            "INSERT OR IGNORE INTO tenants (id, name, attributes, opt_outs, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&[
            JsValue::from_str(&tenant.id),
            JsValue::from_str(&tenant.name),
            JsValue::from_str(&serde_json::to_string(&tenant.attributes)?),
            JsValue::from_str(&serde_json::to_string(&tenant.opt_outs)?),
            JsValue::from_f64(tenant.created_at as f64),
            JsValue::from_f64(tenant.updated_at as f64),
        ])?
        .run()
        .await?;
    Ok(())
}

fn no_content(replayed: bool) -> Result<Response, ApiError> {
    let mut resp = Response::empty()?.with_status(204);
    if replayed {
        resp.headers_mut().set("idempotent-replayed", "true")?;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_percent_encoded_for_the_query() {
        assert_eq!(percent_encode("order-42/retry&x"), "order%2D42%2Fretry%26x");
    }
}
