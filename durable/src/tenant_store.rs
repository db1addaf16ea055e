//! A tenant hub's engine state, stored by subject: each namespace's head (its version, the
//! tenant's copy of the platform layer, the tenant layer), each user's layer, each pending
//! change, each open conflict and each history entry is its own row. A write loads and
//! stores only what it touches, so its cost does not grow with the tenant's users.
//!
//! Invariants:
//! - No row can reach Durable Object SQLite's 2 MB limit. Layers, effective configs and
//!   event configs are bounded by the engine's `Limits::max_document_bytes` (256 KiB), which
//!   bounds a head, a user's layer with its merge bases, a pending change and a conflict.
//!   A history entry holds an undo per layer it changed, so one entry can grow with the users
//!   a change reached: it is stored in parts of at most [`HISTORY_PART_BYTES`].
//! - `user_path` indexes every user's layer by the pointers its leaves lie on
//!   (`cascade_engine::reach`), written in the same synchronous run as the layer, so the
//!   hub finds the users a change can reach without reading any layer.
//! - The schema is versioned (`meta.schema_version`); a hub written by an earlier version
//!   migrates itself in place the first time it wakes ([`migrate`]).

use std::collections::{BTreeMap, BTreeSet};

use cascade_engine::conflict::Conflict;
use cascade_engine::document::Layer;
use cascade_engine::history::{History, HistoryEntry};
use cascade_engine::pending::PendingChange;
use cascade_engine::reach;
use cascade_engine::scope::{Namespace, Subject};
use cascade_engine::state::{LowerLayer, NamespaceState, TenantState};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::Result;

use crate::store::{as_u64, sql_int, Meta, Store};

/// The storage schema this code writes.
pub const SCHEMA_VERSION: u64 = 2;

/// Largest part of a stored history entry, in bytes (well under SQLite's 2 MB per value).
pub const HISTORY_PART_BYTES: usize = 512 * 1024;

/// Most bound parameters one statement gets (Durable Object SQLite allows 100).
const MAX_PARAMS: usize = 90;

/// Tables of a tenant hub's engine state; idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ns_head (
  namespace TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  platform TEXT NOT NULL,
  tenant TEXT NOT NULL,
  history_floor INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS user_layer (
  namespace TEXT NOT NULL,
  user TEXT NOT NULL,
  layer TEXT NOT NULL,
  PRIMARY KEY (namespace, user)
);
CREATE TABLE IF NOT EXISTS user_path (
  namespace TEXT NOT NULL,
  path TEXT NOT NULL,
  user TEXT NOT NULL,
  PRIMARY KEY (namespace, path, user)
);
CREATE INDEX IF NOT EXISTS user_path_by_user ON user_path (namespace, user);
CREATE TABLE IF NOT EXISTS pending_change (
  namespace TEXT NOT NULL,
  ord INTEGER NOT NULL,
  id TEXT NOT NULL,
  item TEXT NOT NULL,
  PRIMARY KEY (namespace, ord)
);
CREATE TABLE IF NOT EXISTS open_conflict (
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  subject TEXT NOT NULL,
  opened_seq INTEGER NOT NULL,
  item TEXT NOT NULL,
  PRIMARY KEY (namespace, id)
);
CREATE INDEX IF NOT EXISTS open_conflict_by_subject ON open_conflict (namespace, subject);
CREATE TABLE IF NOT EXISTS platform_rollback (
  namespace TEXT PRIMARY KEY        -- the copy of this platform layer was last changed by a rollback
);
CREATE TABLE IF NOT EXISTS history_part (
  namespace TEXT NOT NULL,
  seq INTEGER NOT NULL,
  part INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (namespace, seq, part)
);
";

fn corrupt(what: &str, e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(format!("corrupt {what}: {e}"))
}

fn parse<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

/// The stored form of a conflict's subject.
fn subject_key(subject: &Subject) -> String {
    match subject {
        Subject::Tenant => "tenant".to_owned(),
        Subject::User(id) => format!("user:{id}"),
    }
}

/// Creates the tables and migrates storage written by an earlier version (idempotent).
pub fn create_schema(store: &Store) -> Result<()> {
    store.sql().exec(SCHEMA, None)?;
    store.sql().exec(crate::frame_log::SCHEMA, None)?;
    migrate(store)
}

/// Migrates a hub's storage in place to [`SCHEMA_VERSION`], one step at a time.
///
/// - 1 → 2: version 1 kept each namespace's whole state (every user's layer, pending
///   changes, conflicts and history) as one JSON row in `tenant_ns`, which stopped accepting
///   writes once it passed 2 MB. Each row is split into the by-subject tables; then the old
///   tables are dropped. A hub that never had state simply records the version.
pub fn migrate(store: &Store) -> Result<()> {
    let version = store.counter(Meta::SchemaVersion)?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    if version < 2 {
        migrate_1_to_2(store)?;
    }
    store.set_meta(Meta::SchemaVersion, &SCHEMA_VERSION.to_string())
}

fn migrate_1_to_2(store: &Store) -> Result<()> {
    #[derive(Deserialize)]
    struct OldRow {
        state: String,
    }
    // Creating the old table when absent keeps this one code path for new and old hubs.
    store.sql().exec(
        "CREATE TABLE IF NOT EXISTS tenant_ns (namespace TEXT PRIMARY KEY, state TEXT NOT NULL)",
        None,
    )?;
    let rows: Vec<OldRow> = store
        .sql()
        .exec("SELECT state FROM tenant_ns ORDER BY namespace", None)?
        .to_array()?;
    for row in rows {
        let ns: NamespaceState = parse("version 1 namespace state", &row.state)?;
        write_whole(store, &ns)?;
    }
    store.sql().exec("DROP TABLE IF EXISTS tenant_ns", None)?;
    store
        .sql()
        .exec("DROP TABLE IF EXISTS tenant_ns_open", None)?;
    Ok(())
}

/// Writes a whole namespace state (every part of it) into the by-subject tables.
fn write_whole(store: &Store, ns: &NamespaceState) -> Result<()> {
    write_head(store, ns)?;
    for (user, layer) in &ns.users {
        write_user(store, &ns.namespace, user, Some(layer))?;
    }
    write_pending(store, &ns.namespace, &ns.pending)?;
    for conflict in &ns.conflicts {
        write_conflict(store, &ns.namespace, conflict)?;
    }
    for entry in &ns.history.entries {
        write_history(store, &ns.namespace, entry)?;
    }
    Ok(())
}

/// Which subjects of one namespace an operation loads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Want {
    /// Users whose layers (and conflicts) to load.
    pub users: BTreeSet<String>,
    /// Load the history entries after this version (a rollback's), if set.
    pub history_after: Option<u64>,
}

/// A tenant state as loaded for one operation, with what was loaded, so that saving can
/// tell what changed and which users went away.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The state handed to the engine.
    pub state: TenantState,
    /// Per namespace, the users whose layer rows were looked up.
    pub users: BTreeMap<Namespace, BTreeSet<String>>,
}

impl Loaded {
    /// Whether every user in `users` of `namespace` has been looked up already.
    pub fn has_users(&self, namespace: &Namespace, users: &BTreeSet<String>) -> bool {
        self.users
            .get(namespace)
            .is_some_and(|loaded| users.is_subset(loaded))
    }
}

/// Loads the counters and, for each namespace, its head, pending changes, the wanted users'
/// layers and the conflicts of the tenant and those users. A namespace never written is
/// left out, as the engine expects.
pub fn load(store: &Store, want: &BTreeMap<Namespace, Want>) -> Result<Loaded> {
    let mut loaded = Loaded {
        state: TenantState {
            seq: store.counter(Meta::Seq)?,
            platform_seq: store.counter(Meta::PlatformSeq)?,
            namespaces: BTreeMap::new(),
        },
        users: BTreeMap::new(),
    };
    for (namespace, want) in want {
        loaded.users.insert(namespace.clone(), want.users.clone());
        let Some(mut ns) = load_head(store, namespace)? else {
            continue;
        };
        ns.pending = load_pending(store, namespace)?;
        ns.conflicts = load_conflicts(store, namespace, &Subject::Tenant)?;
        add_users(store, &mut ns, &want.users)?;
        if let Some(after) = want.history_after {
            ns.history.entries = load_history_after(store, namespace, after)?;
        }
        loaded.state.namespaces.insert(namespace.clone(), ns);
    }
    Ok(loaded)
}

/// Loads more users (and their conflicts) into an already loaded namespace.
pub fn load_more_users(
    store: &Store,
    loaded: &mut Loaded,
    namespace: &Namespace,
    users: &BTreeSet<String>,
) -> Result<()> {
    let known = loaded.users.entry(namespace.clone()).or_default();
    let new: BTreeSet<String> = users.difference(known).cloned().collect();
    known.extend(new.iter().cloned());
    if let Some(ns) = loaded.state.namespaces.get_mut(namespace) {
        add_users(store, ns, &new)?;
    }
    Ok(())
}

fn add_users(store: &Store, ns: &mut NamespaceState, users: &BTreeSet<String>) -> Result<()> {
    for user in users {
        if let Some(layer) = load_user(store, &ns.namespace, user)? {
            ns.users.insert(user.clone(), layer);
        }
        ns.conflicts.extend(load_conflicts(
            store,
            &ns.namespace,
            &Subject::User(user.clone()),
        )?);
    }
    ns.conflicts
        .sort_by(|a, b| (a.opened_seq, &a.id).cmp(&(b.opened_seq, &b.id)));
    Ok(())
}

#[derive(Deserialize)]
struct HeadRow {
    version: f64,
    platform: String,
    tenant: String,
    history_floor: f64,
}

/// A namespace's head: version, platform copy, tenant layer, history floor; no users,
/// pending changes, conflicts or history entries.
pub fn load_head(store: &Store, namespace: &Namespace) -> Result<Option<NamespaceState>> {
    let rows: Vec<HeadRow> = store
        .sql()
        .exec(
            "SELECT version, platform, tenant, history_floor FROM ns_head WHERE namespace = ?",
            vec![namespace.as_str().into()],
        )?
        .to_array()?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let mut ns = NamespaceState::new(namespace.clone());
    ns.version = as_u64(row.version);
    ns.platform = parse::<Layer>("platform layer", &row.platform)?;
    ns.tenant = parse::<LowerLayer>("tenant layer", &row.tenant)?;
    ns.history = History {
        floor: as_u64(row.history_floor),
        entries: Vec::new(),
    };
    Ok(Some(ns))
}

/// One user's layer in a namespace, if the user has one.
pub fn load_user(store: &Store, namespace: &Namespace, user: &str) -> Result<Option<LowerLayer>> {
    #[derive(Deserialize)]
    struct Row {
        layer: String,
    }
    let rows: Vec<Row> = store
        .sql()
        .exec(
            "SELECT layer FROM user_layer WHERE namespace = ? AND user = ?",
            vec![namespace.as_str().into(), user.into()],
        )?
        .to_array()?;
    rows.into_iter()
        .next()
        .map(|r| parse("user layer", &r.layer))
        .transpose()
}

#[derive(Deserialize)]
struct ItemRow {
    item: String,
}

/// A namespace's pending changes, oldest first.
pub fn load_pending(store: &Store, namespace: &Namespace) -> Result<Vec<PendingChange>> {
    let rows: Vec<ItemRow> = store
        .sql()
        .exec(
            "SELECT item FROM pending_change WHERE namespace = ? ORDER BY ord",
            vec![namespace.as_str().into()],
        )?
        .to_array()?;
    rows.iter()
        .map(|r| parse("pending change", &r.item))
        .collect()
}

fn load_conflicts(
    store: &Store,
    namespace: &Namespace,
    subject: &Subject,
) -> Result<Vec<Conflict>> {
    let rows: Vec<ItemRow> = store
        .sql()
        .exec(
            "SELECT item FROM open_conflict WHERE namespace = ? AND subject = ? ORDER BY opened_seq, id",
            vec![namespace.as_str().into(), subject_key(subject).into()],
        )?
        .to_array()?;
    rows.iter().map(|r| parse("conflict", &r.item)).collect()
}

/// The subject of an open conflict, by id.
pub fn conflict_subject(store: &Store, namespace: &Namespace, id: &str) -> Result<Option<Subject>> {
    let rows: Vec<ItemRow> = store
        .sql()
        .exec(
            "SELECT item FROM open_conflict WHERE namespace = ? AND id = ?",
            vec![namespace.as_str().into(), id.into()],
        )?
        .to_array()?;
    rows.into_iter()
        .next()
        .map(|r| parse::<Conflict>("conflict", &r.item).map(|c| c.subject))
        .transpose()
}

/// How many history entries of a namespace lie after `version`.
pub fn history_count_after(store: &Store, namespace: &Namespace, version: u64) -> Result<u64> {
    store.count_rows(
        "SELECT COUNT(DISTINCT seq) AS n FROM history_part WHERE namespace = ? AND seq > ?",
        vec![namespace.as_str().into(), sql_int(version)?],
    )
}

/// History entries of a namespace after `version`, oldest first.
pub fn load_history_after(
    store: &Store,
    namespace: &Namespace,
    version: u64,
) -> Result<Vec<HistoryEntry>> {
    #[derive(Deserialize)]
    struct Row {
        seq: f64,
        body: String,
    }
    let rows: Vec<Row> = store
        .sql()
        .exec(
            "SELECT seq, body FROM history_part WHERE namespace = ? AND seq > ? ORDER BY seq, part",
            vec![namespace.as_str().into(), sql_int(version)?],
        )?
        .to_array()?;
    let mut entries = Vec::new();
    let mut text = String::new();
    let mut current = None;
    for row in rows {
        let seq = as_u64(row.seq);
        if current.is_some_and(|c| c != seq) {
            entries.push(parse("history entry", &text)?);
            text.clear();
        }
        current = Some(seq);
        text.push_str(&row.body);
    }
    if current.is_some() {
        entries.push(parse("history entry", &text)?);
    }
    Ok(entries)
}

/// The users of `namespace` whose own layer lies on, above or below any of `pointers`, or
/// below a path one of them indexes into (see `cascade_engine::reach`), from the path
/// index alone.
pub fn users_reached(
    store: &Store,
    namespace: &Namespace,
    pointers: BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    #[derive(Deserialize)]
    struct Row {
        user: String,
    }
    let ns = namespace.as_str();
    let mut users = BTreeSet::new();
    let mut collect = |query: &str, params: Vec<worker::SqlStorageValue>| -> Result<()> {
        let rows: Vec<Row> = store.sql().exec(query, params)?.to_array()?;
        users.extend(rows.into_iter().map(|r| r.user));
        Ok(())
    };
    // Leaves below a path: the range of pointers that continue it with '/' ('0' is the
    // character after '/').
    const BELOW: &str = "SELECT user FROM user_path WHERE namespace = ? AND path > ? AND path < ?";
    let below = |path: &str| -> Vec<worker::SqlStorageValue> {
        vec![
            ns.into(),
            format!("{path}/").into(),
            format!("{path}0").into(),
        ]
    };
    let pointers = reach::minimal(pointers);
    for pointer in &pointers {
        if pointer.is_empty() {
            collect(
                "SELECT user FROM user_layer WHERE namespace = ?",
                vec![ns.into()],
            )?;
            return Ok(users);
        }
        // Leaves at the pointer, then below it. Plain lookups on the primary key, with no
        // `OR` and no `DISTINCT` (the set dedupes): either made SQLite walk the namespace's
        // whole by-user index instead (830 ms a tenant write at 100,000 users).
        collect(
            "SELECT user FROM user_path WHERE namespace = ? AND path = ?",
            vec![ns.into(), pointer.as_str().into()],
        )?;
        collect(BELOW, below(pointer))?;
        // Leaves above it (a user's scalar or array where the change goes deeper).
        let above: Vec<String> = reach::ancestors(pointer)
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        for chunk in above.chunks(MAX_PARAMS) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut params: Vec<worker::SqlStorageValue> = vec![ns.into()];
            params.extend(chunk.iter().map(|a| a.as_str().into()));
            collect(
                &format!("SELECT user FROM user_path WHERE namespace = ? AND path IN ({marks})"),
                params,
            )?;
        }
    }
    // Leaves below a path a pointer continues with an array position: a user's object there
    // replaces the tenant's array, so the tenant's patch inside it is not theirs. Each such
    // path once, however many of the array's elements the change touched.
    for parent in reach::array_parents(&pointers) {
        collect(BELOW, below(&parent))?;
    }
    Ok(users)
}

fn write_head(store: &Store, ns: &NamespaceState) -> Result<()> {
    store.sql().exec(
        "INSERT INTO ns_head (namespace, version, platform, tenant, history_floor) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(namespace) DO UPDATE SET version = excluded.version, platform = excluded.platform,
           tenant = excluded.tenant, history_floor = excluded.history_floor",
        vec![
            ns.namespace.as_str().into(),
            sql_int(ns.version)?,
            serde_json::to_string(&ns.platform)?.into(),
            serde_json::to_string(&ns.tenant)?.into(),
            sql_int(ns.history.floor)?,
        ],
    )?;
    Ok(())
}

/// Writes (or, with `None`, deletes) one user's layer and its path index entries.
fn write_user(
    store: &Store,
    namespace: &Namespace,
    user: &str,
    layer: Option<&LowerLayer>,
) -> Result<()> {
    let ns = namespace.as_str();
    store.sql().exec(
        "DELETE FROM user_path WHERE namespace = ? AND user = ?",
        vec![ns.into(), user.into()],
    )?;
    let Some(layer) = layer else {
        store.sql().exec(
            "DELETE FROM user_layer WHERE namespace = ? AND user = ?",
            vec![ns.into(), user.into()],
        )?;
        return Ok(());
    };
    store.sql().exec(
        "INSERT INTO user_layer (namespace, user, layer) VALUES (?, ?, ?)
         ON CONFLICT(namespace, user) DO UPDATE SET layer = excluded.layer",
        vec![ns.into(), user.into(), serde_json::to_string(layer)?.into()],
    )?;
    for path in reach::layer_pointers(layer) {
        store.sql().exec(
            "INSERT OR IGNORE INTO user_path (namespace, path, user) VALUES (?, ?, ?)",
            vec![ns.into(), path.into(), user.into()],
        )?;
    }
    Ok(())
}

fn write_pending(store: &Store, namespace: &Namespace, pending: &[PendingChange]) -> Result<()> {
    let ns = namespace.as_str();
    store.sql().exec(
        "DELETE FROM pending_change WHERE namespace = ?",
        vec![ns.into()],
    )?;
    for (ord, change) in pending.iter().enumerate() {
        store.sql().exec(
            "INSERT INTO pending_change (namespace, ord, id, item) VALUES (?, ?, ?, ?)",
            vec![
                ns.into(),
                sql_int(ord as u64)?,
                change.id.as_str().into(),
                serde_json::to_string(change)?.into(),
            ],
        )?;
    }
    Ok(())
}

fn write_conflict(store: &Store, namespace: &Namespace, conflict: &Conflict) -> Result<()> {
    store.sql().exec(
        "INSERT INTO open_conflict (namespace, id, subject, opened_seq, item) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(namespace, id) DO UPDATE SET subject = excluded.subject,
           opened_seq = excluded.opened_seq, item = excluded.item",
        vec![
            namespace.as_str().into(),
            conflict.id.as_str().into(),
            subject_key(&conflict.subject).into(),
            sql_int(conflict.opened_seq)?,
            serde_json::to_string(conflict)?.into(),
        ],
    )?;
    Ok(())
}

/// Splits `text` into parts of at most `max` bytes, at character boundaries.
fn parts(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out.push(rest);
    out
}

fn write_history(store: &Store, namespace: &Namespace, entry: &HistoryEntry) -> Result<()> {
    let text = serde_json::to_string(entry)?;
    for (part, body) in parts(&text, HISTORY_PART_BYTES).into_iter().enumerate() {
        store.sql().exec(
            "INSERT OR REPLACE INTO history_part (namespace, seq, part, body) VALUES (?, ?, ?, ?)",
            vec![
                namespace.as_str().into(),
                sql_int(entry.seq)?,
                sql_int(part as u64)?,
                body.into(),
            ],
        )?;
    }
    Ok(())
}

/// Stores a committed state: the counters, and in each namespace exactly the rows that
/// differ from what was loaded (the head, each changed or removed user layer with its index
/// entries, the pending list, each opened, updated or closed conflict, new history entries).
/// Synchronous writes only, so they commit together with the rest of the commit.
pub fn save(store: &Store, loaded: &Loaded, state: &TenantState) -> Result<()> {
    store.set_meta(Meta::Seq, &state.seq.to_string())?;
    store.set_meta(Meta::PlatformSeq, &state.platform_seq.to_string())?;
    let none = BTreeSet::new();
    for (namespace, ns) in &state.namespaces {
        let before = loaded.state.namespaces.get(namespace);
        if before == Some(ns) {
            continue;
        }
        write_head(store, ns)?;
        let looked_up = loaded.users.get(namespace).unwrap_or(&none);
        for user in looked_up.iter().chain(ns.users.keys()) {
            let old = before.and_then(|b| b.users.get(user));
            let new = ns.users.get(user);
            if old != new {
                write_user(store, namespace, user, new)?;
            }
        }
        let old_pending = before.map_or(&[][..], |b| b.pending.as_slice());
        if old_pending != ns.pending.as_slice() {
            write_pending(store, namespace, &ns.pending)?;
        }
        let old_conflicts = before.map_or(&[][..], |b| b.conflicts.as_slice());
        for conflict in old_conflicts {
            if !ns.conflicts.iter().any(|c| c.id == conflict.id) {
                store.sql().exec(
                    "DELETE FROM open_conflict WHERE namespace = ? AND id = ?",
                    vec![namespace.as_str().into(), conflict.id.as_str().into()],
                )?;
            }
        }
        for conflict in &ns.conflicts {
            if !old_conflicts.contains(conflict) {
                write_conflict(store, namespace, conflict)?;
            }
        }
        let known = before.map_or(0, |b| b.history.entries.len());
        let old_last = before
            .and_then(|b| b.history.entries.last())
            .map_or(0, |e| e.seq);
        for entry in ns.history.entries.iter().skip(known) {
            if entry.seq > old_last {
                write_history(store, namespace, entry)?;
            }
        }
    }
    Ok(())
}

/// Whether the tenant's copy of `namespace`'s platform layer was last changed by a rollback
/// (the health check reports such drift as `rolledBack`).
pub fn rolled_back(store: &Store, namespace: &Namespace) -> Result<bool> {
    let rows = store.count_rows(
        "SELECT COUNT(*) AS n FROM platform_rollback WHERE namespace = ?",
        vec![namespace.as_str().into()],
    )?;
    Ok(rows > 0)
}

/// Records whether the last change to `namespace`'s platform copy was a rollback.
/// Synchronous: part of the commit's atomic run.
pub fn set_rolled_back(store: &Store, namespace: &Namespace, rolled_back: bool) -> Result<()> {
    let sql = if rolled_back {
        "INSERT OR IGNORE INTO platform_rollback (namespace) VALUES (?)"
    } else {
        "DELETE FROM platform_rollback WHERE namespace = ?"
    };
    store.sql().exec(sql, vec![namespace.as_str().into()])?;
    Ok(())
}

/// Names of every namespace the tenant has state for.
pub fn namespaces(store: &Store) -> Result<Vec<Namespace>> {
    #[derive(Deserialize)]
    struct Row {
        namespace: String,
    }
    let rows: Vec<Row> = store
        .sql()
        .exec("SELECT namespace FROM ns_head ORDER BY namespace", None)?
        .to_array()?;
    rows.into_iter()
        .map(|r| Namespace::new(r.namespace).map_err(|e| corrupt("namespace name", e)))
        .collect()
}

/// A tenant's open items, summed over its namespaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenCounts {
    /// Platform changes waiting for a tenant admin's decision.
    pub pending: u64,
    /// Conflicts waiting for a manual resolution.
    pub conflicts: u64,
}

/// Pending changes and open conflicts of the whole tenant.
pub fn open_counts(store: &Store) -> Result<OpenCounts> {
    Ok(OpenCounts {
        pending: store.count("pending_change")?,
        conflicts: store.count("open_conflict")?,
    })
}

/// Every open item of one kind (`pending_change` or `open_conflict`), each with its
/// namespace, oldest first within a namespace, at most `limit`.
pub fn open_items(store: &Store, pending: bool, limit: u64) -> Result<Vec<serde_json::Value>> {
    #[derive(Deserialize)]
    struct Row {
        namespace: String,
        item: String,
    }
    let query = if pending {
        "SELECT namespace, item FROM pending_change ORDER BY namespace, ord LIMIT ?"
    } else {
        "SELECT namespace, item FROM open_conflict ORDER BY namespace, opened_seq, id LIMIT ?"
    };
    let rows: Vec<Row> = store.sql().exec(query, vec![sql_int(limit)?])?.to_array()?;
    rows.into_iter()
        .map(|row| {
            let mut item: serde_json::Value = parse("open item", &row.item)?;
            item["namespace"] = serde_json::Value::String(row.namespace);
            Ok(item)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cut_at_character_boundaries_and_join_back() {
        let text = "aé".repeat(1000);
        for max in [1, 2, 3, 7, 64, 10_000] {
            let pieces = parts(&text, max.max(2));
            assert!(pieces.iter().all(|p| p.len() <= max.max(2)));
            assert_eq!(pieces.concat(), text);
        }
        assert_eq!(parts("", 8), [""]);
    }

    #[test]
    fn subjects_have_one_stored_form_each() {
        assert_eq!(subject_key(&Subject::Tenant), "tenant");
        assert_eq!(subject_key(&Subject::User("ann".into())), "user:ann");
    }
}
