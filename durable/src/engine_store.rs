//! The platform hub's engine state in its SQLite: each namespace's layer as its own row
//! (`platform_ns`, without its history), each history entry as its own row
//! (`platform_history`), and the log of every platform update it has committed
//! (`platform_updates`), which tenants catch up from. (A tenant hub's state is in
//! [`crate::tenant_store`].)
//!
//! A namespace row is bounded by the engine's document limit; history entries, which grow
//! with every commit, never share a row.

use std::collections::BTreeMap;

use cascade_engine::event::PlatformUpdate;
use cascade_engine::platform::{PlatformNamespace, PlatformState};
use cascade_engine::scope::Namespace;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::Result;

use crate::store::{as_u64, sql_int, Meta, Store};

/// Tables of the platform hub's engine state; idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS platform_ns (namespace TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS platform_history (
  namespace TEXT NOT NULL,
  seq INTEGER NOT NULL,
  entry TEXT NOT NULL,
  PRIMARY KEY (namespace, seq)
);
CREATE TABLE IF NOT EXISTS platform_updates (platform_seq INTEGER PRIMARY KEY, update_json TEXT NOT NULL);
";

/// The platform hub's storage schema version this code writes.
pub const PLATFORM_SCHEMA_VERSION: u64 = 2;

/// Creates the platform hub's own tables (its engine state, its fan-out queue and its
/// health-check walk) and migrates storage an earlier version wrote (idempotent).
///
/// - 1 → 2: version 1 kept each namespace's history entries inside its `platform_ns` row,
///   which grew with every platform commit; they move to `platform_history`.
pub fn create_platform_schema(store: &Store) -> Result<()> {
    store.sql().exec(SCHEMA, None)?;
    store.sql().exec(crate::fanout::SCHEMA, None)?;
    store.sql().exec(crate::health_walk::SCHEMA, None)?;
    store.sql().exec(crate::converge_walk::SCHEMA, None)?;
    crate::fanout::migrate(store)?;
    if store.counter(Meta::SchemaVersion)? >= PLATFORM_SCHEMA_VERSION {
        return Ok(());
    }
    let rows: Vec<StateRow> = store
        .sql()
        .exec("SELECT state FROM platform_ns", None)?
        .to_array()?;
    for row in rows {
        let ns: PlatformNamespace =
            serde_json::from_str(&row.state).map_err(|e| corrupt("platform_ns", e))?;
        if !ns.history.entries.is_empty() {
            save_namespace(store, &ns)?;
        }
    }
    store.set_meta(Meta::SchemaVersion, &PLATFORM_SCHEMA_VERSION.to_string())
}

#[derive(Deserialize)]
struct StateRow {
    state: String,
}

#[derive(Deserialize)]
struct UpdateRow {
    update_json: String,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(format!("corrupt {what}: {e}"))
}

fn load_row<T: DeserializeOwned>(
    store: &Store,
    table: &'static str,
    namespace: &Namespace,
) -> Result<Option<T>> {
    let rows: Vec<StateRow> = store
        .sql()
        .exec(
            &format!("SELECT state FROM {table} WHERE namespace = ?"),
            vec![namespace.as_str().into()],
        )?
        .to_array()?;
    rows.into_iter()
        .next()
        .map(|r| serde_json::from_str(&r.state).map_err(|e| corrupt(table, e)))
        .transpose()
}

fn save_row<T: Serialize>(
    store: &Store,
    table: &'static str,
    namespace: &Namespace,
    state: &T,
) -> Result<()> {
    store.sql().exec(
        &format!(
            "INSERT INTO {table} (namespace, state) VALUES (?, ?) ON CONFLICT(namespace) DO UPDATE SET state = excluded.state"
        ),
        vec![namespace.as_str().into(), serde_json::to_string(state)?.into()],
    )?;
    Ok(())
}

/// Loads the platform state with the given namespaces.
pub fn load_platform(store: &Store, namespaces: &[Namespace]) -> Result<PlatformState> {
    let mut state = PlatformState {
        seq: store.counter(Meta::Seq)?,
        namespaces: BTreeMap::new(),
    };
    for namespace in namespaces {
        if let Some(ns) = load_row::<PlatformNamespace>(store, "platform_ns", namespace)? {
            state.namespaces.insert(namespace.clone(), ns);
        }
    }
    Ok(state)
}

/// Stores the committed platform state and logs its update for the tenants.
pub fn save_platform(store: &Store, state: &PlatformState, update: &PlatformUpdate) -> Result<()> {
    store.set_meta(Meta::Seq, &state.seq.to_string())?;
    for ns in state.namespaces.values() {
        save_namespace(store, ns)?;
    }
    store.sql().exec(
        "INSERT OR REPLACE INTO platform_updates (platform_seq, update_json) VALUES (?, ?)",
        vec![
            sql_int(update.platform_seq)?,
            serde_json::to_string(update)?.into(),
        ],
    )?;
    Ok(())
}

/// Stores a namespace's row without its history entries, and each entry as its own row.
fn save_namespace(store: &Store, ns: &PlatformNamespace) -> Result<()> {
    for entry in &ns.history.entries {
        store.sql().exec(
            "INSERT OR REPLACE INTO platform_history (namespace, seq, entry) VALUES (?, ?, ?)",
            vec![
                ns.namespace.as_str().into(),
                sql_int(entry.seq)?,
                serde_json::to_string(entry)?.into(),
            ],
        )?;
    }
    let mut head = ns.clone();
    head.history.entries.clear();
    save_row(store, "platform_ns", &ns.namespace, &head)
}

/// Platform updates after `since`, in order, at most `limit`.
pub fn platform_updates_since(
    store: &Store,
    since: u64,
    limit: u64,
) -> Result<Vec<PlatformUpdate>> {
    let rows: Vec<UpdateRow> = store
        .sql()
        .exec(
            "SELECT update_json FROM platform_updates WHERE platform_seq > ? ORDER BY platform_seq LIMIT ?",
            vec![sql_int(since)?, sql_int(limit)?],
        )?
        .to_array()?;
    rows.into_iter()
        .map(|r| serde_json::from_str(&r.update_json).map_err(|e| corrupt("platform update", e)))
        .collect()
}

/// Highest platform update logged (0 when none).
pub fn last_platform_update(store: &Store) -> Result<u64> {
    #[derive(Deserialize)]
    struct MaxRow {
        n: Option<f64>,
    }
    let rows: Vec<MaxRow> = store
        .sql()
        .exec("SELECT MAX(platform_seq) AS n FROM platform_updates", None)?
        .to_array()?;
    Ok(rows.first().and_then(|r| r.n).map_or(0, as_u64))
}

/// Every platform layer, by namespace (what a convergence sends, and the health check
/// digests). Bounded: one row per platform namespace, each within the document limit.
pub fn platform_layers(store: &Store) -> Result<Vec<(Namespace, serde_json::Value)>> {
    #[derive(Deserialize)]
    struct Row {
        namespace: String,
    }
    let rows: Vec<Row> = store
        .sql()
        .exec("SELECT namespace FROM platform_ns ORDER BY namespace", None)?
        .to_array()?;
    let mut layers = Vec::with_capacity(rows.len());
    for row in rows {
        let namespace = Namespace::new(row.namespace).map_err(|e| corrupt("namespace", e))?;
        if let Some(ns) = load_row::<PlatformNamespace>(store, "platform_ns", &namespace)? {
            layers.push((namespace, ns.layer.as_value().clone()));
        }
    }
    Ok(layers)
}

/// How many history entries a platform namespace has after `version`.
pub fn history_count_after(store: &Store, namespace: &Namespace, version: u64) -> Result<u64> {
    store.count_rows(
        "SELECT COUNT(*) AS n FROM platform_history WHERE namespace = ? AND seq > ?",
        vec![namespace.as_str().into(), sql_int(version)?],
    )
}

/// A platform namespace's history entries after `version`, oldest first.
pub fn load_history_after(
    store: &Store,
    namespace: &Namespace,
    version: u64,
) -> Result<Vec<cascade_engine::history::HistoryEntry>> {
    #[derive(Deserialize)]
    struct Row {
        entry: String,
    }
    let rows: Vec<Row> = store
        .sql()
        .exec(
            "SELECT entry FROM platform_history WHERE namespace = ? AND seq > ? ORDER BY seq",
            vec![namespace.as_str().into(), sql_int(version)?],
        )?
        .to_array()?;
    rows.into_iter()
        .map(|r| serde_json::from_str(&r.entry).map_err(|e| corrupt("platform history entry", e)))
        .collect()
}
