//! `GET /v1/connect`: the WebSocket entry. The Worker authenticates and authorizes the
//! caller; the hub accepts the socket with the Hibernation API and tags it with the caller's
//! rooms. A tenant's members join its `TenantHub`; a platform admin who names no tenant joins
//! the `PlatformHub`'s `platform:admins` room (live `sync-status` after each health check).
//!
//! The hub's answer reaches the client unchanged: the 101, or a refusal the hub alone can
//! make, such as 429 `CASCADE:Connect:TooManySockets` with its `Retry-After` (the hub is the
//! only place that knows how many sockets it holds; `cascade_durable::socket_caps`).

use cascade_durable::internal::Member;
use worker::{Env, Request, Response};

use crate::auth::{Principal, Role};
use crate::hubs::Hub;
use crate::problem::ApiError;
use crate::tenants;

/// Upgrades to a WebSocket attached to the hub of `tenant`, or to the platform hub when
/// `tenant` is `None` (only ever for platform admins; see `routes::addressed_tenant`).
pub async fn connect(
    env: &Env,
    req: Request,
    principal: &Principal,
    tenant: Option<&str>,
) -> Result<Response, ApiError> {
    let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::UpgradeRequired);
    }
    // The clock leeway that lets an HTTP request through just after `exp` would open a socket
    // the hub closes at once for its expired token (4001), and a client would reconnect with
    // it in a loop: refused here instead.
    let now_secs = (worker::js_sys::Date::now() / 1000.0) as i64;
    if principal.expires_at <= now_secs {
        return Err(ApiError::Unauthenticated(
            "the token has expired: a socket needs a token that is still valid",
        ));
    }
    let member = Member {
        sub: principal.sub.clone(),
        role: principal.role,
        expires_at: Some(principal.expires_at),
    };
    match tenant {
        Some(tenant) => {
            tenants::require(env, tenant).await?;
            Hub::tenant(env, tenant)?.connect(&req, &member).await
        }
        None if principal.role == Role::PlatformAdmin => {
            Hub::platform(env)?.connect(&req, &member).await
        }
        None => Err(ApiError::Forbidden(
            "only platform admins may connect without a tenant".into(),
        )),
    }
}
