//! Applying changes at a tenant: pure functions from (state, change, rules) to a
//! [`Commit`] (new state, outcomes, seq, deltas).
//!
//! * [`apply_changes`] — one or more tenant- and user-scope events of one tenant, applied
//!   atomically as one commit with one seq. The author's own layer is always written (rules
//!   govern propagation, not whether a scope may edit its own values, except for locks); a
//!   write that sets a locked path or breaks a limit is refused as a whole with an error and
//!   consumes no seq. `autoApply` plays no part here: the author of a tenant change is the
//!   tenant admin who would accept it.
//! * [`apply_platform_update`] — a platform change set arriving at a tenant. Idempotent by
//!   platform seq. Each event is delivered by its governing rule (see
//!   [`crate::matching`]), skipped (no rule, opted out), or held as a pending change; the
//!   tenant's copy of the platform layer is patched and the strategy enforced at the target
//!   scopes ([`crate::reconcile`]). A change set this tenant cannot take (a limit would be
//!   exceeded) is recorded as `Refused` and changes nothing else; it still consumes the
//!   platform seq, so redelivery stays a no-op.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::commit::{Commit, Context, Txn};
use crate::document::{get, leaves, overlay};
use crate::error::EngineError;
use crate::event::{ChangeEvent, PlatformUpdate};
use crate::history::HistoryKind;
use crate::matching::{governing, match_rules, SkipReason};
use crate::outcome::Outcome;
use crate::path::LeafPath;
use crate::pending::PendingChange;
use crate::reconcile::{reconcile, Enforce, Reconcile};
use crate::rule::ConflictResolution;
use crate::scope::{Namespace, Scope, Subject};
use crate::state::TenantState;
use crate::validate::check_config;

/// The namespaces a list of events touches, in order of first appearance: what a hub must
/// load into the [`TenantState`] it passes in.
#[must_use]
pub fn namespaces_touched(events: &[ChangeEvent]) -> Vec<Namespace> {
    let mut seen = Vec::new();
    for event in events {
        if !seen.contains(&event.kind) {
            seen.push(event.kind.clone());
        }
    }
    seen
}

fn check_batch(events: &[ChangeEvent], ctx: &Context<'_>) -> Result<(), EngineError> {
    if events.is_empty() {
        return Err(EngineError::EmptyBatch);
    }
    if events.len() > ctx.limits.max_batch_events {
        return Err(EngineError::PatchTooLarge {
            ops: events.len(),
            limit: ctx.limits.max_batch_events,
        });
    }
    for event in events {
        event.check_shape()?;
        check_config(&event.config, ctx.limits)?;
    }
    Ok(())
}

fn topics_in(events: &[ChangeEvent], namespace: &Namespace) -> Vec<String> {
    events
        .iter()
        .filter(|e| &e.kind == namespace)
        .map(ChangeEvent::topic)
        .collect()
}

pub(crate) fn authors(events: &[ChangeEvent]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for event in events {
        if !seen.contains(&event.triggered_by.as_str()) {
            seen.push(&event.triggered_by);
        }
    }
    seen.join(",")
}

/// Applies tenant- and user-scope events of this tenant atomically, as one commit.
///
/// # Errors
/// Shape and limit errors, [`EngineError::ScopeMismatch`] for a platform event or another
/// tenant's, [`EngineError::LockedPath`] for a write to a locked path. On error nothing is
/// applied.
pub fn apply_changes(
    state: &TenantState,
    events: &[ChangeEvent],
    ctx: Context<'_>,
) -> Result<Commit, EngineError> {
    check_batch(events, &ctx)?;
    for event in events {
        match event.scope {
            Scope::Platform => {
                return Err(EngineError::ScopeMismatch {
                    reason: "platform events reach a tenant through apply_platform_update".into(),
                })
            }
            Scope::Tenant if event.target_id.as_deref() != Some(ctx.tenant.id.as_str()) => {
                return Err(EngineError::ScopeMismatch {
                    reason: format!("the event targets another tenant than {}", ctx.tenant.id),
                })
            }
            _ => {}
        }
    }
    let mut txn = Txn::new(state, ctx);
    for event in events {
        write_lower(&mut txn, event)?;
    }
    txn.finish(
        |ns| HistoryKind::Change {
            topics: topics_in(events, ns),
        },
        &authors(events),
    )
}

fn write_lower(txn: &mut Txn<'_>, event: &ChangeEvent) -> Result<(), EngineError> {
    let namespace = &event.kind;
    let policy = txn.touch(namespace);
    let (scope, subject) = match event.scope {
        Scope::User => (
            Scope::User,
            Subject::User(event.target_id.clone().unwrap_or_default()),
        ),
        _ => (Scope::Tenant, Subject::Tenant),
    };
    let matches = match_rules(txn.ctx.rules, event, txn.ctx.tenant);
    let seq = txn.seq;
    let at = txn.ctx.at;
    let topic = event.topic();
    let mut outcomes = Vec::new();
    let (_, opened_elsewhere) = txn.ids_elsewhere(namespace);
    let ns = txn.ns(namespace);

    let tenant_old = overlay(ns.platform.as_value(), ns.tenant.layer.as_value());
    let upper = match scope {
        Scope::User => tenant_old.clone(),
        _ => ns.platform.as_value().clone(),
    };
    let lower = ns.lower_mut(&subject);
    let before: Vec<(LeafPath, Value)> = leaves(lower.layer.as_value())
        .into_iter()
        .map(|(p, v)| (p, v.clone()))
        .collect();
    lower.layer.merge(&event.config);
    let changed: Vec<(LeafPath, Value)> = leaves(lower.layer.as_value())
        .into_iter()
        .filter(|(p, v)| !before.iter().any(|(bp, bv)| bp == p && bv == *v))
        .map(|(p, v)| (p, v.clone()))
        .collect();
    policy.check_write(scope, changed.iter().map(|(p, _)| p))?;
    for (path, _) in &changed {
        lower.bases.insert(path.clone(), get(&upper, path).cloned());
    }
    lower.prune_bases();
    let written = before.len() != leaves(lower.layer.as_value()).len() || !changed.is_empty();

    if written {
        outcomes.push(Outcome::Written {
            namespace: namespace.clone(),
            topic: topic.clone(),
            layer: scope,
            user: match &subject {
                Subject::User(id) => Some(id.clone()),
                Subject::Tenant => None,
            },
        });
    } else {
        outcomes.push(Outcome::Unchanged {
            namespace: namespace.clone(),
            topic: topic.clone(),
        });
    }
    for m in &matches {
        for to in &m.up_targets {
            outcomes.push(Outcome::Reported {
                namespace: namespace.clone(),
                topic: topic.clone(),
                to: *to,
                rule: m.label(),
            });
        }
    }

    if written && scope == Scope::Tenant {
        let gov = governing(&matches);
        let strategy = gov.map(|m| m.rule.conflict_resolution);
        let targeted = gov.is_some_and(|m| m.down_targets.contains(&Scope::User));
        let rule = gov.map_or_else(|| "none".to_owned(), crate::matching::RuleMatch::label);
        let tenant_new = overlay(ns.platform.as_value(), ns.tenant.layer.as_value());
        let tenant_layer = ns.tenant.layer.clone();
        for (id, user) in &mut ns.users {
            let r = Reconcile {
                namespace,
                subject: Subject::User(id.clone()),
                enforce: Enforce::at(strategy, targeted),
                rule: &rule,
                policy: &policy,
                tenant_layer: &tenant_layer,
                seq,
                at,
                opened_elsewhere,
            };
            reconcile(
                &r,
                user,
                &tenant_old,
                &tenant_new,
                &mut ns.conflicts,
                &mut outcomes,
            );
        }
    } else if written && policy.resolution == crate::resolve::Resolution::TenantWins {
        // A user's own value under a tenant value is stored but hidden: say so.
        for (path, value) in &changed {
            if let Some(tenant_value) = get(ns.tenant.layer.as_value(), path) {
                outcomes.push(Outcome::Shadowed {
                    namespace: namespace.clone(),
                    subject: subject.clone(),
                    path: path.clone(),
                    winner: Scope::Tenant,
                    kept: Some(tenant_value.clone()),
                    hidden: Some(value.clone()),
                });
            }
        }
    }
    txn.outcomes.extend(outcomes);
    Ok(())
}

/// The result of offering a platform update to a tenant.
#[derive(Debug, Clone, PartialEq)]
pub enum PlatformApply {
    /// The update was processed as a new commit (applied, skipped, held, or refused: see the
    /// outcomes).
    Committed(Commit),
    /// The tenant had already processed this platform seq; nothing changed.
    AlreadyApplied {
        /// The tenant's current platform seq.
        platform_seq: u64,
    },
}

/// Whether a tenant at `state` still has to process platform seq `platform_seq`.
#[must_use]
pub fn needs_platform_update(state: &TenantState, platform_seq: u64) -> bool {
    platform_seq > state.platform_seq
}

/// Offers a platform change set to a tenant; see the module docs.
///
/// # Errors
/// Only for a malformed update (no events, a non-platform event); anything about the content
/// that this tenant cannot take becomes a `Refused` outcome instead.
pub fn apply_platform_update(
    state: &TenantState,
    update: &PlatformUpdate,
    ctx: Context<'_>,
) -> Result<PlatformApply, EngineError> {
    if !needs_platform_update(state, update.platform_seq) {
        return Ok(PlatformApply::AlreadyApplied {
            platform_seq: state.platform_seq,
        });
    }
    if update.events.is_empty() {
        return Err(EngineError::EmptyBatch);
    }
    if let Some(event) = update.events.iter().find(|e| e.scope != Scope::Platform) {
        return Err(EngineError::ScopeMismatch {
            reason: format!("a platform update carries a {}-scope event", event.scope),
        });
    }
    let kind = |ns: &Namespace| HistoryKind::PlatformUpdate {
        platform_seq: update.platform_seq,
        topics: topics_in(&update.events, ns),
    };
    let by = authors(&update.events);
    let attempt = check_batch(&update.events, &ctx).and_then(|()| {
        let mut txn = Txn::new(state, ctx);
        for event in &update.events {
            platform_event(&mut txn, event, update.platform_seq);
        }
        txn.finish(kind, &by)
    });
    let mut commit = match attempt {
        Ok(commit) => commit,
        Err(error) if error.is_client_error() => {
            let mut txn = Txn::new(state, ctx);
            for namespace in namespaces_touched(&update.events) {
                txn.touch(&namespace);
                txn.outcomes.push(Outcome::refused(namespace, &error));
            }
            txn.finish(kind, &by)?
        }
        Err(error) => return Err(error),
    };
    commit.state.platform_seq = update.platform_seq;
    Ok(PlatformApply::Committed(commit))
}

pub(crate) fn platform_event(txn: &mut Txn<'_>, event: &ChangeEvent, platform_seq: u64) {
    let namespace = &event.kind;
    txn.touch(namespace);
    let topic = event.topic();
    if txn.ctx.tenant.opted_out.contains(namespace) {
        txn.outcomes.push(Outcome::Skipped {
            namespace: namespace.clone(),
            topic,
            reason: SkipReason::OptedOut,
        });
        return;
    }
    let matches = match_rules(txn.ctx.rules, event, txn.ctx.tenant);
    let Some(gov) = governing(&matches) else {
        txn.outcomes.push(Outcome::Skipped {
            namespace: namespace.clone(),
            topic,
            reason: SkipReason::NoMatchingRule,
        });
        return;
    };
    let delivery = Delivery {
        rule: gov.label(),
        strategy: gov.rule.conflict_resolution,
        targets: gov.down_targets.iter().copied().collect(),
    };
    let seq = txn.seq;
    let at = txn.ctx.at;
    let (pending_elsewhere, _) = txn.ids_elsewhere(namespace);
    let ns = txn.ns(namespace);
    if !gov.rule.auto_apply || !ns.pending.is_empty() {
        let n = pending_elsewhere + ns.pending.iter().filter(|p| p.created_seq == seq).count() + 1;
        let pending = PendingChange {
            id: format!("{seq}.{n}"),
            platform_seq,
            event: event.clone(),
            rule: delivery.rule.clone(),
            strategy: delivery.strategy,
            targets: delivery.targets.iter().copied().collect(),
            auto_apply: gov.rule.auto_apply,
            created_seq: seq,
            created_at: at,
        };
        let outcome = Outcome::Pending {
            namespace: namespace.clone(),
            pending_id: pending.id.clone(),
            rule: pending.rule.clone(),
            queued: gov.rule.auto_apply,
        };
        ns.pending.push(pending);
        txn.outcomes.push(outcome);
        return;
    }
    deliver(txn, event, &delivery);
}

/// How a platform event goes down at this tenant: decided by its governing rule.
pub(crate) struct Delivery {
    pub rule: String,
    pub strategy: ConflictResolution,
    pub targets: BTreeSet<Scope>,
}

/// Patches the tenant's platform copy with the event and enforces the strategy below.
pub(crate) fn deliver(txn: &mut Txn<'_>, event: &ChangeEvent, delivery: &Delivery) {
    let namespace = &event.kind;
    let policy = txn.touch(namespace);
    let seq = txn.seq;
    let at = txn.ctx.at;
    let topic = event.topic();
    let mut outcomes = Vec::new();
    let (_, opened_elsewhere) = txn.ids_elsewhere(namespace);
    let ns = txn.ns(namespace);

    let platform_old = ns.platform.as_value().clone();
    let tenant_old = overlay(&platform_old, ns.tenant.layer.as_value());
    ns.platform.merge(&event.config);
    if ns.platform.as_value() == &platform_old {
        txn.outcomes.push(Outcome::Unchanged {
            namespace: namespace.clone(),
            topic,
        });
        return;
    }
    outcomes.push(Outcome::Written {
        namespace: namespace.clone(),
        topic,
        layer: Scope::Platform,
        user: None,
    });
    let strategy = Some(delivery.strategy);
    let tenant_layer = ns.tenant.layer.clone();
    let r = Reconcile {
        namespace,
        subject: Subject::Tenant,
        enforce: Enforce::at(strategy, delivery.targets.contains(&Scope::Tenant)),
        rule: &delivery.rule,
        policy: &policy,
        tenant_layer: &tenant_layer,
        seq,
        at,
        opened_elsewhere,
    };
    let platform_new = ns.platform.as_value().clone();
    reconcile(
        &r,
        &mut ns.tenant,
        &platform_old,
        &platform_new,
        &mut ns.conflicts,
        &mut outcomes,
    );

    let tenant_new = overlay(&platform_new, ns.tenant.layer.as_value());
    let tenant_layer = ns.tenant.layer.clone();
    let enforce = Enforce::at(strategy, delivery.targets.contains(&Scope::User));
    for (id, user) in &mut ns.users {
        let r = Reconcile {
            namespace,
            subject: Subject::User(id.clone()),
            enforce,
            rule: &delivery.rule,
            policy: &policy,
            tenant_layer: &tenant_layer,
            seq,
            at,
            opened_elsewhere,
        };
        reconcile(
            &r,
            user,
            &tenant_old,
            &tenant_new,
            &mut ns.conflicts,
            &mut outcomes,
        );
    }
    txn.outcomes.extend(outcomes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::SyncRule;
    use crate::scope::TenantContext;
    use crate::validate::Limits;
    use serde_json::json;

    fn event(kind: &str, scope: Scope, config: Value) -> ChangeEvent {
        serde_json::from_value(json!({
            "type": kind, "action": "update", "scope": scope,
            "targetId": if scope == Scope::Tenant { json!("t1") } else { Value::Null },
            "config": config, "triggeredBy": "admin"
        }))
        .expect("event")
    }

    fn committed(applied: Result<PlatformApply, EngineError>) -> Commit {
        match applied.expect("applies") {
            PlatformApply::Committed(commit) => commit,
            PlatformApply::AlreadyApplied { .. } => panic!("already applied"),
        }
    }

    /// Ids are `{seq}.{n}`, "unique within the tenant", but `n` was counted per namespace, so
    /// one platform update that held changes (or opened conflicts) in two namespaces gave
    /// both the id `{seq}.1`. (Seen while writing the fuzz targets' id invariant, which now
    /// guards it.)
    #[test]
    fn ids_made_by_one_commit_are_unique_across_namespaces() {
        let tenant = TenantContext::new("t1");
        let limits = Limits::default();
        for (auto_apply, strategy) in [(false, "platform-wins"), (true, "merge")] {
            let rules: Vec<SyncRule> = serde_json::from_value(json!([{
                "triggerEvents": ["*"], "targetScopes": ["tenant", "user"],
                "syncDirection": "down", "conflictResolution": strategy, "autoApply": auto_apply
            }]))
            .expect("rule");
            let ctx = |at| Context {
                tenant: &tenant,
                rules: &rules,
                limits: &limits,
                at,
            };
            let update = |seq, value: &str| PlatformUpdate {
                platform_seq: seq,
                events: vec![
                    event("auth", Scope::Platform, json!({"a": value})),
                    event("rbac", Scope::Platform, json!({"a": value})),
                ],
            };
            let mut state = committed(apply_platform_update(
                &TenantState::default(),
                &update(1, "p"),
                ctx(1),
            ))
            .state;
            for kind in ["auth", "rbac"] {
                let write = event(kind, Scope::Tenant, json!({"a": "t"}));
                state = apply_changes(&state, &[write], ctx(2))
                    .expect("tenant write")
                    .state;
            }
            let state = committed(apply_platform_update(&state, &update(2, "q"), ctx(3))).state;
            let mut ids: Vec<&str> = state
                .namespaces
                .values()
                .flat_map(|ns| {
                    let pending = ns.pending.iter().map(|p| p.id.as_str());
                    pending.chain(ns.conflicts.iter().map(|c| c.id.as_str()))
                })
                .collect();
            let made = ids.len();
            ids.sort_unstable();
            ids.dedup();
            assert!(
                made >= 2,
                "{strategy}: the scenario makes ids in both namespaces"
            );
            assert_eq!(ids.len(), made, "{strategy}: duplicate ids {ids:?}");
        }
    }
}
