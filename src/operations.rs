//! Admin operations on a tenant's namespaces: list and decide pending changes, list and
//! resolve conflicts, roll a namespace back to an earlier version. Each decision is a commit
//! in the tenant's hub (its own `seq`, history row and broadcast).

use cascade_durable::internal::{
    Caller, ConflictItem, HubContext, Operation, PendingItem, WriteAck, WriteGuard,
};
use cascade_engine::conflict::ConflictAction;
use serde::Deserialize;
use worker::{Env, Method, Request, Response};

use crate::config::{ack_response, hub_context, write_guard};
use crate::hubs::Hub;
use crate::input;
use crate::problem::ApiError;
use crate::tenants;

/// Which open items to list.
#[derive(Debug, Clone, Copy)]
pub enum Items {
    /// Platform changes waiting for a decision.
    Pending,
    /// Conflicts waiting for a resolution.
    Conflicts,
}

/// `GET /v1/tenants/{tenant}/pending` and `.../conflicts`.
pub async fn list(env: &Env, tenant: &str, items: Items) -> Result<Response, ApiError> {
    tenants::require(env, tenant).await?;
    let hub = Hub::tenant(env, tenant)?;
    match items {
        Items::Pending => {
            let found: Vec<PendingItem> = hub.call::<(), _>(Method::Get, "/pending", None).await?;
            Ok(Response::from_json(&found)?)
        }
        Items::Conflicts => {
            let found: Vec<ConflictItem> =
                hub.call::<(), _>(Method::Get, "/conflicts", None).await?;
            Ok(Response::from_json(&found)?)
        }
    }
}

/// Checks an item id from the path (`{seq}.{n}`, as the engine makes them).
pub fn item_id(id: &str) -> Result<String, ApiError> {
    if !id.is_empty() && id.len() <= 40 && id.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        Ok(id.to_owned())
    } else {
        Err(ApiError::InvalidName {
            what: "id",
            value: id.chars().take(40).collect(),
        })
    }
}

/// `POST /v1/tenants/{tenant}/pending/{namespace}/{id}/accept` (or `/reject`).
pub async fn decide(
    env: &Env,
    req: &Request,
    caller: &Caller,
    tenant: &str,
    namespace: &str,
    id: &str,
    accept: bool,
) -> Result<Response, ApiError> {
    let op = operation(env, req, caller, tenant, None, None).await?;
    let decision = if accept { "accept" } else { "reject" };
    send(
        env,
        tenant,
        &format!("/pending/{namespace}/{}/{decision}", item_id(id)?),
        &op,
        caller,
    )
    .await
}

/// Body of a conflict resolution.
#[derive(Debug, Deserialize)]
struct Resolution {
    #[serde(flatten)]
    action: ConflictAction,
}

/// `POST /v1/tenants/{tenant}/conflicts/{namespace}/{id}/resolve` with `{"action":
/// "takeUpper" | "keepLower" | "setValue", "value": ...}`.
pub async fn resolve(
    env: &Env,
    mut req: Request,
    caller: &Caller,
    tenant: &str,
    namespace: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let body: Resolution = input::json_body(&mut req).await?;
    let op = operation(env, &req, caller, tenant, Some(body.action), None).await?;
    send(
        env,
        tenant,
        &format!("/conflicts/{namespace}/{}/resolve", item_id(id)?),
        &op,
        caller,
    )
    .await
}

/// Body of a rollback: the version to restore.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"version": 12})))]
pub struct Rollback {
    /// The seq to restore the layers as they were at (a history entry's seq; at most
    /// 2^53 − 1).
    #[cfg_attr(test, schema(maximum = 9007199254740991_u64))]
    pub version: u64,
}

/// The version a rollback's body names, within what hubs read exactly.
async fn rollback_version(req: &mut Request) -> Result<u64, ApiError> {
    let body: Rollback = input::json_body(req).await?;
    if body.version > crate::config::MAX_VERSION {
        return Err(ApiError::MalformedJson(format!(
            "version must be a whole number from 0 to {}",
            crate::config::MAX_VERSION
        )));
    }
    Ok(body.version)
}

/// `POST /v1/tenants/{tenant}/rollback/{namespace}` with `{"version": N}`: restores the
/// namespace's layers as they were at version N, as a new forward change.
pub async fn rollback(
    env: &Env,
    mut req: Request,
    caller: &Caller,
    tenant: &str,
    namespace: &str,
) -> Result<Response, ApiError> {
    let version = rollback_version(&mut req).await?;
    let op = operation(env, &req, caller, tenant, None, Some(version)).await?;
    send(env, tenant, &format!("/rollback/{namespace}"), &op, caller).await
}

/// `POST /v1/platform/rollback/{namespace}` with `{"version": N}`: restores the platform
/// layer as it was at platform seq N, as a new platform update fanned out to every tenant its
/// rules reach (answered with `targetedTenants`, as a platform write is).
pub async fn platform_rollback(
    env: &Env,
    mut req: Request,
    caller: &Caller,
    namespace: &str,
) -> Result<Response, ApiError> {
    let version = rollback_version(&mut req).await?;
    let op = Operation {
        by: caller.sub.clone(),
        resolution: None,
        version: Some(version),
        guard: WriteGuard {
            if_match: None,
            ..write_guard(&req, caller)?
        },
        context: HubContext::default(),
    };
    let ack: WriteAck = Hub::platform(env)?
        .call(Method::Post, &format!("/rollback/{namespace}"), Some(&op))
        .await?;
    crate::config::targeted_response(env, &ack, namespace).await
}

async fn operation(
    env: &Env,
    req: &Request,
    caller: &Caller,
    tenant: &str,
    resolution: Option<ConflictAction>,
    version: Option<u64>,
) -> Result<Operation, ApiError> {
    Ok(Operation {
        by: caller.sub.clone(),
        resolution,
        version,
        guard: WriteGuard {
            if_match: None,
            ..write_guard(req, caller)?
        },
        context: hub_context(env, tenant).await?,
    })
}

async fn send(
    env: &Env,
    tenant: &str,
    path: &str,
    op: &Operation,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let ack: WriteAck = Hub::tenant(env, tenant)?
        .on_behalf_of(caller)?
        .call(Method::Post, path, Some(op))
        .await?;
    ack_response(&ack)
}
