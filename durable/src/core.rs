//! What both hubs share: identity, layer writes with their history, status, and the alarm
//! that flushes the history outbox to D1.

use std::time::Duration;

use cascade_protocol::ConfigChange;
use serde_json::Value;
use worker::{Env, Request, Response, Result, State};

use crate::internal::{HubStatus, LayerWrite, WriteAck, HUB_NAME_HEADER};
use crate::outbox::{self, HistoryRow};
use crate::reply;
use crate::store::Store;

/// Delay before a failed D1 flush is tried again.
const FLUSH_RETRY: Duration = Duration::from_secs(5);

/// Name of the D1 binding that receives event history.
pub(crate) const D1_BINDING: &str = "DB";

/// State and behaviour common to `TenantHub` and `PlatformHub`.
pub(crate) struct HubCore {
    pub(crate) state: State,
    env: Env,
    pub(crate) store: Store,
    /// Set when the schema could not be created; every call then answers 500 with it.
    init_error: Option<String>,
}

/// The result of a layer write: the acknowledgement and, when the document changed, the
/// change as clients receive it.
pub(crate) struct Written {
    pub(crate) ack: WriteAck,
    pub(crate) change: Option<ConfigChange>,
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
        Self {
            state,
            env,
            store,
            init_error,
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

    /// Replaces one layer document. A write of identical content changes nothing. Otherwise
    /// the new document, the next `seq` and the history row are stored in one atomic run of
    /// synchronous writes, and the flush alarm is armed.
    pub(crate) async fn write_layer(
        &self,
        hub: &str,
        scope: &str,
        subject: &str,
        namespace: &str,
        write: LayerWrite,
    ) -> Result<Written> {
        let started = js_now();
        let old = self.store.layer(scope, subject, namespace)?;
        if old.doc == write.config {
            let seq = self.store.seq()?;
            let ack = WriteAck {
                seq,
                version: old.version,
                changed: false,
            };
            return Ok(Written { ack, change: None });
        }
        let patch = json_patch::diff(
            &Value::Object(old.doc),
            &Value::Object(write.config.clone()),
        );

        // From here to the outbox push: synchronous writes only, committed together.
        let seq = self.store.bump("seq")?;
        self.store
            .put_layer(scope, subject, namespace, &write.config, seq)?;
        let tenant = (scope != "platform").then(|| hub.to_owned());
        let row = HistoryRow {
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
            created_at: js_now() as u64,
        };
        outbox::push(self.store.sql(), &row)?;

        self.arm_flush(Duration::ZERO).await?;
        let change = ConfigChange {
            seq,
            tenant: tenant.unwrap_or_default(),
            scope: scope.to_owned(),
            namespace: namespace.to_owned(),
            version: seq,
            patch,
            triggered_by: Some(write.triggered_by),
        };
        Ok(Written {
            ack: WriteAck {
                seq,
                version: seq,
                changed: true,
            },
            change: Some(change),
        })
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

/// Milliseconds since the Unix epoch, from the runtime's clock.
pub(crate) fn js_now() -> f64 {
    worker::js_sys::Date::now()
}
