//! `PlatformHub`: the one Durable Object that owns the platform layers and the platform
//! sequence number, logs every platform update for tenants to catch up from, and fans each
//! update out to the tenant hubs as a durable job (see [`crate::fanout`]). It is also the
//! platform admins' WebSocket room, which gets a `sync-status` frame after each health check
//! (see [`crate::platform_room`]).

use crate::store::Meta;
use cascade_engine::event::ChangeEvent;
use cascade_engine::platform::{
    apply_platform_changes, platform_layer_at, rollback_platform, PlatformCommit, PlatformNamespace,
};
use cascade_engine::scope::{Namespace, Scope};
use cascade_engine::validate::Limits;
use cascade_engine::EngineError;
use cascade_protocol::Problem;
use cascade_protocol::{PlatformSyncStatus, StoredDocument, TenantSyncStatus};
use serde_json::Map;
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result, State,
    WebSocket, WebSocketIncomingMessage,
};

use crate::core::{js_now, settle, version_mismatch, HubCore, WriteReply};
use crate::internal::{ChangeSet, LayerWrite, Operation, WriteAck, WriteGuard};
use crate::{
    converge_walk, engine_error, engine_store, fanout, health_walk, history, lifecycle_steps,
    platform_room, reply, socket_expiry, versioned_read,
};

/// The single name under which the platform hub is addressed.
pub const PLATFORM_HUB_NAME: &str = "platform";

/// Largest page of platform updates one catch-up call returns.
const MAX_UPDATES_PAGE: u64 = 500;

/// The platform's hub. See the module docs.
#[durable_object]
pub struct PlatformHub {
    core: HubCore,
}

impl DurableObject for PlatformHub {
    fn new(state: State, env: Env) -> Self {
        Self {
            core: HubCore::new(state, env, engine_store::create_platform_schema),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let hub = match self.core.admit(&req) {
            Ok(name) => name,
            Err(resp) => return resp,
        };
        let path = req.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (Method::Get, ["status"]) => {
                let mut status = self.core.status(&hub)?;
                status.platform_seq = engine_store::last_platform_update(&self.core.store)?;
                status.pending_changes = fanout::pending_jobs(&self.core.store)?;
                reply::json(&status)
            }
            (Method::Get, ["layers", ns]) => {
                let version = req
                    .url()?
                    .query_pairs()
                    .find(|(k, _)| k == "version")
                    .map(|(_, v)| v.into_owned());
                match version {
                    Some(version) => self.read_at(ns, &version),
                    None => self.read(ns),
                }
            }
            (Method::Get, ["seq"]) => {
                let latest = engine_store::last_platform_update(&self.core.store)?;
                reply::json(&serde_json::json!({
                    "platformSeq": latest,
                    "settledSeq": fanout::settled_seq(&self.core.store, latest)?,
                }))
            }
            (Method::Get, ["connect"]) => {
                let (response, earliest) =
                    platform_room::accept(&self.core.state, &self.core.store, &req)?;
                if earliest {
                    self.core.arm_expiry_alarm().await?;
                }
                Ok(response)
            }
            (Method::Post, ["health-check"]) => {
                let start: health_walk::StartCheck = req.json().await?;
                let platform_seq = engine_store::last_platform_update(&self.core.store)?;
                let started = health_walk::start(
                    &self.core.store,
                    &start.cron,
                    platform_seq,
                    js_now() as u64,
                )?;
                // The check also finishes any registration or deletion a crash cut short.
                self.core.store.set_meta(Meta::LifecycleWatch, "1")?;
                self.core.arm_alarm(std::time::Duration::ZERO).await?;
                reply::json(&started)
            }
            (Method::Post, ["converge"]) => {
                let job: converge_walk::Enqueue = req.json().await?;
                converge_walk::enqueue(&self.core.store, &job)?;
                self.core.arm_alarm(std::time::Duration::ZERO).await?;
                reply::json(&serde_json::json!({ "queued": true }))
            }
            (Method::Post, ["lifecycle-watch"]) => {
                // Armed before a registration or deletion takes its first durable step.
                self.core.store.set_meta(Meta::LifecycleWatch, "1")?;
                self.core
                    .arm_alarm(lifecycle_steps::sweep_grace(&self.core.env))
                    .await?;
                reply::json(&serde_json::json!({ "watching": true }))
            }
            (Method::Post, ["sync-status"]) => {
                let status: PlatformSyncStatus = req.json().await?;
                let sent = platform_room::broadcast(&self.core.state, &self.core.store, status)?;
                reply::json(&serde_json::json!({ "sent": sent }))
            }
            (Method::Post, ["tenant-status"]) => {
                let status: TenantSyncStatus = req.json().await?;
                let sent =
                    platform_room::broadcast_tenant(&self.core.state, &self.core.store, status)?;
                reply::json(&serde_json::json!({ "sent": sent }))
            }
            (Method::Get, ["updates"]) => {
                let url = req.url()?;
                let param = |k: &str| {
                    url.query_pairs()
                        .find(|(key, _)| key == k)
                        .and_then(|(_, v)| v.parse::<u64>().ok())
                };
                let since = param("since").unwrap_or(0);
                let limit = param("limit")
                    .unwrap_or(MAX_UPDATES_PAGE)
                    .clamp(1, MAX_UPDATES_PAGE);
                reply::json(&engine_store::platform_updates_since(
                    &self.core.store,
                    since,
                    limit,
                )?)
            }
            (Method::Put, ["layers", ns]) => {
                let write: LayerWrite = req.json().await?;
                let ns = (*ns).to_owned();
                self.write_layer(&hub, &ns, write).await?.response()
            }
            (Method::Post, ["changes"]) => {
                let set: ChangeSet = req.json().await?;
                self.commit(
                    &hub,
                    &(&set.events, set.guard.if_match),
                    set.events.clone(),
                    &set.guard,
                )
                .await?
                .response()
            }
            (Method::Post, ["rollback", ns]) => {
                let op: Operation = req.json().await?;
                let ns = (*ns).to_owned();
                self.rollback(&hub, &ns, op).await?.response()
            }
            _ => reply::problem(
                404,
                "CASCADE:Hub:NoRoute",
                "Not Found",
                format!("no hub route {path}"),
            ),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let now = js_now();
        if socket_expiry::due(&self.core.store, now)? {
            socket_expiry::close_expired(&self.core.state, &self.core.store, now)?;
        }
        self.core.arm_expiry_alarm().await?;
        self.finish_lifecycles().await?;
        self.core.flush_outbox().await?;
        // One kind of walk per run, so a run's subrequests stay within one walk's bound:
        // fan-out first (a health check of a tenant mid-fan-out would only find it pending
        // and heal it, doubling the fan-out's work), then convergence jobs, then the health
        // check.
        if fanout::pending_jobs(&self.core.store)? > 0 {
            let report = fanout::run(&self.core.store, &self.core.env).await?;
            if report.failures.is_empty() {
                self.core.store.delete_meta(Meta::LastError)?;
            } else {
                self.core.store.set_meta(
                    Meta::LastError,
                    &format!(
                        "fan-out could not reach {} tenant(s): {}",
                        report.failures.len(),
                        report.failures.join(", ")
                    ),
                )?;
            }
            if report.more
                || converge_walk::pending_jobs(&self.core.store)? > 0
                || health_walk::running(&self.core.store)?
            {
                self.core.arm_alarm(std::time::Duration::ZERO).await?;
            }
            return Response::ok("ok");
        }
        // Then convergence jobs (after the fan-out, so they converge to the newest layers).
        if converge_walk::pending_jobs(&self.core.store)? > 0 {
            let failures = converge_walk::run(&self.core.store, &self.core.env).await?;
            if !failures.is_empty() {
                self.core.store.set_meta(
                    Meta::LastError,
                    &format!(
                        "convergence could not reach {} tenant(s): {} (the health check heals them)",
                        failures.len(),
                        failures.join(", ")
                    ),
                )?;
            }
            self.core.arm_alarm(std::time::Duration::ZERO).await?;
            return Response::ok("ok");
        }
        let again =
            match health_walk::step(&self.core.state, &self.core.store, &self.core.env).await {
                Ok(again) => again,
                Err(e) => {
                    // D1 or the registry failed mid-page: the cursor was not moved, so the page
                    // is tried again shortly.
                    worker::console_error!("health check page failed: {e}");
                    Some(std::time::Duration::from_secs(5))
                }
            };
        if let Some(after) = again {
            self.core.arm_alarm(after).await?;
        }
        Response::ok("ok")
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        platform_room::message(&self.core.store, &ws, message)
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        crate::sockets::reciprocate_close(&ws, code)
    }

    async fn websocket_error(&self, ws: WebSocket, error: worker::Error) -> Result<()> {
        worker::console_warn!("websocket error: {error}");
        ws.close(Some(1011), Some("error"))
    }
}

/// A platform layer as answered to a read.
fn platform_document(
    namespace: &Namespace,
    version: u64,
    config: Map<String, serde_json::Value>,
) -> StoredDocument {
    StoredDocument {
        scope: Scope::Platform,
        tenant: None,
        namespace: namespace.as_str().to_owned(),
        version,
        config,
        platform_seq: None,
        platform_behind: None,
        origins: None,
    }
}

impl PlatformHub {
    /// While watching, finishes the tenant registrations and deletions a crash cut short, and
    /// comes back until none is left (see [`lifecycle_steps`]).
    async fn finish_lifecycles(&self) -> Result<()> {
        if self.core.store.meta(Meta::LifecycleWatch)?.is_none() {
            return Ok(());
        }
        match lifecycle_steps::sweep(&self.core.env, js_now() as u64).await {
            Ok(false) => self.core.store.delete_meta(Meta::LifecycleWatch)?,
            Ok(true) => {
                self.core
                    .arm_alarm(lifecycle_steps::sweep_grace(&self.core.env))
                    .await?
            }
            Err(e) => {
                worker::console_error!("finishing tenant lifecycles failed: {e}");
                self.core
                    .arm_alarm(lifecycle_steps::sweep_grace(&self.core.env))
                    .await?;
            }
        }
        Ok(())
    }

    fn read(&self, ns: &str) -> Result<Response> {
        let namespace = match Namespace::new(ns) {
            Ok(n) => n,
            Err(e) => return reply::problem_document(&engine_error::problem(&e)),
        };
        let state =
            engine_store::load_platform(&self.core.store, std::slice::from_ref(&namespace))?;
        let (version, config) = state
            .namespaces
            .get(&namespace)
            .map_or((0, Map::new()), |n| {
                (
                    n.version,
                    n.layer.as_value().as_object().cloned().unwrap_or_default(),
                )
            });
        reply::json(&platform_document(&namespace, version, config))
    }

    /// A platform layer as it was at `version` (`?version=N`, any platform seq up to the
    /// current one), replayed back through the undos of its later history entries: 404 for a
    /// version not reached, 410 for one too far back (see [`versioned_read`]).
    fn read_at(&self, ns: &str, version: &str) -> Result<Response> {
        let namespace = match Namespace::new(ns) {
            Ok(n) => n,
            Err(e) => return reply::problem_document(&engine_error::problem(&e)),
        };
        let version = match versioned_read::parse(version) {
            Ok(v) => v,
            Err(p) => return reply::problem_document(&p),
        };
        let store = &self.core.store;
        let latest = store.counter(Meta::Seq)?;
        if version <= latest {
            let later = engine_store::history_count_after(store, &namespace, version)?;
            if let Some(p) = versioned_read::too_far_back(&namespace, version, later) {
                return reply::problem_document(&p);
            }
        }
        let state = engine_store::load_platform(store, std::slice::from_ref(&namespace))?;
        let mut ns_state = state
            .namespaces
            .get(&namespace)
            .cloned()
            .unwrap_or_else(|| PlatformNamespace::new(namespace.clone()));
        ns_state.history.entries = engine_store::load_history_after(store, &namespace, version)?;
        let config = match platform_layer_at(&ns_state, version, latest) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => Map::new(),
            Err(e) => {
                return reply::problem_document(&versioned_read::refusal(&namespace, version, &e))
            }
        };
        reply::json(&platform_document(&namespace, version, config))
    }

    /// A whole-document write of a platform layer, turned into the merge patch the engine
    /// applies.
    async fn write_layer(&self, hub: &str, ns: &str, write: LayerWrite) -> Result<WriteReply> {
        let namespace = match Namespace::new(ns) {
            Ok(n) => n,
            Err(e) => return Ok(WriteReply::Refused(engine_error::problem(&e))),
        };
        let state =
            engine_store::load_platform(&self.core.store, std::slice::from_ref(&namespace))?;
        let current = state
            .namespaces
            .get(&namespace)
            .and_then(|n| n.layer.as_value().as_object().cloned())
            .unwrap_or_default();
        let request = (ns, &write.change, write.guard.if_match);
        let target = (namespace, Scope::Platform, None);
        match self
            .core
            .layer_event(hub, &request, &write, &current, target)
        {
            Ok(event) => self.commit(hub, &request, vec![event], &write.guard).await,
            Err(stopped) => settle(Err(stopped)),
        }
    }

    /// Rolls a platform namespace back to `op.version` as a new platform update, fanned out
    /// like any other (`cascade_engine::platform::rollback_platform`). Rolling back to what
    /// the layer already holds commits nothing.
    async fn rollback(&self, hub: &str, ns: &str, op: Operation) -> Result<WriteReply> {
        let namespace = match Namespace::new(ns) {
            Ok(n) => n,
            Err(e) => return Ok(WriteReply::Refused(engine_error::problem(&e))),
        };
        let Some(version) = op.version else {
            return Ok(WriteReply::Refused(Problem::new(
                400,
                "CASCADE:Request:MalformedJson",
                "Bad Request",
                "a rollback needs a version",
            )));
        };
        let request = ("rollback", ns, version);
        let store = &self.core.store;
        let later = engine_store::history_count_after(store, &namespace, version)?;
        if let Some(p) = versioned_read::too_far_back(&namespace, version, later) {
            return Ok(WriteReply::Refused(p));
        }
        let by = op.by.clone();
        self.commit_with(
            hub,
            &request,
            &op.guard,
            std::slice::from_ref(&namespace),
            |state, at| {
                let mut state = state.clone();
                if let Some(ns_state) = state.namespaces.get_mut(&namespace) {
                    ns_state.history.entries = engine_store::load_history_after(
                        store, &namespace, version,
                    )
                    .map_err(|e| EngineError::CorruptHistory {
                        namespace: namespace.to_string(),
                        reason: e.to_string(),
                    })?;
                }
                rollback_platform(&state, &namespace, version, &Limits::default(), at, &by)
            },
        )
        .await
    }

    /// Commits platform events atomically, logs the update and queues its fan-out.
    async fn commit<R: serde::Serialize>(
        &self,
        hub: &str,
        request: &R,
        events: Vec<ChangeEvent>,
        guard: &WriteGuard,
    ) -> Result<WriteReply> {
        let namespaces = cascade_engine::apply::namespaces_touched(&events);
        let nothing = events
            .iter()
            .all(|e| e.config.as_object().is_some_and(Map::is_empty));
        self.commit_with(hub, request, guard, &namespaces, |state, at| {
            if nothing {
                return Ok(None);
            }
            apply_platform_changes(state, &events, &Limits::default(), at).map(Some)
        })
        .await
    }

    /// The commit pipeline of every platform change: guard (idempotency, rate), load the
    /// namespaces, `If-Match` on the first, the engine (`make`: `None` when nothing changes),
    /// then synchronously the state, the update log, the fan-out job, history and the
    /// idempotency record, and the alarm that runs the fan-out.
    async fn commit_with<R: serde::Serialize>(
        &self,
        hub: &str,
        request: &R,
        guard: &WriteGuard,
        namespaces: &[Namespace],
        make: impl FnOnce(
            &cascade_engine::platform::PlatformState,
            u64,
        ) -> std::result::Result<Option<PlatformCommit>, EngineError>,
    ) -> Result<WriteReply> {
        let admitted = match self.core.guard(hub, guard, request) {
            Ok(a) => a,
            Err(stopped) => return settle(Err(stopped)),
        };
        let started = js_now();
        let state = engine_store::load_platform(&self.core.store, namespaces)?;
        let first = namespaces.first();
        let version_of = |s: &cascade_engine::platform::PlatformState| {
            first
                .and_then(|n| s.namespaces.get(n))
                .map_or(0, |n| n.version)
        };
        if let Some(problem) =
            version_mismatch(guard.if_match, version_of(&state), "platform config")
        {
            return Ok(WriteReply::Refused(problem));
        }
        let commit = match make(&state, started as u64) {
            Ok(Some(commit)) => commit,
            Ok(None) => {
                let ack = WriteAck {
                    seq: state.seq,
                    version: version_of(&state),
                    changed: false,
                    ..WriteAck::default()
                };
                return self.core.answer(&admitted, ack);
            }
            Err(e) => return Ok(WriteReply::Refused(engine_error::problem(&e))),
        };
        // Synchronous from here to the answer: state, update log, fan-out job, history and
        // idempotency record commit together.
        engine_store::save_platform(&self.core.store, &commit.state, &commit.update)?;
        let Some(event) = commit.update.events.first() else {
            return Ok(WriteReply::Refused(engine_error::problem(
                &EngineError::EmptyBatch,
            )));
        };
        let duration = js_now() - started;
        let row = history::history_row(hub, None, commit.seq, &commit.outcomes, event, duration)?;
        // The job carries the commit's time (the platform history row's) to every tenant,
        // which records the propagation latency from it.
        fanout::enqueue(&self.core.store, commit.update.platform_seq, row.created_at)?;
        self.core.record(&row)?;
        let ack = WriteAck::committed(commit.seq, version_of(&commit.state), &commit.outcomes)?;
        let reply = self.core.answer(&admitted, ack)?;
        self.core.arm_alarm(std::time::Duration::ZERO).await?;
        Ok(reply)
    }
}
