//! Cascade's native Rust client.
//!
//! A [`Client`] holds one subject's effective configuration (per namespace) current over a
//! single WebSocket to its tenant's hub (`GET /v1/connect`, see `docs/PROTOCOL.md`):
//!
//! - the first connection asks for a snapshot (`since=0`); every later one resumes from the
//!   client's resume point ([`Client::seq`]), and the hub replays exactly what was missed
//!   (or sends a snapshot when its log no longer reaches back);
//! - each change frame's RFC 6902 patch is applied to the held config; a frame at or below
//!   the resume point is a duplicate and skipped; a patch that does not apply makes the
//!   client reconnect for a snapshot;
//! - a dropped socket is reconnected with exponential backoff and full jitter ([`Backoff`]);
//!   a heartbeat (`{"type":"ping"}` every [`Heartbeat::interval`]) detects a dead one;
//! - everything is reported as typed [`Event`]s to any number of subscribers ([`Events`],
//!   also a `Stream`).
//!
//! The protocol logic is a pure state machine, [`state::SyncState`], with no I/O: frames in,
//! held state and events out. [`Connection`] is one bare socket (no reconnection, no
//! heartbeat task, no held state) for tests and benchmarks that open many of them.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use cascade_client::{Client, Event, Options};
//!
//! # async fn example() {
//! let options = Options::new("http://127.0.0.1:8787", "<jwt>", "acme")
//!     .with_namespaces(["notifications", "auth"]);
//! let (client, mut events) = Client::connect_with_events(options);
//! client.wait_live(Duration::from_secs(10)).await;
//! println!("notifications: {:?}", client.config("notifications"));
//! while let Some(event) = events.recv().await {
//!     if let Event::Changed(change) = event {
//!         println!("{} #{}: {}", change.change.namespace, change.change.seq, change.config);
//!     }
//! }
//! client.close().await;
//! # }
//! ```
//!
//! `examples/watch.rs` is a small command-line watcher built on it.

#![warn(missing_docs)]

mod backoff;
mod client;
mod connection;
mod error;
mod event;
mod options;
pub mod state;

pub use backoff::Backoff;
pub use cascade_protocol::{
    ClientFrame, ConfigChange, PlatformSyncStatus, Resume, ServerFrame, SnapshotDocument,
    SyncStatusReport, TenantSyncStatus, CLOSE_TOKEN_EXPIRED, TOKEN_EXPIRED_CODE,
};
pub use client::{Client, Events};
pub use connection::{Connection, Greeting, PING};
pub use error::Error;
pub use event::{ChangeEvent, ChangeKind, ConnectionState, Event};
pub use options::{Heartbeat, Options, TokenProvider};
pub use state::SyncState;

#[cfg(feature = "rustls")]
pub use rustls;
