//! Cascade's Worker: the edge entry point.
//!
//! It authenticates and validates every request, routes it to the right Durable Object
//! (`TenantHub` per tenant, `PlatformHub` for the platform), serves the dashboard's static
//! assets (by the runtime, before this code runs), and runs the cron health check.
//!
//! Modules, one job each:
//! - [`routes`]: the route table and dispatch.
//! - [`problem`]: the one place where errors become `application/problem+json`.
//! - [`input`]: reading request bodies and path parameters under size and depth limits.
//! - [`auth`]: JWT authentication and role-based access.
//! - [`hubs`]: addressing Durable Objects.
//! - [`config`], [`tenants`], [`rules`], [`events`], [`operations`], [`connect`],
//!   [`history`], [`health`], [`tenant_delete`], [`sync_all`]: the endpoints.
//! - [`audit`]: request ids and the audit of refused writes.
//! - [`alerts`], [`retention`], [`tenant_states`]: the health check's alerting, history
//!   pruning and memory between runs.

pub mod alerts;
pub mod api_spec;
pub mod audit;
pub mod auth;
pub mod config;
pub mod connect;
pub mod convergence;
pub mod events;
pub mod health;
pub mod history;
pub mod hubs;
pub mod input;
pub mod lag;
#[cfg(test)]
mod openapi;
pub mod operations;
pub mod problem;
pub mod retention;
pub mod routes;
pub mod rules;
pub mod sync_all;
pub mod targeting;
pub mod tenant_delete;
pub mod tenant_states;
pub mod tenants;

pub use cascade_durable::{PlatformHub, TenantHub};

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    // The platform hub, in this same module, finishes the health checks it walks with the
    // Worker's alerting and retention code.
    cascade_durable::health_walk::set_finisher(health::finisher);
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    routes::dispatch(req, env, ctx).await
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    // The check itself runs in the platform hub's alarm, a page of tenants at a time.
    if let Err(e) = health::start(&env, &event.cron()).await {
        worker::console_error!("health check could not start: {e}");
    }
}
