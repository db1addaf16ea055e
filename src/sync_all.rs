//! `POST /v1/sync`: manual sync of every tenant. Each tenant's hub catches up with the
//! platform (as `POST /v1/tenants/{tenant}/sync` does for one); the answer has one line per
//! tenant and totals. A tenant that fails never stops the others.
//!
//! [`sync_each`] is the batched catch-up shared with the health check's self-healing.

use cascade_durable::internal::DeliveryAck;
use cascade_protocol::Problem;
use futures::future::join_all;
use serde::Serialize;
use worker::{Env, Response};

use crate::health::STATUS_BATCH;
use crate::problem::ApiError;
use crate::tenants;

/// One tenant's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSync {
    /// Tenant id.
    pub tenant: String,
    /// Platform updates applied by this sync (absent on error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<u64>,
    /// The platform sequence the tenant is at now (absent on error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_seq: Option<u64>,
    /// Why this tenant could not be synced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// Totals over all tenants.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Tenants asked.
    pub tenants: u64,
    /// Tenants synced.
    pub synced: u64,
    /// Tenants that failed.
    pub failed: u64,
    /// Platform updates applied, over all tenants.
    pub applied: u64,
}

/// The answer of `POST /v1/sync`.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// Every tenant's line, in id order.
    pub tenants: Vec<TenantSync>,
    /// Totals.
    pub totals: Totals,
}

/// Asks each tenant's hub to catch up with the platform, [`STATUS_BATCH`] hubs at a time;
/// one result per id, in order.
pub async fn sync_each(env: &Env, ids: &[String]) -> Vec<Result<DeliveryAck, ApiError>> {
    let mut results = Vec::with_capacity(ids.len());
    for batch in ids.chunks(STATUS_BATCH) {
        results.extend(join_all(batch.iter().map(|id| tenants::sync_hub(env, id))).await);
    }
    results
}

/// Builds the report from each tenant's result.
pub fn report(ids: Vec<String>, results: Vec<Result<DeliveryAck, ApiError>>) -> SyncReport {
    let mut totals = Totals::default();
    let tenants = ids
        .into_iter()
        .zip(results)
        .map(|(tenant, result)| {
            totals.tenants += 1;
            match result {
                Ok(ack) => {
                    totals.synced += 1;
                    totals.applied += ack.applied;
                    TenantSync {
                        tenant,
                        applied: Some(ack.applied),
                        platform_seq: Some(ack.platform_seq),
                        error: None,
                    }
                }
                Err(e) => {
                    totals.failed += 1;
                    TenantSync {
                        tenant,
                        applied: None,
                        platform_seq: None,
                        error: Some(e.to_problem()),
                    }
                }
            }
        })
        .collect();
    SyncReport { tenants, totals }
}

/// Serves `POST /v1/sync`.
pub async fn sync_all(env: &Env) -> Result<Response, ApiError> {
    let ids: Vec<String> = tenants::list(env)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let results = sync_each(env, &ids).await;
    Ok(Response::from_json(&report(ids, results))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_is_counted_and_reported_without_hiding_the_others() {
        let ids = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let results = vec![
            Ok(DeliveryAck {
                platform_seq: 4,
                applied: 2,
            }),
            Err(ApiError::TenantNotFound("b".into())),
            Ok(DeliveryAck {
                platform_seq: 4,
                applied: 0,
            }),
        ];
        let report = report(ids, results);
        assert_eq!(
            (
                report.totals.tenants,
                report.totals.synced,
                report.totals.failed,
                report.totals.applied
            ),
            (3, 2, 1, 2)
        );
        assert_eq!(
            report.tenants[1].error.as_ref().map(|p| p.status),
            Some(404)
        );
        assert_eq!(report.tenants[2].platform_seq, Some(4));
    }
}
