//! `POST /v1/sync`: manual sync of every tenant, a page at a time. Each tenant's hub catches
//! up with the platform (as `POST /v1/tenants/{tenant}/sync` does for one); the answer has
//! one line per tenant of the page and the page's totals. A tenant that fails never stops
//! the others.
//!
//! One request syncs at most [`MAX_PAGE`] tenants (in id order, after the `after` cursor),
//! [`BATCH`] hubs at once, so it stays well inside a Worker invocation's subrequest limit
//! (1,000 on paid plans; each hub call counts) and never holds thousands of connections.
//! When tenants remain, the answer's `next` (and a `Link: <...>; rel="next"` header) names
//! the cursor to continue from; a client repeats `POST /v1/sync?after={next}` until `next`
//! is null. The cursor is the client's, so a sync-all interrupted anywhere resumes from the
//! last page it saw, and repeating a page is harmless (a tenant applies each platform
//! update once).

use cascade_durable::internal::{DeliveryAck, HubContext};
use cascade_durable::registry;
use cascade_durable::walk::BATCH;
use cascade_protocol::Problem;
use futures::future::join_all;
use serde::Serialize;
use worker::{Env, Method, Request, Response};

use crate::api_spec;
use crate::hubs::Hub;
use crate::problem::ApiError;
use crate::tenants;

/// Tenants per request when `limit` is not given, and the most a request may ask for.
pub const MAX_PAGE: u32 = 200;

/// One tenant's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"tenant": "acme", "applied": 2, "platformSeq": 7})))]
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
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"tenants": 2, "synced": 1, "failed": 1, "applied": 2})))]
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

/// The answer of `POST /v1/sync`: one page.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "tenants": [
        {"tenant": "acme", "applied": 2, "platformSeq": 7},
        {"tenant": "globex", "error": {"type": "about:blank", "title": "Bad Gateway", "status": 502,
            "detail": "catching up failed", "code": "CASCADE:Fanout:CatchUp"}}
    ],
    "totals": {"tenants": 2, "synced": 1, "failed": 1, "applied": 2},
    "next": "globex"
})))]
pub struct SyncReport {
    /// The page's tenants' lines, in id order.
    pub tenants: Vec<TenantSync>,
    /// Totals over the page.
    pub totals: Totals,
    /// The cursor to continue from (`POST /v1/sync?after={next}`), or null when this page
    /// reached the last tenant.
    #[cfg_attr(test, schema(required))]
    pub next: Option<String>,
}

/// Where a page starts and how many tenants it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Tenants with an id after this one (`""`: from the first).
    pub after: String,
    /// Tenants in the page, 1..=[`MAX_PAGE`].
    pub limit: u32,
}

impl Page {
    /// Reads `after` and `limit` from the query; anything else is refused.
    pub fn parse<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Self, ApiError> {
        let mut page = Page {
            after: String::new(),
            limit: MAX_PAGE,
        };
        for (key, value) in pairs {
            match key {
                api_spec::AFTER => {
                    page.after =
                        crate::input::name("after", value).map_err(|_| ApiError::BadQuery {
                            name: "after",
                            problem: format!("must be a tenant id, got '{value:.40}'"),
                        })?;
                }
                api_spec::LIMIT => {
                    page.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE).contains(n))
                        .ok_or_else(|| ApiError::BadQuery {
                            name: "limit",
                            problem: format!("must be 1..={MAX_PAGE}, got '{value:.40}'"),
                        })?;
                }
                _ => {
                    return Err(ApiError::BadQuery {
                        name: "query",
                        problem: format!("unknown parameter '{key:.40}' (use after, limit)"),
                    })
                }
            }
        }
        Ok(page)
    }
}

/// Asks each tenant's hub to catch up with the platform, [`BATCH`] hubs at a time; one
/// result per tenant, in order.
pub async fn sync_each(env: &Env, contexts: Vec<HubContext>) -> Vec<Result<DeliveryAck, ApiError>> {
    let mut results = Vec::with_capacity(contexts.len());
    for batch in contexts.chunks(BATCH) {
        results.extend(join_all(batch.iter().map(|c| sync_one(env, c))).await);
    }
    results
}

async fn sync_one(env: &Env, context: &HubContext) -> Result<DeliveryAck, ApiError> {
    Hub::tenant(env, &context.tenant.id)?
        .call(Method::Post, "/sync", Some(context))
        .await
}

/// Builds the report from each tenant's result.
pub fn report(
    ids: Vec<String>,
    results: Vec<Result<DeliveryAck, ApiError>>,
    next: Option<String>,
) -> SyncReport {
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
    SyncReport {
        tenants,
        totals,
        next,
    }
}

/// Serves `POST /v1/sync[?after=&limit=]`: one page of tenants, and `next` when more follow.
pub async fn sync_all(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let url = req.url()?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let page = Page::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let db = tenants::db(env)?;
    // One more than the page, to know whether another page follows; the rules once for the
    // page, instead of a registry read per tenant.
    let (found, rules) = futures::join!(
        registry::tenants_page(&db, &page.after, page.limit + 1),
        registry::rules(&db)
    );
    let mut found = found?;
    let rules = rules?;
    let more = found.len() > page.limit as usize;
    found.truncate(page.limit as usize);
    let next = more.then(|| found.last().map(|t| t.id.clone())).flatten();
    let ids: Vec<String> = found.iter().map(|t| t.id.clone()).collect();
    let contexts = found
        .into_iter()
        .map(|tenant| HubContext {
            tenant,
            rules: rules.clone(),
            incarnation: None,
            platform_seq: None,
        })
        .collect();
    let results = sync_each(env, contexts).await;
    let mut resp = Response::from_json(&report(ids, results, next.clone()))?;
    if let Some(next) = next {
        resp.headers_mut().set(
            "link",
            &format!("</v1/sync?after={next}&limit={}>; rel=\"next\"", page.limit),
        )?;
    }
    Ok(resp)
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
        let report = report(ids, results, Some("c".into()));
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
        assert_eq!(report.next.as_deref(), Some("c"));
    }

    #[test]
    fn pages_parse_and_refuse_what_they_do_not_know() {
        let parse = |pairs: &[(&str, &str)]| Page::parse(pairs.iter().copied());
        assert_eq!(
            parse(&[]).ok(),
            Some(Page {
                after: String::new(),
                limit: MAX_PAGE
            })
        );
        assert_eq!(
            parse(&[("after", "t0099"), ("limit", "3")]).ok(),
            Some(Page {
                after: "t0099".into(),
                limit: 3
            })
        );
        for bad in [
            &[("limit", "0")][..],
            &[("limit", "201")],
            &[("limit", "x")],
            &[("after", "../x")],
            &[("page", "2")],
        ] {
            assert!(
                matches!(parse(bad), Err(ApiError::BadQuery { .. })),
                "{bad:?}"
            );
        }
    }
}
