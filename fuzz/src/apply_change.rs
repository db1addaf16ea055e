//! Target `apply_change`: a tenant's life as a sequence of operations (tenant and user
//! change sets, platform updates, pending decisions, conflict resolutions, rollbacks) under
//! a generated rule set with every conflict strategy, starting from a seeded state.
//!
//! After every operation that commits: the commit is consistent ([`check::commit_is_consistent`]:
//! next seq, deltas that patch old effective configs into new ones, untouched namespaces
//! unchanged, normal layers, JSON round trip). After a one-event change set that reports
//! `Written`, the author's layer holds every value the event set, and so does the author's
//! effective config (for a user, under the natural order). A platform update already
//! processed is `AlreadyApplied`. A rollback to a version restores every layer as it was.

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use cascade_engine::apply::{apply_changes, apply_platform_update, PlatformApply};
use cascade_engine::commit::Context;
use cascade_engine::conflict::{resolve_conflict, ConflictAction};
use cascade_engine::event::{ChangeEvent, PlatformUpdate};
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::outcome::Outcome;
use cascade_engine::pending::{accept_pending, reject_pending};
use cascade_engine::resolve::Resolution;
use cascade_engine::rollback::rollback;
use cascade_engine::scope::{Namespace, Scope, Subject};
use cascade_engine::state::TenantState;
use cascade_engine::validate::Limits;
use cascade_engine::Commit;
use serde_json::{json, Value};

use crate::{check, gen};

/// Layers of one namespace at one version: platform copy, tenant, users.
type Layers = (Value, Value, BTreeMap<String, Value>);

fn layers(state: &TenantState, namespace: &Namespace) -> Layers {
    match state.namespace(namespace) {
        Some(ns) => (
            ns.platform.as_value().clone(),
            ns.tenant.layer.as_value().clone(),
            ns.users
                .iter()
                .map(|(id, u)| (id.clone(), u.layer.as_value().clone()))
                .collect(),
        ),
        None => (json!({}), json!({}), BTreeMap::new()),
    }
}

/// The life being fuzzed: the state, and every namespace's layers by version.
struct Life {
    state: TenantState,
    versions: BTreeMap<(Namespace, u64), Layers>,
}

impl Life {
    fn commit(&mut self, commit: Commit, ctx: &Context<'_>) {
        check::commit_is_consistent(&self.state, &commit, ctx);
        for delta in &commit.deltas {
            let ns = delta.namespace.clone();
            let at = layers(&commit.state, &ns);
            self.versions.insert((ns, commit.seq), at);
        }
        self.state = commit.state;
    }
}

/// The seeded start: the crate docs' example (platform sets the SSO provider and timeout,
/// the tenant overrides the provider), under the rules being fuzzed.
fn seed(life: &mut Life, ctx: &Context<'_>) {
    let event = |scope: Scope, config: Value| ChangeEvent {
        kind: Namespace::new("auth").expect("auth is a namespace name"),
        action: "provider.update".into(),
        scope,
        target_id: (scope == Scope::Tenant).then(|| gen::TENANT.to_owned()),
        config,
        triggered_by: "admin".into(),
    };
    let update = PlatformUpdate {
        platform_seq: 1,
        events: vec![event(
            Scope::Platform,
            json!({"sso": {"provider": "google", "timeout": 30}}),
        )],
    };
    if let Ok(PlatformApply::Committed(commit)) = apply_platform_update(&life.state, &update, *ctx)
    {
        life.commit(commit, ctx);
    }
    let tenant = event(Scope::Tenant, json!({"sso": {"provider": "okta"}}));
    if let Ok(commit) = apply_changes(&life.state, &[tenant], *ctx) {
        life.commit(commit, ctx);
    }
}

fn own_write_visible(
    before: &TenantState,
    event: &ChangeEvent,
    commit: &Commit,
    ctx: &Context<'_>,
) {
    let written = commit
        .outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Written { .. }));
    if !written {
        return;
    }
    let Some(ns) = commit.state.namespace(&event.kind) else {
        panic!("a written namespace is missing from the state");
    };
    let subject = match event.scope {
        Scope::User => Subject::User(event.target_id.clone().unwrap_or_default()),
        _ => Subject::Tenant,
    };
    // A user whose write emptied their layer has no record any more.
    let emptied = cascade_engine::state::LowerLayer::default();
    let lower = ns.lower(&subject).unwrap_or(&emptied);
    // The layer is the old one with the event's merge patch applied.
    let mut expected = before
        .namespace(&event.kind)
        .and_then(|ns| ns.lower(&subject))
        .map_or_else(|| json!({}), |l| l.layer.as_value().clone());
    json_patch::merge(&mut expected, &event.config);
    let expected =
        cascade_engine::document::Layer::from_value(expected).expect("a merged layer is an object");
    assert_eq!(
        &lower.layer, &expected,
        "{subject}'s layer is not the old one patched by the event"
    );
    let resolution = NamespacePolicy::derive(ctx.rules, &event.kind, ctx.tenant).resolution;
    let effective = ns.effective(&subject, resolution);
    if subject == Subject::Tenant || resolution == Resolution::LowerWins {
        check::leaves_visible("an own write", lower.layer.as_value(), &effective);
    }
}

fn step(u: &mut Unstructured<'_>, life: &mut Life, ctx: &Context<'_>) -> Result<()> {
    let state = life.state.clone();
    match u.int_in_range(0..=9)? {
        0..=3 => {
            let n = if u.ratio(1, 4)? {
                u.int_in_range(1..=3)?
            } else {
                1
            };
            let mut events = Vec::with_capacity(n);
            for _ in 0..n {
                let scope = if u.arbitrary()? {
                    Scope::Tenant
                } else {
                    Scope::User
                };
                events.push(gen::event(u, scope)?);
            }
            let result = apply_changes(&state, &events, *ctx);
            check::error_is_the_callers(&result);
            if let Ok(commit) = result {
                if let [event] = events.as_slice() {
                    own_write_visible(&state, event, &commit, ctx);
                }
                life.commit(commit, ctx);
            }
        }
        4..=6 => {
            let n = u.int_in_range(1..=2)?;
            let mut events = Vec::with_capacity(n);
            for _ in 0..n {
                events.push(gen::event(u, Scope::Platform)?);
            }
            let platform_seq = if u.ratio(1, 8)? {
                state.platform_seq
            } else {
                state.platform_seq + 1
            };
            let update = PlatformUpdate {
                platform_seq,
                events,
            };
            let result = apply_platform_update(&state, &update, *ctx);
            check::error_is_the_callers(&result);
            match result {
                Ok(PlatformApply::Committed(commit)) => {
                    assert_eq!(
                        commit.state.platform_seq, platform_seq,
                        "platform seq recorded"
                    );
                    let again = apply_platform_update(&commit.state, &update, *ctx);
                    assert!(
                        matches!(again, Ok(PlatformApply::AlreadyApplied { .. })),
                        "a platform update applied twice: {again:?}"
                    );
                    life.commit(commit, ctx);
                }
                Ok(PlatformApply::AlreadyApplied { platform_seq: at }) => {
                    assert_eq!(at, state.platform_seq);
                    assert!(
                        platform_seq <= state.platform_seq,
                        "a new update was ignored"
                    );
                }
                Err(_) => {}
            }
        }
        7 => {
            let ns = gen::namespace(u)?;
            let pending: Vec<String> = state
                .namespace(&ns)
                .map(|n| n.pending.iter().map(|p| p.id.clone()).collect())
                .unwrap_or_default();
            let id = if pending.is_empty() {
                "1.1".to_owned()
            } else {
                u.choose(&pending)?.clone()
            };
            let result = if u.arbitrary()? {
                accept_pending(&state, &ns, &id, *ctx, "admin")
            } else {
                reject_pending(&state, &ns, &id, *ctx, "admin")
            };
            check::error_is_the_callers(&result);
            if let Ok(commit) = result {
                life.commit(commit, ctx);
            }
        }
        8 => {
            let ns = gen::namespace(u)?;
            let ids: Vec<String> = state
                .namespace(&ns)
                .map(|n| n.conflicts.iter().map(|c| c.id.clone()).collect())
                .unwrap_or_default();
            if ids.is_empty() {
                return Ok(());
            }
            let id = u.choose(&ids)?.clone();
            let action = match u.int_in_range(0..=2)? {
                0 => ConflictAction::TakeUpper,
                1 => ConflictAction::KeepLower,
                _ => {
                    let nulls = u.ratio(1, 8)?;
                    ConflictAction::SetValue(gen::value(u, 2, nulls)?)
                }
            };
            let result = resolve_conflict(&state, &ns, &id, &action, *ctx, "admin");
            check::error_is_the_callers(&result);
            if let Ok(commit) = result {
                life.commit(commit, ctx);
            }
        }
        _ => {
            let ns = gen::namespace(u)?;
            let known: Vec<u64> = life
                .versions
                .keys()
                .filter(|(n, _)| n == &ns)
                .map(|(_, v)| *v)
                .collect();
            let version = if known.is_empty() || u.ratio(1, 6)? {
                0
            } else {
                *u.choose(&known)?
            };
            let result = rollback(&state, &ns, version, *ctx, "admin");
            check::error_is_the_callers(&result);
            if let Ok(commit) = result {
                let want = life
                    .versions
                    .get(&(ns.clone(), version))
                    .cloned()
                    .unwrap_or_else(|| (json!({}), json!({}), BTreeMap::new()));
                assert_eq!(
                    layers(&commit.state, &ns),
                    want,
                    "rollback of {ns} to version {version} does not restore its layers"
                );
                life.commit(commit, ctx);
            }
        }
    }
    Ok(())
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let rules = gen::rules(u)?;
    let tenant = gen::tenant(u)?;
    let limits = Limits::default();
    let mut life = Life {
        state: TenantState::default(),
        versions: BTreeMap::new(),
    };
    let ctx = Context {
        tenant: &tenant,
        rules: &rules,
        limits: &limits,
        at: 1,
    };
    if u.arbitrary()? {
        seed(&mut life, &ctx);
    }
    let steps = u.int_in_range(1..=12)?;
    for at in 2..2 + steps {
        let ctx = Context { at, ..ctx };
        step(u, &mut life, &ctx)?;
    }
    Ok(())
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    // Running out of input ends the life early; that is not a finding.
    let _ = fuzz(&mut u);
}
