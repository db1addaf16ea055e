//! `TenantHub`: one Durable Object per tenant.
//!
//! Owns the tenant's layers and sequence number, and its clients' WebSockets. Sockets are
//! accepted with the Hibernation API and tagged with their rooms, so an idle tenant costs
//! nothing: the object may be evicted while its sockets stay open, and heartbeats are answered
//! by the runtime's auto-response without waking it.

use cascade_protocol::{room, ServerFrame};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result, State,
    WebSocket, WebSocketIncomingMessage, WebSocketPair, WebSocketRequestResponsePair,
};

use crate::core::{HubCore, WriteOutcome};
use crate::internal::{LayerWrite, Member, MEMBER_HEADER, SUBPROTOCOL};
use crate::reply;

/// Text frame a client sends as a heartbeat; answered by the runtime, not by the hub.
pub const HEARTBEAT_REQUEST: &str = r#"{"type":"ping"}"#;
/// The runtime's answer to [`HEARTBEAT_REQUEST`].
pub const HEARTBEAT_RESPONSE: &str = r#"{"type":"pong"}"#;

/// One tenant's hub. See the module docs.
#[durable_object]
pub struct TenantHub {
    core: HubCore,
}

impl DurableObject for TenantHub {
    fn new(state: State, env: Env) -> Self {
        Self {
            core: HubCore::new(state, env),
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
            (Method::Get, ["status"]) => reply::json(&self.core.status(&tenant)?),
            (Method::Get, ["layers", namespace]) => {
                let layer = self.core.store.layer("tenant", &tenant, namespace)?;
                reply::json(&cascade_protocol::StoredDocument {
                    scope: "tenant".into(),
                    tenant: Some(tenant.clone()),
                    namespace: (*namespace).to_owned(),
                    version: layer.version,
                    config: layer.doc,
                })
            }
            (Method::Put, ["layers", namespace]) => {
                let namespace = (*namespace).to_owned();
                let write: LayerWrite = req.json().await?;
                let outcome = self
                    .core
                    .write_layer(&tenant, "tenant", &tenant, &namespace, write)
                    .await?;
                if let WriteOutcome::Applied {
                    change: Some(change),
                    ..
                } = &outcome
                {
                    self.broadcast(
                        &room::tenant(&tenant),
                        &ServerFrame::for_change(change.clone()),
                    )?;
                }
                outcome.response()
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
        self.core.flush_outbox().await
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        // Heartbeats never get here (auto-response). Clients send nothing else yet: answer
        // with an error frame rather than dropping the message silently.
        let detail = match message {
            WebSocketIncomingMessage::String(text) => {
                format!("unsupported client frame: {:.80}", text)
            }
            WebSocketIncomingMessage::Binary(bytes) => {
                format!("binary frames are not accepted ({} bytes)", bytes.len())
            }
        };
        ws.send(&ServerFrame::Error {
            code: "CASCADE:Frame:Unsupported".into(),
            message: detail,
        })
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        // Reciprocate the close handshake. 1005/1006 are reserved and cannot be sent back.
        let code = u16::try_from(code)
            .ok()
            .filter(|c| *c != 1005 && *c != 1006)
            .unwrap_or(1000);
        ws.close(Some(code), Some("closing"))
    }

    async fn websocket_error(&self, ws: WebSocket, error: worker::Error) -> Result<()> {
        worker::console_warn!("websocket error: {error}");
        ws.close(Some(1011), Some("error"))
    }
}

impl TenantHub {
    /// Accepts a WebSocket with the Hibernation API, tagged with the rooms of the member the
    /// Worker authenticated (`tenant:{id}`, plus `tenant:{id}:admins` for admins and
    /// `user:{id}` for users), and greets it with the hub's current `seq`.
    fn accept_socket(&self, tenant: &str, req: &Request) -> Result<Response> {
        let member: Member = match req.headers().get(MEMBER_HEADER)? {
            Some(json) => serde_json::from_str(&json)?,
            None => {
                return reply::problem(
                    400,
                    "CASCADE:Hub:Anonymous",
                    "Bad Request",
                    "connect without a member",
                );
            }
        };
        let mut tags = vec![room::tenant(tenant)];
        match member.role.as_str() {
            "tenant-admin" | "platform-admin" => tags.push(room::tenant_admins(tenant)),
            _ => tags.push(room::user(&member.sub)),
        }
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let pair = WebSocketPair::new()?;
        self.core
            .state
            .accept_websocket_with_tags(&pair.server, &tag_refs);
        let heartbeat = WebSocketRequestResponsePair::new(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE)?;
        self.core.state.set_websocket_auto_response(&heartbeat);
        pair.server.send(&ServerFrame::Hello {
            tenant: tenant.to_owned(),
            seq: self.core.store.seq()?,
        })?;
        let mut resp = Response::from_websocket(pair.client)?;
        // A browser that offered our subprotocol (to carry its token) must see it accepted.
        let offered = req
            .headers()
            .get("sec-websocket-protocol")?
            .unwrap_or_default();
        if offered.split(',').any(|p| p.trim() == SUBPROTOCOL) {
            resp.headers_mut()
                .set("sec-websocket-protocol", SUBPROTOCOL)?;
        }
        Ok(resp)
    }

    /// Sends `frame` to every socket in `room`. The frame is encoded once. A socket that fails
    /// to take it is closing; the runtime reports its close separately.
    fn broadcast(&self, room: &str, frame: &ServerFrame) -> Result<()> {
        let text = serde_json::to_string(frame)?;
        for ws in self.core.state.get_websockets_with_tag(room) {
            if let Err(e) = ws.send_with_str(&text) {
                worker::console_warn!("dropping send to a closing socket: {e}");
            }
        }
        Ok(())
    }
}
