//! A hub's own SQLite storage: the tables both hubs share (metadata and counters, the
//! history outbox, idempotent answers), and the hook through which each hub class creates
//! its own tables (`tenant_store`, `engine_store`).
//!
//! Invariants:
//! - `seq` only grows, by one per applied change; a layer's `version` is the `seq` of its last
//!   write, so versions are comparable across namespaces of one hub.
//! - A change is stored with synchronous `exec` calls and no `await` between them: the runtime
//!   commits such a run of writes atomically, and holds the hub's response until it is durable
//!   (the output gate), so an acknowledged write is never lost.
//! - `meta` is read through a write-through cache in the hub's memory ([`Store::meta`]): every
//!   write to the table goes through [`Store::set_meta`] or [`Store::delete_meta`], and
//!   [`Store::create_schema`] (run at start and after an erasure) empties it.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Deserialize;
use worker::{Result, SqlStorage, SqlStorageValue};

/// Schema of a hub's storage; every statement is idempotent.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
";

/// Every `meta` entry a hub keeps, so each key is spelled once and a typo cannot compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Meta {
    /// The hub's sequence number.
    Seq,
    /// The last platform seq a tenant processed (the platform's own seq at the platform hub).
    PlatformSeq,
    /// The hub's name, learnt from its first request (an alarm has none).
    Hub,
    /// The tenant and rules of the last call that carried them (reads need the rules).
    Context,
    /// The last failure (history flush, fan-out, health check), for the status report.
    LastError,
    /// How many times the object was constructed (woke from hibernation or eviction).
    Wakes,
    /// Set while a tenant hub serves a registered tenant.
    Live,
    /// A deleted tenant's tombstone (its time, Unix ms).
    Erased,
    /// The storage schema version ([`crate::tenant_store::SCHEMA_VERSION`] and the platform
    /// hub's own).
    SchemaVersion,
    /// Highest `seq` pruned from the frame log.
    FrameLogFloor,
    /// The id of the last health check the platform hub started.
    HealthLastCheck,
    /// The last `sync-status` frame sent to the platform admins' room.
    PlatformSyncStatus,
    /// The earliest token expiry among a tenant hub's open sockets (Unix ms).
    NextSocketExpiry,
    /// The tenant incarnation (one per creation) a tenant hub serves; its history rows carry
    /// it to D1. Absent on hubs of tenants created before incarnations existed.
    Incarnation,
    /// Set at the platform hub while a tenant registration or deletion may be unfinished: its
    /// alarm then finishes them ([`crate::lifecycle_steps::sweep`]).
    LifecycleWatch,
    /// A tenant hub's status as last reported to the platform admins' room
    /// ([`crate::status_watch::status_key`]).
    ReportedStatus,
}

impl Meta {
    /// The stored key (unchanged from the string keys earlier versions wrote).
    pub const fn key(self) -> &'static str {
        match self {
            Self::Seq => "seq",
            Self::PlatformSeq => "platform_seq",
            Self::Hub => "hub",
            Self::Context => "context",
            Self::LastError => "last_error",
            Self::Wakes => "wakes",
            Self::Live => "live",
            Self::Erased => "erased",
            Self::SchemaVersion => "schema_version",
            Self::FrameLogFloor => "frame_log_floor",
            Self::HealthLastCheck => "health_last_check",
            Self::PlatformSyncStatus => "platform_sync_status",
            Self::NextSocketExpiry => "next_socket_expiry",
            Self::Incarnation => "incarnation",
            Self::LifecycleWatch => "lifecycle_watch",
            Self::ReportedStatus => "reported_status",
        }
    }
}

/// Typed access to one hub's SQLite storage.
pub struct Store {
    sql: SqlStorage,
    own_schema: OwnSchema,
    /// `meta` values read or written since the schema was created (`None`: no such row).
    /// A write reads about fifteen of them, and each read is a crossing into the runtime's
    /// SQLite; the hub is the only writer of its storage, so its memory can hold them.
    meta_cache: RefCell<HashMap<Meta, Option<String>>>,
}

/// Creates (and migrates) the tables of one hub class, beside the shared ones.
pub type OwnSchema = fn(&Store) -> Result<()>;

#[derive(Deserialize)]
struct MetaRow {
    value: String,
}

/// The answer given to a request that carried an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    /// Fingerprint of the request, so a key reused for another request is caught.
    pub fingerprint: String,
    /// HTTP status answered.
    pub status: u16,
    /// JSON body answered.
    pub body: String,
}

#[derive(Deserialize)]
struct AnswerRow {
    fingerprint: String,
    status: f64,
    body: String,
}

#[derive(Deserialize)]
struct CountRow {
    n: f64,
}

impl Store {
    /// Wraps the hub's SQL handle, with its class's own tables; call
    /// [`Store::create_schema`] before use.
    pub fn new(sql: SqlStorage, own_schema: OwnSchema) -> Self {
        Self {
            sql,
            own_schema,
            meta_cache: RefCell::default(),
        }
    }

    /// Creates the shared tables and the hub class's own on first use, migrating storage an
    /// earlier version wrote (idempotent).
    pub fn create_schema(&self) -> Result<()> {
        // After `deleteAll` (an erasure) nothing cached is true any more.
        self.meta_cache.borrow_mut().clear();
        self.sql.exec(SCHEMA, None)?;
        (self.own_schema)(self)
    }

    /// The underlying SQL handle (for the outbox, which shares the database).
    pub fn sql(&self) -> &SqlStorage {
        &self.sql
    }

    /// Reads a metadata value.
    pub fn meta(&self, key: Meta) -> Result<Option<String>> {
        if let Some(value) = self.meta_cache.borrow().get(&key) {
            return Ok(value.clone());
        }
        let rows: Vec<MetaRow> = self
            .sql
            .exec(
                "SELECT value FROM meta WHERE key = ?",
                vec![key.key().into()],
            )?
            .to_array()?;
        let value = rows.into_iter().next().map(|r| r.value);
        self.meta_cache.borrow_mut().insert(key, value.clone());
        Ok(value)
    }

    /// Writes a metadata value (nothing when it is known to be stored already).
    pub fn set_meta(&self, key: Meta, value: &str) -> Result<()> {
        if self
            .meta_cache
            .borrow()
            .get(&key)
            .and_then(Option::as_deref)
            == Some(value)
        {
            return Ok(());
        }
        self.sql.exec(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.key().into(), value.into()],
        )?;
        self.meta_cache
            .borrow_mut()
            .insert(key, Some(value.to_owned()));
        Ok(())
    }

    /// Removes a metadata value (nothing when it is known to be absent).
    pub fn delete_meta(&self, key: Meta) -> Result<()> {
        if self.meta_cache.borrow().get(&key) == Some(&None) {
            return Ok(());
        }
        self.sql
            .exec("DELETE FROM meta WHERE key = ?", vec![key.key().into()])?;
        self.meta_cache.borrow_mut().insert(key, None);
        Ok(())
    }

    /// Reads a numeric metadata value (0 when absent or unreadable).
    pub fn counter(&self, key: Meta) -> Result<u64> {
        Ok(self.meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Adds one to a numeric metadata value and returns the new value.
    pub fn bump(&self, key: Meta) -> Result<u64> {
        let next = self.counter(key)? + 1;
        self.set_meta(key, &next.to_string())?;
        Ok(next)
    }

    /// The hub's current sequence number.
    pub fn seq(&self) -> Result<u64> {
        self.counter(Meta::Seq)
    }

    /// The stored answer to an earlier request with this idempotency key.
    pub fn idempotent_answer(&self, key: &str) -> Result<Option<StoredAnswer>> {
        let rows: Vec<AnswerRow> = self
            .sql
            .exec(
                "SELECT fingerprint, status, body FROM idempotency WHERE key = ?",
                vec![key.into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().map(|r| StoredAnswer {
            fingerprint: r.fingerprint,
            status: as_u64(r.status) as u16,
            body: r.body,
        }))
    }

    /// Records the answer to a request with an idempotency key, and forgets keys older than
    /// `expire_before_ms`.
    pub fn remember_answer(
        &self,
        key: &str,
        answer: &StoredAnswer,
        now_ms: u64,
        expire_before_ms: u64,
    ) -> Result<()> {
        self.sql.exec(
            "DELETE FROM idempotency WHERE created_at < ?",
            vec![sql_int(expire_before_ms)?],
        )?;
        self.sql.exec(
            "INSERT OR REPLACE INTO idempotency (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
            vec![
                key.into(),
                answer.fingerprint.as_str().into(),
                sql_int(u64::from(answer.status))?,
                answer.body.as_str().into(),
                sql_int(now_ms)?,
            ],
        )?;
        Ok(())
    }

    /// Counts the rows of `table` (a fixed table name from this crate, never user input).
    pub fn count(&self, table: &'static str) -> Result<u64> {
        self.count_rows(&format!("SELECT COUNT(*) AS n FROM {table}"), Vec::new())
    }

    /// Runs `query`, a `SELECT COUNT(...) AS n ...` with `bindings`, and returns `n`.
    pub fn count_rows(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Result<u64> {
        let rows: Vec<CountRow> = self.sql.exec(query, bindings)?.to_array()?;
        Ok(rows.first().map_or(0, |r| as_u64(r.n)))
    }
}

/// SQLite integers reach Rust as JavaScript numbers; every value stored here is a
/// non-negative integer far below 2^53, so the conversion is exact.
pub(crate) fn as_u64(n: f64) -> u64 {
    if n.is_finite() && n >= 0.0 {
        n as u64
    } else {
        0
    }
}

/// Binds a `u64` as an SQLite integer, refusing values JavaScript cannot hold exactly.
pub(crate) fn sql_int(n: u64) -> Result<SqlStorageValue> {
    let n = i64::try_from(n).map_err(|_| worker::Error::RustError("integer overflow".into()))?;
    SqlStorageValue::try_from_i64(n)
}
