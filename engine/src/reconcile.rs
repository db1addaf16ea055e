//! Enforcing a strategy where an upper change meets a lower layer (the conflict table of
//! docs/RULES.md, "What each strategy does at each scope", row by row).
//!
//! For one lower layer (the tenant's, or one user's) and a change of the config above it
//! from `upper_old` to `upper_new`, every leaf `l` the lower layer holds (value `L`) is
//! examined. Leaves where the upper value did not change are untouched (disjoint edits
//! simply combine). Where it changed to `N`:
//!
//! | case | action | outcome |
//! |---|---|---|
//! | `L == N` | nothing to settle (under `merge` the base moves to `N`) | — |
//! | a lock binds this scope at `l` | override removed, whatever the strategy | `Overridden { locked: true }` |
//! | `platform-wins` at a targeted scope | override removed | `Overridden` |
//! | `tenant-wins`, `user-wins`, or scope not targeted | override kept | `Shadowed` |
//! | `merge`, `L == base` (no customization) | override removed, upper flows | `Merged { kept: upper }` |
//! | `merge`, `N == base` (upper back at base) | override kept | `Merged { kept: lower }` |
//! | `merge`, both changed since base | override kept, conflict opened | `ConflictOpened` |
//!
//! `base` is the upper value the override was based on ([`crate::state::LowerLayer`]);
//! when unknown, the upper value just before this change is used. An existing open conflict
//! on the same subject and path is updated in place (same id) rather than duplicated.

use serde_json::Value;

use crate::conflict::Conflict;
use crate::document::{get, leaves, Layer};
use crate::matching::NamespacePolicy;
use crate::outcome::{Outcome, Side};
use crate::path::LeafPath;
use crate::resolve::Resolution;
use crate::rule::ConflictResolution;
use crate::scope::{Namespace, Scope, Subject};
use crate::state::LowerLayer;

/// What to do with overrides at one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enforce {
    /// Remove overrides the upper change touches.
    Replace,
    /// Keep them.
    Keep,
    /// Three-way merge.
    Merge,
}

impl Enforce {
    /// The enforcement at a scope: the rule's strategy if the scope is targeted, else keep.
    pub fn at(strategy: Option<ConflictResolution>, targeted: bool) -> Self {
        match strategy {
            Some(ConflictResolution::PlatformWins) if targeted => Self::Replace,
            Some(ConflictResolution::Merge) if targeted => Self::Merge,
            _ => Self::Keep,
        }
    }
}

/// Everything [`reconcile`] needs besides the layers.
pub(crate) struct Reconcile<'a> {
    pub namespace: &'a Namespace,
    pub subject: Subject,
    pub enforce: Enforce,
    pub rule: &'a str,
    pub policy: &'a NamespacePolicy,
    /// The tenant layer, to tell whether a tenant value hides a user's under `tenant-wins`.
    pub tenant_layer: &'a Layer,
    pub seq: u64,
    pub at: u64,
    /// Conflicts this commit already opened in other namespaces (ids count across them).
    pub opened_elsewhere: usize,
}

enum Action {
    Remove(LeafPath),
    Rebase(LeafPath, Option<Value>),
}

/// Settles one lower layer against an upper change; see the module docs.
pub(crate) fn reconcile(
    r: &Reconcile<'_>,
    lower: &mut LowerLayer,
    upper_old: &Value,
    upper_new: &Value,
    conflicts: &mut Vec<Conflict>,
    outcomes: &mut Vec<Outcome>,
) {
    let scope = r.subject.scope();
    let mut actions = Vec::new();
    for (path, lower_value) in leaves(lower.layer.as_value()) {
        let old = get(upper_old, &path);
        let new = get(upper_new, &path);
        if old == new {
            continue;
        }
        if new == Some(lower_value) {
            if r.enforce == Enforce::Merge {
                actions.push(Action::Rebase(path, new.cloned()));
            }
            continue;
        }
        if let Some(lock) = r.policy.lock_for(scope, &path) {
            outcomes.push(Outcome::Overridden {
                namespace: r.namespace.clone(),
                subject: r.subject.clone(),
                path: path.clone(),
                removed: lower_value.clone(),
                upper: new.cloned(),
                rule: lock.rule.clone(),
                locked: true,
            });
            actions.push(Action::Remove(path));
            continue;
        }
        match r.enforce {
            Enforce::Replace => {
                outcomes.push(Outcome::Overridden {
                    namespace: r.namespace.clone(),
                    subject: r.subject.clone(),
                    path: path.clone(),
                    removed: lower_value.clone(),
                    upper: new.cloned(),
                    rule: r.rule.to_owned(),
                    locked: false,
                });
                actions.push(Action::Remove(path));
            }
            Enforce::Keep => outcomes.push(shadowed(r, path, lower_value, new)),
            Enforce::Merge => {
                let base = match lower.bases.get(&path) {
                    Some(base) => base.as_ref(),
                    None => old,
                };
                if base == Some(lower_value) {
                    outcomes.push(Outcome::Merged {
                        namespace: r.namespace.clone(),
                        subject: r.subject.clone(),
                        path: path.clone(),
                        kept: Side::Upper,
                        removed: Some(lower_value.clone()),
                    });
                    actions.push(Action::Remove(path));
                } else if base == new {
                    outcomes.push(Outcome::Merged {
                        namespace: r.namespace.clone(),
                        subject: r.subject.clone(),
                        path,
                        kept: Side::Lower,
                        removed: None,
                    });
                } else {
                    let conflict = open_conflict(
                        r,
                        conflicts,
                        path,
                        base.cloned(),
                        new.cloned(),
                        lower_value.clone(),
                    );
                    outcomes.push(Outcome::ConflictOpened {
                        namespace: r.namespace.clone(),
                        conflict,
                    });
                }
            }
        }
    }
    for action in actions {
        match action {
            Action::Remove(path) => {
                lower.layer.remove(&path);
                lower.bases.remove(&path);
            }
            Action::Rebase(path, base) => {
                lower.bases.insert(path, base);
            }
        }
    }
    lower.prune_bases();
}

fn shadowed(
    r: &Reconcile<'_>,
    path: LeafPath,
    lower_value: &Value,
    new: Option<&Value>,
) -> Outcome {
    let tenant_hides_user = matches!(r.subject, Subject::User(_))
        && r.policy.resolution == Resolution::TenantWins
        && get(r.tenant_layer.as_value(), &path).is_some();
    let (winner, kept, hidden) = if tenant_hides_user {
        (Scope::Tenant, new.cloned(), Some(lower_value.clone()))
    } else {
        (r.subject.scope(), Some(lower_value.clone()), new.cloned())
    };
    Outcome::Shadowed {
        namespace: r.namespace.clone(),
        subject: r.subject.clone(),
        path,
        winner,
        kept,
        hidden,
    }
}

fn open_conflict(
    r: &Reconcile<'_>,
    conflicts: &mut Vec<Conflict>,
    path: LeafPath,
    base: Option<Value>,
    upper: Option<Value>,
    lower: Value,
) -> Conflict {
    if let Some(existing) = conflicts
        .iter_mut()
        .find(|c| c.subject == r.subject && c.path == path)
    {
        existing.upper = upper;
        existing.lower = lower;
        return existing.clone();
    }
    let n = r.opened_elsewhere + conflicts.iter().filter(|c| c.opened_seq == r.seq).count() + 1;
    let conflict = Conflict {
        id: format!("{}.{n}", r.seq),
        subject: r.subject.clone(),
        path,
        base,
        upper,
        lower,
        rule: r.rule.to_owned(),
        opened_seq: r.seq,
        opened_at: r.at,
    };
    conflicts.push(conflict.clone());
    conflict
}
