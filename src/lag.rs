//! Tenants that lag the platform: reads say so and start the tenant's catch-up; writes carry
//! the platform's settled seq so the hub catches up before it takes them.
//!
//! A tenant misses a platform update when its delivery failed (the fan-out retries a few
//! times, then leaves it to the health check) or it was registered behind the API's back.
//! Rather than waiting for the five-minute health check, every read and write compares the
//! tenant's applied platform seq with the platform's. Two figures come from the platform hub
//! (`GET /seq`), asked at most once a second per isolate:
//!
//! - the **latest** seq: a read of a tenant behind it answers `platformBehind`;
//! - the **settled** seq, up to which every fan-out has finished: only a tenant behind it has
//!   missed a delivery and is caught up by the request. One behind the latest alone is still
//!   being delivered to; catching it up from the read would race the fan-out (and lose the
//!   delivery's propagation time).

use std::cell::Cell;

use worker::{Context, Env, Method};

use crate::hubs::Hub;
use crate::problem::ApiError;

/// How long an isolate reuses the platform's latest seq.
const LATEST_TTL_MS: f64 = 1000.0;

thread_local! {
    /// The platform's seqs and when they were read (Unix ms).
    static LATEST: Cell<Option<(PlatformSeqs, f64)>> = const { Cell::new(None) };
}

/// The platform's seqs, as its hub answers `GET /seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSeqs {
    /// The latest platform seq.
    pub platform_seq: u64,
    /// The highest seq whose fan-out (and every earlier one) has finished.
    pub settled_seq: u64,
}

/// The platform's seqs, at most [`LATEST_TTL_MS`] old.
pub async fn platform_latest(env: &Env) -> Result<PlatformSeqs, ApiError> {
    let now = worker::js_sys::Date::now();
    if let Some((seqs, at)) = LATEST.with(Cell::get) {
        if now - at < LATEST_TTL_MS {
            return Ok(seqs);
        }
    }
    let seqs: PlatformSeqs = Hub::platform(env)?
        .call::<(), _>(Method::Get, "/seq", None)
        .await?;
    LATEST.with(|c| c.set(Some((seqs, now))));
    Ok(seqs)
}

/// How many platform updates a tenant at `applied` lacks, when it lacks any.
#[must_use]
pub fn behind(applied: u64, latest: u64) -> Option<u64> {
    (latest > applied).then(|| latest - applied)
}

/// Starts the catch-up of a lagging tenant after the answer has left (the read does not wait
/// for it; a failure is logged and left to the next request or the health check).
pub fn catch_up_later(ctx: &Context, env: &Env, tenant: &str) {
    let (env, tenant) = (env.clone(), tenant.to_owned());
    ctx.wait_until(async move {
        if let Err(e) = crate::tenants::sync_hub(&env, &tenant).await {
            worker::console_warn!(
                "catch-up of lagging tenant {tenant} failed: {}",
                e.to_problem().detail
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_behind_the_platform_lacks_the_difference() {
        assert_eq!(behind(3, 5), Some(2));
        assert_eq!(behind(5, 5), None);
        assert_eq!(
            behind(6, 5),
            None,
            "a cached latest may be older than the tenant"
        );
    }
}
