//! Engine state in a hub's SQLite: one row per namespace, so a change loads and stores only
//! the namespaces it touches.
//!
//! A tenant hub keeps `TenantState` (its `seq` and `platform_seq` in `meta`, each
//! `NamespaceState` as a JSON row in `tenant_ns`); the platform hub keeps `PlatformState`
//! (its `seq` in `meta`, each `PlatformNamespace` in `platform_ns`), plus the log of every
//! platform update it has committed (`platform_updates`), which tenants catch up from.

use std::collections::BTreeMap;

use cascade_engine::event::PlatformUpdate;
use cascade_engine::platform::{PlatformNamespace, PlatformState};
use cascade_engine::scope::Namespace;
use cascade_engine::state::{NamespaceState, TenantState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::Result;

use crate::store::{as_u64, sql_int, Store};

/// Tables for engine state; idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tenant_ns (namespace TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenant_ns_open (namespace TEXT PRIMARY KEY, pending INTEGER NOT NULL, conflicts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS platform_ns (namespace TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS platform_updates (platform_seq INTEGER PRIMARY KEY, update_json TEXT NOT NULL);
";

#[derive(Deserialize)]
struct StateRow {
    state: String,
}

#[derive(Deserialize)]
struct NameRow {
    namespace: String,
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

/// Loads the tenant state with the given namespaces (absent ones are simply missing, as the
/// engine expects for a namespace never written).
pub fn load_tenant(store: &Store, namespaces: &[Namespace]) -> Result<TenantState> {
    let mut state = TenantState {
        seq: store.counter("seq")?,
        platform_seq: store.counter("platform_seq")?,
        namespaces: BTreeMap::new(),
    };
    for namespace in namespaces {
        if let Some(ns) = load_row::<NamespaceState>(store, "tenant_ns", namespace)? {
            state.namespaces.insert(namespace.clone(), ns);
        }
    }
    Ok(state)
}

/// Names of every namespace the tenant hub has state for.
pub fn tenant_namespaces(store: &Store) -> Result<Vec<Namespace>> {
    let rows: Vec<NameRow> = store
        .sql()
        .exec("SELECT namespace FROM tenant_ns ORDER BY namespace", None)?
        .to_array()?;
    rows.into_iter()
        .map(|r| Namespace::new(r.namespace).map_err(|e| corrupt("namespace name", e)))
        .collect()
}

/// Stores the committed state: the counters and every namespace in `state` (the ones the
/// commit loaded or created). Synchronous writes only, so they commit together.
pub fn save_tenant(store: &Store, state: &TenantState) -> Result<()> {
    store.set_meta("seq", &state.seq.to_string())?;
    store.set_meta("platform_seq", &state.platform_seq.to_string())?;
    for (namespace, ns) in &state.namespaces {
        save_row(store, "tenant_ns", namespace, ns)?;
        save_open_counts(store, namespace, ns)?;
    }
    Ok(())
}

/// Keeps a namespace's count of pending changes and open conflicts beside its state, so the
/// hub's status and `sync-status` frames never load (and parse) every namespace.
fn save_open_counts(store: &Store, namespace: &Namespace, ns: &NamespaceState) -> Result<()> {
    store.sql().exec(
        "INSERT INTO tenant_ns_open (namespace, pending, conflicts) VALUES (?, ?, ?) ON CONFLICT(namespace) DO UPDATE SET pending = excluded.pending, conflicts = excluded.conflicts",
        vec![
            namespace.as_str().into(),
            sql_int(ns.pending.len() as u64)?,
            sql_int(ns.conflicts.len() as u64)?,
        ],
    )?;
    Ok(())
}

/// Pending changes and open conflicts of the whole tenant, from the stored counts.
///
/// A hub whose state predates the counts gets them computed once from its namespaces.
pub fn open_counts(store: &Store) -> Result<OpenCounts> {
    #[derive(Deserialize)]
    struct SumRow {
        rows: f64,
        pending: Option<f64>,
        conflicts: Option<f64>,
    }
    let read = || -> Result<SumRow> {
        let rows: Vec<SumRow> = store
            .sql()
            .exec(
                "SELECT COUNT(*) AS rows, SUM(pending) AS pending, SUM(conflicts) AS conflicts FROM tenant_ns_open",
                None,
            )?
            .to_array()?;
        rows.into_iter()
            .next()
            .ok_or_else(|| corrupt("tenant_ns_open", "no aggregate row"))
    };
    let mut sums = read()?;
    if as_u64(sums.rows) < store.count("tenant_ns")? {
        let names = tenant_namespaces(store)?;
        for (namespace, ns) in &load_tenant(store, &names)?.namespaces {
            save_open_counts(store, namespace, ns)?;
        }
        sums = read()?;
    }
    Ok(OpenCounts {
        pending: sums.pending.map_or(0, as_u64),
        conflicts: sums.conflicts.map_or(0, as_u64),
    })
}

/// A tenant's open items, summed over its namespaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenCounts {
    /// Platform changes waiting for a tenant admin's decision.
    pub pending: u64,
    /// Conflicts waiting for a manual resolution.
    pub conflicts: u64,
}

/// Loads the platform state with the given namespaces.
pub fn load_platform(store: &Store, namespaces: &[Namespace]) -> Result<PlatformState> {
    let mut state = PlatformState {
        seq: store.counter("seq")?,
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
    store.set_meta("seq", &state.seq.to_string())?;
    for (namespace, ns) in &state.namespaces {
        save_row(store, "platform_ns", namespace, ns)?;
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
