//! Configuration documents: read and replace the platform layer and a tenant's layer of one
//! namespace. Reads carry the version as an `ETag`.

use cascade_durable::internal::{LayerWrite, WriteAck};
use cascade_protocol::StoredDocument;
use serde_json::Value;
use worker::{Env, Method, Request, Response};

use crate::hubs::Hub;
use crate::input;
use crate::problem::ApiError;
use crate::tenants;

/// Who a write is attributed to until requests are authenticated.
const ANONYMOUS_ACTOR: &str = "api";

/// `GET /v1/tenants/{tenant}/config/{namespace}`.
pub async fn get_tenant(env: &Env, tenant: &str, namespace: &str) -> Result<Response, ApiError> {
    tenants::require(env, tenant).await?;
    let doc: StoredDocument = Hub::tenant(env, tenant)?
        .call::<(), _>(Method::Get, &format!("/layers/{namespace}"), None)
        .await?;
    with_etag(Response::from_json(&doc)?, doc.version)
}

/// `PUT /v1/tenants/{tenant}/config/{namespace}`: replaces the tenant layer.
pub async fn put_tenant(
    env: &Env,
    mut req: Request,
    tenant: &str,
    namespace: &str,
) -> Result<Response, ApiError> {
    let write = layer_write(&mut req).await?;
    tenants::require(env, tenant).await?;
    let ack: WriteAck = Hub::tenant(env, tenant)?
        .call(Method::Put, &format!("/layers/{namespace}"), Some(&write))
        .await?;
    with_etag(Response::from_json(&ack)?, ack.version)
}

/// `GET /v1/platform/config/{namespace}`.
pub async fn get_platform(env: &Env, namespace: &str) -> Result<Response, ApiError> {
    let doc: StoredDocument = Hub::platform(env)?
        .call::<(), _>(Method::Get, &format!("/layers/{namespace}"), None)
        .await?;
    with_etag(Response::from_json(&doc)?, doc.version)
}

/// `PUT /v1/platform/config/{namespace}`: replaces the platform layer.
pub async fn put_platform(
    env: &Env,
    mut req: Request,
    namespace: &str,
) -> Result<Response, ApiError> {
    let write = layer_write(&mut req).await?;
    let ack: WriteAck = Hub::platform(env)?
        .call(Method::Put, &format!("/layers/{namespace}"), Some(&write))
        .await?;
    with_etag(Response::from_json(&ack)?, ack.version)
}

async fn layer_write(req: &mut Request) -> Result<LayerWrite, ApiError> {
    let body: Value = input::json_body(req).await?;
    Ok(LayerWrite {
        config: input::config_object(body)?,
        triggered_by: ANONYMOUS_ACTOR.to_owned(),
    })
}

/// The strong entity tag of a document version.
pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

fn with_etag(mut resp: Response, version: u64) -> Result<Response, ApiError> {
    resp.headers_mut().set("etag", &etag(version))?;
    Ok(resp)
}
