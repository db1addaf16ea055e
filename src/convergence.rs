//! Queuing convergence after a change that may make tenants governed differently: a rule
//! written or deleted, a tenant's attributes or opt-outs changed. The platform hub works the
//! job durably (`cascade_durable::converge_walk`).
//!
//! The change itself is already stored in D1 when the job is queued. If queuing fails (the
//! platform hub unreachable), the change still stands and the answer does not fail: the
//! error is logged, and the next health check finds the tenants whose copies differ and
//! converges those the rules require (`behind` drift).

use cascade_durable::converge_walk::Enqueue;
use serde_json::Value;
use worker::Env;

use crate::hubs::Hub;

/// Cause of a job queued after a rule changed.
pub const RULE_CHANGED: &str = "rule-changed";
/// Cause of a job queued after a tenant's attributes or opt-outs changed.
pub const TENANT_CHANGED: &str = "tenant-changed";

/// Queues a convergence of `tenant` (or of every tenant); see the module docs.
pub async fn queue(env: &Env, cause: &str, tenant: Option<&str>) {
    let job = Enqueue {
        cause: cause.to_owned(),
        tenant: tenant.map(str::to_owned),
    };
    let queued = match Hub::platform(env) {
        Ok(hub) => hub
            .call::<_, Value>(worker::Method::Post, "/converge", Some(&job))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = queued {
        worker::console_error!(
            "convergence after {cause} not queued (the health check will heal): {}",
            e.to_problem().detail
        );
    }
}
