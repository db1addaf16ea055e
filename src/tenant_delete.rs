//! `DELETE /v1/tenants/{tenant}`: erases a tenant for good.
//!
//! A durable, resumable sequence (`cascade_durable::lifecycle_steps`): the registry row is
//! marked `deleting` first (from then on the tenant is not found, a platform fan-out that
//! starts now skips it, and one already delivering is refused by the erased hub: see
//! `cascade_durable::lifecycle`); then the tenant's hub is erased (its sockets closed with
//! close code 4410, its alarm and all its storage deleted); then this incarnation's history
//! rows in D1 (after the erasure, so rows the hub's outbox flushed meanwhile go too); then the
//! row. Every step is idempotent; a retried `DELETE` that finds the row `deleting` finishes the
//! steps left and answers 204, and the platform hub's alarm, armed before the first step,
//! finishes them when nobody retries. Opt-outs and attributes live in the registry row; sync
//! rules are platform-wide and stay. Health snapshots already taken are a record of the past
//! and keep their line for the tenant. A re-created tenant with the same id is a new
//! incarnation: it starts empty, and its history rows never collide with the deleted one's.
//!
//! Guards: `If-Match` takes the tenant's `ETag` (from `GET /v1/tenants/{tenant}`, derived from
//! `updatedAt`), so a delete does not race an update unseen (a deletion already under way is
//! finished whatever it carries); `Idempotency-Key` is remembered by the erased hub, so a
//! retry of a delete that succeeded answers 204 again (`Idempotent-Replayed: true`) instead
//! of 404.

use cascade_durable::internal::Erased;
use cascade_durable::lifecycle_steps::{self, DELETING};
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
    let Some(tenant) = tenants::find_any(env, id).await? else {
        if let Some(key) = &guard.idempotency_key {
            if erased_under(env, id, key).await? {
                return no_content(true);
            }
        }
        return Err(ApiError::TenantNotFound(id.to_owned()));
    };
    let db = tenants::db(env)?;
    if tenant.lifecycle != DELETING {
        if let Some(expected) = guard.if_match {
            if expected != tenant.updated_at {
                return Err(ApiError::TenantChanged {
                    tenant: id.to_owned(),
                    etag: tenant_etag(&tenant),
                });
            }
        }
        // The alarm that finishes this deletion if the request does not.
        crate::hubs::watch_lifecycles(env).await?;
        db.prepare(
            "UPDATE tenants SET lifecycle = 'deleting', lifecycle_at = ?3
             WHERE id = ?1 AND incarnation = ?2",
        )
        .bind(&[
            JsValue::from_str(id),
            JsValue::from_str(&tenant.incarnation),
            JsValue::from_f64(worker::js_sys::Date::now()),
        ])?
        .run()
        .await?;
    }
    lifecycle_steps::crash_point(env, "delete:after-mark", id)?;
    let mut entry = tenant.entry();
    entry.lifecycle = DELETING.to_owned();
    lifecycle_steps::finish_deletion(env, &db, &entry, guard.idempotency_key.as_deref()).await?;
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
