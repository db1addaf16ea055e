//! What clients send on their sockets: heartbeats the runtime did not answer itself and
//! status requests; anything else is refused with an error frame, rate limited per socket,
//! and a socket that keeps sending refused frames is closed.

use cascade_protocol::{ClientFrame, ServerFrame, SyncStatusReport};
use worker::{Result, WebSocket, WebSocketIncomingMessage};

use super::TenantHub;
use crate::core::js_now;
use crate::socket_expiry;
use crate::sockets::{self, SocketInfo, MAX_CLIENT_FRAME, MAX_STRIKES};

impl TenantHub {
    /// Answers one client frame (see the module docs).
    pub(super) fn client_frame(
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
        if socket_expiry::expired(&info, js_now()) {
            return socket_expiry::close(&ws, &mut info);
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
}

/// An error frame.
pub(super) fn frame_error(code: &str, message: String) -> ServerFrame {
    ServerFrame::Error {
        code: code.to_owned(),
        message,
    }
}
