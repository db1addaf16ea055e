//! The audit of refused writes, and the request id every answer carries.
//!
//! A refused write (403 on an existing tenant, 409 locked path or conflict, 412 stale
//! `If-Match`, 422 a change the engine cannot take, 429 over the write budget) takes no seq
//! and no version, so it is not a history entry; it is recorded here, in D1's
//! `audit_refusals` (migration `0007_audit.sql`), with the caller's subject, role and the
//! request's id, and served newest first by `GET /v1/tenants/{tenant}/refusals`. Refused
//! platform writes (platform layers, sync rules, and events of a caller without a tenant) are
//! recorded the same way under [`PLATFORM_AUDIT_ID`] and served by
//! `GET /v1/platform/refusals`.
//!
//! Refusals cannot grow storage without bound: they are coalesced per tenant, subject, code
//! and minute (one row counting the repeats, keeping the first request's id and detail), so a
//! caller adds at most one row per code a minute however fast it is refused; rows are pruned
//! with the history (`HISTORY_RETENTION_DAYS`) and deleted with their tenant.

use cascade_durable::internal::Caller;
use cascade_protocol::Role;
use serde::{Deserialize, Serialize};
use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Env, Request, Response};

use crate::auth::Principal;
use crate::problem::ApiError;
use crate::routes::Endpoint;
use crate::{api_spec, input, tenants};

/// Header naming a request: read from the request (or `X-Request-Id`), made when absent, and
/// sent back on every answer.
pub const REQUEST_ID_HEADER: &str = "cascade-request-id";
/// The conventional alternative accepted on requests.
pub const X_REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest request id accepted from a client (a longer or non-ASCII one is replaced).
pub const MAX_REQUEST_ID_LEN: usize = 128;
/// Refusals of one tenant, subject and code within this many milliseconds share one row.
pub const COALESCE_WINDOW_MS: u64 = 60_000;
/// Where refused platform writes are recorded in `audit_refusals.tenant_id`: not a valid
/// tenant id (`*` is outside the id alphabet), so it never meets a tenant's rows.
pub const PLATFORM_AUDIT_ID: &str = "*platform";
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page.
pub const MAX_LIMIT: u32 = 500;
/// Longest `code` filter: longer than any problem code.
pub const MAX_CODE_LEN: usize = 100;

/// The request's id: the client's `Cascade-Request-Id` (or `X-Request-Id`) when it is 1 to
/// [`MAX_REQUEST_ID_LEN`] visible ASCII characters, else a new random one.
pub fn request_id(req: &Request) -> String {
    let given = [REQUEST_ID_HEADER, X_REQUEST_ID_HEADER]
        .into_iter()
        .find_map(|name| req.headers().get(name).ok().flatten());
    match given {
        Some(id) if is_valid_request_id(&id) => id,
        _ => new_request_id(),
    }
}

/// Whether a client's request id is kept as it is.
pub fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A random id from the runtime's `crypto.randomUUID()`.
fn new_request_id() -> String {
    let global = js_sys::global();
    let uuid = js_sys::Reflect::get(&global, &JsValue::from_str("crypto"))
        .ok()
        .and_then(|crypto| {
            let f = js_sys::Reflect::get(&crypto, &JsValue::from_str("randomUUID")).ok()?;
            f.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&crypto)
                .ok()?
                .as_string()
        });
    uuid.unwrap_or_else(|| {
        format!(
            "{:x}-{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64
        )
    })
}

/// The caller of an authenticated request.
pub fn caller(principal: &Principal, request_id: &str) -> Caller {
    Caller {
        sub: principal.sub.clone(),
        role: principal.role,
        request_id: request_id.to_owned(),
    }
}

/// Where the refusals of a write to `endpoint` are recorded: under the tenant it addresses
/// (`tenant`, or for a batch of events the caller's own, `caller_tenant`), under
/// [`PLATFORM_AUDIT_ID`] for platform writes, nowhere for reads and the registry.
pub fn audit_log(
    endpoint: Endpoint,
    tenant: Option<&str>,
    caller_tenant: Option<&str>,
) -> Option<String> {
    match endpoint {
        Endpoint::PutTenantConfig
        | Endpoint::PatchTenantConfig
        | Endpoint::PutUserConfig
        | Endpoint::PatchUserConfig
        | Endpoint::AcceptPending
        | Endpoint::RejectPending
        | Endpoint::ResolveConflict
        | Endpoint::Rollback => tenant.map(str::to_owned),
        // A batch names its tenant in the body: its refusals go to the caller's own tenant,
        // and a caller without one (a platform admin) writes at the platform.
        Endpoint::PostEvents => Some(
            tenant
                .or(caller_tenant)
                .unwrap_or(PLATFORM_AUDIT_ID)
                .to_owned(),
        ),
        Endpoint::PutPlatformConfig
        | Endpoint::PatchPlatformConfig
        | Endpoint::PlatformRollback
        | Endpoint::PutRule
        | Endpoint::DeleteRule => Some(PLATFORM_AUDIT_ID.to_owned()),
        _ => None,
    }
}

/// Whether a write refused with `status` is audited: refused on its merits (access,
/// locks, conflicts, versions, rate), not for a malformed request or a missing tenant.
pub fn is_audited_status(status: u16) -> bool {
    matches!(status, 403 | 409 | 412 | 422 | 429)
}

/// What is recorded of one refusal.
pub struct Refusal<'a> {
    /// The tenant written to.
    pub tenant: &'a str,
    /// Who, in which role, under which request.
    pub caller: &'a Caller,
    /// `METHOD /path` of the request.
    pub request: String,
    /// The namespace written, when the route names one.
    pub namespace: Option<&'a str>,
    /// The problem answered.
    pub problem: &'a cascade_protocol::Problem,
}

/// Records a refusal in D1 (coalesced, see the module docs), only if the tenant exists (or it
/// is the platform's, [`PLATFORM_AUDIT_ID`]).
pub async fn record(env: &Env, refusal: &Refusal<'_>, now: u64) -> Result<(), ApiError> {
    let window = now - now % COALESCE_WINDOW_MS;
    let opt = |s: Option<&str>| s.map_or(JsValue::NULL, JsValue::from_str);
    tenants::db(env)?
        .prepare(
            "INSERT INTO audit_refusals
               (tenant_id, subject, role, code, status, detail, request, namespace, request_id,
                window_start, created_at, last_at, count)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 1
             WHERE ?1 = ?12 OR EXISTS (SELECT 1 FROM tenants WHERE id = ?1)
             ON CONFLICT (tenant_id, subject, code, window_start)
             DO UPDATE SET count = count + 1, last_at = excluded.last_at",
        )
        .bind(&[
            JsValue::from_str(refusal.tenant),
            JsValue::from_str(&refusal.caller.sub),
            JsValue::from_str(refusal.caller.role.as_str()),
            JsValue::from_str(&refusal.problem.code),
            JsValue::from_f64(f64::from(refusal.problem.status)),
            JsValue::from_str(&refusal.problem.detail),
            JsValue::from_str(&refusal.request),
            opt(refusal.namespace),
            JsValue::from_str(&refusal.caller.request_id),
            JsValue::from_f64(window as f64),
            JsValue::from_f64(now as f64),
            JsValue::from_str(PLATFORM_AUDIT_ID),
        ])?
        .run()
        .await?;
    Ok(())
}

/// One page of refused writes, newest first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"entries": [], "nextBefore": null})))]
pub struct RefusalPage {
    /// The refusals, newest first.
    pub entries: Vec<RefusalEntry>,
    /// `before` for the next page; `null` on the last one.
    pub next_before: Option<u64>,
}

/// One refusal as listed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(as = Refusal, example = json!({
    "id": 7, "outcome": "refused", "status": 412, "code": "CASCADE:Config:VersionMismatch",
    "detail": "If-Match names version 3, the namespace is at version 4",
    "request": "PUT /v1/tenants/acme/config/auth", "namespace": "auth", "subject": "admin-1",
    "role": "tenant-admin", "requestId": "r-1", "count": 1,
    "createdAt": 1764720000000_u64, "lastAt": 1764720000000_u64
})))]
pub struct RefusalEntry {
    /// The refusal's id (its ordering key; refusals take no seq).
    pub id: u64,
    /// Always `refused`.
    #[cfg_attr(test, schema(value_type = String))]
    pub outcome: &'static str,
    /// HTTP status answered.
    pub status: u16,
    /// The problem's code.
    pub code: String,
    /// The problem's detail (of the first refusal the row counts).
    pub detail: String,
    /// `METHOD /path` of the (first) request.
    pub request: String,
    /// The namespace written, when the route names one.
    pub namespace: Option<String>,
    /// The caller's subject.
    pub subject: String,
    /// The caller's role.
    pub role: Role,
    /// The (first) request's id.
    pub request_id: String,
    /// How many refusals of this subject and code within the minute the row counts.
    pub count: u64,
    /// Unix ms of the first of them.
    pub created_at: u64,
    /// Unix ms of the last of them.
    pub last_at: u64,
}

#[derive(Deserialize)]
struct Row {
    id: f64,
    status: f64,
    code: String,
    detail: String,
    request: String,
    namespace: Option<String>,
    subject: String,
    role: Role,
    request_id: String,
    count: f64,
    created_at: f64,
    last_at: f64,
}

/// `GET /v1/tenants/{tenant}/refusals` (or, with [`PLATFORM_AUDIT_ID`],
/// `GET /v1/platform/refusals`): newest first, `limit` (1..=500), `before` (the previous
/// page's `nextBefore`), `namespace`, `code`.
pub async fn list(env: &Env, req: &Request, tenant: &str) -> Result<Response, ApiError> {
    let url = req.url()?;
    let bad = |name: &'static str, problem: String| ApiError::BadQuery { name, problem };
    let (mut limit, mut before, mut namespace, mut code) =
        (DEFAULT_LIMIT, u64::MAX >> 11, None, None);
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            api_spec::LIMIT => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "limit",
                            format!("must be 1..={MAX_LIMIT}, got '{value:.40}'"),
                        )
                    })?;
            }
            api_spec::BEFORE => {
                before = value.parse().map_err(|_| {
                    bad(
                        "before",
                        format!("must be a whole number, got '{value:.40}'"),
                    )
                })?;
            }
            api_spec::NAMESPACE => namespace = Some(input::namespace(api_spec::NAMESPACE, &value)?),
            api_spec::CODE => {
                if value.is_empty()
                    || value.len() > MAX_CODE_LEN
                    || !value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b':')
                {
                    return Err(bad(
                        "code",
                        "must be a problem code such as CASCADE:Rule:LockedPath".into(),
                    ));
                }
                code = Some(value.into_owned());
            }
            other => {
                return Err(bad(
                    "query",
                    format!("unknown parameter '{other:.40}' (use limit, before, namespace, code)"),
                ))
            }
        }
    }
    if tenant != PLATFORM_AUDIT_ID {
        tenants::require(env, tenant).await?;
    }
    let mut sql = String::from(
        "SELECT id, status, code, detail, request, namespace, subject, role, request_id, count,
                created_at, last_at
         FROM audit_refusals WHERE tenant_id = ?1 AND id < ?2",
    );
    let mut binds = vec![JsValue::from_str(tenant), JsValue::from_f64(before as f64)];
    for (column, value) in [("namespace", &namespace), ("code", &code)] {
        if let Some(value) = value {
            binds.push(JsValue::from_str(value));
            sql.push_str(&format!(" AND {column} = ?{}", binds.len()));
        }
    }
    binds.push(JsValue::from_f64(f64::from(limit)));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", binds.len()));
    let rows: Vec<Row> = tenants::db(env)?
        .prepare(sql)
        .bind(&binds)?
        .all()
        .await?
        .results()?;
    let entries: Vec<RefusalEntry> = rows
        .into_iter()
        .map(|r| RefusalEntry {
            id: r.id as u64,
            outcome: "refused",
            status: r.status as u16,
            code: r.code,
            detail: r.detail,
            request: r.request,
            namespace: r.namespace,
            subject: r.subject,
            role: r.role,
            request_id: r.request_id,
            count: r.count as u64,
            created_at: r.created_at as u64,
            last_at: r.last_at as u64,
        })
        .collect();
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Response::from_json(&RefusalPage {
        entries,
        next_before,
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_are_bounded_visible_ascii() {
        assert!(is_valid_request_id("req-42/a.b"));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id("has space"));
        assert!(!is_valid_request_id(&"r".repeat(MAX_REQUEST_ID_LEN + 1)));
    }

    #[test]
    fn only_refusals_on_the_merits_are_audited() {
        for status in [403, 409, 412, 422, 429] {
            assert!(is_audited_status(status), "{status}");
        }
        for status in [200, 400, 401, 404, 413, 415, 500, 502] {
            assert!(!is_audited_status(status), "{status}");
        }
    }
}
