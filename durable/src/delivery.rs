//! Live delivery of committed frames to a tenant hub's sockets: who gets each frame, each
//! frame's text handed across the wasm boundary once, written after the writer's
//! acknowledgement has left, and, when configured, spread over turns of the event loop.
//!
//! Order and exactly-once hold because:
//! - batches (one per commit) are delivered first in, first out, and each frame's sockets are
//!   listed when its turn comes, in the order of the commits;
//! - a socket being accepted first [`Outgoing::flush`]es everything queued or half-sent, so
//!   it never receives a frame its replay already contained, and is never missing from a
//!   frame committed after its replay;
//! - a hub that dies mid-broadcast loses only live delivery: the frames are in the log and
//!   reconnecting clients are replayed them.
//!
//! Sockets that are closing are skipped, and a send that fails on an open socket is logged;
//! either way the broadcast goes on with the next socket.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use cascade_protocol::room;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{State, WebSocket};

use crate::frame_log::{Audience, LoggedFrame};
use crate::sockets::{self, origins_tag, ALL_NAMESPACES_ORIGINS_TAG, ALL_NAMESPACES_TAG};

/// Sockets written to in one turn of the event loop, unless the hub's
/// `DELIVERY_SOCKETS_PER_TURN` variable says otherwise: by default every socket a hub can
/// hold (the runtime's limit is 32,768), so a broadcast is written in one turn. Measured on
/// workerd, each extra turn cost about as much as writing the whole broadcast again at
/// 5,000 sockets (the zero-delay timer fires only once the runtime has flushed the writes
/// queued before it), so spreading a broadcast over turns slowed time-to-all by 15% and
/// more (docs/BENCHMARKS.md). A smaller figure lets a hub answer other requests between
/// turns of a very large broadcast, at that price; the end-to-end test uses one to exercise
/// the ordering rules below.
pub const SOCKETS_PER_TURN: usize = 32_768;

#[wasm_bindgen]
extern "C" {
    /// A runtime WebSocket, typed only for `send` with a ready JavaScript value.
    type RawSocket;

    /// `WebSocket.send(data)` with a value already on the JavaScript side.
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_value(this: &RawSocket, data: &JsValue) -> Result<(), JsValue>;
}

/// What one commit hands to its sockets: its change frames, and the `sync-status` text for
/// the tenant's admins.
pub struct Batch {
    /// The commit's frames, in order.
    pub frames: Vec<LoggedFrame>,
    /// `(room, text)` of the `sync-status` frame for the admins.
    pub status: (String, String),
}

/// One text on its way to a list of sockets, `next` being the first not yet written.
///
/// `WebSocket::send_with_str` copies and decodes the Rust string across the wasm boundary
/// on every call; a broadcast to thousands of sockets would pay that per socket. Here the
/// string crosses once and every socket is handed the same JavaScript value.
struct Send {
    text: JsValue,
    sockets: Vec<WebSocket>,
    next: usize,
}

impl Send {
    /// The frame's texts for the sockets they are for, listed now: the plain frame for
    /// sockets tagged `config:`, and its origins form for those tagged `origins:`. A frame
    /// without one had no such socket at its commit, and any accepted since was replayed it
    /// (as a snapshot) before it could be listed here.
    fn of_frame(state: &State, frame: &LoggedFrame) -> Vec<Self> {
        let plain = Self::listed(
            state,
            frame,
            ALL_NAMESPACES_TAG,
            &room::config(&frame.namespace),
            &frame.frame,
        );
        let Some(with_origins) = &frame.with_origins else {
            return vec![plain];
        };
        let origins = Self::listed(
            state,
            frame,
            ALL_NAMESPACES_ORIGINS_TAG,
            &origins_tag(&frame.namespace),
            with_origins,
        );
        vec![plain, origins]
    }

    /// `text` for the sockets of `frame`'s audience that carry `all_tag` or `ns_tag`.
    fn listed(state: &State, frame: &LoggedFrame, all_tag: &str, ns_tag: &str, text: &str) -> Self {
        let sockets = match &frame.audience {
            Audience::Tenant { excluded } => {
                let excluded: BTreeSet<String> = excluded.iter().map(|u| room::user(u)).collect();
                let mut all = state.get_websockets_with_tag(all_tag);
                all.extend(state.get_websockets_with_tag(ns_tag));
                if !excluded.is_empty() {
                    all.retain(|ws| !state.get_tags(ws).iter().any(|t| excluded.contains(t)));
                }
                all
            }
            Audience::User(user) => {
                let mut mine = state.get_websockets_with_tag(&room::user(user));
                mine.retain(|ws| {
                    state
                        .get_tags(ws)
                        .iter()
                        .any(|t| t == all_tag || t == ns_tag)
                });
                mine
            }
        };
        let text = if sockets.is_empty() {
            JsValue::UNDEFINED
        } else {
            JsValue::from_str(text)
        };
        Self {
            text,
            sockets,
            next: 0,
        }
    }

    /// `text` for every socket tagged `tag`.
    fn of_tag(state: &State, tag: &str, text: &str) -> Self {
        let sockets = state.get_websockets_with_tag(tag);
        let text = if sockets.is_empty() {
            JsValue::UNDEFINED
        } else {
            JsValue::from_str(text)
        };
        Self {
            text,
            sockets,
            next: 0,
        }
    }

    /// Writes to at most `budget` more sockets; how many it went through. A socket that is
    /// closing by now (closed by the hub for flooding or a stale heartbeat, or by its client,
    /// since it was listed) refuses the send, and is skipped (see [`send_value`]).
    fn write(&mut self, budget: usize) -> usize {
        let end = self.sockets.len().min(self.next.saturating_add(budget));
        for ws in &self.sockets[self.next..end] {
            send_value(ws, &self.text);
        }
        let used = end - self.next;
        self.next = end;
        used
    }

    /// Whether every socket was written to.
    fn done(&self) -> bool {
        self.next >= self.sockets.len()
    }
}

/// The queue behind [`Outgoing`].
#[derive(Default)]
struct Queue {
    /// Commits not yet started, oldest first.
    batches: VecDeque<Batch>,
    /// The started commit's texts, the one being written first.
    sends: VecDeque<Send>,
    /// Whether a delivery task is running (it stops when both queues are empty).
    running: bool,
}

impl Queue {
    /// Writes to at most `budget` sockets, in order; false once nothing is left.
    fn write(&mut self, state: &State, budget: usize) -> bool {
        let mut left = budget;
        while left > 0 {
            match self.sends.front_mut() {
                Some(send) => {
                    left -= send.write(left);
                    if send.done() {
                        self.sends.pop_front();
                    }
                }
                None => match self.batches.pop_front() {
                    Some(batch) => self.start(state, batch),
                    None => return false,
                },
            }
        }
        true
    }

    /// Lists the sockets of each of `batch`'s texts.
    fn start(&mut self, state: &State, batch: Batch) {
        for frame in &batch.frames {
            self.sends.extend(Send::of_frame(state, frame));
        }
        let (room, text) = &batch.status;
        self.sends.push_back(Send::of_tag(state, room, text));
    }
}

/// Committed frames waiting to be written to sockets. Delivery starts once the commit is
/// durable — when the runtime releases the writer's acknowledgement — and one more turn of
/// the event loop lets that answer leave first; it then writes a bounded number of sockets
/// ([`SOCKETS_PER_TURN`]) per turn. See the module docs for the order it keeps.
#[derive(Clone, Default)]
pub struct Outgoing(Rc<RefCell<Queue>>);

impl Outgoing {
    /// Queues a commit's batch, and starts the delivery task (writing `per_turn` sockets per
    /// turn) unless one is running.
    pub fn push(&self, raw_state: &JsValue, batch: Batch, per_turn: usize) {
        let start = {
            let mut queue = self.0.borrow_mut();
            queue.batches.push_back(batch);
            !std::mem::replace(&mut queue.running, true)
        };
        if !start {
            return;
        }
        let queue = self.clone();
        let state = State::from(
            raw_state
                .clone()
                .unchecked_into::<worker::worker_sys::DurableObjectState>(),
        );
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                // Written before the commit is durable, frames would be held back by the
                // runtime's output gate at a cost per socket; once it is, the runtime
                // releases the writer's answer, and one zero-delay turn lets it go out.
                if let Err(e) = state.storage().sync().await {
                    worker::console_warn!("storage sync before delivery: {e}");
                }
                worker::Delay::from(Duration::ZERO).await;
                let mut inner = queue.0.borrow_mut();
                if !inner.write(&state, per_turn) {
                    inner.running = false;
                    return;
                }
            }
        });
    }

    /// Writes everything queued or half-written now, in order (before a socket is accepted).
    pub fn flush(&self, state: &State) {
        // A running task finds nothing left at its next turn and stops.
        while self.0.borrow_mut().write(state, usize::MAX) {}
    }
}

/// Sends a prepared value. A socket that refuses it is skipped, so one socket's failure never
/// stops the delivery to the others: silently when it is closing (an expected race: its
/// close is reported to the hub separately), logged otherwise.
///
/// Whether the socket is open is asked only after a refusal, not before every send: the
/// property read crosses into the runtime once per socket, and measured 4% of a hub's CPU
/// in a broadcast to 1,000 sockets (`scripts/profile.mjs --sockets 1000`).
fn send_value(ws: &WebSocket, text: &JsValue) -> bool {
    let raw: &RawSocket = ws.as_ref().unchecked_ref();
    match raw.send_value(text) {
        Ok(()) => true,
        Err(_) if !sockets::is_open(ws) => false,
        Err(e) => {
            worker::console_warn!("send to an open socket failed, skipped: {e:?}");
            false
        }
    }
}
