//! The route table of the HTTP API and its dispatch.
//!
//! Paths are matched with `matchit` (the router `worker` itself uses); methods are matched
//! here so that a known path with the wrong method answers 405, and unknown paths 404, both as
//! problem+json. [`ROUTES`] is the single list of what the API serves.

use worker::{Env, Method, Request, Response};

use crate::api_spec::{Failure as F, *};
use crate::auth::{self, access::Rule, Principal};
use crate::problem::ApiError;
use crate::{
    api_spec, audit, config, connect, events, health, history, input, operations, rules, sync_all,
    tenant_delete, tenants,
};
use cascade_durable::internal::Caller;

/// A raw path parameter (validated by the endpoint that uses it).
fn param<'a>(matched: &'a Matched, key: &str) -> &'a str {
    matched
        .params
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// Every endpoint, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /v1/health`: liveness.
    Health,
    /// `GET /v1/status`: latest health snapshot.
    Status,
    /// `GET /v1/tenants`.
    ListTenants,
    /// `GET /v1/tenants/{tenant}`.
    GetTenant,
    /// `PUT /v1/tenants/{tenant}`.
    PutTenant,
    /// `DELETE /v1/tenants/{tenant}`: erase the tenant and its hub.
    DeleteTenant,
    /// `POST /v1/sync`: catch every tenant up with the platform.
    SyncAll,
    /// `GET /v1/tenants/{tenant}/config/{namespace}`.
    GetTenantConfig,
    /// `PUT /v1/tenants/{tenant}/config/{namespace}`.
    PutTenantConfig,
    /// `GET /v1/tenants/{tenant}/history`.
    TenantHistory,
    /// `GET /v1/platform/config/{namespace}`.
    GetPlatformConfig,
    /// `PUT /v1/platform/config/{namespace}`.
    PutPlatformConfig,
    /// `GET /v1/connect`: WebSocket upgrade.
    Connect,
    /// `GET /v1/openapi.json`: this API's OpenAPI 3.1 document.
    OpenApi,
    /// `GET /v1/tenants/{tenant}/effective/{namespace}`.
    GetTenantEffective,
    /// `GET /v1/tenants/{tenant}/users/{user}/config/{namespace}`.
    GetUserConfig,
    /// `PUT /v1/tenants/{tenant}/users/{user}/config/{namespace}`.
    PutUserConfig,
    /// `GET /v1/tenants/{tenant}/users/{user}/effective/{namespace}`.
    GetUserEffective,
    /// `POST /v1/tenants/{tenant}/sync`: catch the tenant up with the platform.
    SyncTenant,
    /// `GET /v1/rules`.
    ListRules,
    /// `PUT /v1/rules/{rule}`.
    PutRule,
    /// `DELETE /v1/rules/{rule}`.
    DeleteRule,
    /// `POST /v1/platform/rules/preview`: the tenants a rule would reach, before saving it.
    PreviewRule,
    /// `POST /v1/events`: the seed's `triggerConfigChange`.
    PostEvents,
    /// `PATCH /v1/tenants/{tenant}/config/{namespace}`.
    PatchTenantConfig,
    /// `PATCH /v1/tenants/{tenant}/users/{user}/config/{namespace}`.
    PatchUserConfig,
    /// `PATCH /v1/platform/config/{namespace}`.
    PatchPlatformConfig,
    /// `GET /v1/tenants/{tenant}/pending`.
    ListPending,
    /// `POST /v1/tenants/{tenant}/pending/{namespace}/{change}/accept`.
    AcceptPending,
    /// `POST /v1/tenants/{tenant}/pending/{namespace}/{change}/reject`.
    RejectPending,
    /// `GET /v1/tenants/{tenant}/conflicts`.
    ListConflicts,
    /// `POST /v1/tenants/{tenant}/conflicts/{namespace}/{conflict}/resolve`.
    ResolveConflict,
    /// `POST /v1/tenants/{tenant}/rollback/{namespace}`.
    Rollback,
    /// `GET /v1/tenants/{tenant}/status`: the tenant's line in the latest health snapshot.
    TenantStatus,
    /// `GET /v1/tenants/{tenant}/refusals`: the tenant's refused writes.
    TenantRefusals,
    /// `GET /v1/platform/refusals`: refused platform writes (layers, rules, events).
    PlatformRefusals,
    /// `POST /v1/platform/rollback/{namespace}`: restore a platform layer's version.
    PlatformRollback,
}

/// One endpoint of the API: its method and path pattern, who may call it
/// ([`crate::auth::access`]) and the endpoint [`serve`] dispatches it to.
#[derive(Debug)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path pattern (`:name` segments are parameters).
    pub path: &'static str,
    /// Who may call it.
    pub access: Rule,
    /// What serves it.
    pub endpoint: Endpoint,
    /// One line on what it does (the document's `summary`).
    pub summary: &'static str,
    /// More on it, when there is more to say (`""`: nothing).
    pub description: &'static str,
    /// The query and header parameters it reads ([`crate::api_spec`]).
    pub params: &'static [&'static Param],
    /// The failures particular to it; those that follow from the access rule, the path, the
    /// parameters and the body are derived (`src/openapi.rs`).
    pub failures: &'static [Failure],
}

/// The failures of deciding a pending change.
const DECIDE_FAILURES: &[Failure] = &[
    F::ItemNotFound,
    F::OutOfOrder,
    F::LockedPath,
    F::Unprocessable,
    F::RateLimited,
];

/// Every route: adding an endpoint is one row here, its `Endpoint` variant and its arm in
/// [`serve`] (docs/ARCHITECTURE.md, "Adding an endpoint").
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::Get,
        path: "/v1/health",
        access: Rule::Public,
        endpoint: Endpoint::Health,
        summary: "Liveness.",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Get,
        path: "/v1/status",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::Status,
        summary: "Latest health snapshot (platform admins).",
        description: "",
        params: &[],
        failures: &[F::NoSnapshot],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::ListTenants,
        summary: "All tenants (platform admins).",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::GetTenant,
        summary: "One tenant.",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Put,
        path: "/v1/tenants/:tenant",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::PutTenant,
        summary: "Register or update a tenant (platform admins).",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Delete,
        path: "/v1/tenants/:tenant",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::DeleteTenant,
        summary: "Delete a tenant for good (platform admins): its registry entry, its hub's state (sockets closed with code 4410) and its history. Re-creating the id starts empty.",
        description: "",
        params: &[&TENANT_IF_MATCH, &DELETE_IDEMPOTENCY_KEY],
        failures: &[F::EraseFailed],
    },
    Route {
        method: Method::Post,
        path: "/v1/sync",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::SyncAll,
        summary: "Manual sync of every tenant, a page at a time (platform admins): each tenant's hub applies the platform updates it lacks. A failing tenant is reported and never stops the others.",
        description: "One request syncs at most `limit` tenants (default and maximum 200) in id order after `after`, 50 hubs at a time, so it stays within a Worker invocation's subrequest limit. When tenants remain, `next` (and a `Link: <...>; rel=\"next\"` header) names the cursor: repeat with `?after={next}` until `next` is null. The cursor is the client's: an interrupted sync-all resumes from the last page it saw, and repeating a page is harmless (a tenant applies each platform update once).",
        params: &[&SYNC_AFTER, &SYNC_LIMIT],
        failures: &[],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/config/:namespace",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::GetTenantConfig,
        summary: "The tenant layer of a namespace.",
        description: "",
        params: &[&LAYER_VERSION],
        failures: &[],
    },
    Route {
        method: Method::Put,
        path: "/v1/tenants/:tenant/config/:namespace",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::PutTenantConfig,
        summary: "Replace the tenant layer of a namespace.",
        description: "",
        params: WRITE_GUARDS,
        failures: &[F::LockedPath, F::RateLimited],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/history",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::TenantHistory,
        summary: "The tenant's event history, newest first.",
        description: "",
        params: &[&HISTORY_LIMIT, &HISTORY_BEFORE, &HISTORY_NAMESPACE, &HISTORY_SCOPE, &HISTORY_OUTCOME, &HISTORY_SINCE, &HISTORY_UNTIL],
        failures: &[],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/refusals",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::TenantRefusals,
        summary: "The tenant's refused writes (403 on the tenant, 409, 412, 422, 429), newest first: who, in which role, under which request, and the problem answered. They take no seq; repeats of one subject and code within a minute share one entry (`count`). Kept as long as the history.",
        description: "",
        params: REFUSALS_QUERY,
        failures: &[],
    },
    Route {
        method: Method::Get,
        path: "/v1/platform/refusals",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::PlatformRefusals,
        summary: "Refused platform writes",
        description: "Writes refused at the platform on their merits (403, 409, 412, 422, 429): platform layer writes (a tenant admin's 403 included), sync rule changes, and `POST /v1/events` of a caller without a tenant. Recorded like a tenant's refusals (coalesced per subject, code and minute), newest first. Platform admins only.",
        params: REFUSALS_QUERY,
        failures: &[],
    },
    Route {
        method: Method::Post,
        path: "/v1/platform/rollback/:namespace",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::PlatformRollback,
        summary: "Roll a platform layer back to a version",
        description: "Restores the platform layer as it was at platform seq N (a history entry's seq), as a new platform update that fans out to every tenant its rules reach, like a platform write (answered with `targetedTenants`). Rolling back to what the layer already holds commits nothing (`changed: false`). Takes `Idempotency-Key`: a retry answers the first answer. Platform admins only.",
        params: DECISION_GUARDS,
        failures: &[F::VersionUnreachable, F::RateLimited],
    },
    Route {
        method: Method::Get,
        path: "/v1/platform/config/:namespace",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::GetPlatformConfig,
        summary: "The platform layer of a namespace (platform admins).",
        description: "",
        params: &[&PLATFORM_VERSION],
        failures: &[],
    },
    Route {
        method: Method::Put,
        path: "/v1/platform/config/:namespace",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::PutPlatformConfig,
        summary: "Replace the platform layer of a namespace (platform admins).",
        description: "",
        params: WRITE_GUARDS,
        failures: &[F::LockedPath, F::RateLimited],
    },
    Route {
        method: Method::Get,
        path: "/v1/connect",
        access: Rule::MemberOfTenant,
        endpoint: Endpoint::Connect,
        summary: "WebSocket upgrade; see docs/PROTOCOL.md. The token may also come as subprotocol `bearer.<jwt>` or query `access_token` (this endpoint only); it must not have expired (no clock leeway here), and the hub closes the socket with code 4001 when it expires. A platform admin without `tenant` joins the platform admins' room (`sync-status` after each health check).",
        description: "",
        params: &[&CONNECT_TENANT, &CONNECT_ORIGINS],
        failures: &[F::TenantNotFound, F::UpgradeRequired, F::TooManySockets],
    },
    Route {
        method: Method::Get,
        path: "/v1/openapi.json",
        access: Rule::Public,
        endpoint: Endpoint::OpenApi,
        summary: "This document.",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/effective/:namespace",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::GetTenantEffective,
        summary: "The tenant's effective config: platform and tenant layers resolved under the namespace's rule.",
        description: "",
        params: &[&EFFECTIVE_VERSION, &EFFECTIVE_ORIGINS],
        failures: &[],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/users/:user/config/:namespace",
        access: Rule::UserOfPathOrTenantAdmin,
        endpoint: Endpoint::GetUserConfig,
        summary: "A user's own layer.",
        description: "",
        params: &[&LAYER_VERSION],
        failures: &[],
    },
    Route {
        method: Method::Put,
        path: "/v1/tenants/:tenant/users/:user/config/:namespace",
        access: Rule::UserOfPathOrTenantAdmin,
        endpoint: Endpoint::PutUserConfig,
        summary: "Replace a user's own layer (the user, its tenant admin, or a platform admin).",
        description: "",
        params: WRITE_GUARDS,
        failures: &[F::LockedPath, F::RateLimited],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/users/:user/effective/:namespace",
        access: Rule::UserOfPathOrTenantAdmin,
        endpoint: Endpoint::GetUserEffective,
        summary: "A user's effective config: platform, tenant and user layers resolved.",
        description: "",
        params: &[&EFFECTIVE_VERSION, &EFFECTIVE_ORIGINS],
        failures: &[],
    },
    Route {
        method: Method::Post,
        path: "/v1/tenants/:tenant/sync",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::SyncTenant,
        summary: "Manual sync: apply every platform update the tenant has not applied yet.",
        description: "",
        params: &[],
        failures: &[F::CatchUpFailed],
    },
    Route {
        method: Method::Get,
        path: "/v1/rules",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::ListRules,
        summary: "All sync rules, in precedence order (platform admins).",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Put,
        path: "/v1/rules/:rule",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::PutRule,
        summary: "Create or replace a sync rule (platform admins).",
        description: "",
        params: &[],
        failures: &[F::InvalidRule],
    },
    Route {
        method: Method::Delete,
        path: "/v1/rules/:rule",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::DeleteRule,
        summary: "Delete a sync rule (platform admins).",
        description: "",
        params: &[],
        failures: &[F::RuleNotFound],
    },
    Route {
        method: Method::Post,
        path: "/v1/platform/rules/preview",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::PreviewRule,
        summary: "Which tenants a sync rule would reach, before saving it (platform admins).",
        description: "Counts the registered tenants the rule in the body reaches and lists one page of their ids, with the same registry filter a platform write's `targetedTenants` uses (one D1 count and one page query, whatever the tenant count). Nothing is stored.",
        params: &[&PREVIEW_NAMESPACE, &PREVIEW_AFTER, &PREVIEW_LIMIT],
        failures: &[F::InvalidRule],
    },
    Route {
        method: Method::Post,
        path: "/v1/events",
        access: Rule::Authenticated,
        endpoint: Endpoint::PostEvents,
        summary: "The seed's triggerConfigChange: one change event, or an array applied atomically with one seq. `config` is an RFC 7396 merge patch on the event's layer; `triggeredBy` is recorded as the authenticated caller.",
        description: "",
        params: WRITE_GUARDS,
        failures: &[F::TenantNotFound, F::LockedPath, F::RateLimited],
    },
    Route {
        method: Method::Patch,
        path: "/v1/tenants/:tenant/config/:namespace",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::PatchTenantConfig,
        summary: "Patch the tenant layer: RFC 7396 merge patch (application/merge-patch+json) or RFC 6902 JSON Patch (application/json-patch+json, at most 1,000 operations, applied to the current layer).",
        description: "",
        params: WRITE_GUARDS,
        failures: &[F::LockedPath, F::RateLimited],
    },
    Route {
        method: Method::Patch,
        path: "/v1/tenants/:tenant/users/:user/config/:namespace",
        access: Rule::UserOfPathOrTenantAdmin,
        endpoint: Endpoint::PatchUserConfig,
        summary: "Patch a user's layer: RFC 7396 merge patch (application/merge-patch+json) or RFC 6902 JSON Patch (application/json-patch+json, at most 1,000 operations, applied to the current layer).",
        description: "",
        params: WRITE_GUARDS,
        failures: &[F::LockedPath, F::RateLimited],
    },
    Route {
        method: Method::Patch,
        path: "/v1/platform/config/:namespace",
        access: Rule::PlatformAdmin,
        endpoint: Endpoint::PatchPlatformConfig,
        summary: "Patch the platform layer: RFC 7396 merge patch (application/merge-patch+json) or RFC 6902 JSON Patch (application/json-patch+json, at most 1,000 operations, applied to the current layer).",
        description: "",
        params: WRITE_GUARDS,
        failures: &[F::LockedPath, F::RateLimited],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/pending",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::ListPending,
        summary: "Platform changes waiting for a tenant admin's decision (rules with autoApply: false).",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Post,
        path: "/v1/tenants/:tenant/pending/:namespace/:change/accept",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::AcceptPending,
        summary: "Accept a pending change (oldest first).",
        description: "A retry with the same `Idempotency-Key` gets the first answer (with `replayed: true`) and applies nothing; decisions count against the hub's write budget (429).",
        params: DECISION_GUARDS,
        failures: DECIDE_FAILURES,
    },
    Route {
        method: Method::Post,
        path: "/v1/tenants/:tenant/pending/:namespace/:change/reject",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::RejectPending,
        summary: "Reject a pending change (oldest first).",
        description: "A retry with the same `Idempotency-Key` gets the first answer (with `replayed: true`) and applies nothing; decisions count against the hub's write budget (429).",
        params: DECISION_GUARDS,
        failures: DECIDE_FAILURES,
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/conflicts",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::ListConflicts,
        summary: "Open conflicts (merge rules: the same leaf changed on both sides).",
        description: "",
        params: &[],
        failures: &[],
    },
    Route {
        method: Method::Post,
        path: "/v1/tenants/:tenant/conflicts/:namespace/:conflict/resolve",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::ResolveConflict,
        summary: "Resolve a conflict: take the upper value, keep the lower one, or set a new value.",
        description: "A retry with the same `Idempotency-Key` gets the first answer (with `replayed: true`) and applies nothing; decisions count against the hub's write budget (429).",
        params: DECISION_GUARDS,
        failures: &[F::ItemNotFound, F::LockedPath, F::VersionUnreachable, F::RateLimited],
    },
    Route {
        method: Method::Post,
        path: "/v1/tenants/:tenant/rollback/:namespace",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::Rollback,
        summary: "Restore a namespace's layers as they were at a version, as a new forward change.",
        description: "A retry with the same `Idempotency-Key` gets the first answer (with `replayed: true`) and applies nothing; decisions count against the hub's write budget (429).",
        params: DECISION_GUARDS,
        failures: &[F::VersionUnreachable, F::RateLimited],
    },
    Route {
        method: Method::Get,
        path: "/v1/tenants/:tenant/status",
        access: Rule::TenantAdminOfPath,
        endpoint: Endpoint::TenantStatus,
        summary: "The tenant's line in the latest health snapshot (platform admins, its tenant admin). 404 `CASCADE:Health:NotChecked` when no check has seen the tenant yet.",
        description: "",
        params: &[],
        failures: &[F::NoSnapshot, F::NotChecked],
    },
];

/// The answer of `GET /v1/health`.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"ok": true})))]
pub struct Liveness {
    /// Always true: the Worker is serving.
    pub ok: bool,
}

/// The OpenAPI 3.1 document served at `/v1/openapi.json`: `docs/openapi.json`, generated from
/// the Rust types and [`ROUTES`] by `src/openapi.rs` (`UPDATE_OPENAPI=1 cargo test --lib
/// openapi`; a test fails when the two differ).
pub const OPENAPI_JSON: &str = include_str!("../docs/openapi.json");

/// What a path resolves to: the endpoint and its path parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Who may call it (its route's rule).
    pub access: Rule,
    /// Path parameters by name.
    pub params: Vec<(String, String)>,
}

impl Matched {
    /// A path parameter, validated as an identifier.
    fn name(&self, key: &'static str) -> Result<String, ApiError> {
        let value = self
            .params
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str());
        input::name(key, value)
    }
}

/// The router over [`ROUTES`], built on first use: each path pattern with its routes.
fn router() -> Result<&'static matchit::Router<Vec<&'static Route>>, ApiError> {
    static ROUTER: std::sync::OnceLock<Result<matchit::Router<Vec<&'static Route>>, String>> =
        std::sync::OnceLock::new();
    ROUTER
        .get_or_init(|| {
            let mut by_path = matchit::Router::new();
            let mut patterns: Vec<&str> = Vec::new();
            for route in ROUTES {
                if !patterns.contains(&route.path) {
                    patterns.push(route.path);
                }
            }
            for pattern in patterns {
                let routes: Vec<&'static Route> =
                    ROUTES.iter().filter(|r| r.path == pattern).collect();
                by_path
                    .insert(pattern, routes)
                    .map_err(|e| format!("route table: {e}"))?;
            }
            Ok(by_path)
        })
        .as_ref()
        .map_err(|e| ApiError::Internal(e.clone()))
}

/// Resolves a method and path against [`ROUTES`].
pub fn resolve(method: &Method, path: &str) -> Result<Matched, ApiError> {
    let found = router()?
        .at(path)
        .map_err(|_| ApiError::NoRoute(path.to_owned()))?;
    let route = found
        .value
        .iter()
        .find(|r| r.method == *method)
        .ok_or_else(|| ApiError::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_owned(),
        })?;
    let params = found
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(Matched {
        endpoint: route.endpoint,
        access: route.access,
        params,
    })
}

/// Serves one request: resolves it, runs the endpoint, and renders any error as problem+json.
/// Every answer names the request in `Cascade-Request-Id`.
pub async fn dispatch(req: Request, env: Env, ctx: worker::Context) -> worker::Result<Response> {
    let request_id = audit::request_id(&req);
    let mut resp = match handle(req, &env, &ctx, &request_id).await {
        Ok(resp) => resp,
        Err(err) => err.into_response()?,
    };
    // A WebSocket upgrade's headers cannot be changed; every other answer carries the id.
    if resp.status_code() != 101
        && resp
            .headers_mut()
            .set(audit::REQUEST_ID_HEADER, &request_id)
            .is_err()
    {
        // An answer passed on from a hub (a refused connect) has immutable headers: the id
        // goes on a copy of them.
        let headers = worker::Headers::new();
        for (name, value) in resp.headers().entries() {
            headers.append(&name, &value)?;
        }
        headers.set(audit::REQUEST_ID_HEADER, &request_id)?;
        resp = resp.with_headers(headers);
    }
    Ok(resp)
}

async fn handle(
    req: Request,
    env: &Env,
    ctx: &worker::Context,
    request_id: &str,
) -> Result<Response, ApiError> {
    let matched = resolve(&req.method(), &req.path())?;
    if matched.access == Rule::Public {
        return match matched.endpoint {
            Endpoint::OpenApi => {
                let mut resp = Response::ok(OPENAPI_JSON)?;
                resp.headers_mut().set("content-type", "application/json")?;
                Ok(resp)
            }
            _ => Ok(Response::from_json(&Liveness { ok: true })?),
        };
    }
    let principal = auth::authenticate(&req, env)?;
    let tenant = addressed_tenant(&req, &matched, &principal)?;
    let user = matched
        .params
        .iter()
        .find(|(k, _)| k == "user")
        .map(|(_, v)| v.as_str());
    let caller = audit::caller(&principal, request_id);
    let request = format!("{} {}", req.method(), req.path());
    let audit_log = audit::audit_log(
        matched.endpoint,
        tenant.as_deref(),
        principal.tenant.as_deref(),
    );
    let result = match auth::authorize(&principal, &matched, tenant.as_deref(), user) {
        Ok(()) => serve(req, env, ctx, &matched, &principal, &caller, tenant).await,
        Err(e) => Err(e),
    };
    if let (Err(err), Some(tenant)) = (&result, audit_log.as_deref()) {
        let problem = err.to_problem();
        if audit::is_audited_status(problem.status) {
            let refusal = audit::Refusal {
                tenant,
                caller: &caller,
                request,
                namespace: matched
                    .params
                    .iter()
                    .find(|(k, _)| k == "namespace")
                    .map(|(_, v)| v.as_str()),
                problem: &problem,
            };
            let now = worker::js_sys::Date::now() as u64;
            if let Err(e) = audit::record(env, &refusal, now).await {
                worker::console_error!("recording a refused write failed: {e}");
            }
        }
    }
    result
}

/// The tenant a request addresses: the `{tenant}` path parameter, or for a WebSocket connect
/// the `tenant` query parameter, defaulting to the caller's own tenant — except for a platform
/// admin, whose connect without `tenant` addresses the platform (`None`).
fn addressed_tenant(
    req: &Request,
    matched: &Matched,
    principal: &Principal,
) -> Result<Option<String>, ApiError> {
    if matched.params.iter().any(|(k, _)| k == "tenant") {
        return matched.name("tenant").map(Some);
    }
    if matched.endpoint == Endpoint::Connect {
        let url = req.url()?;
        let given = url
            .query_pairs()
            .find(|(k, _)| k == api_spec::TENANT)
            .map(|(_, v)| v.into_owned());
        if given.is_none() && principal.role == auth::Role::PlatformAdmin {
            return Ok(None);
        }
        return match given.or_else(|| principal.tenant.clone()) {
            Some(t) => input::name(api_spec::TENANT, &t).map(Some),
            None => Err(ApiError::BadQuery {
                name: api_spec::TENANT,
                problem: "required: the token names no tenant".into(),
            }),
        };
    }
    Ok(None)
}

async fn serve(
    req: Request,
    env: &Env,
    ctx: &worker::Context,
    matched: &Matched,
    principal: &Principal,
    caller: &Caller,
    tenant: Option<String>,
) -> Result<Response, ApiError> {
    use config::View;
    use config::WriteMode::{Patch, Put};
    let matched_tenant = tenant.as_deref();
    let tenant = || {
        tenant
            .clone()
            .ok_or_else(|| ApiError::Internal("route without a tenant".into()))
    };
    let ns = || input::namespace("namespace", param(matched, "namespace"));
    let user = || matched.name("user");
    match matched.endpoint {
        Endpoint::Health | Endpoint::OpenApi => {
            Err(ApiError::Internal("public route reached serve".into()))
        }
        Endpoint::Status => health::latest(env).await,
        Endpoint::ListTenants => Ok(Response::from_json(&tenants::list(env).await?)?),
        Endpoint::GetTenant => {
            let found = tenants::require(env, &tenant()?).await?;
            let mut resp = Response::from_json(&found)?;
            resp.headers_mut()
                .set("etag", &tenant_delete::tenant_etag(&found))?;
            Ok(resp)
        }
        Endpoint::DeleteTenant => tenant_delete::delete(env, &req, &tenant()?).await,
        Endpoint::SyncAll => sync_all::sync_all(env, &req).await,
        Endpoint::PutTenant => {
            let mut req = req;
            let body = input::json_body(&mut req).await?;
            tenants::put(env, &tenant()?, body).await
        }
        Endpoint::SyncTenant => tenants::sync(env, &tenant()?).await,
        Endpoint::GetTenantConfig => {
            let version = config::version_query(&req)?;
            config::get_tenant_side(env, ctx, &tenant()?, None, &ns()?, View::Layer, version).await
        }
        Endpoint::GetTenantEffective => {
            let version = config::version_query(&req)?;
            let view = View::Effective {
                origins: config::origins_query(&req)?,
            };
            config::get_tenant_side(env, ctx, &tenant()?, None, &ns()?, view, version).await
        }
        Endpoint::PutTenantConfig => {
            config::write_tenant_side(env, req, Put, caller, &tenant()?, None, &ns()?).await
        }
        Endpoint::GetUserConfig => {
            let version = config::version_query(&req)?;
            let user = user()?;
            config::get_tenant_side(
                env,
                ctx,
                &tenant()?,
                Some(&user),
                &ns()?,
                View::Layer,
                version,
            )
            .await
        }
        Endpoint::GetUserEffective => {
            let version = config::version_query(&req)?;
            let view = View::Effective {
                origins: config::origins_query(&req)?,
            };
            let user = user()?;
            config::get_tenant_side(env, ctx, &tenant()?, Some(&user), &ns()?, view, version).await
        }
        Endpoint::PutUserConfig => {
            let user = user()?;
            config::write_tenant_side(env, req, Put, caller, &tenant()?, Some(&user), &ns()?).await
        }
        Endpoint::TenantHistory => history::list(env, &req, &tenant()?).await,
        Endpoint::TenantRefusals => audit::list(env, &req, &tenant()?).await,
        Endpoint::PlatformRefusals => audit::list(env, &req, audit::PLATFORM_AUDIT_ID).await,
        Endpoint::PlatformRollback => operations::platform_rollback(env, req, caller, &ns()?).await,
        Endpoint::GetPlatformConfig => {
            let version = config::version_query(&req)?;
            config::get_platform(env, &ns()?, version).await
        }
        Endpoint::PutPlatformConfig => config::write_platform(env, req, Put, caller, &ns()?).await,
        Endpoint::PatchPlatformConfig => {
            config::write_platform(env, req, Patch, caller, &ns()?).await
        }
        Endpoint::PatchTenantConfig => {
            config::write_tenant_side(env, req, Patch, caller, &tenant()?, None, &ns()?).await
        }
        Endpoint::PatchUserConfig => {
            config::write_tenant_side(env, req, Patch, caller, &tenant()?, Some(&user()?), &ns()?)
                .await
        }
        Endpoint::Connect => connect::connect(env, req, principal, matched_tenant).await,
        Endpoint::TenantStatus => health::tenant_latest(env, &tenant()?).await,
        Endpoint::ListRules => rules::list(env).await,
        Endpoint::PutRule => {
            let mut req = req;
            let body = input::json_body(&mut req).await?;
            rules::put(env, &matched.name("rule")?, body).await
        }
        Endpoint::DeleteRule => rules::delete(env, &matched.name("rule")?).await,
        Endpoint::PreviewRule => {
            let mut req = req;
            let body = input::json_body(&mut req).await?;
            rules::preview(env, &req, body).await
        }
        Endpoint::PostEvents => events::post(env, req, principal, caller).await,
        Endpoint::ListPending => {
            operations::list(env, &tenant()?, operations::Items::Pending).await
        }
        Endpoint::ListConflicts => {
            operations::list(env, &tenant()?, operations::Items::Conflicts).await
        }
        Endpoint::AcceptPending | Endpoint::RejectPending => {
            let accept = matched.endpoint == Endpoint::AcceptPending;
            let change = param(matched, "change");
            operations::decide(env, &req, caller, &tenant()?, &ns()?, change, accept).await
        }
        Endpoint::ResolveConflict => {
            let conflict = param(matched, "conflict");
            operations::resolve(env, req, caller, &tenant()?, &ns()?, conflict).await
        }
        Endpoint::Rollback => operations::rollback(env, req, caller, &tenant()?, &ns()?).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_methods_and_params() {
        let m = resolve(&Method::Put, "/v1/tenants/acme/config/auth").expect("route exists");
        assert_eq!(m.endpoint, Endpoint::PutTenantConfig);
        assert_eq!(m.name("tenant").ok().as_deref(), Some("acme"));
        assert_eq!(m.name("namespace").ok().as_deref(), Some("auth"));
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert!(matches!(
            resolve(&Method::Get, "/v2/nothing"),
            Err(ApiError::NoRoute(_))
        ));
        assert!(matches!(
            resolve(&Method::Delete, "/v1/tenants/acme/config/auth"),
            Err(ApiError::MethodNotAllowed { .. })
        ));
    }

    /// The OpenAPI document and the route table describe exactly the same operations.
    #[test]
    fn openapi_document_matches_the_route_table() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| {
                let path = r
                    .path
                    .split('/')
                    .map(|s| {
                        s.strip_prefix(':')
                            .map_or(s.to_owned(), |n| format!("{{{n}}}"))
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                (r.method.to_string(), path)
            })
            .collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
    }

    #[test]
    fn every_route_resolves_to_itself() {
        for route in ROUTES {
            let pattern = route.path;
            let path = pattern
                .replace(":tenant", "t1")
                .replace(":namespace", "ns")
                .replace(":user", "u1")
                .replace(":rule", "r1")
                .replace(":change", "3.0")
                .replace(":conflict", "4.1");
            assert_eq!(
                resolve(&route.method, &path).map(|m| m.endpoint).ok(),
                Some(route.endpoint),
                "{pattern}"
            );
        }
    }
}
