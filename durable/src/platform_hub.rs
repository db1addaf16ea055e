//! `PlatformHub`: the one Durable Object that owns the platform layers and the platform
//! sequence number.

use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result, State,
};

use crate::core::HubCore;
use crate::internal::LayerWrite;
use crate::reply;

/// The single name under which the platform hub is addressed.
pub const PLATFORM_HUB_NAME: &str = "platform";

/// The platform's hub. See the module docs.
#[durable_object]
pub struct PlatformHub {
    core: HubCore,
}

impl DurableObject for PlatformHub {
    fn new(state: State, env: Env) -> Self {
        Self {
            core: HubCore::new(state, env),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let hub = match self.core.admit(&req) {
            Ok(name) => name,
            Err(resp) => return resp,
        };
        let path = req.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (Method::Get, ["status"]) => reply::json(&self.core.status(&hub)?),
            (Method::Get, ["layers", namespace]) => {
                let layer = self
                    .core
                    .store
                    .layer("platform", PLATFORM_HUB_NAME, namespace)?;
                reply::json(&cascade_protocol::StoredDocument {
                    scope: "platform".into(),
                    tenant: None,
                    namespace: (*namespace).to_owned(),
                    version: layer.version,
                    config: layer.doc,
                })
            }
            (Method::Put, ["layers", namespace]) => {
                let namespace = (*namespace).to_owned();
                let write: LayerWrite = req.json().await?;
                self.core
                    .write_layer(&hub, "platform", PLATFORM_HUB_NAME, &namespace, write)
                    .await?
                    .response()
            }
            _ => reply::problem(
                404,
                "CASCADE:Hub:NoRoute",
                "Not Found",
                format!("no hub route {path}"),
            ),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.core.flush_outbox().await
    }
}
