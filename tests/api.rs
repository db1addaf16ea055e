//! End-to-end: the admin API's guards on the real local runtime — JWT authentication, role
//! checks, optimistic concurrency (ETag / If-Match), idempotent retries, write rate limits.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{token, token_with, Runtime, State, TEST_JWT_SECRET};

const CONFIG: &str = "/v1/tenants/acme/config/notifications";

fn runtime_with_two_tenants() -> Runtime {
    let rt = Runtime::start();
    rt.create_tenant("acme");
    rt.create_tenant("globex");
    rt
}

#[test]
fn requests_without_a_valid_token_are_refused() {
    let rt = runtime_with_two_tenants();
    let body = Some("{}");

    let none = rt.request_with(&[], "PUT", CONFIG, body);
    none.assert_problem(401, "CASCADE:Auth:Unauthenticated");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"cascade\"")
    );

    let admin = json!({"sub": "a", "role": "platform-admin"});
    let cases = [
        ("expired", token_with(&admin, -120, TEST_JWT_SECRET)),
        ("wrong key", token_with(&admin, 600, "some-other-secret")),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, bad) in &cases {
        let reply = rt.request_as(bad, "PUT", CONFIG, body);
        assert_eq!(reply.status, 401, "{what}: {reply:?}");
        assert_eq!(reply.body["code"], "CASCADE:Auth:Unauthenticated", "{what}");
    }

    // alg "none" and a tampered payload.
    let good = token("tenant-admin", Some("globex"), "eve");
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let escalated = b64(json!({"sub": "eve", "role": "platform-admin", "exp": 4_000_000_000u64}));
    let none_alg = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        escalated
    );
    let tampered = format!("{}.{}.{}", parts[0], escalated, parts[2]);
    for bad in [none_alg, tampered] {
        rt.request_as(&bad, "PUT", CONFIG, body)
            .assert_problem(401, "CASCADE:Auth:Unauthenticated");
    }

    // Nothing was written.
    assert_eq!(rt.get(CONFIG).body["version"], 0);
    // Public endpoints need no token.
    assert_eq!(rt.request_with(&[], "GET", "/v1/health", None).status, 200);
    let openapi = rt.request_with(&[], "GET", "/v1/openapi.json", None);
    assert_eq!(openapi.status, 200);
    assert_eq!(openapi.body["openapi"], "3.1.0");
}

#[test]
fn each_role_reaches_only_what_it_may() {
    let rt = runtime_with_two_tenants();
    let acme_admin = token("tenant-admin", Some("acme"), "ann");
    let acme_user = token("user", Some("acme"), "ulla");
    let doc = r#"{"email": true}"#;

    // A tenant admin: its own tenant, nothing else — and no existence leaks.
    assert_eq!(
        rt.request_as(&acme_admin, "PUT", CONFIG, Some(doc)).status,
        200
    );
    assert_eq!(rt.request_as(&acme_admin, "GET", CONFIG, None).status, 200);
    assert_eq!(
        rt.request_as(&acme_admin, "GET", "/v1/tenants/acme/history", None)
            .status,
        200
    );
    for (method, path) in [
        ("PUT", "/v1/tenants/globex/config/notifications"),
        ("GET", "/v1/tenants/globex/config/notifications"),
        ("GET", "/v1/tenants/no-such-tenant/config/notifications"),
        ("GET", "/v1/tenants"),
        ("PUT", "/v1/tenants/acme"),
        ("PUT", "/v1/platform/config/auth"),
        ("GET", "/v1/status"),
    ] {
        let reply = rt.request_as(&acme_admin, method, path, Some(doc));
        reply.assert_problem(403, "CASCADE:Auth:Forbidden");
    }

    // A user: no admin resource at all.
    for (method, path) in [
        ("PUT", CONFIG),
        ("GET", CONFIG),
        ("GET", "/v1/tenants/acme"),
    ] {
        rt.request_as(&acme_user, method, path, Some(doc))
            .assert_problem(403, "CASCADE:Auth:Forbidden");
    }

    // Writes are attributed to the caller.
    let history = support::eventually(std::time::Duration::from_secs(15), || {
        let h = rt.request_as(&acme_admin, "GET", "/v1/tenants/acme/history", None);
        (h.body["entries"].as_array().map_or(0, Vec::len) == 1).then_some(h)
    });
    assert_eq!(history.body["entries"][0]["triggeredBy"], "ann");
}

#[test]
fn websockets_authenticate_by_header_subprotocol_or_query() {
    let rt = runtime_with_two_tenants();
    let user = token("user", Some("acme"), "ulla");

    // Header; the tenant defaults to the caller's own.
    let mut by_header = rt.websocket_as(&user, "/v1/connect");
    assert_eq!(by_header.greeting().0["tenant"], "acme");

    // Browser style: the token as a subprotocol next to "cascade", which is echoed back.
    let protocols = format!("cascade, bearer.{user}");
    let mut by_protocol = rt
        .try_websocket(&[("sec-websocket-protocol", &protocols)], "/v1/connect")
        .unwrap();
    assert_eq!(by_protocol.greeting().0["type"], "hello");
    assert_eq!(by_protocol.protocol().as_deref(), Some("cascade"));

    let mut by_query = rt
        .try_websocket(&[], &format!("/v1/connect?tenant=acme&access_token={user}"))
        .unwrap();
    assert_eq!(by_query.greeting().0["type"], "hello");

    // Refused: no token, another tenant.
    assert_eq!(
        rt.try_websocket(&[], "/v1/connect?tenant=acme").err(),
        Some(401)
    );
    let auth = format!("Bearer {user}");
    assert_eq!(
        rt.try_websocket(&[("authorization", &auth)], "/v1/connect?tenant=globex")
            .err(),
        Some(403)
    );

    // Every socket of the tenant sees a change.
    rt.put_json(CONFIG, &json!({"email": true}));
    for socket in [&mut by_header, &mut by_protocol, &mut by_query] {
        assert_eq!(socket.next_json()["seq"], 1);
    }
}

/// `PUT CONFIG` as the platform admin with `If-Match: etag`.
fn put_if_match(rt: &Runtime, etag: &str, body: &str) -> support::Reply {
    let auth = format!("Bearer {}", rt.admin_token);
    rt.request_with(
        &[("authorization", &auth), ("if-match", etag)],
        "PUT",
        CONFIG,
        Some(body),
    )
}

#[test]
fn if_match_lets_one_of_two_racing_writers_win_and_loses_nothing() {
    let rt = runtime_with_two_tenants();
    rt.put_json(CONFIG, &json!({"email": true, "sms": false}));
    let etag = rt.get(CONFIG).header("etag").unwrap().to_owned();
    assert_eq!(etag, "\"v1\"");

    // Alice and Bob both read v1; Alice writes first.
    let alice = put_if_match(&rt, &etag, r#"{"email": false, "sms": false}"#);
    let bob = put_if_match(&rt, &etag, r#"{"email": true, "sms": true}"#);
    assert_eq!(alice.status, 200, "{alice:?}");
    bob.assert_problem(412, "CASCADE:Config:VersionMismatch");
    let after = rt.get(CONFIG);
    assert_eq!(after.body["config"], json!({"email": false, "sms": false}));

    // Bob re-reads, reapplies his change on top of Alice's, and wins this time.
    let etag = after.header("etag").unwrap().to_owned();
    assert_eq!(
        put_if_match(&rt, &etag, r#"{"email": false, "sms": true}"#).status,
        200
    );
    assert_eq!(
        rt.get(CONFIG).body["config"],
        json!({"email": false, "sms": true})
    );

    put_if_match(&rt, "yesterday", "{}").assert_problem(400, "CASCADE:Request:BadHeader");
}

#[test]
fn idempotent_retries_apply_once() {
    let rt = runtime_with_two_tenants();
    let auth = format!("Bearer {}", rt.admin_token);
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", "req-7f3a"),
    ];
    let first = rt.request_with(&headers, "PUT", CONFIG, Some(r#"{"email": true}"#));
    assert_eq!(first.status, 200);
    assert_eq!(first.body["seq"], 1);
    assert_eq!(first.header("idempotent-replayed"), None);

    let retry = rt.request_with(&headers, "PUT", CONFIG, Some(r#"{"email": true}"#));
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["seq"], 1);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));

    // The same key for a different request is refused, and applies nothing.
    let misuse = rt.request_with(&headers, "PUT", CONFIG, Some(r#"{"email": false}"#));
    misuse.assert_problem(422, "CASCADE:Idempotency:KeyReused");
    assert_eq!(rt.get(CONFIG).body["config"], json!({"email": true}));

    // The sequence did not move for the retry: the next change is seq 2.
    assert_eq!(rt.put_json(CONFIG, &json!({"email": false})).body["seq"], 2);
}

#[test]
fn writes_beyond_the_rate_limit_get_429_with_retry_after() {
    let rt = Runtime::start_with(
        State::fresh(),
        &[
            ("WRITE_RATE_PER_SEC", "0.2"),
            ("WRITE_BURST", "2"),
            // One caller may spend the whole budget here: this test is about the hub's.
            ("CALLER_WRITE_RATE_PER_SEC", "0.2"),
            ("CALLER_WRITE_BURST", "2"),
        ],
    );
    rt.create_tenant("acme");
    assert_eq!(rt.put_json(CONFIG, &json!({"n": 1})).status, 200);
    assert_eq!(rt.put_json(CONFIG, &json!({"n": 2})).status, 200);
    let limited = rt.put_json(CONFIG, &json!({"n": 3}));
    limited.assert_problem(429, "CASCADE:RateLimit:Writes");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(limited.body["retryAfter"], retry_after);
    // The refused write changed nothing; other tenants are not limited by acme's writes.
    assert_eq!(rt.get(CONFIG).body["config"], json!({"n": 2}));
    rt.create_tenant("globex");
    assert_eq!(
        rt.put_json("/v1/tenants/globex/config/notifications", &json!({"n": 1}))
            .status,
        200
    );
}

/// A user's own layer in acme.
const BOB_CONFIG: &str = "/v1/tenants/acme/users/bob/config/notifications";

#[test]
fn each_caller_has_its_own_write_budget_inside_the_tenants() {
    let rt = Runtime::start_with(
        State::fresh(),
        &[
            ("WRITE_RATE_PER_SEC", "0.2"),
            ("WRITE_BURST", "4"),
            ("CALLER_WRITE_RATE_PER_SEC", "0.1"),
            ("CALLER_WRITE_BURST", "2"),
        ],
    );
    rt.create_tenant("acme");
    let bob = token("user", Some("acme"), "bob");
    let carol = token("user", Some("acme"), "carol");
    let ann = token("tenant-admin", Some("acme"), "ann");
    let put = |who: &str, path: &str, n: u32| {
        rt.request_as(who, "PUT", path, Some(&json!({ "n": n }).to_string()))
    };

    // Bob floods his own layer: his budget runs out, not the tenant's.
    assert_eq!(put(&bob, BOB_CONFIG, 1).status, 200);
    assert_eq!(put(&bob, BOB_CONFIG, 2).status, 200);
    let flooded = put(&bob, BOB_CONFIG, 3);
    flooded.assert_problem(429, "CASCADE:RateLimit:Writes");
    let retry_after: u64 = flooded.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry_after), "Retry-After {retry_after}");
    assert!(
        flooded.body["detail"]
            .as_str()
            .unwrap()
            .contains("you sent"),
        "{flooded:?}"
    );
    assert_eq!(put(&bob, BOB_CONFIG, 4).status, 429);

    // The tenant admin's next write goes through: Bob's refused writes took nothing.
    assert_eq!(put(&ann, CONFIG, 1).status, 200);
    // Carol has her own budget too; with hers the tenant's is spent, for everyone.
    assert_eq!(
        put(
            &carol,
            "/v1/tenants/acme/users/carol/config/notifications",
            1
        )
        .status,
        200
    );
    let spent = put(&ann, CONFIG, 2);
    spent.assert_problem(429, "CASCADE:RateLimit:Writes");
    assert!(spent.header("retry-after").is_some());
    assert!(
        spent.body["detail"]
            .as_str()
            .unwrap()
            .contains("too many writes to 'acme'"),
        "{spent:?}"
    );
    // Nothing refused was applied.
    assert_eq!(rt.get(BOB_CONFIG).body["config"], json!({"n": 2}));
    assert_eq!(rt.get(CONFIG).body["config"], json!({"n": 1}));
}

#[test]
fn idempotency_keys_belong_to_their_caller() {
    let rt = runtime_with_two_tenants();
    let bob = format!("Bearer {}", token("user", Some("acme"), "bob"));
    let ann = format!("Bearer {}", token("tenant-admin", Some("acme"), "ann"));
    let with_key = |auth: &str, body: &str| {
        rt.request_with(
            &[("authorization", auth), ("idempotency-key", "save-1")],
            "PUT",
            BOB_CONFIG,
            Some(body),
        )
    };

    let first = with_key(&bob, r#"{"email": true}"#);
    assert_eq!(first.status, 200, "{first:?}");
    // Bob changes his mind (no key), then the admin sends Bob's key and body.
    assert_eq!(
        rt.request_with(
            &[("authorization", &bob)],
            "PUT",
            BOB_CONFIG,
            Some(r#"{"email": false}"#)
        )
        .status,
        200
    );
    let admin = with_key(&ann, r#"{"email": true}"#);
    assert_eq!(admin.status, 200, "{admin:?}");
    assert_eq!(admin.header("idempotent-replayed"), None, "{admin:?}");
    assert!(admin.body["seq"].as_u64() > first.body["seq"].as_u64());
    assert_eq!(rt.get(BOB_CONFIG).body["config"], json!({"email": true}));

    // Each caller's retry replays its own first answer.
    let admin_retry = with_key(&ann, r#"{"email": true}"#);
    assert_eq!(admin_retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(admin_retry.body["seq"], admin.body["seq"]);
    let bob_retry = with_key(&bob, r#"{"email": true}"#);
    assert_eq!(bob_retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(bob_retry.body["seq"], first.body["seq"]);

    // A key is the caller's whatever the endpoint: another user's same key is its own.
    let eve = format!("Bearer {}", token("user", Some("acme"), "eve"));
    let eve_write = rt.request_with(
        &[("authorization", &eve), ("idempotency-key", "save-1")],
        "PUT",
        "/v1/tenants/acme/users/eve/config/notifications",
        Some(r#"{"email": true}"#),
    );
    assert_eq!(eve_write.status, 200, "{eve_write:?}");
    assert_eq!(eve_write.header("idempotent-replayed"), None);
}

#[test]
fn tokens_in_the_url_are_accepted_on_connect_only() {
    let rt = runtime_with_two_tenants();
    let admin = rt.admin_token.clone();
    let by_query = rt.request_with(&[], "GET", &format!("{CONFIG}?access_token={admin}"), None);
    by_query.assert_problem(401, "CASCADE:Auth:Unauthenticated");
    assert!(
        by_query.body["detail"]
            .as_str()
            .unwrap()
            .contains("/v1/connect only"),
        "{by_query:?}"
    );
    // Even next to a valid header: a token in a URL is refused, not ignored.
    let auth = format!("Bearer {admin}");
    let both = rt.request_with(
        &[("authorization", &auth)],
        "GET",
        &format!("{CONFIG}?access_token={admin}"),
        None,
    );
    both.assert_problem(401, "CASCADE:Auth:Unauthenticated");
    let mut socket = rt
        .try_websocket(
            &[],
            &format!("/v1/connect?tenant=acme&access_token={admin}"),
        )
        .unwrap();
    assert_eq!(socket.greeting().0["type"], "hello");
}

#[test]
fn integers_beyond_two_to_the_53_are_refused() {
    let rt = runtime_with_two_tenants();
    let auth = format!("Bearer {}", rt.admin_token);
    let refused = rt.request_with(
        &[("authorization", &auth)],
        "PUT",
        CONFIG,
        Some(r#"{"limits": {"max": 9007199254740993}}"#),
    );
    refused.assert_problem(422, "CASCADE:Validation:InexactInteger");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("'/limits/max'"),
        "{refused:?}"
    );
    // The largest exact integer is kept as sent, and so is its negative.
    let exact = r#"{"limits": {"max": 9007199254740991, "min": -9007199254740991}}"#;
    assert_eq!(
        rt.request_with(&[("authorization", &auth)], "PUT", CONFIG, Some(exact))
            .status,
        200
    );
    let read = rt.get(CONFIG);
    assert_eq!(
        read.body["config"]["limits"]["max"],
        json!(9_007_199_254_740_991_u64)
    );
    assert_eq!(
        read.body["config"]["limits"]["min"],
        json!(-9_007_199_254_740_991_i64)
    );
    // Every JSON body: events too.
    let event = r#"{"kind": "notifications", "scope": "tenant", "tenantId": "acme", "action": "update", "config": {"n": -18446744073709551616}}"#;
    rt.request_with(
        &[("authorization", &auth)],
        "POST",
        "/v1/events",
        Some(event),
    )
    .assert_problem(422, "CASCADE:Validation:InexactInteger");
}

#[test]
fn patch_takes_merge_patches_and_json_patches_and_refuses_anything_else() {
    let rt = runtime_with_two_tenants();
    rt.put_json(
        CONFIG,
        &json!({"email": {"enabled": true, "from": "a@acme"}, "sms": {"provider": "twilio"}}),
    );
    let auth = format!("Bearer {}", rt.admin_token);
    let patch = |media: &str, body: &str| {
        rt.request_with(
            &[("authorization", &auth), ("content-type", media)],
            "PATCH",
            CONFIG,
            Some(body),
        )
    };

    let merged = patch(
        "application/merge-patch+json",
        r#"{"email": {"from": "b@acme"}, "sms": null}"#,
    );
    assert_eq!(merged.status, 200, "{merged:?}");
    assert_eq!(
        rt.get(CONFIG).body["config"],
        json!({"email": {"enabled": true, "from": "b@acme"}})
    );

    let ops = r#"[{"op": "test", "path": "/email/enabled", "value": true}, {"op": "add", "path": "/push", "value": {"enabled": false}}]"#;
    assert_eq!(patch("application/json-patch+json", ops).status, 200);
    assert_eq!(
        rt.get(CONFIG).body["config"],
        json!({"email": {"enabled": true, "from": "b@acme"}, "push": {"enabled": false}})
    );

    // A failed `test` applies nothing; so does a body of the wrong media type.
    let failing = r#"[{"op": "remove", "path": "/push"}, {"op": "test", "path": "/email/enabled", "value": false}]"#;
    patch("application/json-patch+json", failing).assert_problem(422, "CASCADE:Patch:Failed");
    patch("application/json", "{}").assert_problem(415, "CASCADE:Request:UnsupportedMediaType");
    assert!(rt.get(CONFIG).body["config"].get("push").is_some());

    // A retried JSON Patch replays its first answer, though it would no longer apply.
    let remove = r#"[{"op": "remove", "path": "/push"}]"#;
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json-patch+json"),
        ("idempotency-key", "remove-push-1"),
    ];
    let first = rt.request_with(&headers, "PATCH", CONFIG, Some(remove));
    let retry = rt.request_with(&headers, "PATCH", CONFIG, Some(remove));
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(
        (retry.status, retry.header("idempotent-replayed")),
        (200, Some("true")),
        "{retry:?}"
    );
    assert_eq!(retry.body["seq"], first.body["seq"]);
}

#[test]
fn history_filters_by_namespace_scope_and_outcome_and_pages_by_seq() {
    let rt = runtime_with_two_tenants();
    for n in 0..3 {
        rt.put_json(CONFIG, &json!({"n": n}));
        rt.put_json("/v1/tenants/acme/config/mfa", &json!({"n": n}));
    }
    rt.put_json(
        "/v1/tenants/acme/users/ulla/config/mfa",
        &json!({"methods": ["totp"]}),
    );
    let all = support::eventually(std::time::Duration::from_secs(15), || {
        let h = rt.get("/v1/tenants/acme/history?limit=100");
        (h.body["entries"].as_array().map_or(0, Vec::len) == 7).then_some(h)
    });
    assert_eq!(all.body["nextBefore"], serde_json::Value::Null);

    let mfa = rt.get("/v1/tenants/acme/history?namespace=mfa");
    assert_eq!(mfa.body["entries"].as_array().map(Vec::len), Some(4));
    let users = rt.get("/v1/tenants/acme/history?scope=user");
    assert_eq!(users.body["entries"][0]["targetId"], "ulla");
    assert_eq!(users.body["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        rt.get("/v1/tenants/acme/history?outcome=conflict").body["entries"],
        json!([])
    );

    // Pages of 3, newest first, following nextBefore, cover everything once.
    let mut seen = Vec::new();
    let mut path = "/v1/tenants/acme/history?limit=3".to_owned();
    loop {
        let page = rt.get(&path);
        seen.extend(
            page.body["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap()),
        );
        match page.body["nextBefore"].as_u64() {
            Some(before) => path = format!("/v1/tenants/acme/history?limit=3&before={before}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=7).rev().collect::<Vec<u64>>());
    rt.get("/v1/tenants/acme/history?limt=3")
        .assert_problem(400, "CASCADE:Request:BadQuery");
}

#[test]
fn the_dashboard_is_served_with_security_headers() {
    let rt = Runtime::start();
    for path in ["/", "/assets/missing.js", "/tenants/acme"] {
        let page = rt.request_with(&[], "GET", path, None);
        assert_eq!(page.status, 200, "{path}: {page:?}");
        let csp = page.header("content-security-policy").unwrap_or_default();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: CSP {csp:?} lacks {directive}"
            );
        }
        assert_eq!(
            page.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
    }
}
