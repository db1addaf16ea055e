//! `TenantHub`: one Durable Object per tenant.
//!
//! Owns the tenant's engine state (its layer, its users' layers, its copy of the platform
//! layers, pending changes, conflicts, history), its sequence number, and its clients'
//! WebSockets. Every change runs through the engine as one atomic commit: the new state, the
//! `seq`, the history row and the idempotency answer are written with synchronous SQLite
//! calls and no `await` between them, so the runtime commits them together before the hub's
//! answer leaves. Sockets are accepted with the Hibernation API and tagged with their rooms,
//! so an idle tenant costs nothing; heartbeats are answered by the runtime's auto-response.

use std::collections::BTreeMap;
use std::time::Duration;

use cascade_engine::apply::{
    apply_changes, apply_platform_update, namespaces_touched, PlatformApply,
};
use cascade_engine::commit::{Commit, Context};
use cascade_engine::conflict::resolve_conflict;
use cascade_engine::event::{ChangeEvent, PlatformUpdate};
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::pending::{accept_pending, reject_pending};
use cascade_engine::rollback::rollback;
use cascade_engine::scope::{Namespace, Scope, Subject};
use cascade_engine::state::{NamespaceState, TenantState};
use cascade_engine::validate::Limits;
use cascade_engine::EngineError;
use cascade_protocol::{
    room, ClientFrame, Problem, Resume, ServerFrame, SnapshotDocument, StoredDocument,
    SyncStatusReport, TenantSyncStatus,
};
use serde_json::{Map, Value};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result, State,
    WebSocket, WebSocketIncomingMessage, WebSocketPair, WebSocketRequestResponsePair,
};

use crate::change_frames::frames_for;
use crate::core::{js_now, version_mismatch, HubCore, WriteReply};
use crate::delivery::{Batch, Outgoing, SOCKETS_PER_TURN};
use crate::engine_store;
use crate::frame_log::{self, Listener, LoggedFrame, DEFAULT_RETAINED_SEQS};
use crate::history::{history_row, operation_row, What};
use crate::internal::{
    ChangeSet, Delivery, DeliveryAck, Erased, HubContext, LayerWrite, Member, Operation, WriteAck,
    WriteGuard, BASE_URL, HUB_NAME_HEADER, MEMBER_HEADER,
};
use crate::platform_hub::PLATFORM_HUB_NAME;
use crate::socket_caps::SocketCaps;
use crate::sockets::{self, SocketInfo, MAX_CLIENT_FRAME, MAX_STRIKES};
use crate::{engine_error, lifecycle, reply};

/// Text frame a client sends as a heartbeat; answered by the runtime, not by the hub.
pub const HEARTBEAT_REQUEST: &str = r#"{"type":"ping"}"#;
/// The runtime's answer to [`HEARTBEAT_REQUEST`].
pub const HEARTBEAT_RESPONSE: &str = r#"{"type":"pong"}"#;

/// How many platform updates one catch-up call asks the platform hub for.
const CATCH_UP_PAGE: u64 = 100;

/// One tenant's hub. See the module docs.
#[durable_object]
pub struct TenantHub {
    core: HubCore,
    /// Committed frames not yet handed to the sockets.
    outgoing: Outgoing,
    /// When the alarm last swept for stale sockets (0: not since the hub woke).
    swept_at: std::cell::Cell<f64>,
}

/// Whether a platform update was applied by [`TenantHub::apply_platform`].
enum Applied {
    /// Committed now.
    Yes,
    /// The tenant already had it.
    AlreadyHad,
    /// The hub is not live (its tenant was deleted): nothing written.
    NotLive,
}

/// Body of the internal `POST /erase`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct EraseRequest {
    /// The `Idempotency-Key` of the `DELETE`, remembered after the wipe so a retry can be
    /// answered as the first one was.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Fingerprint under which an erasure's idempotency key is remembered.
const ERASE_FINGERPRINT: &str = "erase";

fn query(req: &Request, key: &str) -> Option<String> {
    req.url()
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn namespace(name: &str) -> std::result::Result<Namespace, Problem> {
    Namespace::new(name).map_err(|e| engine_error::problem(&e))
}

impl DurableObject for TenantHub {
    fn new(state: State, env: Env) -> Self {
        Self {
            core: HubCore::new(state, env),
            outgoing: Outgoing::default(),
            swept_at: std::cell::Cell::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let tenant = match self.core.admit(&req) {
            Ok(name) => name,
            Err(resp) => return resp,
        };
        let path = req.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (Method::Get, ["connect"]) => self.accept_socket(&tenant, &req),
            (Method::Get, ["status"]) => reply::json(&self.status(&tenant)?),
            (Method::Get, ["layers", ns]) => self.read(&tenant, ns, query(&req, "user"), false),
            (Method::Get, ["effective", ns]) => self.read(&tenant, ns, query(&req, "user"), true),
            (Method::Put, ["layers", ns]) => {
                let write: LayerWrite = req.json().await?;
                let ns = (*ns).to_owned();
                self.write_layer(&tenant, &ns, write).await?.response()
            }
            (Method::Post, ["changes"]) => {
                let set: ChangeSet = req.json().await?;
                self.apply_events(
                    &tenant,
                    &(&set.events, set.guard.if_match),
                    set.events.clone(),
                    &set.guard,
                    &set.context,
                )
                .await?
                .response()
            }
            (Method::Post, ["platform-update"]) => {
                let delivery: Delivery = req.json().await?;
                if !lifecycle::admit_delivery(&self.core.store)? {
                    return reply::problem_document(&lifecycle::gone(&tenant));
                }
                match self
                    .deliver(
                        &tenant,
                        &delivery.update,
                        delivery.platform_committed_at,
                        &delivery.context,
                    )
                    .await
                {
                    Ok(Some(ack)) => reply::json(&ack),
                    Ok(None) => reply::problem_document(&lifecycle::gone(&tenant)),
                    Err(e) => {
                        reply::problem(502, "CASCADE:Fanout:Delivery", "Bad Gateway", e.to_string())
                    }
                }
            }
            (Method::Post, ["sync"]) => {
                let context: HubContext = req.json().await?;
                // The Worker read the tenant's registry row for this call's context.
                lifecycle::mark_live(&self.core.store)?;
                match self.catch_up(&tenant, u64::MAX, &context).await {
                    Ok(Some(applied)) => reply::json(&DeliveryAck {
                        platform_seq: self.core.store.counter("platform_seq")?,
                        applied,
                    }),
                    Ok(None) => reply::problem_document(&lifecycle::gone(&tenant)),
                    Err(e) => {
                        reply::problem(502, "CASCADE:Fanout:CatchUp", "Bad Gateway", e.to_string())
                    }
                }
            }
            (Method::Post, ["erase"]) => {
                let body: EraseRequest = req.json().await.unwrap_or_default();
                let closed = lifecycle::erase(&self.core.state, &self.core.store).await?;
                if let Some(key) = &body.idempotency_key {
                    self.remember_erasure(key)?;
                }
                reply::json(&Erased { closed })
            }
            (Method::Get, ["erasure"]) => {
                let key = query(&req, "key").unwrap_or_default();
                match self.core.store.idempotent_answer(&key)? {
                    Some(answer) if answer.fingerprint == ERASE_FINGERPRINT => {
                        reply::json(&Erased { closed: 0 })
                    }
                    _ => reply::problem(
                        404,
                        "CASCADE:Hub:NoErasure",
                        "Not Found",
                        "no erasure under this idempotency key",
                    ),
                }
            }
            (Method::Get, ["pending"]) => reply::json(
                &self.open_items(|ns| ns.pending.iter().map(serde_json::to_value).collect())?,
            ),
            (Method::Get, ["conflicts"]) => reply::json(
                &self.open_items(|ns| ns.conflicts.iter().map(serde_json::to_value).collect())?,
            ),
            (Method::Post, ["pending", ns, id, decision]) => {
                let op: Operation = req.json().await?;
                let (ns, id, decision) =
                    ((*ns).to_owned(), (*id).to_owned(), (*decision).to_owned());
                let accept = match decision.as_str() {
                    "accept" => true,
                    "reject" => false,
                    _ => {
                        return reply::problem(
                            404,
                            "CASCADE:Hub:NoRoute",
                            "Not Found",
                            "accept or reject",
                        )
                    }
                };
                let action = if accept {
                    "pending.accept"
                } else {
                    "pending.reject"
                };
                self.operate(&tenant, &ns, action, &op, |state, namespace, ctx, by| {
                    if accept {
                        accept_pending(state, namespace, &id, ctx, by)
                    } else {
                        reject_pending(state, namespace, &id, ctx, by)
                    }
                })
                .await?
                .response()
            }
            (Method::Post, ["conflicts", ns, id, "resolve"]) => {
                let op: Operation = req.json().await?;
                let (ns, id) = ((*ns).to_owned(), (*id).to_owned());
                let Some(resolution) = op.resolution.clone() else {
                    return reply::problem(
                        422,
                        "CASCADE:Conflict:NoAction",
                        "Unprocessable Content",
                        "a resolution action is required",
                    );
                };
                self.operate(
                    &tenant,
                    &ns,
                    "conflict.resolve",
                    &op,
                    |state, namespace, ctx, by| {
                        resolve_conflict(state, namespace, &id, &resolution, ctx, by)
                    },
                )
                .await?
                .response()
            }
            (Method::Post, ["rollback", ns]) => {
                let op: Operation = req.json().await?;
                let ns = (*ns).to_owned();
                let Some(version) = op.version else {
                    return reply::problem(
                        422,
                        "CASCADE:Rollback:NoVersion",
                        "Unprocessable Content",
                        "a version is required",
                    );
                };
                self.operate(
                    &tenant,
                    &ns,
                    "rollback",
                    &op,
                    |state, namespace, ctx, by| rollback(state, namespace, version, ctx, by),
                )
                .await?
                .response()
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
        // The alarm fires after every commit (to flush history), just as the commit's
        // broadcast starts; a sweep reads every socket's heartbeat time, so it runs at most
        // once per sweep interval rather than on each commit.
        let now = js_now();
        if now - self.swept_at.get() >= sockets::SWEEP_INTERVAL_MS {
            self.swept_at.set(now);
            sockets::close_stale(&self.core.state, &self.core.raw_state, now);
        }
        self.core.flush_outbox().await?;
        Response::ok("ok")
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        // Exact heartbeats never get here (the runtime answers them); everything else is
        // rate limited per socket and answered, never dropped silently — unless the socket is
        // closing: its client's frames sent before our close still arrive, and answering them
        // would throw (send after close), so they are dropped.
        if !sockets::is_open(&ws) {
            return Ok(());
        }
        let Some(mut info) = ws.deserialize_attachment::<SocketInfo>()? else {
            return ws.close(Some(1011), Some("socket without its record"));
        };
        if info.closed {
            return Ok(());
        }
        let reply = if !info.admit_frame(js_now()) {
            frame_error(
                "CASCADE:Frame:RateLimited",
                format!(
                    "more than {} frames per second: this frame was ignored",
                    sockets::CLIENT_FRAMES_PER_SEC
                ),
            )
        } else {
            match message {
                WebSocketIncomingMessage::String(text) if text.len() > MAX_CLIENT_FRAME => {
                    info.strikes += 1;
                    frame_error(
                        "CASCADE:Frame:TooLarge",
                        format!(
                            "frame of {} bytes; the limit is {MAX_CLIENT_FRAME}",
                            text.len()
                        ),
                    )
                }
                WebSocketIncomingMessage::String(text) => {
                    match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Ping) => ServerFrame::Pong,
                        Ok(ClientFrame::Status) if info.is_admin() => ServerFrame::SyncStatus(
                            SyncStatusReport::Tenant(self.sync_status(&self.tenant_name()?)?),
                        ),
                        Ok(ClientFrame::Status) => {
                            info.strikes += 1;
                            frame_error(
                                "CASCADE:Frame:Forbidden",
                                "only admins may ask for the sync status".to_owned(),
                            )
                        }
                        Err(e) => {
                            info.strikes += 1;
                            frame_error(
                                "CASCADE:Frame:Malformed",
                                format!("unsupported client frame ({e}): {text:.80}"),
                            )
                        }
                    }
                }
                WebSocketIncomingMessage::Binary(bytes) => {
                    info.strikes += 1;
                    frame_error(
                        "CASCADE:Frame:Unsupported",
                        format!("binary frames are not accepted ({} bytes)", bytes.len()),
                    )
                }
            }
        };
        ws.serialize_attachment(&info)?;
        ws.send(&reply)?;
        if info.strikes >= MAX_STRIKES {
            sockets::close_for_policy(&ws, &mut info)?;
        }
        Ok(())
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

impl TenantHub {
    /// A layer's own values (`effective: false`) or a subject's effective config.
    fn read(
        &self,
        tenant: &str,
        ns: &str,
        user: Option<String>,
        effective: bool,
    ) -> Result<Response> {
        let namespace = match namespace(ns) {
            Ok(n) => n,
            Err(p) => return reply::problem_document(&p),
        };
        let state = engine_store::load_tenant(&self.core.store, std::slice::from_ref(&namespace))?;
        let (version, config) = match state.namespace(&namespace) {
            None => (0, Value::Object(Map::new())),
            Some(ns_state) => {
                let value = if effective {
                    let subject = user.clone().map_or(Subject::Tenant, Subject::User);
                    effective_config(ns_state, &namespace, &subject, &self.last_context()?)
                } else {
                    match &user {
                        Some(id) => ns_state
                            .users
                            .get(id)
                            .map_or(Value::Object(Map::new()), |u| u.layer.as_value().clone()),
                        None => ns_state.tenant.layer.as_value().clone(),
                    }
                };
                (ns_state.version, value)
            }
        };
        let config = match config {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        reply::json(&StoredDocument {
            scope: if user.is_some() {
                "user".into()
            } else {
                "tenant".into()
            },
            tenant: Some(tenant.to_owned()),
            namespace: namespace.as_str().to_owned(),
            version,
            config,
        })
    }

    /// The context of the last call that carried one (reads need the rules' resolution order).
    fn last_context(&self) -> Result<HubContext> {
        Ok(match self.core.store.meta("context")? {
            Some(json) => serde_json::from_str(&json)?,
            None => HubContext::default(),
        })
    }

    /// A whole-document write of the tenant layer or a user's layer, turned into the merge
    /// patch the engine applies.
    async fn write_layer(&self, tenant: &str, ns: &str, write: LayerWrite) -> Result<WriteReply> {
        let namespace = match namespace(ns) {
            Ok(n) => n,
            Err(p) => return Ok(WriteReply::Refused(p)),
        };
        let state = engine_store::load_tenant(&self.core.store, std::slice::from_ref(&namespace))?;
        let current = state
            .namespace(&namespace)
            .map(|ns_state| match &write.user {
                Some(id) => ns_state.users.get(id).map(|u| u.layer.as_value().clone()),
                None => Some(ns_state.tenant.layer.as_value().clone()),
            });
        let current = match current.flatten() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let (scope, target) = match &write.user {
            Some(id) => (Scope::User, id.clone()),
            None => (Scope::Tenant, tenant.to_owned()),
        };
        let request = (ns, &write.user, &write.change, write.guard.if_match);
        let target = (namespace, scope, Some(target));
        match self
            .core
            .layer_event(tenant, &request, &write, &current, target)?
        {
            Ok(event) => {
                self.apply_events(tenant, &request, vec![event], &write.guard, &write.context)
                    .await
            }
            Err(reply) => Ok(reply),
        }
    }

    /// Applies tenant- and user-scope events atomically as one commit, behind the guards.
    async fn apply_events<R: serde::Serialize>(
        &self,
        tenant: &str,
        request: &R,
        events: Vec<ChangeEvent>,
        guard: &WriteGuard,
        context: &HubContext,
    ) -> Result<WriteReply> {
        let admitted = match self
            .core
            .guard(tenant, guard.idempotency_key.as_deref(), request)?
        {
            Ok(a) => a,
            Err(reply) => return Ok(reply),
        };
        let started = js_now();
        let namespaces = namespaces_touched(&events);
        let state = engine_store::load_tenant(&self.core.store, &namespaces)?;
        let first = namespaces.first();
        let version_of = |s: &cascade_engine::state::TenantState| {
            first.and_then(|n| s.namespace(n)).map_or(0, |n| n.version)
        };
        let what = format!("'{}'", first.map_or("", Namespace::as_str));
        if let Some(problem) = version_mismatch(guard.if_match, version_of(&state), &what) {
            return Ok(WriteReply::Refused(problem));
        }
        // A write that changes nothing takes no sequence number.
        if events
            .iter()
            .all(|e| e.config.as_object().is_some_and(Map::is_empty))
        {
            let ack = WriteAck {
                seq: state.seq,
                version: version_of(&state),
                changed: false,
                ..WriteAck::default()
            };
            return self.core.answer(&admitted, ack);
        }
        let commit = match apply_changes(&state, &events, engine_context(context, started)) {
            Ok(commit) => commit,
            Err(e) => return Ok(WriteReply::Refused(engine_error::problem(&e))),
        };
        // Synchronous from here to the answer: state, history, idempotency commit together.
        lifecycle::mark_live(&self.core.store)?;
        self.core
            .store
            .set_meta("context", &serde_json::to_string(context)?)?;
        engine_store::save_tenant(&self.core.store, &commit.state)?;
        let first_event = &events[0];
        self.core.record(&history_row(
            tenant,
            Some(tenant),
            commit.seq,
            &commit.outcomes,
            first_event,
            js_now() - started,
        )?)?;
        let ack = WriteAck::committed(commit.seq, version_of(&commit.state), &commit.outcomes)?;
        let frames = self.log_frames(
            tenant,
            &commit,
            first_event.scope,
            &first_event.triggered_by,
        )?;
        let reply = self.core.answer(&admitted, ack)?;
        self.core.arm_alarm(Duration::ZERO).await?;
        self.publish(tenant, frames)?;
        Ok(reply)
    }

    /// Applies a platform update delivered by the fan-out, after catching up on any earlier
    /// ones this tenant missed. Idempotent: an update already applied is acknowledged again.
    /// `platform_committed_at` is the platform commit's time, for the history row's
    /// propagation latency.
    async fn deliver(
        &self,
        tenant: &str,
        update: &PlatformUpdate,
        platform_committed_at: Option<u64>,
        context: &HubContext,
    ) -> Result<Option<DeliveryAck>> {
        let mut applied = 0;
        let have = self.core.store.counter("platform_seq")?;
        if update.platform_seq > have + 1 {
            match self
                .catch_up(tenant, update.platform_seq - 1, context)
                .await?
            {
                Some(n) => applied += n,
                None => return Ok(None),
            }
        }
        match self.apply_platform(tenant, update, platform_committed_at, context)? {
            Applied::Yes => applied += 1,
            Applied::AlreadyHad => {}
            Applied::NotLive => return Ok(None),
        }
        self.core.arm_alarm(Duration::ZERO).await?;
        Ok(Some(DeliveryAck {
            platform_seq: self.core.store.counter("platform_seq")?,
            applied,
        }))
    }

    /// Remembers an erasure's idempotency key in the wiped storage, so a retried `DELETE`
    /// can be answered as the first one was.
    fn remember_erasure(&self, key: &str) -> Result<()> {
        let now = js_now() as u64;
        let answer = crate::store::StoredAnswer {
            fingerprint: ERASE_FINGERPRINT.to_owned(),
            status: 204,
            body: String::new(),
        };
        self.core.store.remember_answer(
            key,
            &answer,
            now,
            now.saturating_sub(crate::core::IDEMPOTENCY_TTL_MS),
        )
    }

    /// Fetches and applies, in order, the platform updates after this tenant's platform
    /// sequence, up to `until`. Returns how many it applied, or `None` when the hub stopped
    /// being live meanwhile (its tenant was deleted).
    async fn catch_up(
        &self,
        tenant: &str,
        until: u64,
        context: &HubContext,
    ) -> Result<Option<u64>> {
        let platform = self
            .core
            .env
            .durable_object("PLATFORM_HUB")?
            .get_by_name(PLATFORM_HUB_NAME)?;
        let mut applied = 0;
        loop {
            let since = self.core.store.counter("platform_seq")?;
            if since >= until {
                break;
            }
            let headers = worker::Headers::new();
            headers.set(HUB_NAME_HEADER, PLATFORM_HUB_NAME)?;
            let mut init = worker::RequestInit::new();
            init.with_method(Method::Get).with_headers(headers);
            let url = format!("{BASE_URL}/updates?since={since}&limit={CATCH_UP_PAGE}");
            let mut resp = platform
                .fetch_with_request(Request::new_with_init(&url, &init)?)
                .await?;
            if resp.status_code() != 200 {
                return Err(worker::Error::RustError(format!(
                    "platform hub answered {}",
                    resp.status_code()
                )));
            }
            let updates: Vec<PlatformUpdate> = resp.json().await?;
            if updates.is_empty() {
                break;
            }
            for update in updates.iter().filter(|u| u.platform_seq <= until) {
                // No propagation latency for catch-ups: for a tenant created (or healed)
                // long after the commit, the gap measures its age, not the fan-out.
                match self.apply_platform(tenant, update, None, context)? {
                    Applied::Yes => applied += 1,
                    Applied::AlreadyHad => {}
                    Applied::NotLive => return Ok(None),
                }
            }
            if updates.len() < CATCH_UP_PAGE as usize {
                break;
            }
        }
        if applied > 0 {
            self.core.arm_alarm(Duration::ZERO).await?;
        }
        Ok(Some(applied))
    }

    /// Applies one platform update if this tenant does not have it yet (synchronously: load,
    /// apply, store, record, broadcast), and only while the hub is live. With the platform
    /// commit's time, the history row records the propagation latency.
    fn apply_platform(
        &self,
        tenant: &str,
        update: &PlatformUpdate,
        platform_committed_at: Option<u64>,
        context: &HubContext,
    ) -> Result<Applied> {
        if !lifecycle::is_live(&self.core.store)? {
            return Ok(Applied::NotLive);
        }
        let started = js_now();
        let namespaces = namespaces_touched(&update.events);
        let state = engine_store::load_tenant(&self.core.store, &namespaces)?;
        let commit = match apply_platform_update(&state, update, engine_context(context, started)) {
            Ok(PlatformApply::Committed(commit)) => commit,
            Ok(PlatformApply::AlreadyApplied { .. }) => return Ok(Applied::AlreadyHad),
            Err(e) => {
                return Err(worker::Error::RustError(format!(
                    "platform update {}: {e}",
                    update.platform_seq
                )))
            }
        };
        self.core
            .store
            .set_meta("context", &serde_json::to_string(context)?)?;
        engine_store::save_tenant(&self.core.store, &commit.state)?;
        if let Some(first) = update.events.first() {
            self.core.record(
                &history_row(
                    tenant,
                    Some(tenant),
                    commit.seq,
                    &commit.outcomes,
                    first,
                    js_now() - started,
                )?
                .propagated_from(platform_committed_at),
            )?;
            let frames = self.log_frames(tenant, &commit, Scope::Platform, &first.triggered_by)?;
            self.publish(tenant, frames)?;
        }
        Ok(Applied::Yes)
    }

    /// Every namespace's open items (pending changes or conflicts), each with its namespace.
    fn open_items(
        &self,
        items: impl Fn(&NamespaceState) -> Vec<serde_json::Result<Value>>,
    ) -> Result<Vec<Value>> {
        let names = engine_store::tenant_namespaces(&self.core.store)?;
        let state = engine_store::load_tenant(&self.core.store, &names)?;
        let mut out = Vec::new();
        for (name, ns) in &state.namespaces {
            for item in items(ns) {
                let mut item = item?;
                item["namespace"] = Value::String(name.as_str().to_owned());
                out.push(item);
            }
        }
        Ok(out)
    }

    /// Runs an admin operation on one namespace as a commit: state, history and broadcast as
    /// for any change.
    async fn operate(
        &self,
        tenant: &str,
        ns: &str,
        action: &str,
        op: &Operation,
        run: impl FnOnce(
            &TenantState,
            &Namespace,
            Context<'_>,
            &str,
        ) -> std::result::Result<Commit, EngineError>,
    ) -> Result<WriteReply> {
        let namespace = match namespace(ns) {
            Ok(n) => n,
            Err(p) => return Ok(WriteReply::Refused(p)),
        };
        let started = js_now();
        let state = engine_store::load_tenant(&self.core.store, std::slice::from_ref(&namespace))?;
        let commit = match run(
            &state,
            &namespace,
            engine_context(&op.context, started),
            &op.by,
        ) {
            Ok(commit) => commit,
            Err(e) => return Ok(WriteReply::Refused(engine_error::problem(&e))),
        };
        lifecycle::mark_live(&self.core.store)?;
        self.core
            .store
            .set_meta("context", &serde_json::to_string(&op.context)?)?;
        engine_store::save_tenant(&self.core.store, &commit.state)?;
        let what = What {
            namespace: ns,
            action,
            scope: "tenant",
            target: Some(tenant),
            by: &op.by,
        };
        self.core.record(&operation_row(
            tenant,
            Some(tenant),
            commit.seq,
            &commit.outcomes,
            &what,
            js_now() - started,
        )?)?;
        let version = commit
            .state
            .namespace(&namespace)
            .map_or(commit.seq, |n| n.version);
        let ack = WriteAck::committed(commit.seq, version, &commit.outcomes)?;
        let frames = self.log_frames(tenant, &commit, Scope::Tenant, &op.by)?;
        self.core.arm_alarm(Duration::ZERO).await?;
        self.publish(tenant, frames)?;
        Ok(WriteReply::Done(ack))
    }

    /// The hub's status, with its pending changes and open conflicts counted.
    fn status(&self, tenant: &str) -> Result<crate::internal::HubStatus> {
        let mut status = self.core.status(tenant)?;
        for (role, tag) in [
            ("admins", room::tenant_admins(tenant)),
            ("users", sockets::users_room(tenant)),
        ] {
            let count = self.core.state.get_websockets_with_tag(&tag).len() as u64;
            status.connections_by_role.insert(role.to_owned(), count);
        }
        let open = engine_store::open_counts(&self.core.store)?;
        status.pending_changes = open.pending;
        status.open_conflicts = open.conflicts;
        Ok(status)
    }

    /// Accepts a WebSocket with the Hibernation API, tagged with the rooms of the member the
    /// Worker authenticated and the namespaces it follows (see [`sockets`]), then greets it.
    fn accept_socket(&self, tenant: &str, req: &Request) -> Result<Response> {
        let member: Member = match req.headers().get(MEMBER_HEADER)? {
            Some(json) => serde_json::from_str(&json)?,
            None => {
                return reply::problem(
                    400,
                    "CASCADE:Hub:Anonymous",
                    "Bad Request",
                    "connect without a member",
                )
            }
        };
        let subscription = match Subscription::from_request(req) {
            Ok(s) => s,
            Err(p) => return reply::problem_document(&p),
        };
        let info = SocketInfo::new(&member.sub, &member.role, subscription.namespaces, js_now());
        // Refused before the upgrade, so a reconnect loop holds nothing (see `socket_caps`).
        if let Err(p) = SocketCaps::from_env(&self.core.env).admit(&self.core.state, tenant, &info)
        {
            return reply::problem_document(&p);
        }
        // Frames of earlier commits go out first: the new socket's replay already has them.
        self.outgoing.flush(&self.core.state);
        let tags = info.tags(tenant);
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let pair = WebSocketPair::new()?;
        self.core
            .state
            .accept_websocket_with_tags(&pair.server, &tag_refs);
        pair.server.serialize_attachment(&info)?;
        let heartbeat = WebSocketRequestResponsePair::new(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE)?;
        self.core.state.set_websocket_auto_response(&heartbeat);
        self.greet(tenant, &pair.server, &info.listener(), subscription.since)?;
        sockets::upgrade_response(req, pair.client)
    }

    /// Brings a new socket to the hub's `seq`: `hello`, then the logged frames after `since`
    /// that concern the listener (or a snapshot when `since` is 0, ahead of the hub, or older
    /// than the log), then `synced`. Nothing can interleave: this runs without an `await`.
    fn greet(
        &self,
        tenant: &str,
        ws: &WebSocket,
        listener: &Listener,
        since: Option<u64>,
    ) -> Result<()> {
        let seq = self.core.store.seq()?;
        let resume = match since {
            None => Resume::None,
            Some(since) if since == 0 || since > seq => Resume::Snapshot,
            Some(since) if since < frame_log::floor(&self.core.store)? => Resume::Snapshot,
            Some(_) => Resume::Replay,
        };
        ws.send(&ServerFrame::Hello {
            tenant: tenant.to_owned(),
            seq,
            resume,
        })?;
        match (resume, since) {
            (Resume::Replay, Some(since)) => {
                for frame in frame_log::after(&self.core.store, since)? {
                    if listener.receives(&frame) {
                        ws.send_with_str(&frame.frame)?;
                    }
                }
            }
            (Resume::Snapshot, _) => ws.send(&ServerFrame::Snapshot {
                tenant: tenant.to_owned(),
                seq,
                configs: self.snapshot(listener)?,
            })?,
            _ => {}
        }
        ws.send(&ServerFrame::Synced { seq })
    }

    /// The listener's effective config of every namespace it follows.
    fn snapshot(&self, listener: &Listener) -> Result<BTreeMap<String, SnapshotDocument>> {
        let names: Vec<Namespace> = engine_store::tenant_namespaces(&self.core.store)?
            .into_iter()
            .filter(|n| listener.follows(n.as_str()))
            .collect();
        let state = engine_store::load_tenant(&self.core.store, &names)?;
        let context = self.last_context()?;
        let subject = listener.user.clone().map_or(Subject::Tenant, Subject::User);
        Ok(state
            .namespaces
            .iter()
            .map(|(name, ns)| {
                let config = match effective_config(ns, name, &subject, &context) {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                (
                    name.as_str().to_owned(),
                    SnapshotDocument {
                        version: ns.version,
                        config,
                    },
                )
            })
            .collect())
    }

    /// Encodes a commit's frames and logs them in the commit's synchronous run of writes,
    /// pruning the log to its retention.
    fn log_frames(
        &self,
        tenant: &str,
        commit: &Commit,
        scope: Scope,
        triggered_by: &str,
    ) -> Result<Vec<LoggedFrame>> {
        let frames = frames_for(tenant, commit, scope, triggered_by)?;
        frame_log::append(&self.core.store, &frames)?;
        let retained = self
            .core
            .env
            .var("FRAME_LOG_SEQS")
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .unwrap_or(DEFAULT_RETAINED_SEQS);
        frame_log::prune(&self.core.store, commit.seq, retained)?;
        Ok(frames)
    }

    /// Queues a commit's frames for live delivery once the commit is durable, with the
    /// tenant's sync status after it for its admins.
    fn publish(&self, tenant: &str, frames: Vec<LoggedFrame>) -> Result<()> {
        // Worked out even when no admin is connected: listing the sockets to find out would
        // cost more, on the writer's path, than three small queries. Sent after every commit
        // so an admin's view of the tenant's seq never lags (a change-only rule measured no
        // gain in time-to-all; docs/BENCHMARKS.md).
        let report = SyncStatusReport::Tenant(self.sync_status(tenant)?);
        let status = (
            room::tenant_admins(tenant),
            serde_json::to_string(&ServerFrame::SyncStatus(report))?,
        );
        let per_turn = self
            .core
            .env
            .var("DELIVERY_SOCKETS_PER_TURN")
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .filter(|n: &usize| *n > 0)
            .unwrap_or(SOCKETS_PER_TURN);
        self.outgoing
            .push(&self.core.raw_state, Batch { frames, status }, per_turn);
        Ok(())
    }

    /// The tenant's sync state as this hub knows it: `failed` after an error, `partial` with
    /// open pending changes or conflicts, else `success` (whether the tenant lags the
    /// platform is the health check's call: the hub does not know the platform's `seq`).
    fn sync_status(&self, tenant: &str) -> Result<TenantSyncStatus> {
        let open = engine_store::open_counts(&self.core.store)?;
        let status = if self.core.store.meta("last_error")?.is_some() {
            "failed"
        } else if open.pending + open.conflicts > 0 {
            "partial"
        } else {
            "success"
        };
        Ok(TenantSyncStatus {
            tenant: tenant.to_owned(),
            status: status.to_owned(),
            seq: self.core.store.seq()?,
            platform_seq: self.core.store.counter("platform_seq")?,
            pending_changes: open.pending,
            open_conflicts: open.conflicts,
        })
    }

    /// The tenant this hub serves, as learnt from its first request.
    fn tenant_name(&self) -> Result<String> {
        self.core
            .store
            .meta("hub")?
            .ok_or_else(|| worker::Error::RustError("hub has no name yet".into()))
    }
}

/// What a connecting socket asks for: where to resume from and which namespaces to follow.
struct Subscription {
    since: Option<u64>,
    namespaces: Option<Vec<String>>,
}

impl Subscription {
    /// Reads `since` and `namespaces` (comma-separated) from the connect URL.
    fn from_request(req: &Request) -> std::result::Result<Self, Problem> {
        let bad =
            |detail: String| Problem::new(400, "CASCADE:Connect:BadQuery", "Bad Request", detail);
        let since = match query(req, "since") {
            None => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                bad(format!(
                    "since must be a sequence number (0 or more), not {text:?}"
                ))
            })?),
        };
        let namespaces = match query(req, "namespaces") {
            None => None,
            Some(list) => {
                let mut names: Vec<String> = Vec::new();
                for name in list.split(',').map(str::trim) {
                    let name = namespace(name).map_err(|p| bad(p.detail.clone()))?;
                    if !names.iter().any(|n| n == name.as_str()) {
                        names.push(name.as_str().to_owned());
                    }
                }
                if names.len() > sockets::MAX_SUBSCRIPTIONS {
                    return Err(bad(format!(
                        "at most {} namespaces per connection, not {}",
                        sockets::MAX_SUBSCRIPTIONS,
                        names.len()
                    )));
                }
                Some(names)
            }
        };
        Ok(Self { since, namespaces })
    }
}

/// An error frame.
fn frame_error(code: &str, message: String) -> ServerFrame {
    ServerFrame::Error {
        code: code.to_owned(),
        message,
    }
}

/// A subject's effective config of one namespace under the rules of `context`.
fn effective_config(
    ns: &NamespaceState,
    namespace: &Namespace,
    subject: &Subject,
    context: &HubContext,
) -> Value {
    let policy = NamespacePolicy::derive(&context.rules, namespace, &context.tenant);
    ns.effective(subject, policy.resolution)
}

/// Limits on documents, the same for every change.
static LIMITS: std::sync::LazyLock<Limits> = std::sync::LazyLock::new(Limits::default);

/// The engine's context for a change at `at_ms` under `context`.
fn engine_context(context: &HubContext, at_ms: f64) -> Context<'_> {
    Context {
        tenant: &context.tenant,
        rules: &context.rules,
        limits: &LIMITS,
        at: at_ms as u64,
    }
}
