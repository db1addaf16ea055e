//! Proactive alerting from the health check: when a tenant turns `failed`, or stays `pending`
//! past a threshold, the check POSTs an alert to the webhook in `ALERT_WEBHOOK_URL`, and a
//! recovery notice when the tenant heals. Payloads and headers are in `docs/ALERTS.md`.
//!
//! - [`incidents`]: when incidents open and close, and which notices they owe (pure).
//! - [`store`]: incidents in D1, so each is alerted once and undelivered notices are retried
//!   by later runs.
//! - [`webhook`]: one delivery, retried with backoff within the run.
//!
//! Alerting never stops the check: whatever fails is counted in the snapshot's `alerts`.

pub mod incidents;
pub mod store;
pub mod webhook;

use serde::{Deserialize, Serialize};
use worker::{D1Database, Env};

use crate::problem::ApiError;
use crate::tenant_states::Tracked;

/// Default for `ALERT_PENDING_MINUTES`.
pub const DEFAULT_PENDING_MINUTES: u64 = 30;

/// Alerting settings, from the Worker's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `ALERT_WEBHOOK_URL` (a variable or a secret); alerting is off without it.
    pub webhook_url: Option<String>,
    /// `ALERT_PENDING_MINUTES`, in ms: how long a tenant may stay `pending` before an alert.
    pub pending_after_ms: u64,
}

impl Settings {
    /// Reads the settings; a missing or malformed threshold takes the default.
    pub fn from_env(env: &Env) -> Self {
        let text = |name: &str| {
            env.secret(name)
                .map(|s| s.to_string())
                .or_else(|_| env.var(name).map(|v| v.to_string()))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        Self::parse(
            text("ALERT_WEBHOOK_URL"),
            text("ALERT_PENDING_MINUTES").as_deref(),
        )
    }

    /// The settings from raw values (see [`Settings::from_env`]).
    pub fn parse(webhook_url: Option<String>, pending_minutes: Option<&str>) -> Self {
        let minutes = pending_minutes
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(DEFAULT_PENDING_MINUTES);
        Self {
            webhook_url,
            pending_after_ms: minutes.saturating_mul(60_000),
        }
    }
}

/// What alerting did in one run, recorded in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({"enabled": true, "opened": 1, "resolved": 0, "delivered": 1, "undelivered": 0})))]
pub struct AlertReport {
    /// Whether a webhook is configured (`ALERT_WEBHOOK_URL`; nothing else happens without one).
    pub enabled: bool,
    /// Incidents opened by this run.
    pub opened: u32,
    /// Incidents closed by this run.
    pub resolved: u32,
    /// Notices the webhook accepted.
    pub delivered: u32,
    /// Notices still owed after this run (retried by the next).
    pub undelivered: u32,
    /// What went wrong, if anything did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Opens and closes incidents for this run's states and delivers the notices owed. Never
/// fails: an error ends alerting for this run and is reported.
pub async fn run(
    db: &D1Database,
    settings: &Settings,
    tracked: &[Tracked],
    now: u64,
) -> AlertReport {
    let Some(url) = settings.webhook_url.as_deref() else {
        return AlertReport::default();
    };
    let mut report = AlertReport {
        enabled: true,
        ..AlertReport::default()
    };
    if let Err(e) = step(db, url, settings, tracked, now, &mut report).await {
        // Internal errors carry their detail inside; the snapshot is for operators.
        let detail = match e {
            ApiError::Internal(inner) => inner,
            other => other.to_string(),
        };
        worker::console_error!("alerting failed: {detail}");
        report.error = Some(cascade_durable::message::short_message(&detail));
    }
    report
}

async fn step(
    db: &D1Database,
    url: &str,
    settings: &Settings,
    tracked: &[Tracked],
    now: u64,
    report: &mut AlertReport,
) -> Result<(), ApiError> {
    let open = store::open(db).await?;
    let plan = incidents::plan(&open, tracked, now, settings.pending_after_ms);
    store::apply(db, &plan, now).await?;
    report.opened = plan.open.len() as u32;
    report.resolved = plan.resolve.len() as u32;
    let mut webhook_down = false;
    for incident in store::undelivered(db).await? {
        for (kind, notice) in incidents::due_notices(&incident, now) {
            if webhook_down {
                report.undelivered += 1;
                continue;
            }
            let delivery = webhook::deliver(url, &notice).await;
            let error = delivery.error.as_ref().map(ToString::to_string);
            store::record_delivery(
                db,
                &incident.id,
                kind,
                delivery.attempts,
                error.as_deref(),
                now,
            )
            .await?;
            match error {
                None => report.delivered += 1,
                Some(_) => {
                    // The receiver is down: keep the rest for the next run rather than
                    // spending this run's time on it. A recovery never overtakes its alert.
                    report.undelivered += 1;
                    webhook_down = true;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_the_threshold() {
        let s = Settings::parse(Some("http://x".into()), None);
        assert_eq!(s.pending_after_ms, 30 * 60_000);
        assert_eq!(Settings::parse(None, Some("5")).pending_after_ms, 300_000);
        assert_eq!(
            Settings::parse(None, Some("soon")).pending_after_ms,
            1_800_000
        );
    }
}
