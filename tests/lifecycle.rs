//! End-to-end: tenant registration and deletion survive a crash at every step.
//!
//! Each test registers and deletes tenants on a runtime started with
//! `CASCADE_TEST_CRASH_AT` (see `cascade_durable::lifecycle_steps`), which stops each
//! sequence at a named step for a named tenant exactly as a crash there would (nothing after
//! the step runs); the runtime is then killed with SIGKILL and restarted on the same state
//! without the variable. Then either the client retries (the retry must finish the sequence
//! and answer as the first attempt would have: 201 for a creation, 204 for a deletion) or
//! nobody does (the platform hub's alarm must finish it alone). Afterwards a registered
//! tenant has caught up with the platform, and a deleted one is gone from the registry, its
//! hub and D1, and comes back, when created again, empty and with history of its own.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{eventually, Runtime, State};

const WAIT: Duration = Duration::from_secs(60);
const CRASH_AT: &str = "CASCADE_TEST_CRASH_AT";
const GRACE: &str = "LIFECYCLE_SWEEP_GRACE_MS";

const REGISTER_POINTS: [&str; 2] = ["register:after-registry", "register:after-hub"];
const DELETE_POINTS: [&str; 3] = [
    "delete:after-mark",
    "delete:after-erase",
    "delete:after-history",
];

/// A runtime with a platform layer (so a new tenant has something to catch up with) and
/// tenants to delete, each with a config of its own and history in D1; stopped.
fn prepared(deleted: &[String]) -> State {
    let mut rt = Runtime::start();
    let rule = json!({"triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
    assert_eq!(rt.put_json("/v1/rules/auth-down", &rule).status, 201);
    let platform = rt.put_json("/v1/platform/config/auth", &json!({"mfa": true}));
    assert_eq!(platform.status, 200, "{platform:?}");
    for id in deleted {
        rt.create_tenant(id);
        let own = rt.put_json(
            &format!("/v1/tenants/{id}/config/notifications"),
            &json!({"email": "old"}),
        );
        assert_eq!(own.status, 200, "{own:?}");
        eventually(WAIT, || (history(&rt, id).len() >= 2).then_some(()));
    }
    let state = rt.state.clone();
    rt.stop();
    state
}

fn history(rt: &Runtime, tenant: &str) -> Vec<Value> {
    let h = rt.get(&format!("/v1/tenants/{tenant}/history"));
    assert_eq!(h.status, 200, "{h:?}");
    h.body["entries"].as_array().cloned().unwrap_or_default()
}

/// Registers `registered` and deletes `deleted` on a runtime that stops the i-th of each at
/// the i-th step, then kills it; returns the state. `grace` (ms) is how long the platform
/// hub's alarm leaves a sequence to its request.
fn cut_short(state: State, registered: &[String], deleted: &[String], grace: &str) -> State {
    let points: Vec<String> = REGISTER_POINTS
        .iter()
        .zip(registered)
        .chain(DELETE_POINTS.iter().zip(deleted))
        .map(|(point, id)| format!("{point}@{id}"))
        .collect();
    let mut rt = Runtime::start_with(state, &[(CRASH_AT, &points.join(",")), (GRACE, grace)]);
    for id in registered {
        let put = rt.put_json(&format!("/v1/tenants/{id}"), &json!({"name": id}));
        assert_eq!(put.status, 500, "{id}: {put:?}");
    }
    for id in deleted {
        let delete = rt.request("DELETE", &format!("/v1/tenants/{id}"), None);
        assert_eq!(delete.status, 500, "{id}: {delete:?}");
    }
    for point in &points {
        let marker = format!("test crash point {point} reached");
        eventually(WAIT, || rt.log_text().contains(&marker).then_some(()));
    }
    let state = rt.state.clone();
    rt.crash();
    state
}

fn listed(rt: &Runtime) -> Vec<Value> {
    let list = rt.get("/v1/tenants");
    assert_eq!(list.status, 200, "{list:?}");
    list.body.as_array().cloned().unwrap()
}

fn lifecycle_of(list: &[Value], id: &str) -> Option<String> {
    list.iter()
        .find(|t| t["id"] == id)
        .map(|t| t["lifecycle"].as_str().unwrap_or_default().to_owned())
}

/// A registered tenant has caught up with the platform.
fn assert_caught_up(rt: &Runtime, id: &str) {
    let effective = rt.get(&format!("/v1/tenants/{id}/effective/auth"));
    assert_eq!(effective.status, 200, "{id}: {effective:?}");
    assert_eq!(effective.body["config"], json!({"mfa": true}), "{id}");
    assert!(
        effective.body["version"].as_u64().unwrap() > 0,
        "{id}: {effective:?}"
    );
    let tenant = rt.get(&format!("/v1/tenants/{id}"));
    assert_eq!(tenant.body["lifecycle"], "active", "{id}: {tenant:?}");
}

/// A deleted tenant is gone; created again it starts empty, and its own history rows (at the
/// seqs the deleted one used) are kept and served.
fn assert_gone_then_new(rt: &Runtime, id: &str) {
    assert_eq!(rt.get(&format!("/v1/tenants/{id}")).status, 404, "{id}");
    let again = rt.put_json(&format!("/v1/tenants/{id}"), &json!({"name": id}));
    assert_eq!(again.status, 201, "{id}: {again:?}");
    let own = rt.get(&format!("/v1/tenants/{id}/effective/notifications"));
    assert_eq!(
        own.body["config"].get("email"),
        None,
        "{id} kept the deleted config: {own:?}"
    );
    let write = rt.put_json(
        &format!("/v1/tenants/{id}/config/notifications"),
        &json!({"email": "new"}),
    );
    assert_eq!(write.status, 200, "{write:?}");
    assert_eq!(
        write.body["seq"], 2,
        "{id} did not start again from seq 0: {write:?}"
    );
    let entries = eventually(WAIT, || {
        let h = history(rt, id);
        (h.len() >= 2).then_some(h)
    });
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![2, 1], "{id}: {entries:?}");
    assert_eq!(entries[0]["scope"], "tenant", "{id}: {entries:?}");
}

/// D1 holds no history of a deleted incarnation: every row of each tenant is its current
/// incarnation's.
fn assert_no_stale_history(state: &State, ids: &[String]) {
    for id in ids {
        let stale = state.query_sql(&format!(
            "SELECT COUNT(*) AS n FROM sync_events e JOIN tenants t ON t.id = e.tenant_id
             WHERE e.tenant_id = '{id}' AND e.incarnation != t.incarnation"
        ));
        assert_eq!(stale[0]["n"], 0, "{id}: {stale:?}");
        let current = state.query_sql(&format!(
            "SELECT COUNT(*) AS n FROM sync_events WHERE tenant_id = '{id}'"
        ));
        assert_eq!(current[0]["n"], 2, "{id}: {current:?}");
    }
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn registration_and_deletion_cut_at_every_step_are_finished_by_the_retry() {
    let registered = ids("r", REGISTER_POINTS.len());
    let deleted = ids("d", DELETE_POINTS.len());
    // The alarm waits ten minutes: only the retries finish anything here.
    let state = cut_short(prepared(&deleted), &registered, &deleted, "600000");
    let mut rt = Runtime::start_with(state, &[(GRACE, "600000")]);
    let list = listed(&rt);
    for id in &registered {
        assert_eq!(
            lifecycle_of(&list, id).as_deref(),
            Some("registering"),
            "{id}"
        );
    }
    for id in &deleted {
        assert_eq!(lifecycle_of(&list, id), None, "{id} still listed");
    }
    for id in &registered {
        let retry = rt.put_json(&format!("/v1/tenants/{id}"), &json!({"name": id}));
        assert_eq!(retry.status, 201, "{id}: {retry:?}");
        assert_eq!(retry.body["platformSeq"], 1, "{id}: {retry:?}");
        assert_caught_up(&rt, id);
        // Once finished, a PUT is an update.
        let update = rt.put_json(&format!("/v1/tenants/{id}"), &json!({"name": id}));
        assert_eq!(update.status, 200, "{id}: {update:?}");
    }
    for id in &deleted {
        let retry = rt.request("DELETE", &format!("/v1/tenants/{id}"), None);
        assert_eq!(retry.status, 204, "{id}: {retry:?}");
        assert_gone_then_new(&rt, id);
    }
    let state = rt.state.clone();
    rt.stop();
    assert_no_stale_history(&state, &deleted);
}

#[test]
fn registration_and_deletion_cut_at_every_step_are_finished_by_the_alarm_alone() {
    let registered = ids("ra", REGISTER_POINTS.len());
    let deleted = ids("da", DELETE_POINTS.len());
    // The alarm is due 5 s after the first sequence started: after the kill, before the
    // restart is up.
    let state = cut_short(prepared(&deleted), &registered, &deleted, "5000");
    let mut rt = Runtime::start_on(state);
    // Listing has no side effect: only the platform hub's alarm can finish the sequences.
    eventually(WAIT, || {
        let list = listed(&rt);
        let done = registered
            .iter()
            .all(|id| lifecycle_of(&list, id).as_deref() == Some("active"))
            && deleted.iter().all(|id| lifecycle_of(&list, id).is_none());
        done.then_some(())
    });
    let state = rt.state.clone();
    rt.stop();
    // Nothing of the deleted tenants is left in D1.
    for id in &deleted {
        let rows = state.query_sql(&format!(
            "SELECT (SELECT COUNT(*) FROM tenants WHERE id = '{id}')
                  + (SELECT COUNT(*) FROM sync_events WHERE tenant_id = '{id}') AS n"
        ));
        assert_eq!(rows[0]["n"], 0, "{id}: {rows:?}");
    }
    let rt = Runtime::start_on(state);
    for id in &registered {
        assert_caught_up(&rt, id);
    }
    for id in &deleted {
        assert_gone_then_new(&rt, id);
    }
}
