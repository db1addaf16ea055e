//! Configuration documents: read and replace the platform layer, a tenant's layer and a
//! user's layer of one namespace, and read effective configs. Reads carry the namespace
//! version as an `ETag`; writes take `If-Match` (a stale version is refused with 412, so no
//! update is lost) and `Idempotency-Key` (a retry gets the first answer and applies nothing).
//!
//! Every tenant-side write carries the tenant's registry entry and the sync rules, read from
//! D1 for that write, so the hub applies it under the rules as they are now.

use cascade_durable::internal::{HubContext, LayerWrite, WriteAck, WriteGuard};
use cascade_durable::registry;
use cascade_protocol::StoredDocument;
use serde_json::Value;
use worker::{Env, Method, Request, Response};

use crate::auth::Principal;
use crate::hubs::Hub;
use crate::input;
use crate::problem::ApiError;
use crate::tenants;

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Which document of a tenant hub to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The layer's own values.
    Layer,
    /// The resolved (effective) config.
    Effective,
}

/// `GET` a tenant's or a user's layer or effective config.
pub async fn get_tenant_side(
    env: &Env,
    tenant: &str,
    user: Option<&str>,
    namespace: &str,
    view: View,
) -> Result<Response, ApiError> {
    tenants::require(env, tenant).await?;
    let base = match view {
        View::Layer => "layers",
        View::Effective => "effective",
    };
    let path = match user {
        Some(u) => format!("/{base}/{namespace}?user={u}"),
        None => format!("/{base}/{namespace}"),
    };
    let doc: StoredDocument = Hub::tenant(env, tenant)?
        .call::<(), _>(Method::Get, &path, None)
        .await?;
    with_etag(Response::from_json(&doc)?, doc.version)
}

/// `PUT` a tenant's layer (`user` absent) or a user's layer.
pub async fn put_tenant_side(
    env: &Env,
    mut req: Request,
    principal: &Principal,
    tenant: &str,
    user: Option<&str>,
    namespace: &str,
) -> Result<Response, ApiError> {
    let (config, guard) = read_write(&mut req).await?;
    let context = hub_context(env, tenant).await?;
    let write = LayerWrite {
        user: user.map(str::to_owned),
        config,
        triggered_by: principal.sub.clone(),
        guard,
        context,
    };
    let ack: WriteAck = Hub::tenant(env, tenant)?
        .call(Method::Put, &format!("/layers/{namespace}"), Some(&write))
        .await?;
    ack_response(&ack)
}

/// `GET /v1/platform/config/{namespace}`.
pub async fn get_platform(env: &Env, namespace: &str) -> Result<Response, ApiError> {
    let doc: StoredDocument = Hub::platform(env)?
        .call::<(), _>(Method::Get, &format!("/layers/{namespace}"), None)
        .await?;
    with_etag(Response::from_json(&doc)?, doc.version)
}

/// `PUT /v1/platform/config/{namespace}`: replaces the platform layer; the platform hub fans
/// the change out to every tenant.
pub async fn put_platform(
    env: &Env,
    mut req: Request,
    principal: &Principal,
    namespace: &str,
) -> Result<Response, ApiError> {
    let (config, guard) = read_write(&mut req).await?;
    let write = LayerWrite {
        user: None,
        config,
        triggered_by: principal.sub.clone(),
        guard,
        context: HubContext::default(),
    };
    let ack: WriteAck = Hub::platform(env)?
        .call(Method::Put, &format!("/layers/{namespace}"), Some(&write))
        .await?;
    ack_response(&ack)
}

/// The tenant's registry entry and the enabled rules, for a tenant hub call (404 when the
/// tenant is not registered).
pub async fn hub_context(env: &Env, tenant: &str) -> Result<HubContext, ApiError> {
    let db = tenants::db(env)?;
    let tenant = registry::tenant(&db, tenant)
        .await?
        .ok_or_else(|| ApiError::TenantNotFound(tenant.to_owned()))?;
    Ok(HubContext {
        tenant,
        rules: registry::rules(&db).await?,
    })
}

/// Reads a whole-document write: the body and the write's guards.
async fn read_write(
    req: &mut Request,
) -> Result<(serde_json::Map<String, Value>, WriteGuard), ApiError> {
    let guard = write_guard(req)?;
    let body: Value = input::json_body(req).await?;
    Ok((input::config_object(body)?, guard))
}

/// The `If-Match` and `Idempotency-Key` headers of a write.
pub fn write_guard(req: &Request) -> Result<WriteGuard, ApiError> {
    let if_match = match req.headers().get("if-match")? {
        Some(value) => parse_if_match(&value)?,
        None => None,
    };
    let idempotency_key = match req.headers().get("idempotency-key")? {
        Some(key) => Some(check_idempotency_key(key)?),
        None => None,
    };
    Ok(WriteGuard {
        if_match,
        idempotency_key,
    })
}

/// Parses `If-Match`: one entity tag as sent in `ETag` (`"v3"`, weak `W/"v3"` accepted), or
/// `*` (any version: no check).
pub fn parse_if_match(value: &str) -> Result<Option<u64>, ApiError> {
    let value = value.trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .strip_prefix("\"v")
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|n| n.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::BadHeader {
            name: "If-Match",
            problem: format!("expected an ETag such as \"v3\" (from a GET), got {value:.40}"),
        })
}

fn check_idempotency_key(key: String) -> Result<String, ApiError> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::BadHeader {
            name: "Idempotency-Key",
            problem: format!("must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
        });
    }
    Ok(key)
}

/// The strong entity tag of a document version.
pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// The answer to a write: the acknowledgement with its `ETag`, flagged when replayed.
pub fn ack_response(ack: &WriteAck) -> Result<Response, ApiError> {
    let mut resp = with_etag(Response::from_json(ack)?, ack.version)?;
    if ack.replayed {
        resp.headers_mut().set("idempotent-replayed", "true")?;
    }
    Ok(resp)
}

fn with_etag(mut resp: Response, version: u64) -> Result<Response, ApiError> {
    resp.headers_mut().set("etag", &etag(version))?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_our_etags_and_star() {
        assert_eq!(parse_if_match("\"v3\"").ok(), Some(Some(3)));
        assert_eq!(parse_if_match("W/\"v12\"").ok(), Some(Some(12)));
        assert_eq!(parse_if_match("*").ok(), Some(None));
        for bad in ["v3", "\"3\"", "\"vx\"", ""] {
            assert!(
                matches!(
                    parse_if_match(bad),
                    Err(ApiError::BadHeader {
                        name: "If-Match",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn etags_round_trip_through_if_match() {
        assert_eq!(parse_if_match(&etag(42)).ok(), Some(Some(42)));
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(check_idempotency_key("order-42/retry".into()).is_ok());
        assert!(check_idempotency_key(String::new()).is_err());
        assert!(check_idempotency_key("has space".into()).is_err());
        assert!(check_idempotency_key("k".repeat(256)).is_err());
    }
}
