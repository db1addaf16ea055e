//! The unit of change at a tenant: a transaction that gets one seq, and what it returns.
//!
//! Every tenant-side operation (a change set, a platform update, a pending decision, a
//! conflict resolution, a rollback) runs as one transaction on a copy of the state: it captures
//! each namespace it touches before changing it, and on finishing computes the deltas,
//! the `Applied` outcomes, the undo of every changed layer record and the history entry,
//! and validates what it produced. Any error leaves the caller's state untouched: all or
//! nothing.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::EngineError;
use crate::history::{HistoryEntry, HistoryKind, LayerKey, LayerUndo};
use crate::matching::NamespacePolicy;
use crate::outcome::Outcome;
use crate::patch::{diff, NamespaceDelta};
use crate::rule::SyncRule;
use crate::scope::{Namespace, Subject, TenantContext};
use crate::state::{NamespaceState, TenantState};
use crate::validate::{check_document, Limits};

/// What a tenant-side operation needs besides the state: the tenant, the rules, the limits
/// and the time (the engine has no clock).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The tenant the state belongs to.
    pub tenant: &'a TenantContext,
    /// The sync rules, in D1 order.
    pub rules: &'a [SyncRule],
    /// Limits on documents.
    pub limits: &'a Limits,
    /// Now, in milliseconds since the Unix epoch.
    pub at: u64,
}

/// The result of a committed tenant-side operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    /// The new state (persist the touched namespaces, `seq` and `platform_seq`).
    pub state: TenantState,
    /// The tenant seq this operation got (`state.seq`).
    pub seq: u64,
    /// Everything that happened, in order.
    pub outcomes: Vec<Outcome>,
    /// Per touched namespace, the patches to broadcast (namespaces where nobody's effective
    /// config changed are included with empty patches, for completeness).
    pub deltas: Vec<NamespaceDelta>,
}

impl Commit {
    /// The delta of one namespace, if the commit touched it.
    #[must_use]
    pub fn delta(&self, namespace: &Namespace) -> Option<&NamespaceDelta> {
        self.deltas.iter().find(|d| &d.namespace == namespace)
    }
}

struct Before {
    tenant: Value,
    users: BTreeMap<String, Value>,
    records: BTreeMap<LayerKey, Value>,
}

pub(crate) fn records(ns: &NamespaceState) -> BTreeMap<LayerKey, Value> {
    let mut out = BTreeMap::new();
    out.insert(LayerKey::Platform, ns.platform.as_value().clone());
    out.insert(
        LayerKey::Tenant,
        serde_json::to_value(&ns.tenant).unwrap_or(Value::Null),
    );
    for (id, user) in &ns.users {
        out.insert(
            LayerKey::User(id.clone()),
            serde_json::to_value(user).unwrap_or(Value::Null),
        );
    }
    out
}

/// A transaction on a copy of a tenant's state.
pub(crate) struct Txn<'a> {
    pub ctx: Context<'a>,
    pub state: TenantState,
    pub seq: u64,
    pub outcomes: Vec<Outcome>,
    before: BTreeMap<Namespace, Before>,
    policies: BTreeMap<Namespace, NamespacePolicy>,
}

impl<'a> Txn<'a> {
    pub fn new(state: &TenantState, ctx: Context<'a>) -> Self {
        Self {
            ctx,
            seq: state.seq + 1,
            state: state.clone(),
            outcomes: Vec::new(),
            before: BTreeMap::new(),
            policies: BTreeMap::new(),
        }
    }

    /// Marks a namespace as touched (capturing it first) and returns its policy.
    pub fn touch(&mut self, namespace: &Namespace) -> NamespacePolicy {
        if !self.before.contains_key(namespace) {
            let policy = NamespacePolicy::derive(self.ctx.rules, namespace, self.ctx.tenant);
            let ns = self.state.namespace_mut(namespace);
            let users = ns
                .users
                .keys()
                .map(|id| {
                    (
                        id.clone(),
                        ns.effective(&Subject::User(id.clone()), policy.resolution),
                    )
                })
                .collect();
            let before = Before {
                tenant: ns.effective(&Subject::Tenant, policy.resolution),
                users,
                records: records(ns),
            };
            self.before.insert(namespace.clone(), before);
            self.policies.insert(namespace.clone(), policy);
        }
        self.policies[namespace].clone()
    }

    pub fn ns(&mut self, namespace: &Namespace) -> &mut NamespaceState {
        self.state.namespace_mut(namespace)
    }

    /// How many pending changes and conflicts this transaction has already created in
    /// namespaces other than `namespace`. Their ids are `{seq}.{n}`, unique within the
    /// tenant, so `n` counts across namespaces. (Only this transaction creates ids with its
    /// seq, and every namespace it touched is in its state.)
    pub fn ids_elsewhere(&self, namespace: &Namespace) -> (usize, usize) {
        let others = self
            .state
            .namespaces
            .values()
            .filter(|ns| &ns.namespace != namespace);
        let (mut pending, mut conflicts) = (0, 0);
        for ns in others {
            pending += ns
                .pending
                .iter()
                .filter(|p| p.created_seq == self.seq)
                .count();
            conflicts += ns
                .conflicts
                .iter()
                .filter(|c| c.opened_seq == self.seq)
                .count();
        }
        (pending, conflicts)
    }

    /// Commits: deltas, `Applied` outcomes, history entries, validation, the new seq.
    pub fn finish(
        mut self,
        kind: impl Fn(&Namespace) -> HistoryKind,
        by: &str,
    ) -> Result<Commit, EngineError> {
        let mut deltas = Vec::with_capacity(self.before.len());
        let before = std::mem::take(&mut self.before);
        for (namespace, before) in before {
            let policy = &self.policies[&namespace];
            let ns = self.state.namespace_mut(&namespace);
            ns.drop_empty_users();
            let limits = self.ctx.limits;
            check_document("the platform layer", ns.platform.as_value(), limits)?;
            check_document("the tenant layer", ns.tenant.layer.as_value(), limits)?;
            let tenant_after = ns.effective(&Subject::Tenant, policy.resolution);
            check_document("the tenant's effective config", &tenant_after, limits)?;

            let mut delta = NamespaceDelta {
                namespace: namespace.clone(),
                tenant: None,
                users: BTreeMap::new(),
                // Every user this commit saw with a layer, before or after: their
                // effective config is not the tenant's (or has just stopped differing from
                // it without changing), so the tenant's patch is not theirs to apply.
                personal_users: before
                    .users
                    .keys()
                    .chain(ns.users.keys())
                    .cloned()
                    .collect(),
            };
            if tenant_after != before.tenant {
                delta.tenant = Some(diff(&before.tenant, &tenant_after));
                self.outcomes.push(Outcome::Applied {
                    namespace: namespace.clone(),
                    subject: Subject::Tenant,
                });
            }
            let mut user_ids: Vec<&String> = before.users.keys().chain(ns.users.keys()).collect();
            user_ids.sort();
            user_ids.dedup();
            for id in user_ids {
                let subject = Subject::User(id.clone());
                let old = before.users.get(id).unwrap_or(&before.tenant);
                let new = if ns.users.contains_key(id) {
                    let new = ns.effective(&subject, policy.resolution);
                    if let Some(user) = ns.users.get(id) {
                        check_document("a user layer", user.layer.as_value(), limits)?;
                    }
                    new
                } else {
                    tenant_after.clone()
                };
                if &new != old {
                    delta.users.insert(id.clone(), diff(old, &new));
                    self.outcomes.push(Outcome::Applied {
                        namespace: namespace.clone(),
                        subject,
                    });
                }
            }

            let after = records(ns);
            let mut keys: Vec<&LayerKey> = before.records.keys().chain(after.keys()).collect();
            keys.sort();
            keys.dedup();
            let undo = keys
                .into_iter()
                .filter_map(|key| {
                    let old = before.records.get(key).unwrap_or(&Value::Null);
                    let new = after.get(key).unwrap_or(&Value::Null);
                    LayerUndo::between(key.clone(), old, new)
                })
                .collect::<Vec<_>>();
            // The version names the layers: an operation that changed no layer record (a
            // rejected pending change, a change that only queued) keeps it, and so its ETag.
            let changed_layers = !undo.is_empty();
            ns.history.entries.push(HistoryEntry {
                seq: self.seq,
                at: self.ctx.at,
                by: by.to_owned(),
                kind: kind(&namespace),
                outcomes: self
                    .outcomes
                    .iter()
                    .filter(|o| o.namespace() == &namespace)
                    .cloned()
                    .collect(),
                undo,
            });
            if changed_layers {
                ns.version = self.seq;
            }
            deltas.push(delta);
        }
        self.state.seq = self.seq;
        Ok(Commit {
            state: self.state,
            seq: self.seq,
            outcomes: self.outcomes,
            deltas,
        })
    }
}
