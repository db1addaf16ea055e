//! The route table of the HTTP API and its dispatch.
//!
//! Paths are matched with `matchit` (the router `worker` itself uses); methods are matched
//! here so that a known path with the wrong method answers 405, and unknown paths 404, both as
//! problem+json. [`ROUTES`] is the single list of what the API serves.

use worker::{Env, Method, Request, Response};

use crate::problem::ApiError;
use crate::{config, connect, health, history, input, tenants};

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
}

/// Method, path pattern and endpoint of every route.
pub const ROUTES: &[(Method, &str, Endpoint)] = &[
    (Method::Get, "/v1/health", Endpoint::Health),
    (Method::Get, "/v1/status", Endpoint::Status),
    (Method::Get, "/v1/tenants", Endpoint::ListTenants),
    (Method::Get, "/v1/tenants/:tenant", Endpoint::GetTenant),
    (Method::Put, "/v1/tenants/:tenant", Endpoint::PutTenant),
    (
        Method::Get,
        "/v1/tenants/:tenant/config/:namespace",
        Endpoint::GetTenantConfig,
    ),
    (
        Method::Put,
        "/v1/tenants/:tenant/config/:namespace",
        Endpoint::PutTenantConfig,
    ),
    (
        Method::Get,
        "/v1/tenants/:tenant/history",
        Endpoint::TenantHistory,
    ),
    (
        Method::Get,
        "/v1/platform/config/:namespace",
        Endpoint::GetPlatformConfig,
    ),
    (
        Method::Put,
        "/v1/platform/config/:namespace",
        Endpoint::PutPlatformConfig,
    ),
    (Method::Get, "/v1/connect", Endpoint::Connect),
];

/// What a path resolves to: the endpoint and its path parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    /// The endpoint.
    pub endpoint: Endpoint,
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

/// Resolves a method and path against [`ROUTES`].
pub fn resolve(method: &Method, path: &str) -> Result<Matched, ApiError> {
    let mut by_path: matchit::Router<Vec<(Method, Endpoint)>> = matchit::Router::new();
    let mut patterns: Vec<&str> = Vec::new();
    for (_, pattern, _) in ROUTES {
        if !patterns.contains(pattern) {
            patterns.push(pattern);
        }
    }
    for pattern in patterns {
        let methods = ROUTES
            .iter()
            .filter(|(_, p, _)| *p == pattern)
            .map(|(m, _, e)| (m.clone(), *e))
            .collect();
        by_path
            .insert(pattern, methods)
            .map_err(|e| ApiError::Internal(format!("route table: {e}")))?;
    }
    let found = by_path
        .at(path)
        .map_err(|_| ApiError::NoRoute(path.to_owned()))?;
    let endpoint = found
        .value
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, e)| *e)
        .ok_or_else(|| ApiError::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_owned(),
        })?;
    let params = found
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(Matched { endpoint, params })
}

/// Serves one request: resolves it, runs the endpoint, and renders any error as problem+json.
pub async fn dispatch(req: Request, env: Env) -> worker::Result<Response> {
    match handle(req, &env).await {
        Ok(resp) => Ok(resp),
        Err(err) => err.into_response(),
    }
}

async fn handle(req: Request, env: &Env) -> Result<Response, ApiError> {
    let matched = resolve(&req.method(), &req.path())?;
    match matched.endpoint {
        Endpoint::Health => Ok(Response::from_json(&serde_json::json!({ "ok": true }))?),
        Endpoint::Status => health::latest(env).await,
        Endpoint::ListTenants => Ok(Response::from_json(&tenants::list(env).await?)?),
        Endpoint::GetTenant => Ok(Response::from_json(
            &tenants::require(env, &matched.name("tenant")?).await?,
        )?),
        Endpoint::PutTenant => {
            let tenant = matched.name("tenant")?;
            let mut req = req;
            let body = input::json_body(&mut req).await?;
            tenants::put(env, &tenant, body).await
        }
        Endpoint::GetTenantConfig => {
            config::get_tenant(env, &matched.name("tenant")?, &matched.name("namespace")?).await
        }
        Endpoint::PutTenantConfig => {
            config::put_tenant(
                env,
                req,
                &matched.name("tenant")?,
                &matched.name("namespace")?,
            )
            .await
        }
        Endpoint::TenantHistory => history::list(env, &req, &matched.name("tenant")?).await,
        Endpoint::GetPlatformConfig => config::get_platform(env, &matched.name("namespace")?).await,
        Endpoint::PutPlatformConfig => {
            config::put_platform(env, req, &matched.name("namespace")?).await
        }
        Endpoint::Connect => connect::connect(env, req).await,
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

    #[test]
    fn every_route_resolves_to_itself() {
        for (method, pattern, endpoint) in ROUTES {
            let path = pattern.replace(":tenant", "t1").replace(":namespace", "ns");
            assert_eq!(
                resolve(method, &path).map(|m| m.endpoint).ok(),
                Some(*endpoint),
                "{pattern}"
            );
        }
    }
}
