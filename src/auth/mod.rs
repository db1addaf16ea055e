//! Authentication and authorization.
//!
//! - [`token`]: verifies a bearer JWT (HS256 with the `JWT_SECRET` secret, or EdDSA with a key
//!   from `JWT_PUBLIC_KEYS`) and yields a [`Principal`].
//! - [`access`]: what each role may do with each endpoint.
//!
//! A request carries its token in `Authorization: Bearer <jwt>`; a browser WebSocket, which
//! cannot set headers, may offer it as the subprotocol `bearer.<jwt>` (next to `cascade`), and
//! other WebSocket clients as the `access_token` query parameter — on `/v1/connect` only:
//! anywhere else a token in the URL would end up in logs and caches, and is refused.

pub mod access;
pub mod token;

pub use access::authorize;
pub use token::{Principal, Role};

use worker::{Env, Request};

use crate::problem::ApiError;

/// The subprotocol a WebSocket client offers to carry its token: `bearer.<jwt>`.
pub const BEARER_SUBPROTOCOL_PREFIX: &str = "bearer.";

/// The only path that takes its token from the `access_token` query parameter.
pub const QUERY_TOKEN_PATH: &str = "/v1/connect";

/// The token a request presents, if any: the `Authorization` header, else the WebSocket
/// subprotocol, else (on [`QUERY_TOKEN_PATH`] only) the `access_token` query parameter.
/// A token in the URL off that path is refused even next to a header: it is in logs already.
pub fn presented_token(req: &Request) -> Result<Option<String>, ApiError> {
    let url = req.url()?;
    let query_token = url
        .query_pairs()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned());
    if query_token.is_some() && url.path() != QUERY_TOKEN_PATH {
        return Err(ApiError::Unauthenticated(
            "a token in the URL (access_token) is accepted on /v1/connect only: send 'Authorization: Bearer <token>'",
        ));
    }
    if let Some(value) = req.headers().get("authorization")? {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthenticated(
                "the Authorization header must be 'Bearer <token>'",
            ))?;
        return Ok(Some(token.trim().to_owned()));
    }
    if let Some(protocols) = req.headers().get("sec-websocket-protocol")? {
        if let Some(token) = protocols
            .split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(BEARER_SUBPROTOCOL_PREFIX))
        {
            return Ok(Some(token.to_owned()));
        }
    }
    Ok(query_token)
}

/// Authenticates a request: verifies its token at the runtime's current time.
pub fn authenticate(req: &Request, env: &Env) -> Result<Principal, ApiError> {
    let token = presented_token(req)?.ok_or(ApiError::Unauthenticated(
        "missing credentials: send 'Authorization: Bearer <token>'",
    ))?;
    let keys = token::Keys::from_env(env)?;
    let now_secs = (worker::js_sys::Date::now() / 1000.0) as i64;
    keys.verify(&token, now_secs)
}
