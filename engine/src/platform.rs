//! The platform side: what the `PlatformHub` holds and how a platform change set commits.
//!
//! The platform keeps one layer per namespace and its own gap-free `seq`. Committing a
//! change set validates it, patches the layers, records history (with undos, as at tenants),
//! and yields the [`PlatformUpdate`] to fan out to tenants, each of which applies it with
//! [`crate::apply::apply_platform_update`] under its own rules. A platform rollback is a new
//! change set whose events carry the merge patch back to the old layer, with `action:
//! "update"` so that the same rules that delivered the original changes deliver the rollback.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::document::{merge_diff, Layer};
use crate::error::EngineError;
use crate::event::{ChangeEvent, PlatformUpdate};
use crate::history::{History, HistoryEntry, HistoryKind, LayerKey, LayerUndo};
use crate::outcome::Outcome;
use crate::rollback::{check_version, undo_records};
use crate::scope::{Namespace, Scope};
use crate::validate::{check_config, check_document, Limits};

/// One namespace at the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformNamespace {
    /// The namespace.
    pub namespace: Namespace,
    /// Platform seq of the last change here (0: never changed).
    #[serde(default)]
    pub version: u64,
    /// The platform layer.
    #[serde(default)]
    pub layer: Layer,
    /// History with undos.
    #[serde(default)]
    pub history: History,
}

impl PlatformNamespace {
    /// An empty namespace.
    #[must_use]
    pub fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            version: 0,
            layer: Layer::empty(),
            history: History::default(),
        }
    }
}

/// What the `PlatformHub` holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformState {
    /// The platform seq of the last committed change set (0: none).
    pub seq: u64,
    /// Namespaces (possibly only those an operation touches).
    #[serde(default)]
    pub namespaces: BTreeMap<Namespace, PlatformNamespace>,
}

/// The result of a committed platform change set.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformCommit {
    /// The new state.
    pub state: PlatformState,
    /// The platform seq the change set got.
    pub seq: u64,
    /// What to fan out to tenants.
    pub update: PlatformUpdate,
    /// Per touched namespace: the layer patch, for the platform admins' room.
    pub deltas: Vec<(Namespace, json_patch::Patch)>,
    /// `Written` / `Unchanged` per event.
    pub outcomes: Vec<Outcome>,
}

/// Commits a platform change set (one or more platform-scope events) atomically.
///
/// # Errors
/// Shape, scope and limit errors; nothing is applied then.
pub fn apply_platform_changes(
    state: &PlatformState,
    events: &[ChangeEvent],
    limits: &Limits,
    at: u64,
) -> Result<PlatformCommit, EngineError> {
    apply_inner(state, events, limits, at, None)
}

fn apply_inner(
    state: &PlatformState,
    events: &[ChangeEvent],
    limits: &Limits,
    at: u64,
    rollback_to: Option<u64>,
) -> Result<PlatformCommit, EngineError> {
    if events.is_empty() {
        return Err(EngineError::EmptyBatch);
    }
    if events.len() > limits.max_batch_events {
        return Err(EngineError::PatchTooLarge {
            ops: events.len(),
            limit: limits.max_batch_events,
        });
    }
    for event in events {
        event.check_shape()?;
        if event.scope != Scope::Platform {
            return Err(EngineError::ScopeMismatch {
                reason: format!(
                    "the platform commits platform-scope events, not {}",
                    event.scope
                ),
            });
        }
        check_config(&event.config, limits)?;
    }
    let seq = state.seq + 1;
    let mut next = state.clone();
    let mut before: BTreeMap<Namespace, Value> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for event in events {
        let ns = next
            .namespaces
            .entry(event.kind.clone())
            .or_insert_with(|| PlatformNamespace::new(event.kind.clone()));
        before
            .entry(event.kind.clone())
            .or_insert_with(|| ns.layer.as_value().clone());
        let old = ns.layer.as_value().clone();
        ns.layer.merge(&event.config);
        check_document("the platform layer", ns.layer.as_value(), limits)?;
        outcomes.push(if ns.layer.as_value() == &old {
            Outcome::Unchanged {
                namespace: event.kind.clone(),
                topic: event.topic(),
            }
        } else {
            Outcome::Written {
                namespace: event.kind.clone(),
                topic: event.topic(),
                layer: Scope::Platform,
                user: None,
            }
        });
    }
    let mut by: Vec<&str> = Vec::new();
    for event in events {
        if !by.contains(&event.triggered_by.as_str()) {
            by.push(&event.triggered_by);
        }
    }
    let mut deltas = Vec::new();
    for (namespace, old) in before {
        let Some(ns) = next.namespaces.get_mut(&namespace) else {
            continue;
        };
        let new = ns.layer.as_value();
        deltas.push((namespace.clone(), json_patch::diff(&old, new)));
        let kind = match rollback_to {
            Some(to_version) => HistoryKind::Rollback { to_version },
            None => HistoryKind::Change {
                topics: events
                    .iter()
                    .filter(|e| e.kind == namespace)
                    .map(ChangeEvent::topic)
                    .collect(),
            },
        };
        ns.history.entries.push(HistoryEntry {
            seq,
            at,
            by: by.join(","),
            kind,
            outcomes: outcomes
                .iter()
                .filter(|o| o.namespace() == &namespace)
                .cloned()
                .collect(),
            undo: LayerUndo::between(LayerKey::Platform, &old, new)
                .into_iter()
                .collect(),
        });
        ns.version = seq;
    }
    next.seq = seq;
    Ok(PlatformCommit {
        state: next,
        seq,
        update: PlatformUpdate {
            platform_seq: seq,
            events: events.to_vec(),
        },
        deltas,
        outcomes,
    })
}

/// A platform namespace's layer as it was at `version` (an empty object before its first
/// change), in a platform whose seq is now `latest`: the layer replayed back through the
/// undos of the entries after `version`. `ns` needs those entries in its history.
///
/// # Errors
/// [`EngineError::VersionInFuture`] past `latest`, [`EngineError::VersionUnreachable`] before
/// the retained history, [`EngineError::CorruptHistory`] if stored undos do not replay.
pub fn platform_layer_at(
    ns: &PlatformNamespace,
    version: u64,
    latest: u64,
) -> Result<Value, EngineError> {
    check_version(&ns.namespace, latest.max(ns.version), &ns.history, version)?;
    let mut current = BTreeMap::new();
    current.insert(LayerKey::Platform, ns.layer.as_value().clone());
    let restored = undo_records(&ns.namespace, current, &ns.history, version, |_| true)?;
    Ok(restored
        .get(&LayerKey::Platform)
        .cloned()
        .unwrap_or_else(|| Layer::empty().into()))
}

/// Rolls a platform namespace back to `version` as a new change set (see the module docs);
/// `None` when the layer already is what it was at `version`, so there is nothing to commit.
/// `version` is a platform seq: any up to the platform's latest, not only the namespace's.
///
/// # Errors
/// Version errors, [`EngineError::CorruptHistory`].
pub fn rollback_platform(
    state: &PlatformState,
    namespace: &Namespace,
    version: u64,
    limits: &Limits,
    at: u64,
    by: &str,
) -> Result<Option<PlatformCommit>, EngineError> {
    let fresh = PlatformNamespace::new(namespace.clone());
    let ns = state.namespaces.get(namespace).unwrap_or(&fresh);
    let old_layer = platform_layer_at(ns, version, state.seq)?;
    if ns.layer.as_value() == &old_layer {
        return Ok(None);
    }
    let event = ChangeEvent {
        kind: namespace.clone(),
        action: "update".into(),
        scope: Scope::Platform,
        target_id: None,
        config: merge_diff(ns.layer.as_value(), &old_layer),
        triggered_by: by.into(),
    };
    apply_inner(state, &[event], limits, at, Some(version)).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(config: Value) -> ChangeEvent {
        serde_json::from_value(json!({
            "type": "auth", "action": "provider.update", "scope": "platform",
            "config": config, "triggeredBy": "platform-admin"
        }))
        .expect("event parses")
    }

    #[test]
    fn platform_seq_is_gap_free_and_rollback_restores() {
        let limits = Limits::default();
        let s0 = PlatformState::default();
        let c1 = apply_platform_changes(
            &s0,
            &[event(json!({"google": {"enabled": true}}))],
            &limits,
            1,
        )
        .expect("commits");
        let c2 = apply_platform_changes(
            &c1.state,
            &[event(
                json!({"google": {"enabled": false}, "saml": {"url": "x"}}),
            )],
            &limits,
            2,
        )
        .expect("commits");
        assert_eq!((c1.seq, c2.seq, c2.update.platform_seq), (1, 2, 2));
        let auth = Namespace::new("auth").expect("valid");
        let back = rollback_platform(&c2.state, &auth, 1, &limits, 3, "platform-admin")
            .expect("rolls back")
            .expect("the layer changed since version 1");
        assert_eq!(back.seq, 3);
        assert_eq!(
            back.state.namespaces[&auth].layer.as_value(),
            &json!({"google": {"enabled": true}})
        );
        // The fanned-out event is the merge patch back to version 1.
        assert_eq!(
            back.update.events[0].config,
            json!({"google": {"enabled": true}, "saml": null})
        );
        let err = rollback_platform(&c2.state, &auth, 9, &limits, 3, "x").expect_err("future");
        assert_eq!(err.code(), "CASCADE:History:FutureVersion");
        // Back to what the layer already holds: nothing to commit, even at a later seq.
        let again = rollback_platform(&back.state, &auth, 3, &limits, 4, "x").expect("valid");
        assert!(again.is_none(), "{again:?}");
        let same = rollback_platform(&back.state, &auth, 1, &limits, 4, "x").expect("valid");
        assert!(
            same.is_none(),
            "version 1 is what the layer holds: {same:?}"
        );
    }

    #[test]
    fn a_platform_layer_reads_at_each_retained_version() {
        let limits = Limits::default();
        let auth = Namespace::new("auth").expect("valid");
        let c1 = apply_platform_changes(
            &PlatformState::default(),
            &[event(json!({"google": {"enabled": true}}))],
            &limits,
            1,
        )
        .expect("commits");
        let c2 = apply_platform_changes(
            &c1.state,
            &[event(json!({"google": null, "saml": {"url": "x"}}))],
            &limits,
            2,
        )
        .expect("commits");
        // The history of both commits, as the hub loads it from its rows.
        let mut ns = c2.state.namespaces[&auth].clone();
        ns.history.entries = [&c1, &c2]
            .iter()
            .flat_map(|c| c.state.namespaces[&auth].history.entries.clone())
            .collect();
        ns.history.entries.dedup_by_key(|e| e.seq);
        let at = |v| platform_layer_at(&ns, v, 5).expect("retained");
        assert_eq!(at(0), json!({}));
        assert_eq!(at(1), json!({"google": {"enabled": true}}));
        assert_eq!(at(2), json!({"saml": {"url": "x"}}));
        // A version after the namespace's last change is the current layer.
        assert_eq!(at(4), json!({"saml": {"url": "x"}}));
        let err = platform_layer_at(&ns, 6, 5).expect_err("future");
        assert_eq!(err.code(), "CASCADE:History:FutureVersion");
    }

    #[test]
    fn tenant_events_are_refused_at_the_platform() {
        let tenant_event: ChangeEvent = serde_json::from_value(json!({
            "type": "auth", "action": "update", "scope": "tenant", "targetId": "t1",
            "config": {}, "triggeredBy": "x"
        }))
        .expect("parses");
        let err = apply_platform_changes(
            &PlatformState::default(),
            &[tenant_event],
            &Limits::default(),
            0,
        )
        .expect_err("scope mismatch");
        assert_eq!(err.code(), "CASCADE:Event:ScopeMismatch");
    }
}
