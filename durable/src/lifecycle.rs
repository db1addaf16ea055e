//! A tenant hub's life: *live* while it serves a registered tenant, *erased* (a tombstone in
//! otherwise empty storage) once the tenant is deleted.
//!
//! Why: a platform fan-out delivers from a snapshot of the tenants taken when its job
//! started, so it may reach a tenant deleted since. Addressing a Durable Object by name
//! creates it, so without a guard the delivery would rebuild a half-created hub (a copy of
//! the platform layers, history rows) for a tenant that no longer exists. The rule:
//!
//! - Erasure closes the sockets, deletes the alarm and all storage, and leaves only a
//!   tombstone ([`erase`]).
//! - A platform delivery to an erased hub is refused with 410 ([`gone`]) and writes nothing;
//!   the fan-out skips that tenant ([`admit_delivery`]). A hub that is neither live nor
//!   erased has never served anyone: its tenant was registered when the snapshot was taken
//!   (the Worker deletes the registry row *before* erasing), so it becomes live and applies.
//! - Calls the Worker makes after reading the tenant's registry row (writes, operations,
//!   sync, including the sync that follows a re-creation) make the hub live again
//!   ([`mark_live`]), clearing the tombstone: a re-created tenant starts from `seq` 0.
//! - An erasure can run *while* a delivery awaits the platform hub (a Durable Object serves
//!   other requests during such I/O). So each platform update is applied only if the hub is
//!   live at that synchronous moment: a delete racing a fan-out leaves either the whole
//!   tenant (which the erasure then wipes) or nothing but the tombstone.
//!
//! The check lives in the hub, not in the fan-out, because only the hub can decide
//! atomically with its own writes; a D1 look-up in the fan-out would always leave a window.

use cascade_protocol::Problem;
use worker::{Result, State};

use crate::store::{Meta, Store};

/// WebSocket close code sent to a deleted tenant's clients (application range 4000-4999;
/// 4410 mirrors HTTP 410 Gone).
pub const ERASED_CLOSE_CODE: u16 = 4410;
/// WebSocket close reason sent to a deleted tenant's clients.
pub const ERASED_CLOSE_REASON: &str = "tenant deleted";

/// Whether the hub serves a registered tenant.
pub fn is_live(store: &Store) -> Result<bool> {
    Ok(store.meta(Meta::Live)?.is_some())
}

/// Marks the hub as serving a registered tenant, clearing any tombstone (synchronous; part
/// of the caller's write).
pub fn mark_live(store: &Store) -> Result<()> {
    if !is_live(store)? {
        store.delete_meta(Meta::Erased)?;
        store.set_meta(Meta::Live, "1")?;
    }
    Ok(())
}

/// Whether a platform delivery may be applied (see the module docs); a hub that never
/// served anyone becomes live.
pub fn admit_delivery(store: &Store) -> Result<bool> {
    if is_live(store)? {
        return Ok(true);
    }
    if store.meta(Meta::Erased)?.is_some() {
        return Ok(false);
    }
    mark_live(store)?;
    Ok(true)
}

/// Makes the hub serve the tenant incarnation `incarnation` (sent with the `/sync` that
/// registration and every manual sync make). A hub still holding another incarnation's state
/// is what a deletion left before it could erase it: that state belongs to a deleted tenant,
/// so it is erased first, and the re-created tenant starts from `seq` 0.
pub async fn adopt_incarnation(state: &State, store: &Store, incarnation: &str) -> Result<()> {
    if let Some(mine) = store.meta(Meta::Incarnation)? {
        if mine != incarnation {
            erase(state, store).await?;
        }
    }
    store.set_meta(Meta::Incarnation, incarnation)
}

/// The 410 answered to a platform delivery for a deleted tenant.
pub fn gone(tenant: &str) -> Problem {
    Problem::new(
        410,
        "CASCADE:Tenant:Gone",
        "Gone",
        format!("tenant '{tenant}' was deleted: platform update not applied"),
    )
}

/// Erases the hub: closes every socket with [`ERASED_CLOSE_CODE`], deletes the alarm and all
/// storage, then recreates the empty schema (so this instance keeps serving) with only the
/// tombstone in it. Returns how many sockets were closed.
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
    store.set_meta(
        Meta::Erased,
        &format!("{}", worker::js_sys::Date::now() as u64),
    )?;
    // An alarm armed by a request that ran during the awaits above would find nothing to do.
    if storage.get_alarm().await?.is_some() {
        storage.delete_alarm().await?;
    }
    Ok(sockets.len())
}
