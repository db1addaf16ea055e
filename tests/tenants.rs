//! End-to-end: deleting tenants and syncing every tenant at once, on the real local runtime.
//! A delete really erases (registry row, hub state and sockets, history); only platform
//! admins may delete or sync all; sync-all heals tenants that lag the platform.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{eventually, token, Runtime};

fn history(rt: &Runtime, tenant: &str) -> Vec<Value> {
    let h = rt.get(&format!("/v1/tenants/{tenant}/history"));
    assert_eq!(h.status, 200, "{h:?}");
    h.body["entries"].as_array().cloned().unwrap_or_default()
}

#[test]
fn deleting_a_tenant_erases_it_and_a_recreated_tenant_starts_empty() {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    let config = "/v1/tenants/acme/config/notifications";
    assert_eq!(
        rt.put_json(config, &json!({"email": {"enabled": true}}))
            .status,
        200
    );
    assert_eq!(
        rt.put_json(config, &json!({"sms": {"on": true}})).status,
        200
    );
    eventually(Duration::from_secs(15), || {
        (history(&rt, "acme").len() >= 2).then_some(())
    });
    let mut socket = rt.websocket("/v1/connect?tenant=acme");
    assert_eq!(socket.next_json()["seq"], 2);

    // If-Match guards the delete against an update it did not see.
    let read = rt.get("/v1/tenants/acme");
    let etag = read.header("etag").unwrap().to_owned();
    let auth = format!("Bearer {}", rt.admin_token);
    let stale = rt.request_with(
        &[("authorization", &auth), ("if-match", "\"v1\"")],
        "DELETE",
        "/v1/tenants/acme",
        None,
    );
    stale.assert_problem(412, "CASCADE:Tenant:VersionMismatch");

    let headers = [
        ("authorization", auth.as_str()),
        ("if-match", etag.as_str()),
        ("idempotency-key", "delete-acme-1"),
    ];
    let deleted = rt.request_with(&headers, "DELETE", "/v1/tenants/acme", None);
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(deleted.header("idempotent-replayed"), None);
    assert_eq!(
        socket.close_frame(),
        (4410, "tenant deleted".to_owned()),
        "clients of a deleted tenant are told why"
    );

    rt.get("/v1/tenants/acme")
        .assert_problem(404, "CASCADE:Tenant:NotFound");
    rt.get(config)
        .assert_problem(404, "CASCADE:Tenant:NotFound");
    // A retry with the same key gets the first answer; without a key the tenant is unknown.
    let retry = rt.request_with(
        &[
            ("authorization", auth.as_str()),
            ("idempotency-key", "delete-acme-1"),
        ],
        "DELETE",
        "/v1/tenants/acme",
        None,
    );
    assert_eq!(retry.status, 204, "{retry:?}");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    rt.request("DELETE", "/v1/tenants/acme", None)
        .assert_problem(404, "CASCADE:Tenant:NotFound");

    // Same id again: nothing of the old tenant is left.
    rt.create_tenant("acme");
    let fresh = rt.get(config);
    assert_eq!(fresh.status, 200, "{fresh:?}");
    assert_eq!(fresh.body["config"], json!({}));
    assert_eq!(fresh.body["version"], 0);
    let mut socket = rt.websocket("/v1/connect?tenant=acme");
    assert_eq!(
        socket.next_json()["seq"],
        0,
        "the hub starts again from seq 0"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(history(&rt, "acme"), Vec::<Value>::new(), "history erased");

    // The new tenant works as any other.
    assert_eq!(rt.put_json(config, &json!({"push": true})).status, 200);
    assert_eq!(rt.get(config).body["version"], 1);
}

#[test]
fn only_platform_admins_delete_or_sync_all_and_sync_all_heals_lagging_tenants() {
    let state = support::State::fresh();
    let rt = Runtime::start_on(state.clone());
    let rule = json!({"triggerEvents": ["auth.provider.create", "auth.provider.update"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
    assert_eq!(rt.put_json("/v1/rules/auth-sso", &rule).status, 201);
    rt.create_tenant("acme");
    rt.create_tenant("globex");

    for who in [
        token("tenant-admin", Some("acme"), "ta"),
        token("user", Some("acme"), "alice"),
    ] {
        rt.request_as(&who, "DELETE", "/v1/tenants/acme", None)
            .assert_problem(403, "CASCADE:Auth:Forbidden");
        rt.request_as(&who, "POST", "/v1/sync", None)
            .assert_problem(403, "CASCADE:Auth:Forbidden");
    }
    rt.request("DELETE", "/v1/tenants/nobody", None)
        .assert_problem(404, "CASCADE:Tenant:NotFound");
    assert_eq!(rt.get("/v1/tenants/acme").status, 200, "still there");

    // A tenant deleted before a platform change is not brought back by its fan-out.
    assert_eq!(rt.request("DELETE", "/v1/tenants/globex", None).status, 204);
    let platform = json!({"sso": {"provider": "okta"}});
    assert_eq!(
        rt.put_json("/v1/platform/config/auth", &platform).status,
        200
    );
    eventually(Duration::from_secs(20), || {
        let e = rt.get("/v1/tenants/acme/effective/auth");
        (e.body["config"] == platform).then_some(())
    });

    // "late" is registered behind the API's back (straight in D1): nothing delivered the
    // platform change to it, so it lags until a sync-all. (It is not read first: a read of
    // a lagging tenant starts its catch-up, tests/propagation.rs shows.)
    state.execute_sql(
        "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) VALUES ('late', 'Late', '{}', '[]', 0, 0);",
    );

    let synced = rt.request("POST", "/v1/sync", None);
    assert_eq!(synced.status, 200, "{synced:?}");
    let lines = synced.body["tenants"].as_array().unwrap();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["acme", "late"],
        "the deleted tenant is gone: {synced:?}"
    );
    assert_eq!(lines[0]["applied"], 0, "{synced:?}");
    assert_eq!(lines[1]["applied"], 1, "{synced:?}");
    assert_eq!(lines[1]["platformSeq"], 1, "{synced:?}");
    assert_eq!(
        synced.body["totals"],
        json!({"tenants": 2, "synced": 2, "failed": 0, "applied": 1})
    );
    assert_eq!(
        rt.get("/v1/tenants/late/effective/auth").body["config"],
        platform
    );

    // Re-created, globex catches up from empty: exactly the one platform update.
    rt.create_tenant("globex");
    let again = rt.request("POST", "/v1/tenants/globex/sync", None);
    assert_eq!(
        again.body["applied"], 0,
        "creation already caught up: {again:?}"
    );
    let entries = eventually(Duration::from_secs(15), || {
        let h = history(&rt, "globex");
        (!h.is_empty()).then_some(h)
    });
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["scope"], "platform");
}

#[test]
fn sync_all_goes_page_by_page_through_every_tenant() {
    let state = support::State::fresh();
    let rt = Runtime::start_on(state.clone());
    let rule = json!({"triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
    assert_eq!(rt.put_json("/v1/rules/auth", &rule).status, 201);
    let platform = json!({"sso": {"provider": "okta"}});
    assert_eq!(
        rt.put_json("/v1/platform/config/auth", &platform).status,
        200
    );
    // Seven tenants registered straight in D1 after the platform change: all lag it.
    let mut sql = String::new();
    for i in 0..7 {
        sql.push_str(&format!(
            "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
             VALUES ('s{i}', 'S{i}', '{{}}', '[]', 0, 0);\n"
        ));
    }
    state.execute_sql(&sql);

    rt.request("POST", "/v1/sync?limit=0", None)
        .assert_problem(400, "CASCADE:Request:BadQuery");
    rt.request("POST", "/v1/sync?page=2", None)
        .assert_problem(400, "CASCADE:Request:BadQuery");

    // Pages of three: s0-s2, s3-s5, s6; each names the next until the last.
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/v1/sync?limit=3".to_owned();
    loop {
        let page = rt.request("POST", &path, None);
        assert_eq!(page.status, 200, "{page:?}");
        pages += 1;
        let lines = page.body["tenants"].as_array().unwrap();
        assert!(lines.len() <= 3, "{page:?}");
        for line in lines {
            assert_eq!(
                line["applied"], 1,
                "each tenant applies the update once: {line}"
            );
            seen.push(line["tenant"].as_str().unwrap().to_owned());
        }
        assert_eq!(page.body["totals"]["tenants"], lines.len());
        match page.body["next"].as_str() {
            Some(next) => {
                assert_eq!(Some(next), lines.last().and_then(|l| l["tenant"].as_str()));
                let link = page.header("link").unwrap_or_default().to_owned();
                assert_eq!(
                    link,
                    format!("</v1/sync?after={next}&limit=3>; rel=\"next\"")
                );
                path = format!("/v1/sync?after={next}&limit=3");
            }
            None => {
                assert!(page.body["next"].is_null(), "{page:?}");
                assert_eq!(page.header("link"), None);
                break;
            }
        }
        assert!(pages < 10, "the pages never end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..7).map(|i| format!("s{i}")).collect::<Vec<_>>());
    assert_eq!(
        rt.get("/v1/tenants/s6/effective/auth").body["config"],
        platform
    );

    // Without a cursor one page takes every tenant (up to the page size); nothing is left
    // to apply.
    let again = rt.request("POST", "/v1/sync", None);
    assert_eq!(
        again.body["totals"],
        json!({"tenants": 7, "synced": 7, "failed": 0, "applied": 0})
    );
    assert!(again.body["next"].is_null(), "{again:?}");
}
