//! `TenantHub`: one Durable Object per tenant.
//!
//! Owns the tenant's engine state (its layer, its users' layers, its copy of the platform
//! layers, pending changes, conflicts, history — stored by subject, [`crate::tenant_store`]),
//! its sequence number, and its clients' WebSockets. The object is split by job:
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | the object and its routing: which internal call goes where |
//! | [`commit`] | the one pipeline every change goes through |
//! | [`catch_up`] | platform deliveries and catching up on missed platform updates |
//! | [`converge`] | drift from the platform layers, and converging the copies back |
//! | [`reads`] | layer and effective-config reads, open items, status |
//! | [`connect`] | accepting a socket: caps, tags, replay or snapshot |
//! | [`client_frames`] | what clients send on their sockets |
//! | [`live`] | change frames logged with a commit and handed to the sockets |
//!
//! Sockets are accepted with the Hibernation API and tagged with their rooms, so an idle
//! tenant costs nothing; heartbeats are answered by the runtime's auto-response.

mod catch_up;
mod client_frames;
mod commit;
mod connect;
mod converge;
mod live;
mod reads;
pub use reads::MAX_OPEN_ITEMS_LISTED;

use crate::store::Meta;
use cascade_engine::commit::Context;
use cascade_engine::scope::{Namespace, Scope};
use cascade_engine::validate::Limits;
use cascade_protocol::Problem;
use serde_json::{json, Map, Value};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result, State,
    WebSocket, WebSocketIncomingMessage,
};

use crate::core::{js_now, settle, HubCore, WriteReply};
use crate::delivery::Outgoing;
use crate::internal::{
    Caller, ChangeSet, Delivery, DeliveryAck, Erased, HubContext, LayerWrite, Operation,
    CALLER_HEADER,
};
use crate::{engine_error, lifecycle, reply, socket_expiry, sockets};
use commit::{Change, Op, Step};

/// Text frame a client sends as a heartbeat; answered by the runtime, not by the hub.
pub const HEARTBEAT_REQUEST: &str = r#"{"type":"ping"}"#;
/// The runtime's answer to [`HEARTBEAT_REQUEST`].
pub const HEARTBEAT_RESPONSE: &str = r#"{"type":"pong"}"#;

/// One tenant's hub. See the module docs.
#[durable_object]
pub struct TenantHub {
    core: HubCore,
    /// Committed frames not yet handed to the sockets.
    outgoing: Outgoing,
    /// When the alarm last swept for stale sockets (0: not since the hub woke).
    swept_at: std::cell::Cell<f64>,
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

fn no_route(path: &str) -> Result<Response> {
    reply::problem(
        404,
        "CASCADE:Hub:NoRoute",
        "Not Found",
        format!("no hub route {path}"),
    )
}

impl DurableObject for TenantHub {
    fn new(state: State, env: Env) -> Self {
        Self {
            core: HubCore::new(state, env, crate::tenant_store::create_schema),
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
        let caller: Option<Caller> = req
            .headers()
            .get(CALLER_HEADER)?
            .and_then(|text| serde_json::from_str(&text).ok());
        let caller = caller.as_ref();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (Method::Get, ["connect"]) => {
                let (resp, earliest) = self.accept_socket(&tenant, &req)?;
                if earliest {
                    self.core.arm_expiry_alarm().await?;
                }
                Ok(resp)
            }
            (Method::Get, ["status"]) => reply::json(&self.status(&tenant)?),
            (Method::Post, ["health"]) => {
                let probe: crate::internal::HealthProbe = req.json().await?;
                reply::json(&self.health(&tenant, &probe)?)
            }
            (Method::Post, ["converge"]) => {
                let request: crate::internal::ConvergeRequest = req.json().await?;
                match self.converge(&tenant, &request).await {
                    Ok(Some(ack)) => reply::json(&ack),
                    Ok(None) => reply::problem_document(&lifecycle::gone(&tenant)),
                    Err(e) => {
                        reply::problem(502, "CASCADE:Converge:Failed", "Bad Gateway", e.to_string())
                    }
                }
            }
            (Method::Get, [view @ ("layers" | "effective"), ns]) => {
                let effective = *view == "effective";
                // The Worker checked the value; the hub only sees `true` or nothing.
                let origins = query(&req, "origins").as_deref() == Some("true");
                match query(&req, "version") {
                    Some(version) => self.read_at(
                        &tenant,
                        ns,
                        query(&req, "user"),
                        &version,
                        effective,
                        origins,
                    ),
                    None => self.read(&tenant, ns, query(&req, "user"), effective, origins),
                }
            }
            (Method::Put, ["layers", ns]) => {
                let write: LayerWrite = req.json().await?;
                let ns = (*ns).to_owned();
                self.write_layer(&tenant, &ns, write, caller)
                    .await?
                    .response()
            }
            (Method::Post, ["changes"]) => {
                let set: ChangeSet = req.json().await?;
                self.catch_up_first(&tenant, &set.context).await?;
                let request = json!([&set.events, set.guard.if_match]);
                let change = Change {
                    op: Op::Changes(set.events),
                    context: &set.context,
                    by: "",
                    guard: Some((&set.guard, request)),
                    platform_committed_at: None,
                    caller,
                };
                reply_of(self.commit(&tenant, change).await?)?.response()
            }
            (Method::Post, ["platform-update"]) => {
                let delivery: Delivery = req.json().await?;
                if !lifecycle::admit_delivery(&self.core.store)? {
                    return reply::problem_document(&lifecycle::gone(&tenant));
                }
                match self.deliver(&tenant, &delivery).await {
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
                if let Some(incarnation) = &context.incarnation {
                    lifecycle::adopt_incarnation(&self.core.state, &self.core.store, incarnation)
                        .await?;
                }
                lifecycle::mark_live(&self.core.store)?;
                match self.catch_up(&tenant, u64::MAX, &context).await {
                    Ok(Some(applied)) => reply::json(&DeliveryAck {
                        platform_seq: self.core.store.counter(Meta::PlatformSeq)?,
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
            (Method::Get, ["pending"]) => reply::json(&self.open_items(true)?),
            (Method::Get, ["conflicts"]) => reply::json(&self.open_items(false)?),
            (Method::Post, ["pending", ns, id, decision]) => {
                let accept = match *decision {
                    "accept" => true,
                    "reject" => false,
                    _ => return no_route(&path),
                };
                let op: Operation = req.json().await?;
                let namespace = match namespace(ns) {
                    Ok(n) => n,
                    Err(p) => return reply::problem_document(&p),
                };
                let request = json!(["pending", ns, id, decision]);
                let op_kind = Op::Decide {
                    namespace,
                    id: (*id).to_owned(),
                    accept,
                };
                self.operate(&tenant, op_kind, &op, request, caller).await
            }
            (Method::Post, ["conflicts", ns, id, "resolve"]) => {
                let op: Operation = req.json().await?;
                let Some(action) = op.resolution.clone() else {
                    return reply::problem(
                        422,
                        "CASCADE:Conflict:NoAction",
                        "Unprocessable Content",
                        "a resolution action is required",
                    );
                };
                let namespace = match namespace(ns) {
                    Ok(n) => n,
                    Err(p) => return reply::problem_document(&p),
                };
                let request = json!(["conflict", ns, id, &action]);
                let op_kind = Op::Resolve {
                    namespace,
                    id: (*id).to_owned(),
                    action,
                };
                self.operate(&tenant, op_kind, &op, request, caller).await
            }
            (Method::Post, ["rollback", ns]) => {
                let op: Operation = req.json().await?;
                let Some(version) = op.version else {
                    return reply::problem(
                        422,
                        "CASCADE:Rollback:NoVersion",
                        "Unprocessable Content",
                        "a version is required",
                    );
                };
                let namespace = match namespace(ns) {
                    Ok(n) => n,
                    Err(p) => return reply::problem_document(&p),
                };
                let request = json!(["rollback", ns, version]);
                self.operate(
                    &tenant,
                    Op::Rollback { namespace, version },
                    &op,
                    request,
                    caller,
                )
                .await
            }
            _ => no_route(&path),
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
        if socket_expiry::due(&self.core.store, now)? {
            socket_expiry::close_expired(&self.core.state, &self.core.store, now)?;
        }
        self.core.arm_expiry_alarm().await?;
        self.core.flush_outbox().await?;
        Response::ok("ok")
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        self.client_frame(ws, message)
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
    /// A whole-document write of the tenant layer or a user's layer, turned into the merge
    /// patch the engine applies.
    async fn write_layer(
        &self,
        tenant: &str,
        ns: &str,
        write: LayerWrite,
        caller: Option<&Caller>,
    ) -> Result<WriteReply> {
        let namespace = match namespace(ns) {
            Ok(n) => n,
            Err(p) => return Ok(WriteReply::Refused(p)),
        };
        self.catch_up_first(tenant, &write.context).await?;
        let current = match &write.user {
            Some(id) => crate::tenant_store::load_user(&self.core.store, &namespace, id)?
                .map(|u| u.layer.as_value().clone()),
            None => crate::tenant_store::load_head(&self.core.store, &namespace)?
                .map(|ns| ns.tenant.layer.as_value().clone()),
        };
        let current = match current {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let (scope, target) = match &write.user {
            Some(id) => (Scope::User, id.clone()),
            None => (Scope::Tenant, tenant.to_owned()),
        };
        let request = json!([ns, &write.user, &write.change, write.guard.if_match]);
        let target = (namespace, scope, Some(target));
        let event = match self
            .core
            .layer_event(tenant, &request, &write, &current, target)
        {
            Ok(event) => event,
            Err(stopped) => return settle(Err(stopped)),
        };
        let change = Change {
            op: Op::Changes(vec![event]),
            context: &write.context,
            by: "",
            guard: Some((&write.guard, request)),
            platform_committed_at: None,
            caller,
        };
        reply_of(self.commit(tenant, change).await?)
    }

    /// An admin operation (pending decision, conflict resolution, rollback) as a commit,
    /// behind the same guards as any write.
    async fn operate(
        &self,
        tenant: &str,
        op_kind: Op,
        op: &Operation,
        request: Value,
        caller: Option<&Caller>,
    ) -> Result<Response> {
        self.catch_up_first(tenant, &op.context).await?;
        let change = Change {
            op: op_kind,
            context: &op.context,
            by: &op.by,
            guard: Some((&op.guard, request)),
            platform_committed_at: None,
            caller,
        };
        reply_of(self.commit(tenant, change).await?)?.response()
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

    /// The context of the last call that carried one (reads need the rules' resolution order).
    fn last_context(&self) -> Result<HubContext> {
        Ok(match self.core.store.meta(Meta::Context)? {
            Some(json) => serde_json::from_str(&json)?,
            None => HubContext::default(),
        })
    }

    /// The tenant this hub serves, as learnt from its first request.
    fn tenant_name(&self) -> Result<String> {
        self.core
            .store
            .meta(Meta::Hub)?
            .ok_or_else(|| worker::Error::RustError("hub has no name yet".into()))
    }
}

/// The reply of a write-side step (a platform step never comes from a write).
fn reply_of(step: Step) -> Result<WriteReply> {
    match step {
        Step::Reply(reply) => Ok(reply),
        Step::AlreadyHad | Step::NotLive => Err(worker::Error::RustError(
            "a write ended as a platform delivery".into(),
        )),
    }
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
