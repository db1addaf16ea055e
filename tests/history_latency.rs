//! End-to-end: history entries carry `propagationMs`, the time from the platform hub's commit
//! to the tenant hub's commit, for platform changes the fan-out delivers; entries that start
//! at the tenant, and platform updates applied by a catch-up, carry `null` (docs/PROTOCOL.md,
//! "History").

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::{eventually, Runtime};

/// Unix milliseconds on the test's clock (the runtime runs on the same machine).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The tenant's first history entry (newest first) that `pick` accepts, once D1 has it.
fn entry(rt: &Runtime, tenant: &str, pick: impl Fn(&Value) -> bool) -> Value {
    eventually(Duration::from_secs(20), || {
        let page = rt.get(&format!("/v1/tenants/{tenant}/history"));
        page.body["entries"]
            .as_array()
            .and_then(|entries| entries.iter().find(|e| pick(e)).cloned())
    })
}

#[test]
fn platform_changes_record_their_propagation_latency_and_tenant_writes_do_not() {
    let rt = Runtime::start();
    let rule = json!({"triggerEvents": ["auth.*"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
    assert_eq!(rt.put_json("/v1/rules/auth-down", &rule).status, 201);
    rt.create_tenant("acme");

    // A tenant write starts at the tenant's hub: nothing propagated, so null (not absent).
    let wrote = rt.put_json(
        "/v1/tenants/acme/config/notifications",
        &json!({"email": {"enabled": true}}),
    );
    assert_eq!(wrote.status, 200, "{wrote:?}");
    let tenant_entry = entry(&rt, "acme", |e| e["scope"] == "tenant");
    assert_eq!(
        tenant_entry.get("propagationMs"),
        Some(&Value::Null),
        "{tenant_entry}"
    );

    // A platform write, timed from before the request to when the tenant serves the change.
    let before = now_ms();
    let wrote = rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "azure"}}),
    );
    assert_eq!(wrote.status, 200, "{wrote:?}");
    eventually(Duration::from_secs(20), || {
        let effective = rt.get("/v1/tenants/acme/effective/auth");
        (effective.body["config"]["sso"]["provider"] == "azure").then_some(())
    });
    let waited = now_ms() - before;

    let platform_entry = entry(&rt, "acme", |e| e["scope"] == "platform");
    assert_eq!(platform_entry["outcome"], "applied", "{platform_entry}");
    let propagation = platform_entry["propagationMs"]
        .as_u64()
        .unwrap_or_else(|| panic!("propagationMs is not a non-negative integer: {platform_entry}"));
    assert!(
        propagation <= waited,
        "propagationMs {propagation} exceeds the {waited} ms the write and the wait took"
    );
    // The platform commit it was measured from lies within the test's window too (same
    // machine, same clock; a little slack for the runtime's clock granularity).
    let committed_at = platform_entry["createdAt"].as_u64().unwrap();
    let platform_committed_at = committed_at - propagation;
    assert!(
        platform_committed_at + 50 >= before && committed_at <= before + waited + 50,
        "platform commit at {platform_committed_at}, tenant commit at {committed_at}, \
         test window {before}..{}",
        before + waited
    );

    // A tenant created afterwards applies the same update by catch-up: its gap would measure
    // the tenant's age, not the fan-out, so it is null.
    rt.create_tenant("late");
    let caught_up = entry(&rt, "late", |e| e["scope"] == "platform");
    assert_eq!(
        caught_up.get("propagationMs"),
        Some(&Value::Null),
        "{caught_up}"
    );
}
