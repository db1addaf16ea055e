//! The platform admins' WebSocket room on the `PlatformHub`: sockets accepted with the
//! Hibernation API and tagged `platform:admins`, greeted like a tenant socket, and sent a
//! `sync-status` frame after each health check (posted by the Worker's cron handler), and a
//! tenant's `sync-status` when that tenant's status changes (posted by its hub).
//!
//! The last status is kept in the hub's storage so that a client asking with
//! `{"type":"status"}` gets it at once, even after the hub hibernated.
//!
//! Each socket carries its token's expiry in its attachment, as a tenant socket does: the hub
//! closes it with 4001 when the token expires (its alarm, and before any broadcast), so an
//! expired platform admin's socket gets no status after its token's end
//! ([`crate::socket_expiry`]).

use cascade_protocol::{
    room, PlatformSyncStatus, Resume, Role, ServerFrame, SyncStatusReport, TenantSyncStatus,
};
use worker::{
    Request, Response, Result, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    WebSocketRequestResponsePair,
};

use crate::internal::{Member, MEMBER_HEADER};
use crate::sockets::SocketInfo;
use crate::store::{Meta, Store};
use crate::tenant_hub::{HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE};
use crate::{reply, socket_expiry};

/// Accepts a platform admin's socket (the Worker has authenticated and authorized it), tagged
/// `platform:admins`, and greets it with `hello` (tenant `platform`, the hub's `seq`, no
/// resume) then `synced`. Also answers whether the socket's token now expires first among
/// the room's (the hub must then arm its alarm for it).
pub(crate) fn accept(state: &State, store: &Store, req: &Request) -> Result<(Response, bool)> {
    let member: Option<Member> = match req.headers().get(MEMBER_HEADER)? {
        Some(json) => Some(serde_json::from_str(&json)?),
        None => None,
    };
    let member = match member {
        Some(m) if m.role == Role::PlatformAdmin => m,
        _ => {
            return reply::problem(
                403,
                "CASCADE:Auth:Forbidden",
                "Forbidden",
                "only platform admins join the platform room",
            )
            .map(|r| (r, false))
        }
    };
    let now = worker::js_sys::Date::now();
    let info = SocketInfo::new(&member.sub, member.role, None, now).expiring(member.expires_at);
    let pair = WebSocketPair::new()?;
    state.accept_websocket_with_tags(&pair.server, &[room::PLATFORM_ADMINS]);
    pair.server.serialize_attachment(&info)?;
    let heartbeat = WebSocketRequestResponsePair::new(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE)?;
    state.set_websocket_auto_response(&heartbeat);
    let seq = store.seq()?;
    pair.server.send(&ServerFrame::Hello {
        tenant: "platform".into(),
        seq,
        resume: Resume::None,
    })?;
    pair.server.send(&ServerFrame::Synced { seq })?;
    let earliest = match info.expires_at {
        Some(at) => socket_expiry::note(store, at)?,
        None => false,
    };
    Ok((
        crate::sockets::upgrade_response(req, pair.client)?,
        earliest,
    ))
}

/// Keeps `status` as the latest and sends it as a `sync-status` frame to every platform admin.
/// Returns how many sockets it was sent to; a socket that cannot take it is skipped.
pub(crate) fn broadcast(state: &State, store: &Store, status: PlatformSyncStatus) -> Result<u64> {
    store.set_meta(Meta::PlatformSyncStatus, &serde_json::to_string(&status)?)?;
    send_to_room(
        state,
        store,
        &ServerFrame::SyncStatus(SyncStatusReport::Platform(status)),
    )
}

/// Sends a tenant's changed sync status to every platform admin as a `sync-status` frame
/// with `scope: "tenant"` (posted by the tenant hub, `crate::status_watch`). Not stored:
/// the health check's summary is what `{"type":"status"}` answers. Returns how many sockets
/// it was sent to.
pub(crate) fn broadcast_tenant(
    state: &State,
    store: &Store,
    status: TenantSyncStatus,
) -> Result<u64> {
    send_to_room(
        state,
        store,
        &ServerFrame::SyncStatus(SyncStatusReport::Tenant(status)),
    )
}

/// Sends `frame` to every open platform admin socket, after closing those whose token expired
/// (so an expired admin never gets it). Returns how many sockets it was sent to; a socket
/// that cannot take it is logged and skipped.
fn send_to_room(state: &State, store: &Store, frame: &ServerFrame) -> Result<u64> {
    let now = worker::js_sys::Date::now();
    if socket_expiry::due(store, now)? {
        socket_expiry::close_expired(state, store, now)?;
    }
    let mut sent = 0;
    for ws in state.get_websockets_with_tag(room::PLATFORM_ADMINS) {
        if !crate::sockets::is_open(&ws) {
            continue;
        }
        match ws.send(frame) {
            Ok(()) => sent += 1,
            Err(e) => worker::console_warn!("sync-status not sent to a platform admin: {e}"),
        }
    }
    Ok(sent)
}

/// Answers a platform admin's frame: `{"type":"status"}` gets the latest `sync-status` (an
/// error frame before the first health check); anything else an error frame. A socket whose
/// token expired is closed instead (4001).
pub(crate) fn message(
    store: &Store,
    ws: &WebSocket,
    message: WebSocketIncomingMessage,
) -> Result<()> {
    if let Ok(Some(mut info)) = ws.deserialize_attachment::<SocketInfo>() {
        if info.closed {
            return Ok(());
        }
        if socket_expiry::expired(&info, worker::js_sys::Date::now()) {
            return socket_expiry::close(ws, &mut info);
        }
    }
    let text = match message {
        WebSocketIncomingMessage::String(text) => text,
        WebSocketIncomingMessage::Binary(bytes) => {
            return ws.send(&unsupported(format!(
                "binary frames are not accepted ({} bytes)",
                bytes.len()
            )))
        }
    };
    match serde_json::from_str::<cascade_protocol::ClientFrame>(&text) {
        Ok(cascade_protocol::ClientFrame::Status) => match store.meta(Meta::PlatformSyncStatus)? {
            Some(json) => {
                let status: PlatformSyncStatus = serde_json::from_str(&json)?;
                ws.send(&ServerFrame::SyncStatus(SyncStatusReport::Platform(status)))
            }
            None => ws.send(&ServerFrame::Error {
                code: "CASCADE:Health:NoSnapshot".into(),
                message: "no health check has run yet".into(),
            }),
        },
        _ => ws.send(&unsupported(format!(
            "unsupported client frame: {text:.80}"
        ))),
    }
}

fn unsupported(message: String) -> ServerFrame {
    ServerFrame::Error {
        code: "CASCADE:Frame:Unsupported".into(),
        message,
    }
}
