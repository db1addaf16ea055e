//! Incidents, as pure logic: when a tenant's state opens one (it turned `failed`, or has been
//! `pending` for longer than the threshold), when it closes (the tenant left that state), and
//! which webhook notices an incident still owes.
//!
//! One incident per episode, not per run: its id is `{tenant}:{kind}:{since}`, so the same
//! episode always has the same id (receivers deduplicate on it, and so does D1).

use serde::{Deserialize, Serialize};

use crate::health::SyncState;
use crate::tenant_states::Tracked;

/// What an incident is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// The tenant's hub failed or could not be reached.
    Failed,
    /// The tenant stayed `pending` past the threshold.
    Pending,
    /// The tenant stayed `drifted` (a platform layer's copy differs where the rules deliver
    /// it) past the same threshold.
    Drifted,
}

impl AlertKind {
    /// Its name in D1 and in notices.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Pending => "pending",
            Self::Drifted => "drifted",
        }
    }
}

/// One incident as stored in D1 (`alert_incidents`).
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// `{tenant}:{kind}:{since}`.
    pub id: String,
    /// Tenant id.
    pub tenant: String,
    /// What it is about.
    pub kind: AlertKind,
    /// The tenant state that opened it.
    pub state: SyncState,
    /// Unix ms since the tenant has been in that state.
    pub since: u64,
    /// Why, when known (the hub's error).
    pub detail: Option<String>,
    /// Unix ms of the check that opened it.
    pub opened_at: u64,
    /// Unix ms of the check that found the tenant healed.
    pub resolved_at: Option<u64>,
    /// The state the tenant healed to (`removed` when it left the registry).
    pub recovered_state: Option<String>,
    /// When the webhook accepted the alert.
    pub alert_delivered_at: Option<u64>,
    /// When the webhook accepted the recovery notice.
    pub recovery_delivered_at: Option<u64>,
}

/// The incident a tracked state calls for, if any: `failed` at once, `pending` once it has
/// lasted `pending_after_ms`.
pub fn condition(t: &Tracked, now: u64, pending_after_ms: u64) -> Option<AlertKind> {
    match t.state {
        SyncState::Failed => Some(AlertKind::Failed),
        SyncState::Pending if now.saturating_sub(t.since) >= pending_after_ms => {
            Some(AlertKind::Pending)
        }
        SyncState::Drifted if now.saturating_sub(t.since) >= pending_after_ms => {
            Some(AlertKind::Drifted)
        }
        _ => None,
    }
}

/// What a run changes in the incidents.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Incidents to open.
    pub open: Vec<Incident>,
    /// Incidents to close: id and the state the tenant healed to.
    pub resolve: Vec<(String, String)>,
}

/// Compares the open incidents with this run's states: a tenant whose condition ended (or
/// changed kind, or that is no longer registered) closes its incident; a tenant with a
/// condition and no open incident of that kind opens one.
pub fn plan(open: &[Incident], tracked: &[Tracked], now: u64, pending_after_ms: u64) -> Plan {
    let mut plan = Plan::default();
    for incident in open {
        let current = tracked.iter().find(|t| t.tenant == incident.tenant);
        let still = current.and_then(|t| condition(t, now, pending_after_ms));
        if still != Some(incident.kind) {
            let healed_to = current.map_or("removed", |t| t.state.as_str());
            plan.resolve
                .push((incident.id.clone(), healed_to.to_owned()));
        }
    }
    for t in tracked {
        let Some(kind) = condition(t, now, pending_after_ms) else {
            continue;
        };
        if open.iter().any(|i| i.tenant == t.tenant && i.kind == kind) {
            continue;
        }
        plan.open.push(Incident {
            id: format!("{}:{}:{}", t.tenant, kind.as_str(), t.since),
            tenant: t.tenant.clone(),
            kind,
            state: t.state,
            since: t.since,
            // What the alert tells a person: the message, never a stack dump.
            detail: t
                .detail
                .as_deref()
                .map(cascade_durable::message::short_message),
            opened_at: now,
            resolved_at: None,
            recovered_state: None,
            alert_delivered_at: None,
            recovery_delivered_at: None,
        });
    }
    plan
}

/// Which notice of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The tenant turned failed, or stayed pending too long.
    Alert,
    /// The tenant healed.
    Recovery,
}

/// The JSON body POSTed to the webhook (see `docs/ALERTS.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// This notice's id, also sent as `Idempotency-Key`: the incident id, plus `:recovered`
    /// for the recovery notice.
    pub id: String,
    /// The incident this notice belongs to.
    pub incident: String,
    /// `tenant-failed` or `tenant-pending` (alerts); `tenant-recovered` when the incident
    /// closes, or `tenant-escalated` when a pending incident closes because the tenant failed.
    pub kind: String,
    /// Tenant id.
    pub tenant: String,
    /// The tenant's state: the one that opened the incident, or the one it healed to.
    pub state: String,
    /// Unix ms since the tenant has been in the state that opened the incident.
    pub since: u64,
    /// Why, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Unix ms of the health check that sends this notice.
    pub checked_at: u64,
    /// Unix ms of the check that opened the incident.
    pub opened_at: u64,
    /// Unix ms of the check that found the tenant healed (recovery notices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<u64>,
}

/// The notices `incident` still owes, in order: the alert (until delivered), then, once the
/// incident is closed, the recovery notice.
pub fn due_notices(incident: &Incident, checked_at: u64) -> Vec<(NoticeKind, Notice)> {
    let mut due = Vec::new();
    let base = Notice {
        id: incident.id.clone(),
        incident: incident.id.clone(),
        kind: format!("tenant-{}", incident.kind.as_str()),
        tenant: incident.tenant.clone(),
        state: incident.state.as_str().to_owned(),
        since: incident.since,
        detail: incident.detail.clone(),
        checked_at,
        opened_at: incident.opened_at,
        resolved_at: None,
    };
    if incident.alert_delivered_at.is_none() {
        due.push((NoticeKind::Alert, base.clone()));
    }
    if let (Some(resolved_at), None) = (incident.resolved_at, incident.recovery_delivered_at) {
        let state = incident
            .recovered_state
            .clone()
            .unwrap_or_else(|| SyncState::Success.as_str().into());
        // A pending incident closed because the tenant failed has not healed: say so (its
        // `tenant-failed` alert follows as an incident of its own).
        let kind = if state == SyncState::Failed.as_str() {
            "tenant-escalated"
        } else {
            "tenant-recovered"
        };
        due.push((
            NoticeKind::Recovery,
            Notice {
                id: format!("{}:recovered", incident.id),
                kind: kind.into(),
                state,
                resolved_at: Some(resolved_at),
                ..base
            },
        ));
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    fn tracked(tenant: &str, state: SyncState, since: u64) -> Tracked {
        Tracked {
            tenant: tenant.into(),
            state,
            since,
            changed: false,
            detail: (state == SyncState::Failed).then(|| "d1 down".to_owned()),
        }
    }

    #[test]
    fn failed_opens_at_once_and_pending_only_past_the_threshold() {
        let now = 100 * MINUTE;
        let states = [
            tracked("f", SyncState::Failed, now),
            tracked("young", SyncState::Pending, now - 5 * MINUTE),
            tracked("old", SyncState::Pending, now - 30 * MINUTE),
            tracked("ok", SyncState::Success, 0),
        ];
        let plan = plan(&[], &states, now, 30 * MINUTE);
        let opened: Vec<&str> = plan.open.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            opened,
            [
                format!("f:failed:{now}"),
                format!("old:pending:{}", now - 30 * MINUTE)
            ]
        );
        assert_eq!(plan.open[0].detail.as_deref(), Some("d1 down"));
        assert!(plan.resolve.is_empty());
    }

    #[test]
    fn an_open_incident_is_not_reopened_and_closes_when_the_tenant_heals() {
        let now = 100 * MINUTE;
        let first = plan(&[], &[tracked("f", SyncState::Failed, 10)], now, MINUTE);
        let open = first.open;
        let again = plan(
            &open,
            &[tracked("f", SyncState::Failed, 10)],
            now + 5,
            MINUTE,
        );
        assert_eq!(
            again,
            Plan::default(),
            "one alert per incident, not per run"
        );
        let healed = plan(&open, &[tracked("f", SyncState::Partial, now)], now, MINUTE);
        assert_eq!(healed.resolve, [(open[0].id.clone(), "partial".to_owned())]);
        let gone = plan(&open, &[], now, MINUTE);
        assert_eq!(gone.resolve, [(open[0].id.clone(), "removed".to_owned())]);
    }

    #[test]
    fn notices_owed_follow_delivery() {
        let mut incident = plan(&[], &[tracked("f", SyncState::Failed, 7)], 9, 0)
            .open
            .remove(0);
        let due = due_notices(&incident, 9);
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].0, due[0].1.kind.as_str(), due[0].1.id.as_str()),
            (NoticeKind::Alert, "tenant-failed", "f:failed:7")
        );
        incident.alert_delivered_at = Some(9);
        assert!(due_notices(&incident, 10).is_empty());
        incident.resolved_at = Some(20);
        incident.recovered_state = Some("success".into());
        let due = due_notices(&incident, 20);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.id, "f:failed:7:recovered");
        assert_eq!(
            (due[0].1.kind.as_str(), due[0].1.state.as_str()),
            ("tenant-recovered", "success")
        );
        let wire = serde_json::to_value(&due[0].1).expect("serializes");
        assert_eq!(wire["checkedAt"], 20);
        assert_eq!(wire["resolvedAt"], 20);
    }

    #[test]
    fn a_pending_incident_that_turns_failed_escalates_rather_than_recovers() {
        let now = 100 * MINUTE;
        let open = plan(&[], &[tracked("p", SyncState::Pending, 0)], now, MINUTE).open;
        assert_eq!(open[0].kind, AlertKind::Pending);
        let next = plan(&open, &[tracked("p", SyncState::Failed, now)], now, MINUTE);
        assert_eq!(next.resolve, [(open[0].id.clone(), "failed".to_owned())]);
        assert_eq!(next.open[0].kind, AlertKind::Failed);
        let closed = Incident {
            resolved_at: Some(now),
            recovered_state: Some("failed".into()),
            alert_delivered_at: Some(1),
            ..open[0].clone()
        };
        let due = due_notices(&closed, now);
        assert_eq!(due[0].1.kind, "tenant-escalated");
    }
}
