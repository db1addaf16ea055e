//! A tenant hub's life: it becomes *live* when the Worker first calls it for a registered
//! tenant, and is *erased* when the tenant is deleted.
//!
//! Why a "live" marker: a platform fan-out delivers from a snapshot of the tenants taken when
//! its job started, so it may reach a tenant deleted since. Addressing a Durable Object by
//! name creates it, so without a guard the delivery would build a half-created hub (a copy
//! of the platform layers, history rows) for a tenant that no longer exists. Instead:
//!
//! - The Worker only calls a hub after reading the tenant's registry row in D1, so those
//!   calls (writes, operations, sync) mark the hub live ([`mark_live`]).
//! - Erasure wipes the storage, marker included, so an erased hub is not live.
//! - A platform delivery to a hub that is not live asks D1 whether the tenant exists; if not
//!   it is refused with 410 ([`gone`]), writing nothing, and the fan-out skips the tenant.
//!   If the tenant exists (a hub from before this marker, or a tenant registered straight in
//!   D1) the hub becomes live and applies the update.
//! - An erasure can run *while* a delivery awaits D1 or the platform hub (a Durable Object
//!   serves other requests during such I/O). Every platform update is therefore applied only
//!   if the hub is live at that synchronous moment, and a delivery that saw an erasure happen
//!   during its D1 look-up (the in-memory erasure count moved) is refused too. So a delete
//!   racing a fan-out leaves either the whole tenant (then erased by the delete) or nothing.
//!
//! The Worker deletes the registry row *before* erasing the hub, so any delivery that starts
//! after the erasure finds no row.

use cascade_protocol::Problem;
use worker::{Result, State};

use crate::store::Store;

/// Meta key set once the Worker has called the hub for a registered tenant.
const LIVE: &str = "live";

/// WebSocket close code sent to a deleted tenant's clients (application range 4000-4999;
/// 4410 mirrors HTTP 410 Gone).
pub const ERASED_CLOSE_CODE: u16 = 4410;
/// WebSocket close reason sent to a deleted tenant's clients.
pub const ERASED_CLOSE_REASON: &str = "tenant deleted";

/// Whether the hub holds a registered tenant's state.
pub fn is_live(store: &Store) -> Result<bool> {
    Ok(store.meta(LIVE)?.is_some())
}

/// Marks the hub as serving a registered tenant (synchronous; part of the caller's write).
pub fn mark_live(store: &Store) -> Result<()> {
    if !is_live(store)? {
        store.set_meta(LIVE, "1")?;
    }
    Ok(())
}

/// The 410 answered to a platform delivery for a tenant that is not (or no longer) registered.
pub fn gone(tenant: &str) -> Problem {
    Problem::new(
        410,
        "CASCADE:Tenant:Gone",
        "Gone",
        format!("tenant '{tenant}' is not registered (deleted?): platform update not applied"),
    )
}

/// Erases the hub: closes every socket with [`ERASED_CLOSE_CODE`], deletes the alarm and all
/// storage, then recreates the empty schema so this instance keeps serving (a re-created
/// tenant starts from `seq` 0). Returns how many sockets were closed.
pub async fn erase(state: &State, store: &Store) -> Result<usize> {
    let sockets = state.get_websockets();
    for ws in &sockets {
        if let Err(e) = ws.close(Some(ERASED_CLOSE_CODE), Some(ERASED_CLOSE_REASON)) {
            worker::console_warn!("closing a socket of an erased hub: {e}");
        }
    }
    let storage = state.storage();
    storage.delete_alarm().await?;
    storage.delete_all().await?;
    store.create_schema()?;
    // An alarm armed by a request that ran during the awaits above would find nothing to do;
    // none is wanted after an erasure.
    if storage.get_alarm().await?.is_some() {
        storage.delete_alarm().await?;
    }
    Ok(sockets.len())
}
