//! Target `platform_update`: the `PlatformHub`'s change sets and rollbacks, each fanned out
//! to a tenant that takes everything (a catch-all, auto-applying rule with a generated
//! strategy, no opt-outs).
//!
//! Invariants: a platform commit takes the next platform seq; each layer is the old one with
//! the change set's merge patches applied (normalized), and its delta patches old into new;
//! the state round-trips through JSON; a rollback restores the layer of that version. At the
//! tenant, the update commits consistently ([`check::commit_is_consistent`]), redelivery is
//! `AlreadyApplied`, the strategy is enforced as the reconcile table says, and (unless the
//! tenant refused it) the tenant's platform copy equals the platform's layer: with such a
//! rule nothing makes it lag.

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use cascade_engine::apply::{apply_platform_update, PlatformApply};
use cascade_engine::commit::Context;
use cascade_engine::document::{get, leaves, Layer};
use cascade_engine::outcome::Outcome;
use cascade_engine::platform::{
    apply_platform_changes, rollback_platform, PlatformCommit, PlatformState,
};
use cascade_engine::resolve::Resolution;
use cascade_engine::rule::ConflictResolution;
use cascade_engine::scope::{Namespace, Scope, Subject, TenantContext};
use cascade_engine::state::{NamespaceState, TenantState};
use cascade_engine::validate::Limits;
use serde_json::{json, Value};

use crate::{check, gen};

fn layer_of(state: &PlatformState, namespace: &Namespace) -> Value {
    state
        .namespaces
        .get(namespace)
        .map_or_else(|| json!({}), |ns| ns.layer.as_value().clone())
}

fn platform_commit_is_consistent(before: &PlatformState, commit: &PlatformCommit) {
    assert_eq!(
        commit.seq,
        before.seq + 1,
        "a platform commit takes the next seq"
    );
    assert_eq!(commit.state.seq, commit.seq);
    assert_eq!(commit.update.platform_seq, commit.seq);
    let text = serde_json::to_string(&commit.state).expect("a platform state serializes");
    let back: PlatformState = serde_json::from_str(&text).expect("a platform state reads back");
    assert!(
        back == commit.state,
        "a platform state changes through JSON:\n{text}"
    );
    for (namespace, patch) in &commit.deltas {
        let mut doc = layer_of(before, namespace);
        cascade_engine::patch::apply(&mut doc, patch).expect("a platform delta applies");
        assert_eq!(
            doc,
            layer_of(&commit.state, namespace),
            "the delta of {namespace}"
        );
        check::layer_is_normal("a platform layer", &doc);
    }
}

/// The reconcile table at the targeted tenant and users, for a platform update under a
/// catch-all rule without locks: `platform-wins` removes every override whose upper value
/// changed (unless it already equals the new one); `tenant-wins` and `user-wins` keep every
/// override, so no lower layer changes.
fn strategy_is_enforced(strategy: ConflictResolution, before: &TenantState, after: &TenantState) {
    for (namespace, ns) in &after.namespaces {
        let empty = NamespaceState::new(namespace.clone());
        let old = before.namespace(namespace).unwrap_or(&empty);
        match strategy {
            ConflictResolution::PlatformWins => {
                let upper_old = old.platform.as_value();
                let upper_new = ns.platform.as_value();
                for (path, value) in leaves(ns.tenant.layer.as_value()) {
                    let new = get(upper_new, &path);
                    assert!(
                        new == get(upper_old, &path) || new == Some(value),
                        "platform-wins kept the tenant's {path} = {value} over a changed platform value"
                    );
                }
                let upper_old = old.effective(&Subject::Tenant, Resolution::LowerWins);
                let upper_new = ns.effective(&Subject::Tenant, Resolution::LowerWins);
                for (id, user) in &ns.users {
                    for (path, value) in leaves(user.layer.as_value()) {
                        let new = get(&upper_new, &path);
                        assert!(
                            new == get(&upper_old, &path) || new == Some(value),
                            "platform-wins kept user {id}'s {path} = {value} over a changed tenant value"
                        );
                    }
                }
            }
            ConflictResolution::TenantWins | ConflictResolution::UserWins => {
                assert_eq!(
                    old.tenant.layer, ns.tenant.layer,
                    "{strategy:?} changed the tenant layer"
                );
                let layers = |n: &NamespaceState| -> Vec<(String, Layer)> {
                    n.users
                        .iter()
                        .map(|(id, u)| (id.clone(), u.layer.clone()))
                        .collect()
                };
                assert_eq!(layers(old), layers(ns), "{strategy:?} changed a user layer");
            }
            ConflictResolution::Merge => {}
        }
    }
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let strategy = *u.choose(&[
        ConflictResolution::PlatformWins,
        ConflictResolution::TenantWins,
        ConflictResolution::UserWins,
        ConflictResolution::Merge,
    ])?;
    let rules = vec![gen::catch_all(strategy)];
    let tenant = TenantContext::new(gen::TENANT);
    let limits = Limits::default();
    let mut platform = PlatformState::default();
    let mut versions: BTreeMap<(Namespace, u64), Value> = BTreeMap::new();
    let mut at_tenant = TenantState::default();
    let steps = u.int_in_range(1..=10)?;
    for at in 1..=steps {
        let ctx = Context {
            tenant: &tenant,
            rules: &rules,
            limits: &limits,
            at,
        };
        // The platform side: a change set, a rollback, or a tenant's own change.
        let result = match u.int_in_range(0..=5)? {
            0..=3 => {
                let n = u.int_in_range(1..=3)?;
                let mut events = Vec::with_capacity(n);
                for _ in 0..n {
                    events.push(gen::event(u, Scope::Platform)?);
                }
                let result = apply_platform_changes(&platform, &events, &limits, at);
                if let Ok(commit) = &result {
                    for namespace in events.iter().map(|e| &e.kind) {
                        let mut want = layer_of(&platform, namespace);
                        for event in events.iter().filter(|e| &e.kind == namespace) {
                            json_patch::merge(&mut want, &event.config);
                        }
                        let want = Layer::from_value(want).expect("an object");
                        assert_eq!(
                            &layer_of(&commit.state, namespace),
                            want.as_value(),
                            "{namespace} is not the old layer patched by the change set"
                        );
                    }
                }
                result
            }
            4 => {
                let namespace = gen::namespace(u)?;
                let known: Vec<u64> = versions
                    .keys()
                    .filter(|(n, _)| n == &namespace)
                    .map(|(_, v)| *v)
                    .collect();
                let version = if known.is_empty() {
                    0
                } else {
                    *u.choose(&known)?
                };
                let want = versions
                    .get(&(namespace.clone(), version))
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                match rollback_platform(&platform, &namespace, version, &limits, at, "admin") {
                    Ok(Some(commit)) => {
                        assert_eq!(
                            layer_of(&commit.state, &namespace),
                            want,
                            "platform rollback of {namespace} to {version}"
                        );
                        Ok(commit)
                    }
                    Ok(None) => {
                        assert_eq!(
                            layer_of(&platform, &namespace),
                            want,
                            "a rollback of {namespace} to {version} committed nothing"
                        );
                        continue;
                    }
                    Err(e) => Err(e),
                }
            }
            _ => {
                let scope = if u.arbitrary()? {
                    Scope::Tenant
                } else {
                    Scope::User
                };
                let event = gen::event(u, scope)?;
                if let Ok(commit) = cascade_engine::apply::apply_changes(&at_tenant, &[event], ctx)
                {
                    check::commit_is_consistent(&at_tenant, &commit, &ctx);
                    at_tenant = commit.state;
                }
                continue;
            }
        };
        check::error_is_the_callers(&result);
        let Ok(commit) = result else { continue };
        platform_commit_is_consistent(&platform, &commit);
        for (namespace, _) in &commit.deltas {
            versions.insert(
                (namespace.clone(), commit.seq),
                layer_of(&commit.state, namespace),
            );
        }
        platform = commit.state;

        // The fan-out to the tenant.
        let applied = apply_platform_update(&at_tenant, &commit.update, ctx);
        let Ok(PlatformApply::Committed(tenant_commit)) = applied else {
            panic!("a tenant did not take a new platform update: {applied:?}");
        };
        check::commit_is_consistent(&at_tenant, &tenant_commit, &ctx);
        let again = apply_platform_update(&tenant_commit.state, &commit.update, ctx);
        assert!(
            matches!(again, Ok(PlatformApply::AlreadyApplied { .. })),
            "redelivery applied again: {again:?}"
        );
        strategy_is_enforced(strategy, &at_tenant, &tenant_commit.state);
        let refused = tenant_commit
            .outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Refused { .. }));
        at_tenant = tenant_commit.state;
        if !refused {
            for (namespace, ns) in &platform.namespaces {
                let copy = at_tenant
                    .namespace(namespace)
                    .map_or_else(|| json!({}), |n| n.platform.as_value().clone());
                assert_eq!(
                    &copy,
                    ns.layer.as_value(),
                    "the tenant's copy of {namespace} lags the platform"
                );
            }
        }
    }
    Ok(())
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = fuzz(&mut u);
}
