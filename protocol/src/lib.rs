//! Cascade's wire types, shared by the server (Worker and Durable Objects) and the clients.
//!
//! Everything here is plain data with serde: no I/O, no runtime. `docs/PROTOCOL.md` is the
//! prose version of this module; keep the two in step.
//!
//! Frames are JSON objects tagged by `type`. A server frame that changes configuration always
//! carries the hub's `seq`: the tenant-wide sequence number the change was applied at. Clients
//! remember the last `seq` they applied and resume from it.

mod frames;
mod history;
mod names;
mod problem;
#[cfg(test)]
mod typescript;
mod vocab;

pub use frames::{
    ClientFrame, ConfigChange, Origins, PlatformSyncStatus, Resume, ServerFrame, SnapshotDocument,
    StoredDocument, SyncStatusReport, TenantSyncStatus,
};
pub use history::{HistoryEntry, HistoryPage};
pub use names::{event_name_for_namespace, is_valid_name, room, MAX_NAME_LEN};
pub use problem::{Problem, PROBLEM_CONTENT_TYPE};
pub use vocab::{Role, Scope, SyncFacts, SyncState};

/// WebSocket close code of a socket whose token expired (docs/PROTOCOL.md): the client asks
/// for a fresh token and reconnects at once with `since` = the last `seq` it saw.
pub const CLOSE_TOKEN_EXPIRED: u16 = 4001;

/// Code of the `error` frame a hub sends just before closing a socket with
/// [`CLOSE_TOKEN_EXPIRED`]: a client may reconnect on it without waiting for the close
/// handshake to finish.
pub const TOKEN_EXPIRED_CODE: &str = "CASCADE:Auth:TokenExpired";
