//! Addressing the Durable Objects: one `TenantHub` per tenant (named by tenant id) and the one
//! `PlatformHub`, over the internal interface documented in `cascade_durable::internal`.

use cascade_durable::internal::{
    Caller, Member, BASE_URL, CALLER_HEADER, HUB_NAME_HEADER, MEMBER_HEADER,
};
use cascade_durable::PLATFORM_HUB_NAME;
use cascade_protocol::Problem;
use serde::{de::DeserializeOwned, Serialize};
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use crate::problem::ApiError;

/// Binding name of the `TenantHub` namespace in `wrangler.jsonc`.
pub const TENANT_HUB_BINDING: &str = "TENANT_HUB";
/// Binding name of the `PlatformHub` namespace in `wrangler.jsonc`.
pub const PLATFORM_HUB_BINDING: &str = "PLATFORM_HUB";

/// A hub to call: its stub and the name it answers to.
pub struct Hub {
    stub: Stub,
    name: String,
    caller: Option<String>,
}

impl Hub {
    /// The hub of `tenant` (an already validated tenant id).
    pub fn tenant(env: &Env, tenant: &str) -> Result<Self, ApiError> {
        let stub = env
            .durable_object(TENANT_HUB_BINDING)?
            .get_by_name(tenant)?;
        Ok(Self {
            stub,
            name: tenant.to_owned(),
            caller: None,
        })
    }

    /// The platform hub.
    pub fn platform(env: &Env) -> Result<Self, ApiError> {
        let stub = env
            .durable_object(PLATFORM_HUB_BINDING)?
            .get_by_name(PLATFORM_HUB_NAME)?;
        Ok(Self {
            stub,
            name: PLATFORM_HUB_NAME.to_owned(),
            caller: None,
        })
    }

    /// This hub, called on behalf of `caller` (a write: the hub records who made it).
    pub fn on_behalf_of(mut self, caller: &Caller) -> Result<Self, ApiError> {
        self.caller = Some(serde_json::to_string(caller)?);
        Ok(self)
    }

    /// Calls the hub and decodes its JSON answer. A problem answered by the hub becomes
    /// [`ApiError::Hub`] and reaches the client as it is.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let headers = Headers::new();
        headers.set(HUB_NAME_HEADER, &self.name)?;
        if let Some(caller) = &self.caller {
            headers.set(CALLER_HEADER, caller)?;
        }
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if let Some(body) = body {
            let text = serde_json::to_string(body)?;
            init.with_body(Some(text.into()));
        }
        let req = Request::new_with_init(&format!("{BASE_URL}{path}"), &init)?;
        let mut resp = self.stub.fetch_with_request(req).await?;
        if resp.status_code() >= 400 {
            let problem: Problem = resp.json().await?;
            return Err(ApiError::Hub(problem));
        }
        Ok(resp.json().await?)
    }

    /// Hands a WebSocket upgrade request to the hub, which accepts the socket itself.
    pub async fn connect(&self, req: &Request, member: &Member) -> Result<Response, ApiError> {
        let headers = req.headers().clone();
        headers.set(HUB_NAME_HEADER, &self.name)?;
        headers.set(MEMBER_HEADER, &serde_json::to_string(member)?)?;
        // The hub needs the upgrade, not the caller's credentials.
        headers.delete("authorization")?;
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        // Only the resume point, the subscription and the origins flag go on to the hub
        // (never a token).
        let mut target = worker::Url::parse(&format!("{BASE_URL}/connect"))
            .map_err(|e| ApiError::Internal(format!("hub connect URL: {e}")))?;
        for (key, value) in req.url()?.query_pairs() {
            if key == "since" || key == "namespaces" || key == "origins" {
                target.query_pairs_mut().append_pair(&key, &value);
            }
        }
        let forwarded = Request::new_with_init(target.as_str(), &init)?;
        Ok(self.stub.fetch_with_request(forwarded).await?)
    }
}

/// Asks the platform hub to watch for unfinished tenant registrations and deletions: its
/// alarm finishes any that a crash cuts short (`cascade_durable::lifecycle_steps`). Called
/// before the first durable step of each, so no sequence can be left without it.
pub async fn watch_lifecycles(env: &Env) -> Result<(), ApiError> {
    let _: serde_json::Value = Hub::platform(env)?
        .call::<(), _>(Method::Post, "/lifecycle-watch", None)
        .await?;
    Ok(())
}
