//! What both hubs share: identity, guarded layer writes with their history, status, and the
//! alarm that flushes the history outbox to D1.

use std::cell::RefCell;
use std::time::Duration;

use cascade_protocol::{ConfigChange, Problem};
use serde_json::Value;
use sha2::{Digest, Sha256};
use worker::{Env, Request, Response, Result, State};

use crate::internal::{HubStatus, LayerWrite, WriteAck, HUB_NAME_HEADER};
use crate::outbox::{self, HistoryRow};
use crate::rate::TokenBucket;
use crate::reply;
use crate::store::{Store, StoredAnswer};

/// Delay before a failed D1 flush is tried again.
const FLUSH_RETRY: Duration = Duration::from_secs(5);

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// Default sustained write rate per hub (writes per second), overridable with the
/// `WRITE_RATE_PER_SEC` variable.
pub const DEFAULT_WRITE_RATE_PER_SEC: f64 = 50.0;
/// Default burst of writes per hub, overridable with `WRITE_BURST`.
pub const DEFAULT_WRITE_BURST: f64 = 100.0;

/// Name of the D1 binding that receives event history.
pub(crate) const D1_BINDING: &str = "DB";

/// State and behaviour common to `TenantHub` and `PlatformHub`.
pub(crate) struct HubCore {
    pub(crate) state: State,
    env: Env,
    pub(crate) store: Store,
    /// Set when the schema could not be created; every call then answers 500 with it.
    init_error: Option<String>,
    writes: RefCell<TokenBucket>,
}

/// What became of a layer write.
pub(crate) enum WriteOutcome {
    /// The write was applied (or changed nothing); `change` is what clients receive.
    Applied {
        /// The acknowledgement.
        ack: WriteAck,
        /// The change, when the document changed.
        change: Option<ConfigChange>,
    },
    /// A retry of a request already answered: the first answer, as it was.
    Replayed(StoredAnswer),
    /// The write was refused; nothing changed.
    Refused(Problem),
}

impl WriteOutcome {
    /// The HTTP answer of this outcome.
    pub(crate) fn response(&self) -> Result<Response> {
        match self {
            Self::Applied { ack, .. } => reply::json(ack),
            Self::Replayed(answer) => {
                let mut resp = Response::ok(answer.body.clone())?.with_status(answer.status);
                resp.headers_mut().set("content-type", "application/json")?;
                Ok(resp)
            }
            Self::Refused(problem) => reply::problem_document(problem),
        }
    }
}

fn env_number(env: &Env, name: &str, default: f64) -> f64 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .filter(|n: &f64| *n > 0.0)
        .unwrap_or(default)
}

impl HubCore {
    /// Opens the hub's storage and counts the wake-up. Cheap: two small SQL statements.
    pub(crate) fn new(state: State, env: Env) -> Self {
        let store = Store::new(state.storage().sql());
        let init_error = store
            .create_schema()
            .and_then(|()| store.bump("wakes").map(|_| ()))
            .err()
            .map(|e| format!("hub storage could not be opened: {e}"));
        let writes = RefCell::new(TokenBucket::new(
            env_number(&env, "WRITE_RATE_PER_SEC", DEFAULT_WRITE_RATE_PER_SEC),
            env_number(&env, "WRITE_BURST", DEFAULT_WRITE_BURST),
            js_now(),
        ));
        Self {
            state,
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
        let known = self.store.meta("hub").ok().flatten();
        match (given, known) {
            (Some(given), Some(known)) if given != known => Err(reply::problem(
                500,
                "CASCADE:Hub:Identity",
                "Internal Server Error",
                format!("hub '{known}' was addressed as '{given}'"),
            )),
            (Some(given), known) => {
                if known.is_none() {
                    if let Err(e) = self.store.set_meta("hub", &given) {
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

    /// Replaces one layer document, under the write's guards, in this order:
    /// 1. an idempotency key already answered replays that answer (a key reused for a
    ///    different request is refused);
    /// 2. the hub's write rate limit;
    /// 3. `If-Match`: the document must still be at the version the writer read.
    ///
    /// A write of identical content changes nothing. Otherwise the new document, the next
    /// `seq`, the history row and the idempotency answer are stored in one atomic run of
    /// synchronous writes, and the flush alarm is armed.
    pub(crate) async fn write_layer(
        &self,
        hub: &str,
        scope: &str,
        subject: &str,
        namespace: &str,
        write: LayerWrite,
    ) -> Result<WriteOutcome> {
        let started = js_now();
        let fingerprint = fingerprint(scope, subject, namespace, &write)?;
        if let Some(key) = &write.idempotency_key {
            if let Some(answer) = self.store.idempotent_answer(key)? {
                if answer.fingerprint == fingerprint {
                    return Ok(WriteOutcome::Replayed(answer));
                }
                return Ok(WriteOutcome::Refused(Problem::new(
                    422,
                    "CASCADE:Idempotency:KeyReused",
                    "Unprocessable Content",
                    format!("Idempotency-Key '{key}' was already used for a different request"),
                )));
            }
        }
        if let Err(seconds) = self.writes.borrow_mut().take(started) {
            return Ok(WriteOutcome::Refused(
                Problem::new(
                    429,
                    "CASCADE:RateLimit:Writes",
                    "Too Many Requests",
                    format!("too many writes to '{hub}'; retry in {seconds} s"),
                )
                .with_retry_after(seconds),
            ));
        }

        let old = self.store.layer(scope, subject, namespace)?;
        if let Some(expected) = write.if_match {
            if expected != old.version {
                return Ok(WriteOutcome::Refused(Problem::new(
                    412,
                    "CASCADE:Config:VersionMismatch",
                    "Precondition Failed",
                    format!(
                        "{scope} config '{namespace}' is at version {}, not {expected}: read it again and reapply your change",
                        old.version
                    ),
                )));
            }
        }

        let now = js_now() as u64;
        let (ack, change) = if old.doc == write.config {
            (
                WriteAck {
                    seq: self.store.seq()?,
                    version: old.version,
                    changed: false,
                    replayed: false,
                },
                None,
            )
        } else {
            let patch = json_patch::diff(
                &Value::Object(old.doc),
                &Value::Object(write.config.clone()),
            );
            // From here to the idempotency record: synchronous writes only, committed together.
            let seq = self.store.bump("seq")?;
            self.store
                .put_layer(scope, subject, namespace, &write.config, seq)?;
            let tenant = (scope != "platform").then(|| hub.to_owned());
            outbox::push(
                self.store.sql(),
                &HistoryRow {
                    hub: hub.to_owned(),
                    tenant_id: tenant.clone(),
                    seq,
                    event_type: namespace.to_owned(),
                    action: "update".to_owned(),
                    scope: scope.to_owned(),
                    target_id: Some(subject.to_owned()),
                    outcome: "applied".to_owned(),
                    triggered_by: write.triggered_by.clone(),
                    duration_ms: js_now() - started,
                    error: None,
                    created_at: now,
                },
            )?;
            let change = ConfigChange {
                seq,
                tenant: tenant.unwrap_or_default(),
                scope: scope.to_owned(),
                namespace: namespace.to_owned(),
                version: seq,
                patch,
                triggered_by: Some(write.triggered_by.clone()),
            };
            (
                WriteAck {
                    seq,
                    version: seq,
                    changed: true,
                    replayed: false,
                },
                Some(change),
            )
        };
        if let Some(key) = &write.idempotency_key {
            let replay = WriteAck {
                replayed: true,
                ..ack.clone()
            };
            let answer = StoredAnswer {
                fingerprint,
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
        if change.is_some() {
            self.arm_flush(Duration::ZERO).await?;
        }
        Ok(WriteOutcome::Applied { ack, change })
    }

    /// Arms the alarm `after` from now unless one is already set.
    async fn arm_flush(&self, after: Duration) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(after).await?;
        }
        Ok(())
    }

    /// The alarm: flushes the outbox to D1 until it is empty. On failure the error is kept for
    /// the status report and the alarm is armed again, so history always reaches D1 in the end.
    pub(crate) async fn flush_outbox(&self) -> Result<Response> {
        let db = self.env.d1(D1_BINDING)?;
        loop {
            match outbox::flush(self.store.sql(), &db).await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => {
                    let message = format!("history flush to D1 failed: {e}");
                    worker::console_error!("{message}");
                    self.store.set_meta("last_error", &message)?;
                    self.state.storage().set_alarm(FLUSH_RETRY).await?;
                    return Response::ok("flush failed; retry armed");
                }
            }
        }
        self.store.delete_meta("last_error")?;
        Response::ok("flushed")
    }

    /// The hub's status report.
    pub(crate) fn status(&self, hub: &str) -> Result<HubStatus> {
        Ok(HubStatus {
            hub: hub.to_owned(),
            seq: self.store.seq()?,
            connections: self.state.get_websockets().len() as u64,
            outbox_pending: self.store.count("outbox")?,
            wakes: self.store.counter("wakes")?,
            last_error: self.store.meta("last_error")?,
        })
    }
}

/// A stable fingerprint of a write request: what it targets and what it asks for.
fn fingerprint(scope: &str, subject: &str, namespace: &str, write: &LayerWrite) -> Result<String> {
    let mut hasher = Sha256::new();
    for part in [scope, subject, namespace] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    // serde_json's map is ordered by key, so equal documents serialize identically.
    hasher.update(serde_json::to_string(&write.config)?.as_bytes());
    hasher.update(
        write
            .if_match
            .map(|v| v.to_string())
            .unwrap_or_default()
            .as_bytes(),
    );
    let digest = hasher.finalize();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Milliseconds since the Unix epoch, from the runtime's clock.
pub(crate) fn js_now() -> f64 {
    worker::js_sys::Date::now()
}
