//! Closing a tenant hub's sockets when the token they connected with expires.
//!
//! Each socket's attachment holds its token's expiry ([`SocketInfo::expires_at`]). The hub
//! keeps the earliest one among its open sockets in its storage ([`Meta::NextSocketExpiry`],
//! so it survives hibernation) and its alarm is armed for it. At that time — and before any
//! change is handed to the sockets, whatever the alarm did — every socket whose token has
//! expired is closed with [`TOKEN_EXPIRED`], so an expired socket never receives a change.
//! A sweep reads every socket's attachment, so it runs only when one is due.

use worker::{Result, State};

use crate::sockets::{self, SocketInfo};
use crate::store::{Meta, Store};

/// The close code of a socket whose token expired (docs/PROTOCOL.md): the client asks for a
/// fresh token and reconnects with `since` = the last `seq` it saw.
pub const TOKEN_EXPIRED: u16 = cascade_protocol::CLOSE_TOKEN_EXPIRED;

/// The close reason sent with [`TOKEN_EXPIRED`].
pub const TOKEN_EXPIRED_REASON: &str = "token expired";

/// Records that a socket's token expires at `expires_at_ms`; whether it is now the earliest
/// (the alarm must then be armed for it).
pub fn note(store: &Store, expires_at_ms: f64) -> Result<bool> {
    match next(store)? {
        Some(at) if at <= expires_at_ms => Ok(false),
        _ => {
            store.set_meta(Meta::NextSocketExpiry, &expires_at_ms.to_string())?;
            Ok(true)
        }
    }
}

/// The earliest expiry among the open sockets, if any has one.
pub fn next(store: &Store) -> Result<Option<f64>> {
    Ok(store
        .meta(Meta::NextSocketExpiry)?
        .and_then(|v| v.parse::<f64>().ok()))
}

/// Whether a socket's token may have expired by `now_ms`.
pub fn due(store: &Store, now_ms: f64) -> Result<bool> {
    Ok(next(store)?.is_some_and(|at| at <= now_ms))
}

/// Whether `info`'s token has expired by `now_ms`.
pub fn expired(info: &SocketInfo, now_ms: f64) -> bool {
    info.expires_at.is_some_and(|at| at <= now_ms)
}

/// Closes `ws` because its token expired: marked closed in its attachment first, so frames
/// its client still sends are ignored; then an `error` frame
/// ([`cascade_protocol::TOKEN_EXPIRED_CODE`]) that lets the client reconnect at once, as a
/// close handshake may take long to finish, and the close.
pub fn close(ws: &worker::WebSocket, info: &mut SocketInfo) -> Result<()> {
    info.closed = true;
    ws.serialize_attachment(&*info)?;
    ws.send(&cascade_protocol::ServerFrame::Error {
        code: cascade_protocol::TOKEN_EXPIRED_CODE.to_owned(),
        message: "the token expired: reconnect with a fresh token and since = the last seq"
            .to_owned(),
    })?;
    ws.close(Some(TOKEN_EXPIRED), Some(TOKEN_EXPIRED_REASON))
}

/// Closes every open socket whose token expired by `now_ms`, records the earliest expiry
/// left and returns it. A socket that cannot be closed is logged and skipped.
pub fn close_expired(state: &State, store: &Store, now_ms: f64) -> Result<Option<f64>> {
    let mut earliest: Option<f64> = None;
    for ws in state.get_websockets() {
        if !sockets::is_open(&ws) {
            continue;
        }
        let Ok(Some(mut info)) = ws.deserialize_attachment::<SocketInfo>() else {
            continue;
        };
        let Some(at) = info.expires_at else {
            continue;
        };
        if info.closed {
            continue;
        }
        if at <= now_ms {
            if let Err(e) = close(&ws, &mut info) {
                worker::console_warn!("closing a socket whose token expired: {e}");
            }
        } else {
            earliest = Some(earliest.map_or(at, |e: f64| e.min(at)));
        }
    }
    match earliest {
        Some(at) => store.set_meta(Meta::NextSocketExpiry, &at.to_string())?,
        None => store.delete_meta(Meta::NextSocketExpiry)?,
    }
    Ok(earliest)
}
