//! Tells the platform admins' room when a tenant's sync status changes, so their tenant
//! table moves when a tenant gets a pending change or a conflict, not only after the next
//! health check.
//!
//! After each commit the tenant hub compares its status class and open-item counts (the
//! [`StatusKey`]) with the last it reported (`Meta::ReportedStatus`, one meta row) and, only
//! when they differ, posts its `TenantSyncStatus` to the platform hub (`POST /tenant-status`),
//! which sends it as a `sync-status` frame (`scope: "tenant"`) to `platform:admins`. A commit
//! that leaves the status as it was (most writes) costs one meta read and sends nothing. The
//! post runs after the commit's answer, under `waitUntil`; when it fails the next health
//! check's summary still carries the tenant's state.

use cascade_protocol::TenantSyncStatus;
use worker::{Env, Method, Request, Result, State};

use crate::internal::{BASE_URL, HUB_NAME_HEADER};
use crate::platform_hub::PLATFORM_HUB_NAME;
use crate::store::{Meta, Store};

/// What the platform admins' table shows of a tenant's status, as one comparable string:
/// `{status}/{pendingChanges}/{openConflicts}`. The `seq` is left out: it moves on every
/// write, and reporting it would send a frame per write.
pub fn status_key(status: &TenantSyncStatus) -> String {
    format!(
        "{}/{}/{}",
        status.status, status.pending_changes, status.open_conflicts
    )
}

/// Whether `status` differs from what this hub last reported to the platform admins; if so,
/// records it as reported (so concurrent commits do not report it twice).
pub(crate) fn take_change(store: &Store, status: &TenantSyncStatus) -> Result<bool> {
    let key = status_key(status);
    if store.meta(Meta::ReportedStatus)?.as_deref() == Some(key.as_str()) {
        return Ok(false);
    }
    store.set_meta(Meta::ReportedStatus, &key)?;
    Ok(true)
}

/// Posts `status` to the platform hub once the current request is answered.
pub(crate) fn report(state: &State, env: Env, status: TenantSyncStatus) {
    state.wait_until(async move {
        if let Err(e) = post(&env, &status).await {
            worker::console_warn!(
                "tenant status of {} not reported to the platform admins: {e}",
                status.tenant
            );
        }
    });
}

async fn post(env: &Env, status: &TenantSyncStatus) -> Result<()> {
    let platform = env
        .durable_object("PLATFORM_HUB")?
        .get_by_name(PLATFORM_HUB_NAME)?;
    let headers = worker::Headers::new();
    headers.set(HUB_NAME_HEADER, PLATFORM_HUB_NAME)?;
    headers.set("content-type", "application/json")?;
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(status)?.into()));
    let resp = platform
        .fetch_with_request(Request::new_with_init(
            &format!("{BASE_URL}/tenant-status"),
            &init,
        )?)
        .await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "platform hub answered {}",
            resp.status_code()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: &str, seq: u64, pending: u64) -> TenantSyncStatus {
        TenantSyncStatus {
            tenant: "acme".into(),
            status: cascade_protocol::SyncState::parse(status).expect("a state"),
            seq,
            platform_seq: 1,
            pending_changes: pending,
            open_conflicts: 0,
        }
    }

    #[test]
    fn a_write_that_moves_only_the_seq_keeps_the_key() {
        assert_eq!(
            status_key(&status("success", 3, 0)),
            status_key(&status("success", 9, 0))
        );
        assert_ne!(
            status_key(&status("success", 3, 0)),
            status_key(&status("partial", 4, 1))
        );
        assert_ne!(
            status_key(&status("partial", 4, 1)),
            status_key(&status("partial", 5, 2))
        );
    }
}
