//! `POST /v1/events`: the seed's `triggerConfigChange`. The body is one change event
//! `{type, action, scope, targetId, config, triggeredBy}` (with `tenantId` for a user-scope
//! event, defaulting to the caller's tenant), or an array of them applied atomically as one
//! batch with one sequence number. All events of a batch go to one hub: all platform, or all
//! of one tenant.
//!
//! `config` is an RFC 7396 merge patch on the event's own layer. `triggeredBy` is recorded as
//! the authenticated caller, whatever the body says: history must not be forgeable.

use cascade_durable::internal::{Caller, ChangeSet, HubContext, WriteAck};
use cascade_engine::event::ChangeEvent;
use cascade_engine::scope::Scope;
use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Method, Request, Response};

use crate::auth::{Principal, Role};
use crate::config::{ack_response, hub_context, write_guard};
use crate::hubs::Hub;
use crate::input;
use crate::problem::ApiError;

/// One event as posted: the engine's event plus the tenant of a user-scope event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostedEvent {
    #[serde(flatten)]
    event: ChangeEvent,
    #[serde(default)]
    tenant_id: Option<String>,
}

/// Handles `POST /v1/events`.
pub async fn post(
    env: &Env,
    mut req: Request,
    principal: &Principal,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let guard = write_guard(&req, caller)?;
    let body: Value = input::json_body(&mut req).await?;
    let posted: Vec<PostedEvent> = match body {
        Value::Array(items) => serde_json::from_value(Value::Array(items)),
        single => serde_json::from_value(single).map(|e| vec![e]),
    }
    .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    if posted.is_empty() {
        return Err(ApiError::InvalidEvents(
            "a batch needs at least one event".into(),
        ));
    }
    let hub = target_hub(&posted, principal)?;
    let events: Vec<ChangeEvent> = posted
        .into_iter()
        .map(|p| ChangeEvent {
            triggered_by: principal.sub.clone(),
            ..p.event
        })
        .collect();
    // A platform batch answers how many tenants it reaches: its events are kept to count.
    let counted = hub.is_none().then(|| events.clone());
    let (hub, context) = match &hub {
        None => (Hub::platform(env)?, HubContext::default()),
        Some(tenant) => (
            Hub::tenant(env, tenant)?.on_behalf_of(caller)?,
            hub_context(env, tenant).await?,
        ),
    };
    let ack: WriteAck = hub
        .call(
            Method::Post,
            "/changes",
            Some(&ChangeSet {
                events,
                guard,
                context,
            }),
        )
        .await?;
    match counted {
        // A platform batch says how many tenants it reaches, as a platform layer write does.
        Some(events) => crate::config::targeted_events_response(env, &ack, &events).await,
        None => ack_response(&ack),
    }
}

/// The hub all events go to (`None`: the platform hub), after checking the caller may write
/// each event's layer.
fn target_hub(posted: &[PostedEvent], principal: &Principal) -> Result<Option<String>, ApiError> {
    let mut hub: Option<Option<String>> = None;
    for p in posted {
        let e = &p.event;
        let this = match e.scope {
            Scope::Platform => None,
            Scope::Tenant => Some(
                e.target_id
                    .clone()
                    .ok_or_else(|| missing("targetId (the tenant)"))?,
            ),
            Scope::User => Some(
                p.tenant_id
                    .clone()
                    .or_else(|| principal.tenant.clone())
                    .ok_or_else(|| missing("tenantId (the user's tenant)"))?,
            ),
        };
        if let Some(t) = &this {
            input::name("tenant", t)?;
        }
        let allowed = match (principal.role, e.scope) {
            (Role::PlatformAdmin, _) => true,
            (Role::TenantAdmin, Scope::Tenant | Scope::User) => this == principal.tenant,
            (Role::User, Scope::User) => {
                this == principal.tenant && e.target_id.as_deref() == Some(principal.sub.as_str())
            }
            _ => false,
        };
        if !allowed {
            return Err(ApiError::Forbidden(format!(
                "this caller may not write the {} layer{}",
                e.scope.as_str(),
                this.map(|t| format!(" of tenant '{t}'"))
                    .unwrap_or_default()
            )));
        }
        match &hub {
            None => hub = Some(this),
            Some(first) if *first != this => {
                return Err(ApiError::InvalidEvents(
                    "all events of a batch must go to one hub: all platform, or all of one tenant"
                        .into(),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(hub.flatten())
}

fn missing(what: &str) -> ApiError {
    ApiError::InvalidEvents(format!("the event needs {what}"))
}
