//! Reads: a layer's own values or a subject's effective config (the head and at most one
//! user's layer, never the other users'), the open items, and the hub's status.

use crate::store::Meta;
use cascade_engine::history::LayerKey;
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::origin::OriginMap;
use cascade_engine::rollback::{layer_at, subject_layers_at};
use cascade_engine::scope::{Namespace, Subject};
use cascade_engine::state::NamespaceState;
use cascade_protocol::{room, Scope, StoredDocument, SyncFacts, SyncState, TenantSyncStatus};
use serde_json::{Map, Value};
use worker::{Response, Result};

use super::{namespace, TenantHub};
use crate::change_frames::wire_origins;
use crate::internal::{HubContext, HubStatus};
use crate::tenant_store;
use crate::versioned_read;
use crate::{reply, sockets};

/// Most open items (pending changes or conflicts) one listing returns.
pub const MAX_OPEN_ITEMS_LISTED: u64 = 1_000;

impl TenantHub {
    /// A namespace's head with one subject's layer loaded (the tenant's is in the head).
    pub(super) fn load_for(
        &self,
        namespace: &Namespace,
        subject: &Subject,
    ) -> Result<Option<NamespaceState>> {
        let Some(mut ns) = tenant_store::load_head(&self.core.store, namespace)? else {
            return Ok(None);
        };
        if let Subject::User(id) = subject {
            if let Some(layer) = tenant_store::load_user(&self.core.store, namespace, id)? {
                ns.users.insert(id.clone(), layer);
            }
        }
        Ok(Some(ns))
    }

    /// A layer's own values (`effective: false`) or a subject's effective config, with
    /// where each value came from when `origins` (effective reads only).
    pub(super) fn read(
        &self,
        tenant: &str,
        ns: &str,
        user: Option<String>,
        effective: bool,
        origins: bool,
    ) -> Result<Response> {
        let namespace = match namespace(ns) {
            Ok(n) => n,
            Err(p) => return reply::problem_document(&p),
        };
        let subject = user.clone().map_or(Subject::Tenant, Subject::User);
        let ns_state = self
            .load_for(&namespace, &subject)?
            .unwrap_or_else(|| NamespaceState::new(namespace.clone()));
        let mut origin_map = None;
        let config = if effective {
            let (value, map) =
                effective_with_origins(&ns_state, &namespace, &subject, &self.last_context()?);
            origin_map = origins.then(|| wire_origins(map));
            value
        } else {
            ns_state
                .lower(&subject)
                .map_or(Value::Object(Map::new()), |l| l.layer.as_value().clone())
        };
        let version = ns_state.version;
        let config = match config {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        reply::json(&StoredDocument {
            scope: if user.is_some() {
                Scope::User
            } else {
                Scope::Tenant
            },
            tenant: Some(tenant.to_owned()),
            namespace: namespace.as_str().to_owned(),
            version,
            config,
            platform_seq: Some(self.core.store.counter(Meta::PlatformSeq)?),
            platform_behind: None,
            origins: origin_map,
        })
    }

    /// A layer's own values (`effective: false`) or a subject's effective config (`true`) as
    /// they were at `version` (`?version=N`), replayed from the retained history: 404 for a
    /// version the tenant has not reached, 410 for one older than the retained history or
    /// more than [`versioned_read::MAX_VERSIONS_REPLAYED`] changes of the namespace back. An effective config
    /// is the layers of that version resolved under the rules of today.
    pub(super) fn read_at(
        &self,
        tenant: &str,
        ns: &str,
        user: Option<String>,
        version: &str,
        effective: bool,
        origins: bool,
    ) -> Result<Response> {
        let namespace = match namespace(ns) {
            Ok(n) => n,
            Err(p) => return reply::problem_document(&p),
        };
        let version = match versioned_read::parse(version) {
            Ok(v) => v,
            Err(p) => return reply::problem_document(&p),
        };
        let store = &self.core.store;
        let latest = store.seq()?;
        if version <= latest {
            let later = tenant_store::history_count_after(store, &namespace, version)?;
            if let Some(p) = versioned_read::too_far_back(&namespace, version, later) {
                return reply::problem_document(&p);
            }
        }
        let subject = user.clone().map_or(Subject::Tenant, Subject::User);
        let mut ns_state = self
            .load_for(&namespace, &subject)?
            .unwrap_or_else(|| NamespaceState::new(namespace.clone()));
        if version < latest {
            ns_state.history.entries =
                tenant_store::load_history_after(store, &namespace, version)?;
        }
        let mut origin_map = None;
        let replayed = if effective {
            let context = self.last_context()?;
            subject_layers_at(&ns_state, &subject, version, latest).map(|then| {
                let (value, map) = effective_with_origins(&then, &namespace, &subject, &context);
                origin_map = origins.then(|| wire_origins(map));
                value
            })
        } else {
            let layer = match &subject {
                Subject::User(id) => LayerKey::User(id.clone()),
                _ => LayerKey::Tenant,
            };
            layer_at(&ns_state, &layer, version, latest)
        };
        let config = match replayed {
            Ok(Value::Object(map)) => map,
            Ok(_) => Map::new(),
            Err(e) => {
                return reply::problem_document(&versioned_read::refusal(&namespace, version, &e))
            }
        };
        reply::json(&StoredDocument {
            scope: if user.is_some() {
                Scope::User
            } else {
                Scope::Tenant
            },
            tenant: Some(tenant.to_owned()),
            namespace: namespace.as_str().to_owned(),
            version,
            config,
            platform_seq: Some(self.core.store.counter(Meta::PlatformSeq)?),
            platform_behind: None,
            origins: origin_map,
        })
    }

    /// Every namespace's open items of one kind, each with its namespace.
    pub(super) fn open_items(&self, pending: bool) -> Result<Vec<Value>> {
        tenant_store::open_items(&self.core.store, pending, MAX_OPEN_ITEMS_LISTED)
    }

    /// The hub's status, with its pending changes and open conflicts counted.
    pub(super) fn status(&self, tenant: &str) -> Result<HubStatus> {
        let mut status = self.core.status(tenant)?;
        for (role, tag) in [
            ("admins", room::tenant_admins(tenant)),
            ("users", sockets::users_room(tenant)),
        ] {
            let count = self.core.state.get_websockets_with_tag(&tag).len() as u64;
            status.connections_by_role.insert(role.to_owned(), count);
        }
        let open = tenant_store::open_counts(&self.core.store)?;
        status.pending_changes = open.pending;
        status.open_conflicts = open.conflicts;
        Ok(status)
    }

    /// The tenant's sync state as this hub knows it: `failed` after an error, `partial` with
    /// open pending changes or conflicts, else `success` (whether the tenant lags the
    /// platform is the health check's call: the hub does not know the platform's `seq`).
    pub(super) fn sync_status(&self, tenant: &str) -> Result<TenantSyncStatus> {
        let open = tenant_store::open_counts(&self.core.store)?;
        // What the hub knows of itself: it does not know the platform's latest seq, and its
        // history flush runs right after the commit this status follows.
        let status = SyncState::classify(&SyncFacts {
            failed: self.core.store.meta(Meta::LastError)?.is_some(),
            pending_changes: open.pending,
            open_conflicts: open.conflicts,
            ..SyncFacts::default()
        });
        Ok(TenantSyncStatus {
            tenant: tenant.to_owned(),
            status,
            seq: self.core.store.seq()?,
            platform_seq: self.core.store.counter(Meta::PlatformSeq)?,
            pending_changes: open.pending,
            open_conflicts: open.conflicts,
        })
    }
}

/// A subject's effective config of one namespace under the rules of `context`.
pub(super) fn effective_config(
    ns: &NamespaceState,
    namespace: &Namespace,
    subject: &Subject,
    context: &HubContext,
) -> Value {
    let policy = NamespacePolicy::derive(&context.rules, namespace, &context.tenant);
    ns.effective(subject, policy.resolution)
}

/// [`effective_config`] with where each of its values came from.
pub(super) fn effective_with_origins(
    ns: &NamespaceState,
    namespace: &Namespace,
    subject: &Subject,
    context: &HubContext,
) -> (Value, OriginMap) {
    let policy = NamespacePolicy::derive(&context.rules, namespace, &context.tenant);
    ns.effective_with_origins(subject, policy.resolution)
}
