//! [`Client`]: a background task that keeps one subject's effective config current over a
//! WebSocket — resume by `seq`, reconnection with backoff and jitter, heartbeats — and
//! reports typed [`Event`]s to any number of subscribers.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::Stream;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};

use crate::connection::Connection;
use crate::event::{ConnectionState, Event};
use crate::options::Options;
use crate::state::{Action, SyncState};

/// Progress as the task publishes it: connection state and resume point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    state: ConnectionState,
    seq: u64,
}

/// What the task and the handle share.
#[derive(Debug)]
struct Shared {
    sync: Mutex<SyncState>,
    progress: watch::Sender<Progress>,
    events: broadcast::Sender<Event>,
    /// Bumped to ask the task to drop the current socket and reconnect.
    reconnect: watch::Sender<u64>,
    /// Set once by `close` (or by dropping the handle).
    shutdown: watch::Sender<bool>,
}

impl Shared {
    fn sync(&self) -> MutexGuard<'_, SyncState> {
        // A panic while holding the lock cannot leave the state half-applied (each frame is
        // applied to a copy first), so a poisoned lock is still usable.
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, event: Event) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    fn set_state(&self, state: ConnectionState) {
        let seq = self.sync().seq();
        self.progress.send_replace(Progress { state, seq });
    }

    fn publish_seq(&self) {
        let seq = self.sync().seq();
        self.progress.send_modify(|p| p.seq = seq);
    }
}

/// Keeps a subject's effective config current: connects, catches up (snapshot or replay),
/// applies live changes, and reconnects — resuming from its `seq` — until closed.
///
/// Needs a Tokio runtime (with the `time` and `net` drivers). Dropping it stops the task
/// without a close handshake; [`Client::close`] closes cleanly.
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Client {
    /// Starts the client in the background and returns at once.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it spawns its task there).
    pub fn connect(options: Options) -> Self {
        Self::connect_with_events(options).0
    }

    /// Starts the client and subscribes to its events before anything happens, so the
    /// subscriber sees every event from the first `Connected` on.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it spawns its task there).
    pub fn connect_with_events(options: Options) -> (Self, Events) {
        let (events, receiver) = broadcast::channel(options.event_capacity.max(1));
        let (progress, _) = watch::channel(Progress {
            state: ConnectionState::Connecting,
            seq: 0,
        });
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            sync: Mutex::new(SyncState::new()),
            progress,
            events,
            reconnect: watch::channel(0).0,
            shutdown,
        });
        let task = tokio::spawn(run(options, Arc::clone(&shared)));
        let client = Self {
            shared,
            task: Some(task),
        };
        (client, Events { receiver })
    }

    /// Subscribes to the events from now on.
    pub fn subscribe(&self) -> Events {
        Events {
            receiver: self.shared.events.subscribe(),
        }
    }

    /// The held effective config of `namespace`.
    pub fn config(&self, namespace: &str) -> Option<Value> {
        self.shared.sync().config(namespace).cloned()
    }

    /// The held version of `namespace`.
    pub fn version(&self, namespace: &str) -> Option<u64> {
        self.shared.sync().version(namespace)
    }

    /// Every held namespace's effective config.
    pub fn configs(&self) -> BTreeMap<String, Value> {
        self.shared
            .sync()
            .configs()
            .iter()
            .map(|(ns, held)| (ns.clone(), held.config.clone()))
            .collect()
    }

    /// The resume point: every change up to it is in the held configs.
    pub fn seq(&self) -> u64 {
        self.shared.sync().seq()
    }

    /// How many duplicate change frames were skipped so far.
    pub fn duplicates(&self) -> u64 {
        self.shared.sync().duplicates()
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.shared.progress.borrow().state
    }

    /// Waits until the client is [`ConnectionState::Live`] at a resume point of at least
    /// `seq` (0: just live), for at most `within`. Returns the resume point, or `None` on
    /// timeout or once the client is closed.
    pub async fn wait_for_seq(&self, seq: u64, within: Duration) -> Option<u64> {
        let mut progress = self.shared.progress.subscribe();
        let reached = async {
            progress
                .wait_for(|p| {
                    (p.state == ConnectionState::Live && p.seq >= seq)
                        || p.state == ConnectionState::Closed
                })
                .await
                .map(|p| *p)
                .ok()
        };
        match tokio::time::timeout(within, reached).await {
            Ok(Some(p)) if p.state == ConnectionState::Live => Some(p.seq),
            _ => None,
        }
    }

    /// Waits until the client is live (caught up after a connect or reconnect), for at most
    /// `within`; returns the resume point.
    pub async fn wait_live(&self, within: Duration) -> Option<u64> {
        self.wait_for_seq(0, within).await
    }

    /// Drops the current socket (as a network failure would) and reconnects after the
    /// backoff delay; the client resumes from its `seq`. No-op while no socket is open.
    pub fn reconnect(&self) {
        self.shared
            .reconnect
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Closes the socket cleanly and stops the task; the held state stays readable.
    pub async fn close(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A subscription to a client's [`Event`]s.
#[derive(Debug)]
pub struct Events {
    receiver: broadcast::Receiver<Event>,
}

impl Events {
    /// The next event; `None` once the client is gone and every event was read. A subscriber
    /// that fell more than the options' `event_capacity` behind gets [`Event::Lagged`].
    pub async fn recv(&mut self) -> Option<Event> {
        match self.receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Event::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is already there, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        match self.receiver.try_recv() {
            Ok(event) => Some(event),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => Some(Event::Lagged { missed }),
            Err(_) => None,
        }
    }

    /// Every event already there, without waiting.
    pub fn drain(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.try_recv()).collect()
    }

    /// The next event matching `pick` within `within`, mapped; events before it are dropped.
    pub async fn next_matching<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Option<T> {
        let search = async {
            while let Some(event) = self.recv().await {
                if let Some(found) = pick(&event) {
                    return Some(found);
                }
            }
            None
        };
        tokio::time::timeout(within, search).await.ok().flatten()
    }

    /// The events as a [`Stream`].
    pub fn into_stream(self) -> Pin<Box<dyn Stream<Item = Event> + Send>> {
        Box::pin(futures::stream::unfold(self, |mut events| async move {
            events.recv().await.map(|event| (event, events))
        }))
    }
}

/// Why a session (one socket) ended.
enum Ended {
    /// The owner closed the client.
    Shutdown,
    /// The socket dropped; reconnect.
    Dropped(String),
    /// The server closed the socket because its token expired: reconnect at once, with a
    /// fresh token from the provider and `since`, so nothing is missed.
    TokenExpired,
}

/// The task: connect, run the session, back off, repeat.
async fn run(options: Options, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut attempt: u32 = 0;
    let mut fatal = None;
    loop {
        let since = {
            let mut sync = shared.sync();
            sync.connecting();
            sync.since()
        };
        let opened = tokio::select! {
            opened = Connection::open(&options, Some(since)) => opened,
            _ = closed(&mut shutdown) => break,
        };
        let mut at_once = false;
        let reason = match opened {
            Ok(connection) => match session(connection, &options, &shared, &mut attempt).await {
                Ended::Shutdown => break,
                Ended::Dropped(reason) => reason,
                Ended::TokenExpired => {
                    // At once only after a session that was up: a provider that hands out
                    // expired tokens gets the backoff (and, once refused, a 401).
                    at_once = attempt == 0;
                    "the token expired: reconnecting with a fresh one".to_owned()
                }
            },
            Err(error) if error.is_permanent() => {
                fatal = Some(error.to_string());
                break;
            }
            Err(error) => error.to_string(),
        };
        shared.emit(Event::Disconnected { reason });
        let delay = if at_once {
            Duration::ZERO
        } else {
            options.backoff.jittered(attempt)
        };
        attempt = attempt.saturating_add(1);
        shared.set_state(ConnectionState::Reconnecting);
        shared.emit(Event::Reconnecting { attempt, delay });
        tokio::select! {
            _ = sleep(delay) => {}
            _ = closed(&mut shutdown) => break,
        }
    }
    shared.set_state(ConnectionState::Closed);
    shared.emit(Event::Closed { error: fatal });
}

/// One socket's life: frames in, heartbeats out, until it drops or the owner closes.
async fn session(
    mut connection: Connection,
    options: &Options,
    shared: &Shared,
    attempt: &mut u32,
) -> Ended {
    let mut shutdown = shared.shutdown.subscribe();
    let mut reconnect = shared.reconnect.subscribe();
    reconnect.borrow_and_update();
    let far = Duration::from_secs(86_400 * 365);
    let interval = options.heartbeat.map(|h| h.interval).unwrap_or(far);
    let timeout = options.heartbeat.map(|h| h.timeout).unwrap_or(far);
    let mut next_ping = Instant::now() + interval;
    // When the outstanding ping was sent, if one is.
    let mut ping_sent: Option<Instant> = None;
    loop {
        let pong_deadline = ping_sent.map(|sent| sent + timeout);
        tokio::select! {
            _ = closed(&mut shutdown) => {
                let _ = connection.close().await;
                return Ended::Shutdown;
            }
            _ = reconnect.changed() => {
                return Ended::Dropped("reconnect requested".into());
            }
            _ = sleep_until(next_ping), if options.heartbeat.is_some() => {
                next_ping = Instant::now() + interval;
                if ping_sent.is_none() {
                    if let Err(e) = connection.ping().await {
                        return Ended::Dropped(format!("heartbeat: {e}"));
                    }
                    ping_sent = Some(Instant::now());
                }
            }
            _ = sleep_until(pong_deadline.unwrap_or_else(|| Instant::now() + far)), if pong_deadline.is_some() => {
                return Ended::Dropped(format!("heartbeat: no pong within {timeout:?}, the connection is dead"));
            }
            text = connection.next_text() => {
                let text = match text {
                    Ok(Some(text)) => text,
                    Ok(None) if connection.close_code() == Some(cascade_protocol::CLOSE_TOKEN_EXPIRED) => {
                        return Ended::TokenExpired;
                    }
                    Ok(None) => return Ended::Dropped("the server closed the connection".into()),
                    Err(e) => return Ended::Dropped(e.to_string()),
                };
                if is_pong(&text) {
                    ping_sent = None;
                    continue;
                }
                let step = shared.sync().handle_text(&text);
                for event in step.events {
                    match &event {
                        Event::Connected { .. } => {
                            *attempt = 0;
                            shared.set_state(ConnectionState::Syncing);
                        }
                        Event::Synced { .. } => shared.set_state(ConnectionState::Live),
                        _ => {}
                    }
                    shared.emit(event);
                }
                shared.publish_seq();
                if step.action == Action::Resync {
                    return Ended::Dropped("a patch did not apply: resyncing from a snapshot".into());
                }
            }
        }
    }
}

/// Resolves once the owner asked to close (or dropped the handle).
async fn closed(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: closed as well.
    let _ = shutdown.wait_for(|closed| *closed).await;
}

/// Whether `text` is the runtime's heartbeat answer.
fn is_pong(text: &str) -> bool {
    text == r#"{"type":"pong"}"#
        || serde_json::from_str::<Value>(text)
            .ok()
            .is_some_and(|v| v.get("type").and_then(Value::as_str) == Some("pong"))
            && text.len() < 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pongs_are_recognised() {
        assert!(is_pong(r#"{"type":"pong"}"#));
        assert!(is_pong(r#"{ "type": "pong" }"#));
        assert!(!is_pong(r#"{"type":"hello","tenant":"a","seq":1}"#));
        assert!(!is_pong("pong"));
    }
}
