//! Test helpers: a small "world" holding one tenant's state, its rules and clocks, with
//! one-line steps for platform, tenant and user changes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use cascade_engine::apply::{apply_changes, apply_platform_update, PlatformApply};
use cascade_engine::commit::{Commit, Context};
use cascade_engine::error::EngineError;
use cascade_engine::event::{ChangeEvent, PlatformUpdate};
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::outcome::Outcome;
use cascade_engine::rule::SyncRule;
use cascade_engine::scope::{Namespace, Subject, TenantContext};
use cascade_engine::state::TenantState;
use cascade_engine::validate::Limits;
use serde_json::{json, Value};

pub mod gen;

pub fn ns(name: &str) -> Namespace {
    Namespace::new(name).expect("valid namespace")
}

pub fn rules(value: Value) -> Vec<SyncRule> {
    serde_json::from_value(value).expect("rules parse")
}

/// A rule in the seed's shape for namespace `namespace`.
pub fn rule(namespace: &str, strategy: &str, targets: &[&str], auto_apply: bool) -> Value {
    json!({
        "id": format!("{namespace}-{strategy}"),
        "triggerEvents": [format!("{namespace}.*")],
        "targetScopes": targets,
        "syncDirection": "down",
        "conflictResolution": strategy,
        "autoApply": auto_apply
    })
}

pub fn event(
    kind: &str,
    action: &str,
    scope: &str,
    target: Option<&str>,
    config: Value,
    by: &str,
) -> ChangeEvent {
    let mut value = json!({
        "type": kind, "action": action, "scope": scope, "config": config, "triggeredBy": by
    });
    if let Some(target) = target {
        value["targetId"] = json!(target);
    }
    serde_json::from_value(value).expect("event parses")
}

pub struct World {
    pub tenant: TenantContext,
    pub rules: Vec<SyncRule>,
    pub limits: Limits,
    pub state: TenantState,
    pub platform_seq: u64,
    pub clock: u64,
}

impl World {
    pub fn new(rules: Vec<SyncRule>) -> Self {
        Self {
            tenant: TenantContext::new("t1"),
            rules,
            limits: Limits::default(),
            state: TenantState::default(),
            platform_seq: 0,
            clock: 1_000,
        }
    }

    pub fn ctx(&mut self) -> Context<'_> {
        self.clock += 1;
        Context {
            tenant: &self.tenant,
            rules: &self.rules,
            limits: &self.limits,
            at: self.clock,
        }
    }

    /// A platform change at the next platform seq; the state moves on.
    pub fn platform(&mut self, kind: &str, action: &str, config: Value) -> Commit {
        self.platform_seq += 1;
        let update = PlatformUpdate {
            platform_seq: self.platform_seq,
            events: vec![event(
                kind,
                action,
                "platform",
                None,
                config,
                "platform-admin",
            )],
        };
        self.platform_update(&update)
    }

    pub fn platform_update(&mut self, update: &PlatformUpdate) -> Commit {
        let state = self.state.clone();
        match apply_platform_update(&state, update, self.ctx()).expect("platform update processes")
        {
            PlatformApply::Committed(commit) => {
                self.state = commit.state.clone();
                commit
            }
            PlatformApply::AlreadyApplied { .. } => panic!("unexpected duplicate"),
        }
    }

    pub fn try_tenant(
        &mut self,
        kind: &str,
        action: &str,
        config: Value,
    ) -> Result<Commit, EngineError> {
        let ev = event(kind, action, "tenant", Some("t1"), config, "tenant-admin");
        self.try_events(&[ev])
    }

    pub fn tenant(&mut self, kind: &str, action: &str, config: Value) -> Commit {
        self.try_tenant(kind, action, config)
            .expect("tenant change applies")
    }

    pub fn user(&mut self, user: &str, kind: &str, action: &str, config: Value) -> Commit {
        let ev = event(kind, action, "user", Some(user), config, user);
        self.try_events(&[ev]).expect("user change applies")
    }

    pub fn try_events(&mut self, events: &[ChangeEvent]) -> Result<Commit, EngineError> {
        let state = self.state.clone();
        let commit = apply_changes(&state, events, self.ctx())?;
        self.state = commit.state.clone();
        Ok(commit)
    }

    pub fn keep(&mut self, commit: &Commit) {
        self.state = commit.state.clone();
    }

    pub fn effective(&self, kind: &str, subject: &Subject) -> Value {
        let namespace = ns(kind);
        let policy = NamespacePolicy::derive(&self.rules, &namespace, &self.tenant);
        match self.state.namespace(&namespace) {
            Some(state) => state.effective(subject, policy.resolution),
            None => json!({}),
        }
    }

    pub fn tenant_eff(&self, kind: &str) -> Value {
        self.effective(kind, &Subject::Tenant)
    }

    pub fn user_eff(&self, kind: &str, user: &str) -> Value {
        self.effective(kind, &Subject::User(user.into()))
    }
}

/// The `kind` tags of outcomes, sorted and deduplicated.
pub fn kinds(outcomes: &[Outcome]) -> Vec<String> {
    let mut out: Vec<String> = outcomes
        .iter()
        .map(|o| {
            serde_json::to_value(o).expect("serializes")["kind"]
                .as_str()
                .expect("tagged")
                .to_owned()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

pub fn user(id: &str) -> Subject {
    Subject::User(id.into())
}
