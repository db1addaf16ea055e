//! The health check's memory of each tenant's state between runs (D1 `tenant_health_states`):
//! since when a tenant has been in its state (for "stays pending past a threshold") and which
//! tenants changed state since the previous run (for the platform admins' `sync-status`).

use std::collections::BTreeMap;

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::D1Database;

use crate::health::{SyncState, TenantHealth};
use crate::problem::ApiError;

/// A tenant's state as tracked across runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    /// Tenant id.
    pub tenant: String,
    /// State found by this run.
    pub state: SyncState,
    /// Unix ms of the first run that found this state (this run's time if it just changed).
    pub since: u64,
    /// Whether the state differs from the previous run's (a tenant seen first is changed).
    pub changed: bool,
    /// Why it failed, when it did.
    pub detail: Option<String>,
}

/// What the previous run recorded: tenant to (state, since).
pub type Previous = BTreeMap<String, (SyncState, u64)>;

/// Compares this run's lines with the previous run's states (pure).
pub fn track(lines: &[TenantHealth], previous: &Previous, now: u64) -> Vec<Tracked> {
    lines
        .iter()
        .map(|line| {
            let before = previous.get(&line.tenant);
            let same = before.is_some_and(|(state, _)| *state == line.state);
            Tracked {
                tenant: line.tenant.clone(),
                state: line.state,
                since: before.filter(|_| same).map_or(now, |(_, since)| *since),
                changed: !same,
                detail: line.error.clone().or_else(|| line.resync_error.clone()),
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct Row {
    tenant: String,
    state: String,
    since: f64,
}

/// Reads what the previous run recorded (rows with an unknown state are ignored).
pub async fn load(db: &D1Database) -> Result<Previous, ApiError> {
    let rows: Vec<Row> = db
        .prepare("SELECT tenant, state, since FROM tenant_health_states")
        .all()
        .await?
        .results()?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.tenant, (SyncState::parse(&r.state)?, r.since as u64))))
        .collect())
}

/// Tenants written by one statement (as one JSON parameter, so a run costs a few statements
/// however many tenants changed).
pub const SAVE_CHUNK: usize = 500;

/// Stores the states that changed and forgets tenants no longer registered, a chunk of
/// tenants per statement.
pub async fn save(
    db: &D1Database,
    tracked: &[Tracked],
    previous: &Previous,
) -> Result<(), ApiError> {
    let changed: Vec<serde_json::Value> = tracked
        .iter()
        .filter(|t| t.changed)
        .map(|t| serde_json::json!([t.tenant, t.state.as_str(), t.since]))
        .collect();
    // A set, not a scan per tenant: with 10,000 tenants a scan is 10^8 comparisons.
    let seen: std::collections::BTreeSet<&str> =
        tracked.iter().map(|t| t.tenant.as_str()).collect();
    let gone: Vec<&String> = previous
        .keys()
        .filter(|k| !seen.contains(k.as_str()))
        .collect();
    let mut statements = Vec::new();
    for chunk in changed.chunks(SAVE_CHUNK) {
        statements.push(
            db.prepare(
                "INSERT INTO tenant_health_states (tenant, state, since) \
                 SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE true \
                 ON CONFLICT (tenant) DO UPDATE SET state = excluded.state, since = excluded.since",
            )
            .bind(&[JsValue::from_str(&serde_json::to_string(chunk)?)])?,
        );
    }
    for chunk in gone.chunks(SAVE_CHUNK) {
        statements.push(
            db.prepare(
                "DELETE FROM tenant_health_states WHERE tenant IN (SELECT value FROM json_each(?1))",
            )
            .bind(&[JsValue::from_str(&serde_json::to_string(chunk)?)])?,
        );
    }
    if !statements.is_empty() {
        db.batch(statements).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(tenant: &str, state: SyncState) -> TenantHealth {
        TenantHealth {
            tenant: tenant.into(),
            state,
            hub: None,
            error: None,
            resynced: None,
            resync_error: None,
            drift: Vec::new(),
            converged: Vec::new(),
            converge_error: None,
        }
    }

    #[test]
    fn keeps_since_while_the_state_holds_and_resets_it_on_change() {
        let previous = Previous::from([
            ("a".to_owned(), (SyncState::Pending, 100)),
            ("b".to_owned(), (SyncState::Failed, 100)),
        ]);
        let lines = [
            line("a", SyncState::Pending),
            line("b", SyncState::Success),
            line("c", SyncState::Success),
        ];
        let tracked = track(&lines, &previous, 500);
        assert_eq!((tracked[0].since, tracked[0].changed), (100, false));
        assert_eq!((tracked[1].since, tracked[1].changed), (500, true));
        assert_eq!((tracked[2].since, tracked[2].changed), (500, true));
    }
}
