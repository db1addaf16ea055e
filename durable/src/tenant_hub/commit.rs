//! The one commit pipeline every change at a tenant goes through: tenant and user writes,
//! platform updates, pending decisions, conflict resolutions and rollbacks.
//!
//! In order: the write guard (idempotency key, the caller's write budget) → load what the
//! operation touches → `If-Match` → no-op check → find the users the change can reach and
//! load them → the engine → store by subject, history row, logged frames, idempotent answer
//! (all synchronous, so the runtime commits them together before the answer leaves) →
//! alarm → live delivery.
//!
//! "What the operation touches" is deliberately small (see `cascade_engine::reach`): the
//! namespace heads, the users an event names, a conflict's subject, and every user whose own
//! layer lies on a path the change alters, found through the path index. The engine runs
//! once with what the operation names; if its tenant patch reaches users not yet loaded, they
//! are loaded and the engine runs again (it is pure, so the second run is the first one with
//! more users in view). Nobody else's layer is read or written.

use crate::store::Meta;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cascade_engine::apply::{
    apply_changes, apply_platform_update, namespaces_touched, needs_platform_update, PlatformApply,
};
use cascade_engine::commit::Commit;
use cascade_engine::conflict::{resolve_conflict, ConflictAction};
use cascade_engine::converge::converge;
use cascade_engine::event::{ChangeEvent, PlatformUpdate};
use cascade_engine::history::{History, LayerKey};
use cascade_engine::pending::{accept_pending, reject_pending};
use cascade_engine::reach;
use cascade_engine::rollback::rollback;
use cascade_engine::scope::{Namespace, Scope, Subject};
use cascade_engine::state::{NamespaceState, TenantState};
use cascade_engine::EngineError;
use cascade_protocol::Problem;
use serde_json::{Map, Value};
use worker::Result;

use super::{engine_context, TenantHub};
use crate::core::{js_now, settle, version_mismatch, WriteReply};
use crate::history::{history_row, layer_changes, operation_row, What};
use crate::internal::{Caller, HubContext, WriteAck, WriteGuard};
use crate::outbox::HistoryRow;
use crate::tenant_store::{self, Loaded, Want};
use crate::{engine_error, lifecycle};

/// What a commit does.
pub(super) enum Op {
    /// Tenant- and user-scope events, applied atomically.
    Changes(Vec<ChangeEvent>),
    /// A platform update (delivered by the fan-out, or fetched by a catch-up).
    Platform(PlatformUpdate),
    /// A tenant admin's decision on a pending change.
    Decide {
        namespace: Namespace,
        id: String,
        accept: bool,
    },
    /// A tenant admin's resolution of an open conflict.
    Resolve {
        namespace: Namespace,
        id: String,
        action: ConflictAction,
    },
    /// A namespace restored to an earlier version.
    Rollback { namespace: Namespace, version: u64 },
    /// Copies of platform layers brought to the platform's (`cascade_engine::converge`).
    Converge {
        events: Vec<ChangeEvent>,
        cause: String,
    },
}

/// One change offered to the pipeline.
pub(super) struct Change<'a> {
    /// What to do.
    pub op: Op,
    /// Tenant and rules, as the Worker (or the fan-out's snapshot) read them.
    pub context: &'a HubContext,
    /// Who acts, for operations (events name their own authors).
    pub by: &'a str,
    /// The request's guard and the request itself (fingerprinted to tell retries apart);
    /// `None` for platform updates, which are idempotent by platform seq.
    pub guard: Option<(&'a WriteGuard, Value)>,
    /// The platform commit's time, for a delivered platform update's propagation latency.
    pub platform_committed_at: Option<u64>,
    /// Who wrote it under which request, as the Worker says (`None` for platform updates).
    pub caller: Option<&'a Caller>,
}

/// How a change ended.
pub(super) enum Step {
    /// Answered: committed, replayed, a no-op or refused.
    Reply(WriteReply),
    /// A platform update this tenant already had.
    AlreadyHad,
    /// The hub serves no tenant (deleted): nothing written.
    NotLive,
}

impl Op {
    /// The namespaces it touches, in order (the first one's version is the answer's).
    fn namespaces(&self) -> Vec<Namespace> {
        match self {
            Self::Changes(events) => namespaces_touched(events),
            Self::Platform(update) => namespaces_touched(&update.events),
            Self::Converge { events, .. } => namespaces_touched(events),
            Self::Decide { namespace, .. }
            | Self::Resolve { namespace, .. }
            | Self::Rollback { namespace, .. } => vec![namespace.clone()],
        }
    }

    /// What to load before anything else: the heads, the users it names, a rollback's
    /// history.
    fn want(&self, hub: &TenantHub) -> Result<BTreeMap<Namespace, Want>> {
        let mut want: BTreeMap<Namespace, Want> = self
            .namespaces()
            .into_iter()
            .map(|n| (n, Want::default()))
            .collect();
        match self {
            Self::Changes(events) => {
                for event in events.iter().filter(|e| e.scope == Scope::User) {
                    if let Some(user) = &event.target_id {
                        want.entry(event.kind.clone())
                            .or_default()
                            .users
                            .insert(user.clone());
                    }
                }
            }
            Self::Resolve { namespace, id, .. } => {
                let subject = tenant_store::conflict_subject(&hub.core.store, namespace, id)?;
                if let Some(Subject::User(user)) = subject {
                    want.entry(namespace.clone())
                        .or_default()
                        .users
                        .insert(user);
                }
            }
            Self::Rollback { namespace, version } => {
                want.entry(namespace.clone()).or_default().history_after = Some(*version);
            }
            Self::Platform(_) | Self::Converge { .. } | Self::Decide { .. } => {}
        }
        Ok(want)
    }

    /// Users the operation itself reaches, per namespace: those whose layer lies on a path an
    /// upper event sets (strategies settle their overrides), and the users a rollback's
    /// undos restore.
    fn reached(
        &self,
        hub: &TenantHub,
        state: &TenantState,
    ) -> Result<Vec<(Namespace, BTreeSet<String>)>> {
        let store = &hub.core.store;
        let by_configs =
            |configs: Vec<(&Namespace, &Value)>| -> Result<Vec<(Namespace, BTreeSet<String>)>> {
                let mut pointers: BTreeMap<&Namespace, BTreeSet<String>> = BTreeMap::new();
                for (namespace, config) in configs {
                    pointers
                        .entry(namespace)
                        .or_default()
                        .extend(reach::merge_patch_pointers(config));
                }
                pointers
                    .into_iter()
                    .map(|(ns, p)| Ok((ns.clone(), tenant_store::users_reached(store, ns, p)?)))
                    .collect()
            };
        match self {
            Self::Changes(events) => by_configs(
                events
                    .iter()
                    .filter(|e| e.scope == Scope::Tenant)
                    .map(|e| (&e.kind, &e.config))
                    .collect(),
            ),
            Self::Platform(update) => {
                by_configs(update.events.iter().map(|e| (&e.kind, &e.config)).collect())
            }
            Self::Converge { events, .. } => {
                by_configs(events.iter().map(|e| (&e.kind, &e.config)).collect())
            }
            // A decision may also apply the changes queued behind this one.
            Self::Decide { namespace, .. } => by_configs(
                state
                    .namespace(namespace)
                    .map(|ns| {
                        ns.pending
                            .iter()
                            .map(|p| (namespace, &p.event.config))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Self::Rollback { namespace, .. } => {
                let users = state
                    .namespace(namespace)
                    .map(|ns| {
                        ns.history
                            .entries
                            .iter()
                            .flat_map(|e| &e.undo)
                            .filter_map(|u| match &u.layer {
                                LayerKey::User(id) => Some(id.clone()),
                                LayerKey::Platform | LayerKey::Tenant => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(vec![(namespace.clone(), users)])
            }
            Self::Resolve { .. } => Ok(Vec::new()),
        }
    }

    /// Whether the engine's `commit` left every namespace it touched as `before` had it
    /// (its layers, pending changes and conflicts): a tenant or user write that changes
    /// nothing, such as a merge patch removing an absent key, takes no seq and no version.
    fn changed_nothing(&self, before: &TenantState, commit: &Commit) -> bool {
        if !matches!(self, Self::Changes(_)) {
            return false;
        }
        let bare = |ns: Option<&NamespaceState>, namespace: &Namespace| {
            let mut ns = ns
                .cloned()
                .unwrap_or_else(|| NamespaceState::new(namespace.clone()));
            ns.version = 0;
            ns.history = History::default();
            ns.users
                .retain(|_, user| !user.layer.as_value().as_object().is_some_and(Map::is_empty));
            ns
        };
        commit.deltas.iter().all(|delta| {
            let n = &delta.namespace;
            bare(before.namespace(n), n) == bare(commit.state.namespace(n), n)
        })
    }

    /// Whether every event sets nothing (such a write takes no sequence number).
    fn is_noop(&self) -> bool {
        match self {
            Self::Changes(events) => events
                .iter()
                .all(|e| e.config.as_object().is_some_and(Map::is_empty)),
            _ => false,
        }
    }

    /// Runs the engine; `None` when a platform update was already applied.
    fn run(
        &self,
        state: &TenantState,
        ctx: cascade_engine::commit::Context<'_>,
        by: &str,
    ) -> std::result::Result<Option<Commit>, EngineError> {
        Ok(Some(match self {
            Self::Changes(events) => apply_changes(state, events, ctx)?,
            Self::Platform(update) => match apply_platform_update(state, update, ctx)? {
                PlatformApply::Committed(commit) => commit,
                PlatformApply::AlreadyApplied { .. } => return Ok(None),
            },
            Self::Decide {
                namespace,
                id,
                accept: true,
            } => accept_pending(state, namespace, id, ctx, by)?,
            Self::Decide {
                namespace,
                id,
                accept: false,
            } => reject_pending(state, namespace, id, ctx, by)?,
            Self::Resolve {
                namespace,
                id,
                action,
            } => resolve_conflict(state, namespace, id, action, ctx, by)?,
            Self::Rollback { namespace, version } => rollback(state, namespace, *version, ctx, by)?,
            Self::Converge { events, cause } => converge(state, events, cause, ctx)?,
        }))
    }

    /// Records, for each platform copy the commit changed, whether a rollback changed it
    /// (what the health check's drift reason `rolledBack` reads).
    fn mark_platform_copies(
        &self,
        store: &crate::store::Store,
        loaded: &Loaded,
        commit: &Commit,
    ) -> Result<()> {
        for (namespace, ns) in &commit.state.namespaces {
            let before = loaded.state.namespace(namespace).map(|b| &b.platform);
            if before != Some(&ns.platform) {
                let rolled_back = matches!(self, Self::Rollback { .. });
                tenant_store::set_rolled_back(store, namespace, rolled_back)?;
            }
        }
        Ok(())
    }

    /// The scope the change frames name, and who they say triggered it.
    fn frame_origin<'a>(&'a self, by: &'a str) -> (Scope, &'a str) {
        match self {
            Self::Changes(events) => events
                .first()
                .map_or((Scope::Tenant, by), |e| (e.scope, e.triggered_by.as_str())),
            Self::Platform(update) => (
                Scope::Platform,
                update
                    .events
                    .first()
                    .map_or(by, |e| e.triggered_by.as_str()),
            ),
            Self::Converge { .. } => (Scope::Platform, by),
            _ => (Scope::Tenant, by),
        }
    }

    /// The D1 history row of the commit.
    fn history_row(
        &self,
        tenant: &str,
        commit: &Commit,
        by: &str,
        duration_ms: f64,
        platform_committed_at: Option<u64>,
    ) -> Result<HistoryRow> {
        let first_event = match self {
            Self::Changes(events) => events.first(),
            Self::Platform(update) => update.events.first(),
            _ => None,
        };
        if let Some(event) = first_event {
            let row = history_row(
                tenant,
                Some(tenant),
                commit.seq,
                &commit.outcomes,
                event,
                duration_ms,
            )?;
            return Ok(row.propagated_from(platform_committed_at));
        }
        let (namespace, action) = match self {
            Self::Decide {
                namespace, accept, ..
            } => (
                namespace,
                if *accept {
                    "pending.accept"
                } else {
                    "pending.reject"
                },
            ),
            Self::Resolve { namespace, .. } => (namespace, "conflict.resolve"),
            Self::Rollback { namespace, .. } => (namespace, "rollback"),
            Self::Converge { events, .. } => match events.first() {
                Some(event) => (&event.kind, "platform.converge"),
                None => {
                    return Err(worker::Error::RustError(
                        "a convergence without events".into(),
                    ))
                }
            },
            Self::Changes(_) | Self::Platform(_) => {
                return Err(worker::Error::RustError(
                    "a change set without events".into(),
                ))
            }
        };
        let scope = if matches!(self, Self::Converge { .. }) {
            "platform"
        } else {
            "tenant"
        };
        let what = What {
            namespace: namespace.as_str(),
            action,
            scope,
            target: Some(tenant),
            by,
        };
        operation_row(
            tenant,
            Some(tenant),
            commit.seq,
            &commit.outcomes,
            &what,
            duration_ms,
        )
    }
}

/// The version of the first namespace in `state` (0 when it has none yet).
fn version_of(state: &TenantState, first: Option<&Namespace>) -> u64 {
    first
        .and_then(|n| state.namespace(n))
        .map_or(0, |n| n.version)
}

impl TenantHub {
    /// Runs one change through the pipeline (see the module docs).
    pub(super) async fn commit(&self, tenant: &str, change: Change<'_>) -> Result<Step> {
        let store = &self.core.store;
        let Change {
            op,
            context,
            by,
            guard,
            platform_committed_at,
            caller,
        } = change;
        let refuse = |problem: Problem| Ok(Step::Reply(WriteReply::Refused(problem)));

        // 1. Guard: a retry gets the first answer; the caller's write budget.
        let admitted = match &guard {
            Some((g, request)) => match self.core.guard(tenant, g, request) {
                Ok(admitted) => Some(admitted),
                Err(stopped) => return settle(Err(stopped)).map(Step::Reply),
            },
            None => None,
        };
        let is_platform = matches!(op, Op::Platform(_));
        // Platform updates and convergences come from the platform side: they never make a
        // deleted tenant's hub live again.
        let from_platform = is_platform || matches!(op, Op::Converge { .. });
        if from_platform && !lifecycle::is_live(store)? {
            return Ok(Step::NotLive);
        }
        let started = js_now();

        // 2. Load what the operation names.
        let namespaces = op.namespaces();
        let first = namespaces.first();
        let mut loaded = tenant_store::load(store, &op.want(self)?)?;
        if let Op::Platform(update) = &op {
            if !needs_platform_update(&loaded.state, update.platform_seq) {
                return Ok(Step::AlreadyHad);
            }
        }

        // 3. If-Match, 4. no-op.
        if let Some((g, _)) = &guard {
            let what = format!("'{}'", first.map_or("", Namespace::as_str));
            let current = version_of(&loaded.state, first);
            if let Some(problem) = version_mismatch(g.if_match, current, &what) {
                return refuse(problem);
            }
        }
        let unchanged = WriteAck {
            seq: loaded.state.seq,
            version: version_of(&loaded.state, first),
            changed: false,
            ..WriteAck::default()
        };
        if op.is_noop() {
            return self.answer(admitted.as_ref(), unchanged).map(Step::Reply);
        }

        // 5. The users the change reaches, 6. the engine.
        for (namespace, users) in op.reached(self, &loaded.state)? {
            tenant_store::load_more_users(store, &mut loaded, &namespace, &users)?;
        }
        let ctx = engine_context(context, started);
        let run = |loaded: &Loaded| op.run(&loaded.state, ctx, by);
        let mut commit = match run(&loaded) {
            Ok(Some(commit)) => commit,
            Ok(None) => return Ok(Step::AlreadyHad),
            Err(e) if is_platform => return Err(platform_error(&op, &e)),
            Err(e) => return refuse(engine_error::problem(&e)),
        };
        if self.load_users_reached_by(&mut loaded, &commit)? {
            commit = match run(&loaded) {
                Ok(Some(commit)) => commit,
                Ok(None) => return Ok(Step::AlreadyHad),
                Err(e) if is_platform => return Err(platform_error(&op, &e)),
                Err(e) => return refuse(engine_error::problem(&e)),
            };
        }

        if op.changed_nothing(&loaded.state, &commit) {
            return self.answer(admitted.as_ref(), unchanged).map(Step::Reply);
        }

        // 7. Synchronous from here to the answer: everything commits together.
        if !from_platform {
            lifecycle::mark_live(store)?;
        }
        store.set_meta(Meta::Context, &serde_json::to_string(context)?)?;
        tenant_store::save(store, &loaded, &commit.state)?;
        op.mark_platform_copies(store, &loaded, &commit)?;
        let touched: Vec<&Namespace> = commit.deltas.iter().map(|d| &d.namespace).collect();
        let changes = layer_changes(&loaded.state, &commit.state, &touched)?;
        let row = op
            .history_row(
                tenant,
                &commit,
                by,
                js_now() - started,
                platform_committed_at,
            )?
            .made_by(caller)
            .touching(&touched, &changes)?;
        self.core.record(&row)?;
        let (scope, triggered_by) = op.frame_origin(by);
        let frames = self.log_frames(tenant, &commit, context, scope, triggered_by)?;
        let version = version_of(&commit.state, first);
        let ack = WriteAck::committed(commit.seq, version, &commit.outcomes)?;
        let reply = self.answer(admitted.as_ref(), ack)?;

        // 8. After the commit: flush alarm, live delivery.
        self.core.arm_alarm(Duration::ZERO).await?;
        self.publish(tenant, frames)?;
        Ok(Step::Reply(reply))
    }

    /// Loads the users the commit's tenant patches reach that are not loaded yet; whether
    /// there were any (the engine must then run again with them).
    fn load_users_reached_by(&self, loaded: &mut Loaded, commit: &Commit) -> Result<bool> {
        let mut more = false;
        for delta in &commit.deltas {
            let Some(patch) = &delta.tenant else {
                continue;
            };
            let users = tenant_store::users_reached(
                &self.core.store,
                &delta.namespace,
                reach::patch_pointers(patch),
            )?;
            if !loaded.has_users(&delta.namespace, &users) {
                tenant_store::load_more_users(&self.core.store, loaded, &delta.namespace, &users)?;
                more = true;
            }
        }
        Ok(more)
    }

    /// The reply, remembered under the idempotency key when the write carried one.
    fn answer(
        &self,
        admitted: Option<&crate::core::Admitted>,
        ack: WriteAck,
    ) -> Result<WriteReply> {
        match admitted {
            Some(admitted) => self.core.answer(admitted, ack),
            None => Ok(WriteReply::Done(ack)),
        }
    }
}

/// A platform update the engine could not take at all (malformed: no events, a
/// non-platform event): the fan-out reports it; content this tenant cannot take is a
/// `refused` outcome instead, never an error.
fn platform_error(op: &Op, e: &EngineError) -> worker::Error {
    let seq = match op {
        Op::Platform(update) => update.platform_seq,
        _ => 0,
    };
    worker::Error::RustError(format!("platform update {seq}: {e}"))
}
