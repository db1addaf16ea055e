//! Cascade's Durable Objects.
//!
//! - [`TenantHub`]: one per tenant. Authoritative for the tenant's layers, its sequence number
//!   and its WebSocket rooms (hibernating sockets, tagged by room).
//! - [`PlatformHub`]: exactly one. Authoritative for the platform layers and the platform
//!   sequence number; also the platform admins' WebSocket room (`platform:admins`).
//!
//! Both keep their state in the object's own SQLite storage ([`store`]) and buffer their event
//! history in an outbox table that an alarm flushes to D1 ([`outbox`]), so an acknowledged
//! write is durable in the object before D1 ever sees it, and a crash in between loses nothing.
//!
//! The Worker talks to a hub over the internal HTTP interface described in [`internal`].
//!
//! Work over every tenant — the fan-out of a platform update ([`fanout`]) and the health
//! check ([`health_walk`]) — runs in the platform hub's alarm a page of tenants at a time
//! ([`walk`]), so no invocation's work or subrequests grow with the tenant count.

mod change_frames;
pub mod converge_walk;
mod core;
pub mod delivery;
pub mod digest;
mod engine_error;
pub mod engine_store;
pub mod fanout;
pub mod frame_log;
pub mod health_walk;
mod history;
pub mod internal;
pub mod layer_patch;
pub mod lifecycle;
pub mod lifecycle_steps;
pub mod message;
pub mod outbox;
mod platform_hub;
mod platform_room;
pub mod rate;
pub mod registry;
mod reply;
pub mod socket_caps;
pub mod socket_expiry;
pub mod sockets;
pub mod status_watch;
pub mod store;
mod tenant_hub;
pub mod tenant_store;
mod versioned_read;
pub mod walk;

/// Most outcomes an answer or history row lists (the API document states it).
pub use history::MAX_OUTCOMES_LISTED;
pub use platform_hub::{PlatformHub, PLATFORM_HUB_NAME};
pub use tenant_hub::TenantHub;
/// Most pending changes or conflicts a listing returns (the API document states it).
pub use tenant_hub::MAX_OPEN_ITEMS_LISTED;
