//! End-to-end: tenants converge with the platform layers they missed, on the real runtime.
//!
//! A tenant that opts back in, and tenants a rule added later now governs, get the platform
//! layer as it is (not only the next delta); a platform write that reaches no tenant says so;
//! the health check reports a tenant's rollback of a platform change as drift, converges it
//! where the rule is `platform-wins`, and leaves it (counted as `drifted`) where it is not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{eventually, Runtime};

fn rule(pattern: &str, strategy: &str) -> Value {
    json!({
        "triggerEvents": [pattern],
        "targetScopes": ["tenant", "user"],
        "syncDirection": "down",
        "conflictResolution": strategy,
        "autoApply": true
    })
}

fn put_rule(rt: &Runtime, id: &str, body: &Value) {
    let reply = rt.put_json(&format!("/v1/rules/{id}"), body);
    assert!(reply.status == 200 || reply.status == 201, "{reply:?}");
}

fn effective(rt: &Runtime, tenant: &str, ns: &str) -> Value {
    let reply = rt.get(&format!("/v1/tenants/{tenant}/effective/{ns}"));
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["config"].clone()
}

fn wait_for_effective(rt: &Runtime, tenant: &str, ns: &str, want: &Value) {
    eventually(Duration::from_secs(30), || {
        (&effective(rt, tenant, ns) == want).then_some(())
    });
}

fn history_actions(rt: &Runtime, tenant: &str, ns: &str) -> Vec<String> {
    let reply = rt.get(&format!("/v1/tenants/{tenant}/history?namespace={ns}"));
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn line<'a>(snapshot: &'a Value, tenant: &str) -> &'a Value {
    snapshot["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tenant"] == tenant)
        .unwrap_or_else(|| panic!("no line for {tenant} in {snapshot}"))
}

#[test]
fn a_tenant_that_opts_back_in_converges_with_the_whole_platform_layer() {
    let rt = Runtime::start();
    put_rule(&rt, "optin", &rule("optin.*", "merge"));
    let reply = rt.put_json("/v1/tenants/t1", &json!({"optOuts": ["optin"]}));
    assert_eq!(reply.status, 201, "{reply:?}");
    let written = rt.put_json("/v1/platform/config/optin", &json!({"a": 1, "b": 2}));
    assert_eq!(written.status, 200, "{written:?}");
    // The only tenant opted out: the write says it reaches none, and why.
    assert_eq!(written.body["targetedTenants"], 0, "{written:?}");
    assert!(written.body["warning"].as_str().is_some(), "{written:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(effective(&rt, "t1", "optin"), json!({}), "opted out");

    let back = rt.put_json("/v1/tenants/t1", &json!({"optOuts": []}));
    assert_eq!(back.status, 200, "{back:?}");
    wait_for_effective(&rt, "t1", "optin", &json!({"a": 1, "b": 2}));
    eventually(Duration::from_secs(20), || {
        history_actions(&rt, "t1", "optin")
            .contains(&"platform.converge".to_owned())
            .then_some(())
    });

    // The next platform change lands on the whole layer, not on a part of it.
    let patched = rt.put_json(
        "/v1/platform/config/optin",
        &json!({"a": 1, "b": 2, "c": 3}),
    );
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.body["targetedTenants"], 1, "{patched:?}");
    assert!(patched.body.get("warning").is_none(), "{patched:?}");
    wait_for_effective(&rt, "t1", "optin", &json!({"a": 1, "b": 2, "c": 3}));

    // The health check finds nothing to converge.
    let snapshot = rt.run_health_check();
    let t1 = line(&snapshot, "t1");
    assert_eq!(t1["state"], "success", "{t1}");
    assert!(t1.get("drift").is_none(), "{t1}");
}

#[test]
fn tenants_a_rule_added_later_governs_converge() {
    let rt = Runtime::start();
    rt.create_tenant("t2");
    rt.create_tenant("t3");
    let written = rt.put_json("/v1/platform/config/later", &json!({"x": 1}));
    assert_eq!(written.status, 200, "{written:?}");
    assert_eq!(written.body["changed"], true);
    assert_eq!(written.body["targetedTenants"], 0, "{written:?}");
    let warning = written.body["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("no enabled rule"), "{warning}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(effective(&rt, "t2", "later"), json!({}));

    // The health check reports the copy as not delivered by any rule, without counting it.
    let snapshot = rt.run_health_check();
    let t2 = line(&snapshot, "t2");
    assert_eq!(t2["state"], "success", "{t2}");
    assert_eq!(
        t2["drift"],
        json!([{"namespace": "later", "reason": "noRule", "mustConverge": false}])
    );

    put_rule(&rt, "later", &rule("later.*", "merge"));
    wait_for_effective(&rt, "t2", "later", &json!({"x": 1}));
    wait_for_effective(&rt, "t3", "later", &json!({"x": 1}));
    let again = rt.put_json("/v1/platform/config/later", &json!({"x": 2}));
    assert_eq!(again.body["targetedTenants"], 2, "{again:?}");
    wait_for_effective(&rt, "t3", "later", &json!({"x": 2}));
}

#[test]
fn the_health_check_reports_a_rolled_back_platform_change_and_converges_it_under_platform_wins() {
    let rt = Runtime::start();
    put_rule(&rt, "kept", &rule("kept.*", "merge"));
    put_rule(&rt, "forced", &rule("forced.*", "platform-wins"));
    rt.create_tenant("t4");
    for ns in ["kept", "forced"] {
        rt.put_json(&format!("/v1/platform/config/{ns}"), &json!({"v": 1}));
        wait_for_effective(&rt, "t4", ns, &json!({"v": 1}));
    }
    let versions: Vec<u64> = ["kept", "forced"]
        .iter()
        .map(|ns| {
            rt.get(&format!("/v1/tenants/t4/config/{ns}")).body["version"]
                .as_u64()
                .unwrap()
        })
        .collect();
    for ns in ["kept", "forced"] {
        rt.put_json(&format!("/v1/platform/config/{ns}"), &json!({"v": 2}));
        wait_for_effective(&rt, "t4", ns, &json!({"v": 2}));
    }
    // The tenant admin rolls both back to before the second platform change.
    for (ns, version) in ["kept", "forced"].iter().zip(&versions) {
        let back = rt.request(
            "POST",
            &format!("/v1/tenants/t4/rollback/{ns}"),
            Some(&json!({"version": version}).to_string()),
        );
        assert_eq!(back.status, 200, "{back:?}");
        assert_eq!(effective(&rt, "t4", ns), json!({"v": 1}));
    }

    let snapshot = rt.run_health_check();
    let t4 = line(&snapshot, "t4");
    // `forced` is platform-wins: the check converged it; `kept` (merge) stays rolled back,
    // reported, and counted.
    assert_eq!(t4["converged"], json!(["forced"]), "{t4}");
    assert_eq!(
        t4["drift"],
        json!([{"namespace": "kept", "reason": "rolledBack", "mustConverge": false}]),
        "{t4}"
    );
    assert_eq!(t4["state"], "drifted", "{t4}");
    assert_eq!(snapshot["counts"]["drifted"], 1, "{snapshot}");
    assert!(
        snapshot["healthPct"].as_f64().unwrap() < 100.0,
        "{snapshot}"
    );
    wait_for_effective(&rt, "t4", "forced", &json!({"v": 2}));
    assert_eq!(effective(&rt, "t4", "kept"), json!({"v": 1}));
    // The tenant's own status says the same.
    let status = rt.get("/v1/tenants/t4/status");
    assert_eq!(status.status, 200, "{status:?}");
    assert_eq!(status.body["state"], "drifted", "{status:?}");
    assert_eq!(
        status.body["drift"][0]["reason"], "rolledBack",
        "{status:?}"
    );

    // Once the rule for `kept` says platform-wins, the tenant converges (the rule change
    // queues it), and the next check finds it in sync.
    put_rule(&rt, "kept", &rule("kept.*", "platform-wins"));
    wait_for_effective(&rt, "t4", "kept", &json!({"v": 2}));
    let snapshot = rt.run_health_check();
    let t4 = line(&snapshot, "t4");
    assert_eq!(t4["state"], "success", "{t4}");
    assert!(t4.get("drift").is_none(), "{t4}");
}

#[test]
fn a_change_held_for_approval_is_pending_drift_and_is_not_held_twice() {
    let rt = Runtime::start();
    let mut held = rule("held.*", "platform-wins");
    held["autoApply"] = json!(false);
    put_rule(&rt, "held", &held);
    rt.create_tenant("t5");
    let written = rt.put_json("/v1/platform/config/held", &json!({"v": 1}));
    assert_eq!(written.status, 200, "{written:?}");
    let pending = || {
        let reply = rt.get("/v1/tenants/t5/pending");
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body.as_array().map_or(0, Vec::len)
    };
    eventually(Duration::from_secs(30), || (pending() == 1).then_some(()));

    // The copy differs only because the change waits for the tenant admin: the check
    // reports it as pending drift and delivers nothing again.
    let snapshot = rt.run_health_check();
    let t5 = line(&snapshot, "t5");
    assert_eq!(
        t5["drift"],
        json!([{"namespace": "held", "reason": "pending", "mustConverge": false}]),
        "{t5}"
    );
    assert!(t5["converged"].as_array().is_none_or(Vec::is_empty), "{t5}");
    assert_eq!(t5["state"], "partial", "{t5}");
    assert_eq!(pending(), 1);
}
