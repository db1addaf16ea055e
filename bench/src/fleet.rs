//! A fleet of Rust clients ([`cascade_client::Connection`] + [`cascade_client::SyncState`]):
//! each holds its effective config from frames exactly as an application's client would, and
//! reports the moment it has applied a given benchmark round.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cascade_client::state::SyncState;
use cascade_client::{Connection, Options};
use futures::future::join_all;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Namespace and key the benchmark writes its round number to.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Namespace watched.
    pub namespace: String,
}

impl Probe {
    /// The round a client's held config is at (0 before any).
    pub(crate) fn round(&self, state: &SyncState) -> u64 {
        state
            .config(&self.namespace)
            .and_then(|c| c.get("round"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    }
}

/// What a client reports: its index, the round it reached, and when.
pub(crate) type Report = (usize, u64, Instant);

/// Connected clients and the channel their reports arrive on.
pub struct Fleet {
    reports: mpsc::UnboundedReceiver<Report>,
    tasks: Vec<JoinHandle<()>>,
    received: Arc<AtomicU64>,
    /// How many clients are connected.
    pub size: usize,
}

/// One client's progress: tells the fleet each time the client's held config reaches a new
/// round, and counts every frame the client is handed.
pub(crate) struct Reporter {
    index: usize,
    seen: u64,
    probe: Probe,
    reports: mpsc::UnboundedSender<Report>,
    received: Arc<AtomicU64>,
}

impl Reporter {
    /// A reporter for client `index`, starting from what `state` holds.
    pub(crate) fn new(
        index: usize,
        state: &SyncState,
        probe: Probe,
        reports: mpsc::UnboundedSender<Report>,
        received: Arc<AtomicU64>,
    ) -> Self {
        Self {
            index,
            seen: probe.round(state),
            probe,
            reports,
            received,
        }
    }

    /// Called once per frame the client applied: counts it, and reports a new round if
    /// `state` reached one; false once nobody listens any more.
    pub(crate) fn observe(&mut self, state: &SyncState) -> bool {
        self.received.fetch_add(1, Ordering::Relaxed);
        let round = self.probe.round(state);
        if round > self.seen {
            self.seen = round;
            return self
                .reports
                .send((self.index, round, Instant::now()))
                .is_ok();
        }
        true
    }
}

impl Fleet {
    /// A fleet of clients already following, each reporting on `reports` and counting the
    /// frames it is handed on `received`.
    pub(crate) fn from_tasks(
        reports: mpsc::UnboundedReceiver<Report>,
        tasks: Vec<JoinHandle<()>>,
        received: Arc<AtomicU64>,
    ) -> Self {
        let size = tasks.len();
        Self {
            reports,
            tasks,
            received,
            size,
        }
    }

    /// Frames the clients have been handed since they were synced, all clients together:
    /// every frame the server delivered, whatever its type (a round's change frames, and
    /// Cascade's `sync-status` frames for admins).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Opens one client per entry of `options` (at most `parallel` handshakes at once), each
    /// synced (snapshot applied) before this returns.
    pub async fn open(
        options: Vec<Options>,
        probe: &Probe,
        parallel: usize,
    ) -> Result<Self, String> {
        let (tx, reports) = mpsc::unbounded_channel();
        let received = Arc::new(AtomicU64::new(0));
        let size = options.len();
        let mut tasks = Vec::with_capacity(size);
        let indexed: Vec<(usize, Options)> = options.into_iter().enumerate().collect();
        for chunk in indexed.chunks(parallel.max(1)) {
            let opened = join_all(chunk.iter().map(|(i, o)| async move {
                let mut connection = Connection::open(o, Some(0))
                    .await
                    .map_err(|e| format!("client {i}: {e}"))?;
                let mut state = SyncState::new();
                // Read until synced: the snapshot is applied.
                loop {
                    let text = connection
                        .next_text()
                        .await
                        .map_err(|e| format!("client {i}: {e}"))?
                        .ok_or(format!("client {i}: closed before synced"))?;
                    state.handle_text(&text);
                    if text.contains("\"type\":\"synced\"") {
                        break;
                    }
                }
                Ok::<_, String>((*i, connection, state))
            }))
            .await;
            for result in opened {
                let (i, connection, state) = result?;
                let reporter =
                    Reporter::new(i, &state, probe.clone(), tx.clone(), received.clone());
                tasks.push(tokio::spawn(follow(connection, state, reporter)));
            }
        }
        debug_assert_eq!(tasks.len(), size);
        Ok(Self::from_tasks(reports, tasks, received))
    }

    /// Waits until every client reported `round`; each client's arrival time, or an error
    /// naming how many were missing after `within`.
    pub async fn await_round(
        &mut self,
        round: u64,
        within: Duration,
    ) -> Result<Vec<Instant>, String> {
        let mut arrivals: Vec<Option<Instant>> = vec![None; self.size];
        let mut missing = self.size;
        let deadline = tokio::time::Instant::now() + within;
        while missing > 0 {
            match tokio::time::timeout_at(deadline, self.reports.recv()).await {
                Ok(Some((i, r, at))) if r >= round && arrivals[i].is_none() => {
                    arrivals[i] = Some(at);
                    missing -= 1;
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err("every client stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "{missing} of {} clients lacked round {round} after {within:?}",
                        self.size
                    ))
                }
            }
        }
        Ok(arrivals.into_iter().flatten().collect())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One client's loop: apply every frame, report each new round reached.
async fn follow(mut connection: Connection, mut state: SyncState, mut reporter: Reporter) {
    while let Ok(Some(text)) = connection.next_text().await {
        state.handle_text(&text);
        if !reporter.observe(&state) {
            return;
        }
    }
}
