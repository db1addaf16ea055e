//! Rolling a namespace back to an earlier version, as a new forward event.
//!
//! The layer records (the tenant's copy of the platform layer, the tenant layer, the users'
//! layers, all with their merge bases) are restored exactly as they were at the version, so
//! every effective config is exactly what it was then; this is what an operator expects when
//! a change broke something, including a platform change (its removed overrides come back).
//! Pending changes and open conflicts are not rolled back: they stay open, and resolving
//! them acts on the restored state. The tenant's `platform_seq` is not rolled back either, so
//! the next platform change applies on top of the restored copy; the health check reports
//! the difference from the `PlatformHub`'s layer as `rolledBack` drift, and converges it
//! when the governing rule is `platform-wins` (see [`crate::converge`]).
//!
//! Locks still hold: a rollback that would give a lower scope a value at a path locked for it
//! now (a lock added since) is refused.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::commit::{records, Commit, Context, Txn};
use crate::document::{leaves, Layer};
use crate::error::EngineError;
use crate::history::{History, HistoryKind, LayerKey};
use crate::matching::NamespacePolicy;
use crate::outcome::Outcome;
use crate::path::LeafPath;
use crate::scope::{Namespace, Scope, Subject};
use crate::state::{LowerLayer, NamespaceState, TenantState};

/// Checks that `version` can be restored, given the namespace's version and history.
///
/// # Errors
/// [`EngineError::VersionInFuture`] or [`EngineError::VersionUnreachable`].
pub fn check_version(
    namespace: &Namespace,
    current: u64,
    history: &History,
    version: u64,
) -> Result<(), EngineError> {
    if version > current {
        return Err(EngineError::VersionInFuture {
            namespace: namespace.to_string(),
            version,
            current,
        });
    }
    if version < history.floor {
        return Err(EngineError::VersionUnreachable {
            namespace: namespace.to_string(),
            version,
            floor: history.floor,
        });
    }
    Ok(())
}

/// Replays undos on layer records, newest entry first: only those of the records `replays`
/// picks (a record a caller did not load would start from `null` and fail to replay).
pub(crate) fn undo_records(
    namespace: &Namespace,
    mut records: BTreeMap<LayerKey, Value>,
    history: &History,
    version: u64,
    replays: impl Fn(&LayerKey) -> bool,
) -> Result<BTreeMap<LayerKey, Value>, EngineError> {
    for entry in history.after(version) {
        for undo in entry.undo.iter().filter(|u| replays(&u.layer)) {
            let record = records.entry(undo.layer.clone()).or_insert(Value::Null);
            json_patch::patch(record, &undo.patch).map_err(|e| EngineError::CorruptHistory {
                namespace: namespace.to_string(),
                reason: format!("undo of seq {} on {:?}: {e}", entry.seq, undo.layer),
            })?;
        }
    }
    records.retain(|_, v| !v.is_null());
    Ok(records)
}

/// The layers of a namespace as they were at `version` (without committing anything), in a
/// scope whose seq is now `latest`. Any seq up to `latest` is a version of every namespace:
/// an operation that changed none of this namespace's layers leaves them as they were.
/// `ns` needs every user layer the history entries after `version` changed.
///
/// # Errors
/// Version errors, or [`EngineError::CorruptHistory`] if stored undos do not replay.
pub fn layers_at(
    ns: &NamespaceState,
    version: u64,
    latest: u64,
) -> Result<NamespaceState, EngineError> {
    restore(ns, version, latest, |_| true)
}

/// What a subject's effective config at `version` is resolved from: the platform copy, the
/// tenant layer and, for a user, that user's layer, as they were at `version` (see
/// [`layers_at`]). Other users' layers are neither needed in `ns` nor replayed: the result
/// holds none of them, so a hub that loaded one user's layer (or none) can read the past.
///
/// # Errors
/// Version errors, or [`EngineError::CorruptHistory`] if stored undos do not replay.
pub fn subject_layers_at(
    ns: &NamespaceState,
    subject: &Subject,
    version: u64,
    latest: u64,
) -> Result<NamespaceState, EngineError> {
    restore(ns, version, latest, |layer| match (layer, subject) {
        (LayerKey::Platform | LayerKey::Tenant, _) => true,
        (LayerKey::User(id), Subject::User(wanted)) => id == wanted,
        (LayerKey::User(_), Subject::Tenant) => false,
    })
}

/// The records `replays` picks, replayed back to `version` (the others are dropped).
fn restore(
    ns: &NamespaceState,
    version: u64,
    latest: u64,
    replays: impl Fn(&LayerKey) -> bool,
) -> Result<NamespaceState, EngineError> {
    check_version(&ns.namespace, latest.max(ns.version), &ns.history, version)?;
    let mut current = records(ns);
    current.retain(|key, _| replays(key));
    let restored = undo_records(&ns.namespace, current, &ns.history, version, replays)?;
    let corrupt = |e: serde_json::Error| EngineError::CorruptHistory {
        namespace: ns.namespace.to_string(),
        reason: e.to_string(),
    };
    let mut out = ns.clone();
    out.platform = match restored.get(&LayerKey::Platform) {
        Some(value) => Layer::from_value(value.clone())?,
        None => Layer::empty(),
    };
    out.tenant = match restored.get(&LayerKey::Tenant) {
        Some(value) => serde_json::from_value(value.clone()).map_err(corrupt)?,
        None => LowerLayer::default(),
    };
    out.users = BTreeMap::new();
    for (key, value) in &restored {
        if let LayerKey::User(id) = key {
            out.users.insert(
                id.clone(),
                serde_json::from_value(value.clone()).map_err(corrupt)?,
            );
        }
    }
    Ok(out)
}

/// One layer's own values as they were at `version` (an empty object when it had none), in a
/// scope whose seq is now `latest`: the layer's record replayed back through the undos of the
/// entries after `version` that changed it. `ns` needs that layer (a user's, when `layer`
/// names one) and the history entries after `version`; nobody else's layer.
///
/// # Errors
/// Version errors, or [`EngineError::CorruptHistory`] if stored undos do not replay.
pub fn layer_at(
    ns: &NamespaceState,
    layer: &LayerKey,
    version: u64,
    latest: u64,
) -> Result<Value, EngineError> {
    check_version(&ns.namespace, latest.max(ns.version), &ns.history, version)?;
    let mut record = records(ns).remove(layer).unwrap_or(Value::Null);
    for entry in ns.history.after(version) {
        for undo in entry.undo.iter().filter(|u| &u.layer == layer) {
            json_patch::patch(&mut record, &undo.patch).map_err(|e| {
                EngineError::CorruptHistory {
                    namespace: ns.namespace.to_string(),
                    reason: format!("undo of seq {} on {layer:?}: {e}", entry.seq),
                }
            })?;
        }
    }
    let corrupt = |e: serde_json::Error| EngineError::CorruptHistory {
        namespace: ns.namespace.to_string(),
        reason: e.to_string(),
    };
    Ok(match (layer, record) {
        (_, Value::Null) => Value::Object(serde_json::Map::new()),
        (LayerKey::Platform, value) => value,
        (LayerKey::Tenant | LayerKey::User(_), value) => {
            let lower: LowerLayer = serde_json::from_value(value).map_err(corrupt)?;
            lower.layer.as_value().clone()
        }
    })
}

fn new_leaves(old: &LowerLayer, new: &LowerLayer) -> Vec<LeafPath> {
    let before = leaves(old.layer.as_value());
    leaves(new.layer.as_value())
        .into_iter()
        .filter(|(p, v)| !before.iter().any(|(bp, bv)| bp == p && bv == v))
        .map(|(p, _)| p)
        .collect()
}

fn check_locks(
    policy: &NamespacePolicy,
    current: &NamespaceState,
    restored: &NamespaceState,
) -> Result<(), EngineError> {
    policy.check_write(
        Scope::Tenant,
        &new_leaves(&current.tenant, &restored.tenant),
    )?;
    let empty = LowerLayer::default();
    for (id, user) in &restored.users {
        let old = current.users.get(id).unwrap_or(&empty);
        policy.check_write(Scope::User, &new_leaves(old, user))?;
    }
    Ok(())
}

/// Rolls `namespace` back to `version` as a new commit.
///
/// # Errors
/// Version errors, [`EngineError::LockedPath`] (see the module docs),
/// [`EngineError::CorruptHistory`].
pub fn rollback(
    state: &TenantState,
    namespace: &Namespace,
    version: u64,
    ctx: Context<'_>,
    by: &str,
) -> Result<Commit, EngineError> {
    let mut txn = Txn::new(state, ctx);
    let policy = txn.touch(namespace);
    let current = txn.ns(namespace).clone();
    let restored = layers_at(&current, version, state.seq)?;
    check_locks(&policy, &current, &restored)?;
    let ns = txn.ns(namespace);
    ns.platform = restored.platform;
    ns.tenant = restored.tenant;
    ns.users = restored.users;
    txn.outcomes.push(Outcome::RolledBack {
        namespace: namespace.clone(),
        to_version: version,
    });
    txn.finish(
        |_| HistoryKind::Rollback {
            to_version: version,
        },
        by,
    )
}
