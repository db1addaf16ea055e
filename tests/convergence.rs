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
use support::{eventually, tail, Runtime};

fn rule(pattern: &str, strategy: &str) -> Value {
    json!({
        "triggerEvents": [pattern],
        "targetScopes": ["tenant", "user"],
        "syncDirection": "down",
        "conflictResolution": strategy,
        "autoApply": true
    })
}

/// Writes a rule. A 503 "worker restarted mid-request" is retried: the local runtime restarts
/// when a write reaches the platform hub while its alarm creates a batch of new tenant hubs
/// (seen with a platform write as well; the write was not acknowledged, and a rule write is
/// idempotent).
fn put_rule(rt: &Runtime, id: &str, body: &Value) {
    let mut reply = rt.put_json(&format!("/v1/rules/{id}"), body);
    for _ in 0..3 {
        if reply.status != 503 {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        reply = rt.put_json(&format!("/v1/rules/{id}"), body);
    }
    assert!(
        reply.status == 200 || reply.status == 201,
        "{reply:?}\n{}",
        tail(&rt.log_text(), 6000)
    );
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

/// Tenants in the crash test, and per convergence run: small pages, so the walk spans many
/// alarm runs and the crash lands between two of them.
const CRASH_TENANTS: usize = 200;
const CONVERGE_PAGED: [(&str, &str); 2] = [
    ("CONVERGE_TENANTS_PER_RUN", "10"),
    ("HEALTH_TENANTS_PER_RUN", "100"),
];

#[test]
fn a_convergence_job_killed_mid_walk_resumes_and_converges_every_tenant_once() {
    let state = support::State::fresh();
    let mut sql = String::new();
    for i in 0..CRASH_TENANTS {
        sql.push_str(&format!(
            "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
             VALUES ('c{i:04}', 'C {i}', '{{}}', '[]', 0, 0);\n"
        ));
    }
    state.execute_sql(&sql);
    let mut rt = Runtime::start_with(state, &CONVERGE_PAGED);
    // No rule delivers `crash` yet: the write reaches no tenant.
    let written = rt.put_json("/v1/platform/config/crash", &json!({"on": true}));
    assert_eq!(written.body["targetedTenants"], 0, "{written:?}");
    put_rule(&rt, "crash", &rule("crash.*", "merge"));
    let has_it = |rt: &Runtime, i: usize| {
        rt.try_get(
            &format!("/v1/tenants/c{i:04}/effective/crash"),
            Duration::from_secs(10),
        )
        .is_some_and(|r| r.body["config"]["on"] == true)
    };
    eventually(Duration::from_secs(60), || has_it(&rt, 0).then_some(()));
    let last_before_crash = has_it(&rt, CRASH_TENANTS - 1);
    let state = rt.state.clone();
    rt.crash();
    assert!(
        !last_before_crash,
        "the convergence finished before the crash: the test did not crash it mid-way"
    );

    let rt = Runtime::start_with(state, &CONVERGE_PAGED);
    eventually(Duration::from_secs(180), || {
        has_it(&rt, CRASH_TENANTS - 1).then_some(())
    });
    let snapshot = rt.run_health_check();
    let lines = snapshot["tenants"].as_array().unwrap();
    assert_eq!(lines.len(), CRASH_TENANTS);
    let seq = lines[0]["hub"]["seq"].clone();
    for line in lines {
        assert_eq!(line["state"], "success", "{line}");
        assert!(line.get("drift").is_none(), "{line}");
        // Once: every tenant took the same number of seqs (the skipped platform update and
        // one convergence), none twice.
        assert_eq!(line["hub"]["seq"], seq, "{line}");
    }
    let converges = eventually(Duration::from_secs(30), || {
        let n = history_actions(&rt, "c0000", "crash")
            .iter()
            .filter(|a| *a == "platform.converge")
            .count();
        (n > 0).then_some(n)
    });
    assert_eq!(converges, 1, "one convergence entry, none repeated");
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

#[test]
fn a_platform_batch_of_events_answers_the_tenants_it_reaches() {
    let rt = Runtime::start();
    for t in ["e1", "e2", "e3"] {
        rt.create_tenant(t);
    }
    let opted_out = rt.put_json("/v1/tenants/e3", &json!({"optOuts": ["auth"]}));
    assert_eq!(opted_out.status, 200, "{opted_out:?}");
    put_rule(
        &rt,
        "sso-enable",
        &rule("auth.provider.enable", "platform-wins"),
    );
    let post = |batch: Value| {
        let reply = rt.request("POST", "/v1/events", Some(&batch.to_string()));
        assert_eq!(reply.status, 200, "{reply:?}");
        reply
    };

    // The rule's own topic reaches every tenant not opted out of `auth`.
    let enable = post(
        json!({"type": "auth", "action": "provider.enable", "scope": "platform", "triggeredBy": "x",
                             "config": {"sso": {"enabled": true}}}),
    );
    assert_eq!(enable.body["targetedTenants"], 2, "{enable:?}");
    assert!(enable.body.get("warning").is_none(), "{enable:?}");
    wait_for_effective(&rt, "e1", "auth", &json!({"sso": {"enabled": true}}));

    // An event no rule delivers reaches nobody, and the answer says why.
    let update = post(
        json!({"type": "auth", "action": "provider.update", "scope": "platform", "triggeredBy": "x",
                             "config": {"sso": {"provider": "okta"}}}),
    );
    assert_eq!(update.body["targetedTenants"], 0, "{update:?}");
    let warning = update.body["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("no enabled rule") && warning.contains("auth.provider.update"),
        "{warning}"
    );

    // A batch counts a tenant once, whichever of its events reaches it.
    let both = post(json!([
        {"type": "auth", "action": "provider.enable", "scope": "platform", "triggeredBy": "x", "config": {"sso": {"enabled": false}}},
        {"type": "billing", "action": "update", "scope": "platform", "triggeredBy": "x", "config": {"plan": "pro"}}
    ]));
    assert_eq!(both.body["targetedTenants"], 2, "{both:?}");

    // A full batch over 100 namespaces, each event delivered by a rule with a tenant filter,
    // is counted in one query within D1's 100 bound parameters (the namespaces go as one
    // list, each filter value once).
    let pro = rt.put_json("/v1/tenants/e1", &json!({"attributes": {"plan": "pro"}}));
    assert_eq!(pro.status, 200, "{pro:?}");
    let mut every = rule("*.update", "merge");
    every["tenantFilter"] = json!({"plan": "pro"});
    put_rule(&rt, "pro-everything", &every);
    let hundred: Vec<Value> = (0..100)
        .map(|i| {
            json!({"type": format!("ns{i}"), "action": "update", "scope": "platform",
                        "triggeredBy": "x", "config": {"n": i}})
        })
        .collect();
    let full = post(Value::Array(hundred));
    assert_eq!(full.body["targetedTenants"], 1, "{full:?}");
    wait_for_effective(&rt, "e1", "ns99", &json!({"n": 99}));
}
