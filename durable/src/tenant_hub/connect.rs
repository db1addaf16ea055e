//! Accepting a socket: the member's rooms as hibernation tags, then a greeting that brings
//! it to the hub's `seq` (a replay of the logged frames it missed, or a snapshot of its own
//! effective configs), with nothing able to interleave.

use std::collections::BTreeMap;

use cascade_engine::scope::Subject;
use cascade_protocol::{Problem, Resume, ServerFrame, SnapshotDocument};
use serde_json::{Map, Value};
use worker::{Request, Response, Result, WebSocket, WebSocketPair, WebSocketRequestResponsePair};

use super::reads::{effective_config, effective_with_origins};
use super::{namespace, query, TenantHub, HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE};
use crate::change_frames::wire_origins;
use crate::core::js_now;
use crate::frame_log::{self, Listener};
use crate::internal::{Member, MEMBER_HEADER};
use crate::socket_caps::SocketCaps;
use crate::sockets::{self, SocketInfo};
use crate::{reply, socket_expiry, tenant_store};

impl TenantHub {
    /// Accepts a WebSocket with the Hibernation API, tagged with the rooms of the member the
    /// Worker authenticated and the namespaces it follows (see [`sockets`]), then greets it.
    /// Returns the answer, and whether its token expires before any other socket's (the
    /// alarm must then be armed for it).
    pub(super) fn accept_socket(&self, tenant: &str, req: &Request) -> Result<(Response, bool)> {
        let member: Member = match req.headers().get(MEMBER_HEADER)? {
            Some(json) => serde_json::from_str(&json)?,
            None => {
                return reply::problem(
                    400,
                    "CASCADE:Hub:Anonymous",
                    "Bad Request",
                    "connect without a member",
                )
                .map(|r| (r, false))
            }
        };
        let subscription = match Subscription::from_request(req) {
            Ok(s) => s,
            Err(p) => return reply::problem_document(&p).map(|r| (r, false)),
        };
        let info = SocketInfo::new(&member.sub, member.role, subscription.namespaces, js_now())
            .expiring(member.expires_at)
            .with_origins(subscription.origins);
        // Refused before the upgrade, so a reconnect loop holds nothing (see `socket_caps`).
        if let Err(p) = SocketCaps::from_env(&self.core.env).admit(&self.core.state, tenant, &info)
        {
            return reply::problem_document(&p).map(|r| (r, false));
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
        let earliest = match info.expires_at {
            Some(at) => socket_expiry::note(&self.core.store, at)?,
            None => false,
        };
        Ok((sockets::upgrade_response(req, pair.client)?, earliest))
    }

    /// Brings a new socket to the hub's `seq`: `hello`, then the logged frames after `since`
    /// that concern the listener (or a snapshot when `since` is 0, ahead of the hub, or older
    /// than the log, or when a listener that asked for origins would be replayed a frame
    /// logged without them), then `synced`. Nothing can interleave: this runs without an
    /// `await`.
    fn greet(
        &self,
        tenant: &str,
        ws: &WebSocket,
        listener: &Listener,
        since: Option<u64>,
    ) -> Result<()> {
        let seq = self.core.store.seq()?;
        let mut replay = Vec::new();
        let resume = match since {
            None => Resume::None,
            Some(since) if since == 0 || since > seq => Resume::Snapshot,
            Some(since) if since < frame_log::floor(&self.core.store)? => Resume::Snapshot,
            Some(since) => {
                replay = frame_log::after(
                    &self.core.store,
                    since,
                    listener.user.as_deref(),
                    listener.origins,
                )?;
                replay.retain(|frame| listener.receives(frame));
                if listener.origins && replay.iter().any(|f| f.with_origins.is_none()) {
                    Resume::Snapshot
                } else {
                    Resume::Replay
                }
            }
        };
        ws.send(&ServerFrame::Hello {
            tenant: tenant.to_owned(),
            seq,
            resume,
        })?;
        match resume {
            Resume::Replay => {
                for frame in &replay {
                    ws.send_with_str(frame.text_for(listener))?;
                }
            }
            Resume::Snapshot => ws.send(&ServerFrame::Snapshot {
                tenant: tenant.to_owned(),
                seq,
                configs: self.snapshot(listener)?,
            })?,
            Resume::None => {}
        }
        ws.send(&ServerFrame::Synced { seq })
    }

    /// The listener's effective config of every namespace it follows.
    fn snapshot(&self, listener: &Listener) -> Result<BTreeMap<String, SnapshotDocument>> {
        let context = self.last_context()?;
        let subject = listener.user.clone().map_or(Subject::Tenant, Subject::User);
        let mut out = BTreeMap::new();
        for name in tenant_store::namespaces(&self.core.store)? {
            if !listener.follows(name.as_str()) {
                continue;
            }
            // The head and the listener's own layer: never another user's.
            let Some(ns) = self.load_for(&name, &subject)? else {
                continue;
            };
            let (config, origins) = if listener.origins {
                let (value, map) = effective_with_origins(&ns, &name, &subject, &context);
                (value, Some(wire_origins(map)))
            } else {
                (effective_config(&ns, &name, &subject, &context), None)
            };
            let config = match config {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            out.insert(
                name.as_str().to_owned(),
                SnapshotDocument {
                    version: ns.version,
                    config,
                    origins,
                },
            );
        }
        Ok(out)
    }
}

/// What a connecting socket asks for: where to resume from, which namespaces to follow, and
/// whether it wants origins.
struct Subscription {
    since: Option<u64>,
    namespaces: Option<Vec<String>>,
    origins: bool,
}

impl Subscription {
    /// Reads `since`, `namespaces` (comma-separated) and `origins` (`1`/`true` or
    /// `0`/`false`) from the connect URL.
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
        let origins = match query(req, "origins").as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => {
                return Err(bad(format!(
                    "origins must be 1 or true (or 0 or false), not {other:?}"
                )))
            }
        };
        Ok(Self {
            since,
            namespaces,
            origins,
        })
    }
}
