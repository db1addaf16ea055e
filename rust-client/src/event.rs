//! What a client reports: typed events and the connection state.

use std::time::Duration;

use cascade_protocol::{ConfigChange, Resume, SyncStatusReport};
use serde_json::Value;

/// Where a [`Client`](crate::Client) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Opening the first socket.
    Connecting,
    /// The socket is open and the hub is bringing the client up to date (replay or
    /// snapshot), or the server does not announce the end of that (no `synced`).
    Syncing,
    /// Up to date: the held configs are current and live changes are applied as they come.
    Live,
    /// The socket dropped; waiting to connect again.
    Reconnecting,
    /// Closed for good, by [`Client::close`](crate::Client::close) or a permanent error.
    Closed,
}

/// The seed's event name a change frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// `config-updated`: a namespace without a dedicated event name.
    ConfigUpdated,
    /// `module-changed`: the `modules` namespace.
    ModuleChanged,
    /// `auth-changed`: the `auth` namespace.
    AuthChanged,
    /// `rbac-changed`: the `rbac` namespace.
    RbacChanged,
}

impl ChangeKind {
    /// The wire name (`config-updated`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigUpdated => "config-updated",
            Self::ModuleChanged => "module-changed",
            Self::AuthChanged => "auth-changed",
            Self::RbacChanged => "rbac-changed",
        }
    }
}

/// A change the client applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// The frame's event name.
    pub kind: ChangeKind,
    /// The change as received (seq, namespace, patch, version, scope, who).
    pub change: ConfigChange,
    /// The namespace's effective config after the patch.
    pub config: Value,
}

/// Everything a client reports, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A socket opened and the hub said `hello`.
    Connected {
        /// Tenant the socket is attached to.
        tenant: String,
        /// The hub's sequence number at `hello`.
        seq: u64,
        /// How the hub brings the client up to date.
        resume: Resume,
    },
    /// A snapshot replaced every held config.
    Snapshot {
        /// The hub's sequence number the snapshot was taken at.
        seq: u64,
        /// The namespaces it holds.
        namespaces: Vec<String>,
    },
    /// The client is up to date at `seq`; live changes follow.
    Synced {
        /// The client's resume point.
        seq: u64,
    },
    /// A change was applied (boxed: it is the largest event by far, and every subscriber's
    /// buffer holds `event_capacity` events).
    Changed(Box<ChangeEvent>),
    /// A `sync-status` frame (admins).
    SyncStatus(SyncStatusReport),
    /// The server sent an `error` frame; the connection stays open.
    ServerError {
        /// Stable error code such as `CASCADE:Frame:Unsupported`.
        code: String,
        /// Human-readable explanation.
        message: String,
    },
    /// A change's patch did not apply to the held config: the client asks for a snapshot
    /// (reconnects with `since=0`).
    PatchFailed {
        /// The change's seq.
        seq: u64,
        /// The change's namespace.
        namespace: String,
        /// Why the patch failed.
        error: String,
    },
    /// A text frame that is not a known server frame (ignored).
    Malformed {
        /// Why it could not be read.
        error: String,
    },
    /// The socket closed or failed (or could not be opened).
    Disconnected {
        /// What happened.
        reason: String,
    },
    /// The next connection attempt starts after `delay`.
    Reconnecting {
        /// The attempt number (1 for the first retry since the last successful `hello`).
        attempt: u32,
        /// How long the client waits before it.
        delay: Duration,
    },
    /// A slow subscriber missed this many events (the held state is still complete).
    Lagged {
        /// Events skipped.
        missed: u64,
    },
    /// The client stopped for good: closed by its owner or by a permanent error (a refused
    /// token, a forbidden tenant).
    Closed {
        /// Why, when it was an error.
        error: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small_for_the_broadcast_buffers() {
        // Each subscriber's buffer holds `event_capacity` of them up front: with a thousand
        // clients in one process that is what the memory goes to.
        assert!(
            std::mem::size_of::<Event>() <= 96,
            "{}",
            std::mem::size_of::<Event>()
        );
    }

    #[test]
    fn change_kinds_have_the_wire_names() {
        let names = [
            ChangeKind::ConfigUpdated,
            ChangeKind::ModuleChanged,
            ChangeKind::AuthChanged,
            ChangeKind::RbacChanged,
        ]
        .map(ChangeKind::as_str);
        assert_eq!(
            names,
            [
                "config-updated",
                "module-changed",
                "auth-changed",
                "rbac-changed"
            ]
        );
    }
}
