//! What both hubs share: identity, the guards in front of every write (idempotency, rate
//! limit), the history outbox and its flush alarm, and the status report.

use std::cell::RefCell;
use std::time::Duration;

use cascade_engine::event::ChangeEvent;
use cascade_engine::scope::{Namespace, Scope};
use cascade_protocol::Problem;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use worker::{Env, Request, Response, Result, State};

use crate::internal::{HubStatus, LayerWrite, WriteAck, WriteGuard, HUB_NAME_HEADER};
use crate::layer_patch::layer_merge_patch;
use crate::outbox::{self, HistoryRow};
use crate::rate::{Exhausted, WriteLimiter, WriteRates};
use crate::reply;
use crate::store::{Meta, OwnSchema, Store, StoredAnswer};

/// Delay before a failed D1 flush is tried again.
const FLUSH_RETRY: Duration = Duration::from_secs(5);

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// Default sustained write rate per hub (writes per second), overridable with the
/// `WRITE_RATE_PER_SEC` variable.
pub const DEFAULT_WRITE_RATE_PER_SEC: f64 = 50.0;
/// Default burst of writes per hub, overridable with `WRITE_BURST`.
pub const DEFAULT_WRITE_BURST: f64 = 100.0;
/// Share of the hub's rate and burst one caller may use unless `CALLER_WRITE_RATE_PER_SEC`
/// and `CALLER_WRITE_BURST` say otherwise: one caller alone never spends the whole budget.
pub const DEFAULT_CALLER_SHARE: f64 = 0.5;

/// Name of the D1 binding that receives event history.
pub(crate) const D1_BINDING: &str = "DB";

/// State and behaviour common to `TenantHub` and `PlatformHub`.
pub(crate) struct HubCore {
    pub(crate) state: State,
    /// The runtime's state object behind `state`.
    pub(crate) raw_state: worker::wasm_bindgen::JsValue,
    pub(crate) env: Env,
    pub(crate) store: Store,
    /// Set when the schema could not be created; every call then answers 500 with it.
    init_error: Option<String>,
    writes: RefCell<WriteLimiter>,
}

/// The answer to a write.
pub(crate) enum WriteReply {
    /// Applied (or a no-op): the acknowledgement.
    Done(WriteAck),
    /// A retry of a request already answered: the first answer, as it was.
    Replayed(StoredAnswer),
    /// Refused; nothing changed.
    Refused(Problem),
}

impl WriteReply {
    /// The HTTP answer.
    pub(crate) fn response(&self) -> Result<Response> {
        match self {
            Self::Done(ack) => reply::json(ack),
            Self::Replayed(answer) => {
                let mut resp = Response::ok(answer.body.clone())?.with_status(answer.status);
                resp.headers_mut().set("content-type", "application/json")?;
                Ok(resp)
            }
            Self::Refused(problem) => reply::problem_document(problem),
        }
    }
}

/// Why a write stopped before it applied anything: answered without applying (a refusal or
/// the replay of an earlier answer), or the hub's storage failed. The one error type of a
/// hub's write path, instead of a `Result` nested in a `Result`.
pub(crate) enum HubError {
    /// Answered, nothing applied.
    Answered(WriteReply),
    /// Storage or the runtime failed: a 500 for the caller, retried by nobody silently.
    Failed(worker::Error),
}

impl From<worker::Error> for HubError {
    fn from(e: worker::Error) -> Self {
        Self::Failed(e)
    }
}

impl From<serde_json::Error> for HubError {
    fn from(e: serde_json::Error) -> Self {
        Self::Failed(e.into())
    }
}

impl From<Problem> for HubError {
    fn from(problem: Problem) -> Self {
        Self::Answered(WriteReply::Refused(problem))
    }
}

/// The result of a step on a hub's write path.
pub(crate) type HubResult<T> = std::result::Result<T, HubError>;

/// The reply of a write that stopped early, or its failure.
pub(crate) fn settle(result: HubResult<WriteReply>) -> Result<WriteReply> {
    match result {
        Ok(reply) | Err(HubError::Answered(reply)) => Ok(reply),
        Err(HubError::Failed(e)) => Err(e),
    }
}

/// A write that passed its guards, with the request's fingerprint for the idempotency record.
pub(crate) struct Admitted {
    fingerprint: String,
    key: Option<String>,
}

fn env_number(env: &Env, name: &str, default: f64) -> f64 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .filter(|n: &f64| *n > 0.0)
        .unwrap_or(default)
}

/// The write rates from the Worker's variables (docs/LIMITS.md).
fn write_rates(env: &Env) -> WriteRates {
    let hub_per_sec = env_number(env, "WRITE_RATE_PER_SEC", DEFAULT_WRITE_RATE_PER_SEC);
    let hub_burst = env_number(env, "WRITE_BURST", DEFAULT_WRITE_BURST);
    WriteRates {
        hub_per_sec,
        hub_burst,
        caller_per_sec: env_number(
            env,
            "CALLER_WRITE_RATE_PER_SEC",
            hub_per_sec * DEFAULT_CALLER_SHARE,
        ),
        caller_burst: env_number(
            env,
            "CALLER_WRITE_BURST",
            (hub_burst * DEFAULT_CALLER_SHARE).max(1.0),
        ),
    }
}

impl HubCore {
    /// Opens the hub's storage and counts the wake-up. Cheap: a few small SQL statements.
    pub(crate) fn new(state: State, env: Env, own_schema: OwnSchema) -> Self {
        // The runtime's own state object, kept for the calls `State` does not bind (the
        // heartbeat timestamps of `sockets::close_stale`).
        let inner = state._inner();
        let raw_state = worker::wasm_bindgen::JsValue::from(inner.clone());
        let state = State::from(inner);
        let store = Store::new(state.storage().sql(), own_schema);
        let init_error = store
            .create_schema()
            .and_then(|()| store.bump(Meta::Wakes).map(|_| ()))
            .err()
            .map(|e| format!("hub storage could not be opened: {e}"));
        let writes = RefCell::new(WriteLimiter::new(write_rates(&env), js_now()));
        Self {
            state,
            raw_state,
            env,
            store,
            init_error,
            writes,
        }
    }

    /// Checks the hub is usable and learns its name from the request (once; the name is kept
    /// so an alarm, which has no request, knows it too).
    pub(crate) fn admit(&self, req: &Request) -> std::result::Result<String, Result<Response>> {
        if let Some(err) = &self.init_error {
            return Err(reply::problem(
                500,
                "CASCADE:Hub:Storage",
                "Internal Server Error",
                err.clone(),
            ));
        }
        let given = req.headers().get(HUB_NAME_HEADER).ok().flatten();
        let known = self.store.meta(Meta::Hub).ok().flatten();
        match (given, known) {
            (Some(given), Some(known)) if given != known => Err(reply::problem(
                500,
                "CASCADE:Hub:Identity",
                "Internal Server Error",
                format!("hub '{known}' was addressed as '{given}'"),
            )),
            (Some(given), known) => {
                if known.is_none() {
                    if let Err(e) = self.store.set_meta(Meta::Hub, &given) {
                        return Err(Err(e));
                    }
                }
                Ok(given)
            }
            (None, Some(known)) => Ok(known),
            (None, None) => Err(reply::problem(
                400,
                "CASCADE:Hub:Anonymous",
                "Bad Request",
                format!("internal call without the {HUB_NAME_HEADER} header"),
            )),
        }
    }

    /// The guards in front of a write, in order: an idempotency key the same caller already
    /// had answered replays that answer (a key reused for a different request is refused);
    /// then the caller's and the hub's write rate limits. `request` is what the write asks
    /// for, fingerprinted to tell retries apart.
    pub(crate) fn guard<R: Serialize>(
        &self,
        hub: &str,
        guard: &WriteGuard,
        request: &R,
    ) -> HubResult<Admitted> {
        let fingerprint = fingerprint(request)?;
        let key = guard.idempotency_key.as_deref();
        let stored_key = key.map(|key| match &guard.caller {
            Some(caller) => caller.scoped_key(key),
            None => key.to_owned(),
        });
        if let (Some(key), Some(stored_key)) = (key, &stored_key) {
            if let Some(answer) = self.store.idempotent_answer(stored_key)? {
                if answer.fingerprint == fingerprint {
                    return Err(HubError::Answered(WriteReply::Replayed(answer)));
                }
                return Err(Problem::new(
                    422,
                    "CASCADE:Idempotency:KeyReused",
                    "Unprocessable Content",
                    format!("Idempotency-Key '{key}' was already used for a different request"),
                )
                .into());
            }
        }
        let caller = guard
            .caller
            .as_ref()
            .map(|c| format!("{}:{}", c.role, c.sub));
        if let Err(exhausted) = self.writes.borrow_mut().take(caller.as_deref(), js_now()) {
            let (seconds, detail) = match exhausted {
                Exhausted::Caller(s) => (s, format!("you sent too many writes to '{hub}'")),
                Exhausted::Hub(s) => (s, format!("too many writes to '{hub}'")),
            };
            return Err(Problem::new(
                429,
                "CASCADE:RateLimit:Writes",
                "Too Many Requests",
                format!("{detail}; retry in {seconds} s"),
            )
            .with_retry_after(seconds)
            .into());
        }
        Ok(Admitted {
            fingerprint,
            key: stored_key,
        })
    }

    /// Why a write that cannot be applied stops: refused with `problem`, unless it is the
    /// retry of a request already answered, which gets that answer (a retried JSON Patch may
    /// no longer apply precisely because the first attempt did).
    pub(crate) fn refuse_unless_replay<R: Serialize>(
        &self,
        hub: &str,
        guard: &WriteGuard,
        request: &R,
        problem: Problem,
    ) -> HubError {
        match self.guard(hub, guard, request) {
            Ok(_) => problem.into(),
            Err(stopped) => stopped,
        }
    }

    /// The engine event for a layer write, given the layer's current values: the write's
    /// change as a merge patch on `scope`'s layer of `namespace`. When the change cannot apply
    /// (a JSON Patch that fails), the reply instead: a refusal, or the first answer if this is
    /// a retry (see [`HubCore::refuse_unless_replay`]).
    pub(crate) fn layer_event<R: Serialize>(
        &self,
        hub: &str,
        request: &R,
        write: &LayerWrite,
        current: &Map<String, Value>,
        target: (Namespace, Scope, Option<String>),
    ) -> HubResult<ChangeEvent> {
        let (kind, scope, target_id) = target;
        match layer_merge_patch(current, &write.change) {
            Ok(patch) => Ok(ChangeEvent {
                kind,
                action: "update".into(),
                scope,
                target_id,
                config: Value::Object(patch),
                triggered_by: write.triggered_by.clone(),
            }),
            Err(problem) => Err(self.refuse_unless_replay(hub, &write.guard, request, problem)),
        }
    }

    /// Records the answer of an admitted write under its idempotency key (in the same run of
    /// synchronous writes as the change itself), and returns the reply.
    pub(crate) fn answer(&self, admitted: &Admitted, ack: WriteAck) -> Result<WriteReply> {
        if let Some(key) = &admitted.key {
            let now = js_now() as u64;
            let replay = WriteAck {
                replayed: true,
                ..ack.clone()
            };
            let answer = StoredAnswer {
                fingerprint: admitted.fingerprint.clone(),
                status: 200,
                body: serde_json::to_string(&replay)?,
            };
            self.store.remember_answer(
                key,
                &answer,
                now,
                now.saturating_sub(IDEMPOTENCY_TTL_MS),
            )?;
        }
        Ok(WriteReply::Done(ack))
    }

    /// Adds a history row to the outbox (synchronous; part of the change's atomic run).
    pub(crate) fn record(&self, row: &HistoryRow) -> Result<()> {
        outbox::push(self.store.sql(), row)
    }

    /// Arms the alarm `after` from now unless one is already set earlier.
    pub(crate) async fn arm_alarm(&self, after: Duration) -> Result<()> {
        let storage = self.state.storage();
        let due = js_now() + after.as_millis() as f64;
        match storage.get_alarm().await? {
            Some(at) if (at as f64) <= due => Ok(()),
            _ => storage.set_alarm(after).await,
        }
    }

    /// Arms the alarm for the earliest token expiry among the hub's sockets, if any (unless
    /// one is set earlier; see [`crate::socket_expiry`]).
    pub(crate) async fn arm_expiry_alarm(&self) -> Result<()> {
        if let Some(at) = crate::socket_expiry::next(&self.store)? {
            let after = (at - js_now()).max(0.0);
            self.arm_alarm(Duration::from_millis(after as u64)).await?;
        }
        Ok(())
    }

    /// Flushes the outbox to D1 until it is empty. On failure the error is kept for the status
    /// report and the alarm is armed again, so history always reaches D1 in the end. Returns
    /// whether the outbox is empty.
    pub(crate) async fn flush_outbox(&self) -> Result<bool> {
        let db = self.env.d1(D1_BINDING)?;
        loop {
            let incarnation = self.store.meta(Meta::Incarnation)?.unwrap_or_default();
            match outbox::flush(self.store.sql(), &db, &incarnation).await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => {
                    worker::console_error!("history flush to D1 failed: {e}");
                    // Kept for the status report and alerts: its message, not the stack.
                    let message = format!(
                        "history flush to D1 failed: {}",
                        crate::message::error_message(&e)
                    );
                    self.store.set_meta(Meta::LastError, &message)?;
                    self.arm_alarm(FLUSH_RETRY).await?;
                    return Ok(false);
                }
            }
        }
        self.store.delete_meta(Meta::LastError)?;
        Ok(true)
    }

    /// The hub's status report (the tenant-specific counts are filled in by the tenant hub).
    pub(crate) fn status(&self, hub: &str) -> Result<HubStatus> {
        Ok(HubStatus {
            hub: hub.to_owned(),
            seq: self.store.seq()?,
            platform_seq: self.store.counter(Meta::PlatformSeq)?,
            connections: self.state.get_websockets().len() as u64,
            connections_by_role: std::collections::BTreeMap::new(),
            outbox_pending: self.store.count("outbox")?,
            pending_changes: 0,
            open_conflicts: 0,
            wakes: self.store.counter(Meta::Wakes)?,
            last_error: self.store.meta(Meta::LastError)?,
        })
    }
}

/// The 412 problem when `If-Match` named `expected` but `what` is at `current`.
pub(crate) fn version_mismatch(expected: Option<u64>, current: u64, what: &str) -> Option<Problem> {
    let expected = expected?;
    (expected != current).then(|| {
        Problem::new(
            412,
            "CASCADE:Config:VersionMismatch",
            "Precondition Failed",
            format!("{what} is at version {current}, not {expected}: read it again and reapply your change"),
        )
    })
}

/// A stable fingerprint of a write request (serde_json maps are ordered by key, so equal
/// requests serialize identically).
fn fingerprint<R: Serialize>(request: &R) -> Result<String> {
    let digest = Sha256::digest(serde_json::to_string(request)?.as_bytes());
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Milliseconds since the Unix epoch, from the runtime's clock.
pub(crate) fn js_now() -> f64 {
    worker::js_sys::Date::now()
}
