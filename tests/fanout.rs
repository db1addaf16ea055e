//! End-to-end: a platform change fans out to many tenants as a durable job, a page of tenants
//! per alarm run, and survives the runtime being killed (SIGKILL) in the middle of the walk:
//! after a restart every tenant is at the final platform sequence, having applied the update
//! exactly once. The health check that verifies it walks the tenants in pages too.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{eventually, tail, Runtime};

/// Tenants in the fan-out test (`CASCADE_FANOUT_TENANTS` overrides it).
fn tenant_count() -> usize {
    std::env::var("CASCADE_FANOUT_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Tenants per alarm run of the fan-out and of the health check: small, so the 1,000-tenant
/// walk crosses ten pages and the crash lands between two of them.
const PAGED: [(&str, &str); 2] = [
    ("FANOUT_TENANTS_PER_RUN", "100"),
    ("HEALTH_TENANTS_PER_RUN", "100"),
];

/// Registers `n` tenants straight in D1 (their hubs do not exist yet: the fan-out creates
/// them), and the rule that delivers `auth` changes to them.
fn registry_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO sync_rules (id, rule, priority, enabled, created_at, updated_at) VALUES ('auth', \
         '{\"triggerEvents\":[\"auth.*\"],\"targetScopes\":[\"tenant\",\"user\"],\"syncDirection\":\"down\",\
         \"conflictResolution\":\"platform-wins\",\"autoApply\":true}', 0, 1, 0, 0);\n",
    );
    for i in 0..n {
        sql.push_str(&format!(
            "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
             VALUES ('t{i:04}', 'Tenant {i}', '{{\"plan\":\"pro\"}}', '[]', 0, 0);\n"
        ));
    }
    sql
}

/// Runs the health check and returns its snapshot.
fn health(rt: &Runtime) -> serde_json::Value {
    let before = rt.get("/v1/status").body["takenAt"].as_u64().unwrap_or(0);
    assert_eq!(rt.get("/__scheduled?cron=*/5+*+*+*+*").status, 200);
    eventually(Duration::from_secs(60), || {
        let s = rt.get("/v1/status");
        (s.status == 200 && s.body["takenAt"].as_u64().unwrap_or(0) > before).then_some(s.body)
    })
}

#[test]
fn platform_change_reaches_every_tenant_exactly_once_even_across_a_crash() {
    let n = tenant_count();
    let state = support::State::fresh();
    state.execute_sql(&registry_sql(n));
    let mut rt = Runtime::start_with(state, &PAGED);
    let started = Instant::now();
    let put = rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "okta"}}),
    );
    assert_eq!(put.status, 200, "{put:?}");
    // Crash while the fan-out is under way: once the first page has reached its tenants.
    let has_it = |rt: &Runtime, i: usize| {
        rt.try_get(
            &format!("/v1/tenants/t{i:04}/effective/auth"),
            Duration::from_secs(10),
        )
        .is_some_and(|r| r.body["config"]["sso"]["provider"] == "okta")
    };
    eventually(Duration::from_secs(60), || has_it(&rt, 0).then_some(()));
    let last_before_crash = has_it(&rt, n - 1);
    let state = rt.state.clone();
    rt.crash();
    eprintln!("crashed {:?} after the platform write", started.elapsed());
    assert!(
        !last_before_crash,
        "the fan-out finished before the crash: the test did not crash it mid-way"
    );

    let rt = Runtime::start_with(state, &PAGED);
    // The job resumes by itself: the last tenant in delivery order gets the update.
    let last = format!("/v1/tenants/t{:04}/effective/auth", n - 1);
    // Polled with a short per-request timeout: one request that stalls while 1,000 hubs
    // catch up (seen once in CI) must not end the wait.
    eventually(Duration::from_secs(180), || {
        rt.try_get(&last, Duration::from_secs(20))
            .filter(|r| r.body["config"]["sso"]["provider"] == "okta")
            .map(|_| ())
    });
    eprintln!(
        "fan-out to {n} tenants with a crash completed in {:?}",
        started.elapsed()
    );
    let check = Instant::now();
    let snapshot = health(&rt);
    eprintln!("health check of {n} tenants took {:?}", check.elapsed());
    assert_eq!(snapshot["counts"]["success"], n, "{}", snapshot["counts"]);
    let tenants = snapshot["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), n);
    for line in tenants {
        // Exactly once: the update took one tenant seq, and the tenant is at platform seq 1.
        assert_eq!(line["hub"]["platformSeq"], 1, "{line}");
        assert_eq!(line["hub"]["seq"], 1, "{line}");
    }
    let sample = rt.get("/v1/tenants/t0007/effective/auth");
    assert_eq!(
        sample.body["config"],
        json!({"sso": {"provider": "okta"}}),
        "{sample:?}\n{}",
        tail(&rt.log_text(), 6000)
    );
}
