//! `GET /v1/connect`: the WebSocket entry. The Worker authenticates and authorizes the
//! caller; the tenant's hub accepts the socket with the Hibernation API and tags it with the
//! caller's rooms.

use cascade_durable::internal::Member;
use worker::{Env, Request, Response};

use crate::auth::{Principal, Role};
use crate::hubs::Hub;
use crate::problem::ApiError;
use crate::tenants;

/// Upgrades to a WebSocket attached to the hub of `tenant`.
pub async fn connect(
    env: &Env,
    req: Request,
    principal: &Principal,
    tenant: &str,
) -> Result<Response, ApiError> {
    let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::UpgradeRequired);
    }
    tenants::require(env, tenant).await?;
    let member = Member {
        sub: principal.sub.clone(),
        role: match principal.role {
            Role::PlatformAdmin => "platform-admin",
            Role::TenantAdmin => "tenant-admin",
            Role::User => "user",
        }
        .to_owned(),
    };
    Hub::tenant(env, tenant)?.connect(&req, &member).await
}
