//! `GET /v1/connect`: the WebSocket entry. The Worker checks the request; the tenant's hub
//! accepts the socket with the Hibernation API.

use worker::{Env, Request, Response};

use crate::hubs::Hub;
use crate::input;
use crate::problem::ApiError;
use crate::tenants;

/// Upgrades to a WebSocket attached to the hub of the tenant named by `?tenant=`.
pub async fn connect(env: &Env, req: Request) -> Result<Response, ApiError> {
    let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::UpgradeRequired);
    }
    let url = req.url()?;
    let tenant = url
        .query_pairs()
        .find(|(k, _)| k == "tenant")
        .map(|(_, v)| v.into_owned())
        .ok_or(ApiError::BadQuery {
            name: "tenant",
            problem: "required".into(),
        })?;
    let tenant = input::name("tenant", &tenant)?;
    tenants::require(env, &tenant).await?;
    Hub::tenant(env, &tenant)?.connect(&req).await
}
