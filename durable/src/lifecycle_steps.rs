//! Registering and deleting a tenant as durable, resumable sequences.
//!
//! Each is several steps on different stores (the D1 registry row, the tenant's hub, its
//! history in D1) that a crash can cut between any two. So the registry row records where the
//! tenant stands (`lifecycle`: `registering`, `active`, `deleting`) and which creation of the
//! id it is (`incarnation`), every step is idempotent, and whoever finds a row that is not
//! `active` finishes the sequence from wherever it stopped:
//!
//! - registration: row inserted as `registering` with a new incarnation → the hub adopts the
//!   incarnation and catches up with the platform (`POST /sync`) → row `active`;
//! - deletion: row marked `deleting` → hub erased (`POST /erase`) → the incarnation's history
//!   rows deleted from D1 → row deleted.
//!
//! The finishers here are run by the Worker for the request (a retried `PUT` or `DELETE`
//! resumes the sequence its first attempt left) and by the platform hub's alarm
//! ([`sweep`]), which the Worker arms ([`crate::store::Meta::LifecycleWatch`]) *before* the
//! first durable step, so a sequence finishes even if nobody retries.
//!
//! Tests stop a sequence at a named point ([`crash_point`]): when the Worker variable
//! [`CRASH_AT_VAR`] names it, the step fails there and nothing after it runs, as if the runtime
//! had been killed; the end-to-end test (`tests/lifecycle.rs`) then kills the runtime with
//! SIGKILL and restarts it on the same state without the variable. The variable is never set
//! outside tests.

use std::time::Duration;

use serde_json::json;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env, Method, Result};

use crate::internal::{DeliveryAck, HubContext};
use crate::registry::{self, Entry};
use crate::walk;

/// A registry row whose registration is not finished.
pub const REGISTERING: &str = "registering";
/// A registry row of a fully created tenant.
pub const ACTIVE: &str = "active";
/// A registry row whose deletion is not finished.
pub const DELETING: &str = "deleting";

/// Worker variable naming the steps at which a test stops a sequence: a comma-separated list
/// of points (`register:after-registry`, `register:after-hub`, `delete:after-mark`,
/// `delete:after-erase`, `delete:after-history`), each for every tenant or, as
/// `point@tenant`, for one.
pub const CRASH_AT_VAR: &str = "CASCADE_TEST_CRASH_AT";

/// Worker variable: how long (ms) a sequence may sit unfinished before the alarm finishes it
/// (default [`SWEEP_GRACE`]).
pub const SWEEP_GRACE_VAR: &str = "LIFECYCLE_SWEEP_GRACE_MS";

/// How long a sequence may sit unfinished before the alarm finishes it, by default (a
/// request still running it would otherwise race the alarm; the race is harmless, every step
/// being idempotent, but wasteful).
pub const SWEEP_GRACE: Duration = Duration::from_secs(2);

/// The grace period in force ([`SWEEP_GRACE_VAR`], else [`SWEEP_GRACE`]).
#[must_use]
pub fn sweep_grace(env: &Env) -> Duration {
    env.var(SWEEP_GRACE_VAR)
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
        .map_or(SWEEP_GRACE, Duration::from_millis)
}

/// Most unfinished sequences one alarm run finishes.
const SWEEP_PAGE: u32 = 20;

/// Fails with a recognisable error when the test variable names `point` for `tenant` (see
/// the module docs).
pub fn crash_point(env: &Env, point: &str, tenant: &str) -> Result<()> {
    let Ok(value) = env.var(CRASH_AT_VAR) else {
        return Ok(());
    };
    if crash_listed(&value.to_string(), point, tenant) {
        worker::console_error!("test crash point {point}@{tenant} reached");
        return Err(worker::Error::RustError(format!(
            "test crash point {point}@{tenant} reached"
        )));
    }
    Ok(())
}

/// Whether the [`CRASH_AT_VAR`] list names `point` for `tenant`.
fn crash_listed(list: &str, point: &str, tenant: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|entry| match entry.split_once('@') {
            Some((p, t)) => p == point && t == tenant,
            None => entry == point,
        })
}

/// Whether `error` is a [`crash_point`]'s.
#[must_use]
pub fn is_crash(error: &worker::Error) -> bool {
    error.to_string().starts_with("test crash point ")
}

/// A new incarnation id: the creation time and 48 random bits, in hex.
#[must_use]
pub fn new_incarnation(now_ms: u64) -> String {
    let random = (worker::js_sys::Math::random() * 2f64.powi(48)) as u64;
    format!("{now_ms:x}-{random:012x}")
}

/// Finishes the registration of `entry` (a `registering` row): the hub adopts the
/// incarnation and catches up with the platform, then the row turns `active`.
pub async fn finish_registration(env: &Env, db: &D1Database, entry: &Entry) -> Result<DeliveryAck> {
    let (tenant, rules) = futures::join!(registry::tenant(db, &entry.id), registry::rules(db));
    let Some(tenant) = tenant? else {
        return Err(worker::Error::RustError(format!(
            "tenant '{}' is no longer registered",
            entry.id
        )));
    };
    let context = HubContext {
        tenant,
        rules: rules?,
        incarnation: Some(entry.incarnation.clone()),
        platform_seq: None,
    };
    let mut resp = walk::call_tenant(
        env,
        &entry.id,
        Method::Post,
        "/sync",
        Some(serde_json::to_string(&context)?),
    )
    .await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "tenant hub could not catch up (status {})",
            resp.status_code()
        )));
    }
    let ack: DeliveryAck = resp.json().await?;
    crash_point(env, "register:after-hub", &entry.id)?;
    db.prepare(
        "UPDATE tenants SET lifecycle = 'active', lifecycle_at = ?3
         WHERE id = ?1 AND incarnation = ?2 AND lifecycle = 'registering'",
    )
    .bind(&[
        JsValue::from_str(&entry.id),
        JsValue::from_str(&entry.incarnation),
        JsValue::from_f64(worker::js_sys::Date::now()),
    ])?
    .run()
    .await?;
    Ok(ack)
}

/// Finishes the deletion of `entry` (a `deleting` row): erases the hub (remembering
/// `idempotency_key` there), deletes the incarnation's history rows, then the row.
pub async fn finish_deletion(
    env: &Env,
    db: &D1Database,
    entry: &Entry,
    idempotency_key: Option<&str>,
) -> Result<()> {
    let body = json!({ "idempotencyKey": idempotency_key }).to_string();
    let resp = walk::call_tenant(env, &entry.id, Method::Post, "/erase", Some(body)).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "tenant hub could not be erased (status {})",
            resp.status_code()
        )));
    }
    crash_point(env, "delete:after-erase", &entry.id)?;
    let id = JsValue::from_str(&entry.id);
    let incarnation = JsValue::from_str(&entry.incarnation);
    db.prepare("DELETE FROM sync_events WHERE tenant_id = ?1 AND incarnation = ?2")
        .bind(&[id.clone(), incarnation.clone()])?
        .run()
        .await?;
    // The refused writes audited for the tenant (kept per tenant id, not per incarnation).
    db.prepare("DELETE FROM audit_refusals WHERE tenant_id = ?1")
        .bind(std::slice::from_ref(&id))?
        .run()
        .await?;
    crash_point(env, "delete:after-history", &entry.id)?;
    db.prepare("DELETE FROM tenants WHERE id = ?1 AND incarnation = ?2 AND lifecycle = 'deleting'")
        .bind(&[id, incarnation])?
        .run()
        .await?;
    Ok(())
}

/// Finishes the sequence `entry` is in (nothing for an `active` row).
pub async fn finish(env: &Env, db: &D1Database, entry: &Entry) -> Result<()> {
    match entry.lifecycle.as_str() {
        REGISTERING => finish_registration(env, db, entry).await.map(|_| ()),
        DELETING => finish_deletion(env, db, entry, None).await,
        _ => Ok(()),
    }
}

/// The platform hub alarm's part: finishes the unfinished sequences older than
/// [`sweep_grace`] (a page of them). Returns whether any sequence is still unfinished, so
/// the alarm comes back.
pub async fn sweep(env: &Env, now_ms: u64) -> Result<bool> {
    let db = env.d1(crate::core::D1_BINDING)?;
    let before = now_ms.saturating_sub(sweep_grace(env).as_millis() as u64);
    for entry in registry::unfinished(&db, before, SWEEP_PAGE).await? {
        if let Err(e) = finish(env, &db, &entry).await {
            worker::console_error!(
                "finishing the {} of tenant '{}' failed: {e}",
                entry.lifecycle,
                entry.id
            );
        }
    }
    registry::any_unfinished(&db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_points_are_listed_for_every_tenant_or_for_one() {
        let list = "delete:after-mark, register:after-hub@r2";
        assert!(crash_listed(list, "delete:after-mark", "anyone"));
        assert!(crash_listed(list, "register:after-hub", "r2"));
        assert!(!crash_listed(list, "register:after-hub", "r1"));
        assert!(!crash_listed(list, "register:after-registry", "r2"));
        assert!(!crash_listed("", "delete:after-mark", "d"));
    }
}
