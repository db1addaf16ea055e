//! End-to-end: the cron health check on the real runtime. One tenant lags the platform (it is
//! healed and the healing recorded), another really fails (D1 refuses its history, so its
//! hub's flush fails), old history is pruned, the webhook receives one alert per incident —
//! retried when the receiver first answers 500 — and a recovery notice once the tenant heals,
//! and a platform admin's socket receives `sync-status` after each run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};
use support::{eventually, token, Runtime, Socket, State};

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    idempotency_key: Option<String>,
    body: Value,
    answered: u16,
}

/// A tiny HTTP receiver on 127.0.0.1: records every POST and answers 200, or 500 to the very
/// first one when asked (to prove the retry). Stopped when dropped.
struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// A receiver on a free port that answers 500 to its first request.
    fn start() -> Self {
        Self::start_on(0, true)
    }

    /// A receiver on `port` (0: a free one); `fail_first` makes it answer 500 to its first
    /// request.
    fn start_on(port: u16, fail_first: bool) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &log, fail_first),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(_) => break,
                }
            }
        });
        Self {
            port,
            received,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Notices of `kind` for `tenant` that the receiver accepted.
    fn accepted(&self, tenant: &str, kind: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answered == 200 && r.body["tenant"] == tenant && r.body["kind"] == kind)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Received>>, fail_first: bool) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut length, mut key) = (0usize, None);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "idempotency-key" => key = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut entries = log.lock().unwrap();
    let answered = if fail_first && entries.is_empty() {
        500
    } else {
        200
    };
    entries.push(Received {
        idempotency_key: key,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered,
    });
    drop(entries);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {answered} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
}

/// Runs the cron handler and returns the snapshot it stored.
fn run_check(rt: &Runtime) -> Value {
    rt.run_health_check()
}

fn line(snapshot: &Value, tenant: &str) -> Value {
    snapshot["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == tenant)
        .unwrap_or_else(|| panic!("{tenant} not in {snapshot}"))
        .clone()
}

fn history_len(rt: &Runtime, tenant: &str) -> usize {
    rt.get(&format!("/v1/tenants/{tenant}/history")).body["entries"]
        .as_array()
        .map_or(0, Vec::len)
}

/// The next `sync-status` frame on a platform admin's socket.
/// The next platform-scoped `sync-status` (a health check's), skipping the tenant-scoped ones
/// a tenant's hub sends the room when that tenant's status changes.
fn next_sync_status(socket: &mut Socket) -> Value {
    loop {
        let frame = socket.next_any();
        if frame["type"] == "sync-status" && frame["scope"] == "platform" {
            return frame;
        }
    }
}

#[test]
fn the_cron_check_heals_reports_alerts_once_recovers_and_prunes() {
    let state = State::fresh();
    let receiver = Receiver::start();
    let url = receiver.url();
    let rt = Runtime::start_with(
        state.clone(),
        &[
            ("ALERT_WEBHOOK_URL", url.as_str()),
            ("ALERT_PENDING_MINUTES", "60"),
            ("HISTORY_RETENTION_DAYS", "30"),
        ],
    );
    let rule = json!({"triggerEvents": ["auth.*"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
    assert_eq!(rt.put_json("/v1/rules/auth-down", &rule).status, 201);
    rt.create_tenant("steady");
    rt.create_tenant("doomed");
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "okta"}}),
    );
    for tenant in ["steady", "doomed"] {
        eventually(Duration::from_secs(20), || {
            let doc = rt.get(&format!("/v1/tenants/{tenant}/effective/auth"));
            (doc.body["config"]["sso"]["provider"] == "okta").then_some(())
        });
    }
    let first_write = rt.put_json(
        "/v1/tenants/doomed/config/business",
        &json!({"hours": "8-16"}),
    );
    assert_eq!(first_write.status, 200, "{first_write:?}");
    let recorded = eventually(Duration::from_secs(20), || {
        let n = history_len(&rt, "doomed");
        (n >= 2).then_some(n)
    });

    // A platform admin without a tenant joins the platform room; others keep their tenant.
    let mut admins = rt.websocket("/v1/connect");
    let hello = admins.next_json();
    assert_eq!(
        (&hello["type"], &hello["tenant"], &hello["resume"]),
        (&json!("hello"), &json!("platform"), &json!("none")),
        "{hello}"
    );
    assert_eq!(admins.next_json()["type"], "synced");
    let steady_admin = token("tenant-admin", Some("steady"), "sam");
    let mut own = rt.websocket_as(&steady_admin, "/v1/connect");
    assert_eq!(own.next_json()["tenant"], "steady");

    // "late" is registered behind the API's back, so it lags the platform. "doomed" really
    // fails: D1 refuses its history rows, so its hub's flush fails (and keeps retrying).
    // Three history rows older than the retention wait to be pruned.
    state.execute_sql(
        "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
         VALUES ('late', 'Late', '{}', '[]', 0, 0);\n\
         CREATE TRIGGER refuse_doomed BEFORE INSERT ON sync_events WHEN NEW.hub = 'doomed' \
         BEGIN SELECT RAISE(ABORT, 'disk full (test trigger)'); END;\n\
         INSERT INTO sync_events (hub, tenant_id, seq, event_type, action, scope, outcome, \
         triggered_by, created_at) VALUES ('ghost', 'ghost', 1, 'auth', 'update', 'tenant', \
         'applied', 'old', 1000), ('ghost', 'ghost', 2, 'auth', 'update', 'tenant', 'applied', \
         'old', 2000), ('ghost', 'ghost', 3, 'auth', 'update', 'tenant', 'applied', 'old', 3000);",
    );
    let write = rt.put_json(
        "/v1/tenants/doomed/config/business",
        &json!({"hours": "9-17"}),
    );
    assert_eq!(write.status, 200, "{write:?}");

    // Until the hub has met the refusal the tenant is merely pending; run until it is failed.
    let mut runs = Vec::new();
    let first = eventually(Duration::from_secs(60), || {
        let snapshot = run_check(&rt);
        runs.push(snapshot.clone());
        (line(&snapshot, "doomed")["state"] == "failed").then_some(snapshot)
    });
    let pruned: u64 = runs
        .iter()
        .map(|s| s["pruned"]["historyRows"].as_u64().unwrap_or(0))
        .sum();
    let doomed = line(&first, "doomed");
    assert!(
        doomed["error"]
            .as_str()
            .is_some_and(|e| e.contains("disk full")),
        "{doomed}"
    );
    // A short message on one line: never the JavaScript stack of the D1 error.
    let error = doomed["error"].as_str().unwrap_or_default();
    assert!(
        !error.contains('\n') && error.chars().count() <= 200,
        "{error:?}"
    );
    assert_eq!(pruned, 3, "old rows pruned, once");
    assert_eq!(first["pruned"]["retentionDays"], 30);
    assert!(history_len(&rt, "steady") >= 1, "recent history is kept");

    // The lagging tenant was healed by the first run, and the healing is in its history.
    let late = line(&runs[0], "late");
    assert_eq!(late["state"], "pending", "{late}");
    assert_eq!(late["resynced"], 1, "{late}");
    let late_doc = rt.get("/v1/tenants/late/effective/auth");
    assert_eq!(
        late_doc.body["config"],
        json!({"sso": {"provider": "okta"}})
    );
    eventually(Duration::from_secs(15), || {
        let h = rt.get("/v1/tenants/late/history").body;
        (h["entries"][0]["scope"] == "platform").then_some(())
    });

    // The per-tenant view serves the same snapshot line.
    let view = rt.get("/v1/tenants/doomed/status");
    assert_eq!(view.status, 200, "{view:?}");
    assert_eq!(view.body["state"], "failed");
    assert_eq!(view.body["takenAt"], first["takenAt"]);
    let other = rt.request_as(&steady_admin, "GET", "/v1/tenants/doomed/status", None);
    other.assert_problem(403, "CASCADE:Auth:Forbidden");

    // One alert, delivered on the second attempt (the receiver answered 500 first), with the
    // incident's id as idempotency key.
    let alert = eventually(Duration::from_secs(10), || {
        receiver.accepted("doomed", "tenant-failed").pop()
    });
    let all = receiver.received();
    assert_eq!(all[0].answered, 500);
    assert_eq!(
        all[0].body["id"], alert.body["id"],
        "the retry is the same notice"
    );
    let id = alert.body["id"].as_str().unwrap().to_owned();
    assert_eq!(alert.idempotency_key.as_deref(), Some(id.as_str()));
    assert_eq!(alert.body["state"], "failed");
    assert_eq!(alert.body["checkedAt"], first["takenAt"]);
    assert!(alert.body["since"].is_u64() && alert.body["detail"].is_string());
    assert!(
        receiver.accepted("late", "tenant-pending").is_empty(),
        "pending below the threshold raises nothing"
    );

    // The platform admins heard about the run.
    let status = eventually(Duration::from_secs(10), || {
        let frame = next_sync_status(&mut admins);
        (frame["changed"]["doomed"] == "failed").then_some(frame)
    });
    assert_eq!(status["scope"], "platform", "{status}");
    assert_eq!(status["checkedAt"], first["takenAt"]);
    assert!(status["tenantsByStatus"]["failed"].as_u64() >= Some(1));
    assert!(status["healthPercent"].is_number());

    // A second run while doomed still fails: no second alert.
    let second = run_check(&rt);
    assert_eq!(line(&second, "doomed")["state"], "failed");
    assert_eq!(line(&second, "late")["state"], "success", "healed");
    assert_eq!(receiver.accepted("doomed", "tenant-failed").len(), 1);
    let frame = next_sync_status(&mut admins);
    assert_eq!(frame["checkedAt"], second["takenAt"]);
    assert_eq!(
        frame["changed"].get("doomed"),
        None,
        "unchanged since the last run"
    );
    // Asked for it, the hub repeats the latest status (it keeps it across hibernation).
    admins.send_text(r#"{"type":"status"}"#);
    let again = next_sync_status(&mut admins);
    assert_eq!(
        (&again["type"], &again["checkedAt"]),
        (&json!("sync-status"), &second["takenAt"])
    );

    // D1 accepts doomed's history again: the hub's retry flushes it, the check sees it
    // healthy, and the webhook gets the recovery notice.
    state.execute_sql("DROP TRIGGER refuse_doomed;");
    eventually(Duration::from_secs(30), || {
        (history_len(&rt, "doomed") > recorded).then_some(())
    });
    let third = run_check(&rt);
    assert_eq!(line(&third, "doomed")["state"], "success", "{third}");
    let recovery = eventually(Duration::from_secs(10), || {
        receiver.accepted("doomed", "tenant-recovered").pop()
    });
    assert_eq!(recovery.body["id"], format!("{id}:recovered"));
    assert_eq!(recovery.body["incident"], id.as_str());
    assert_eq!(recovery.body["state"], "success");
    assert_eq!(recovery.body["resolvedAt"], third["takenAt"]);

    // Nothing more is owed.
    let fourth = run_check(&rt);
    assert_eq!(fourth["alerts"]["undelivered"], 0, "{fourth}");
    let doomed_notices = receiver
        .received()
        .iter()
        .filter(|r| r.body["tenant"] == "doomed" && r.answered == 200)
        .count();
    assert_eq!(doomed_notices, 2, "one alert and one recovery");
}

#[test]
fn an_unreachable_webhook_never_stops_the_check_and_is_retried_by_the_next_run() {
    let state = State::fresh();
    // Nobody listens on this port yet: every attempt of the first run fails.
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let rt = Runtime::start_with(
        state.clone(),
        &[
            ("ALERT_WEBHOOK_URL", url.as_str()),
            ("ALERT_PENDING_MINUTES", "0"),
        ],
    );
    let rule = json!({"triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
    assert_eq!(rt.put_json("/v1/rules/auth-down", &rule).status, 201);
    rt.create_tenant("acme");
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "okta"}}),
    );
    eventually(Duration::from_secs(20), || {
        let doc = rt.get("/v1/tenants/acme/effective/auth");
        (doc.body["config"]["sso"]["provider"] == "okta").then_some(())
    });
    state.execute_sql(
        "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
         VALUES ('late', 'Late', '{}', '[]', 0, 0);",
    );

    // "late" lags: pending, and with a threshold of 0 that is an incident at once. The
    // webhook is down, yet the check completes and stores its snapshot.
    let first = run_check(&rt);
    assert_eq!(line(&first, "late")["state"], "pending", "{first}");
    assert_eq!(line(&first, "acme")["state"], "success", "{first}");
    assert_eq!(first["alerts"]["opened"], 1, "{first}");
    assert_eq!(first["alerts"]["delivered"], 0, "{first}");
    assert_eq!(first["alerts"]["undelivered"], 1, "{first}");
    assert!(first["alerts"].get("error").is_none(), "{first}");

    // The receiver comes up; the next run delivers the owed alert, then (late was healed by
    // the first run) the recovery notice.
    let receiver = Receiver::start_on(port, false);
    eventually(Duration::from_secs(20), || {
        (history_len(&rt, "late") >= 1).then_some(())
    });
    let second = run_check(&rt);
    assert_eq!(line(&second, "late")["state"], "success", "{second}");
    assert_eq!(second["alerts"]["delivered"], 2, "{second}");
    let got = receiver.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].body["kind"], "tenant-pending");
    assert_eq!(got[0].body["openedAt"], first["takenAt"]);
    assert_eq!(got[0].body["checkedAt"], second["takenAt"]);
    assert_eq!(got[1].body["kind"], "tenant-recovered");
    assert_eq!(
        got[1].idempotency_key.as_deref(),
        Some(format!("{}:recovered", got[0].body["id"].as_str().unwrap()).as_str())
    );
}

#[test]
fn a_check_over_several_pages_classifies_and_heals_every_tenant() {
    // Three tenants per alarm run: eleven tenants take four pages, then the finishing step.
    let state = State::fresh();
    let mut sql = String::new();
    for i in 0..10 {
        sql.push_str(&format!(
            "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
             VALUES ('p{i:02}', 'P{i}', '{{}}', '[]', 0, 0);\n"
        ));
    }
    state.execute_sql(&sql);
    let rt = Runtime::start_with(state.clone(), &[("HEALTH_TENANTS_PER_RUN", "3")]);
    let rule = json!({"triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
    assert_eq!(rt.put_json("/v1/rules/auth-down", &rule).status, 201);
    rt.put_json(
        "/v1/platform/config/auth",
        &json!({"sso": {"provider": "okta"}}),
    );
    eventually(Duration::from_secs(30), || {
        let doc = rt.get("/v1/tenants/p09/effective/auth");
        (doc.body["config"]["sso"]["provider"] == "okta").then_some(())
    });
    // Registered behind the API's back after the fan-out: it lags until the check heals it.
    state.execute_sql(
        "INSERT INTO tenants (id, name, attributes, opt_outs, created_at, updated_at) \
         VALUES ('p05a', 'Late', '{}', '[]', 0, 0);",
    );
    // Let the hubs' history reach D1, so no tenant is pending for that reason.
    eventually(Duration::from_secs(30), || {
        (history_len(&rt, "p09") >= 1).then_some(())
    });

    let first = run_check(&rt);
    let tenants = first["tenants"].as_array().unwrap();
    let ids: Vec<&str> = tenants
        .iter()
        .map(|l| l["tenant"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = (0..10).map(|i| format!("p{i:02}")).collect();
    expected.insert(6, "p05a".into());
    assert_eq!(ids, expected, "every tenant once, in id order: {first}");
    let late = line(&first, "p05a");
    assert_eq!(
        (&late["state"], &late["resynced"]),
        (&json!("pending"), &json!(1)),
        "{late}"
    );
    let counts = &first["counts"];
    let total: u64 = ["success", "partial", "pending", "failed"]
        .iter()
        .map(|k| counts[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, 11, "{counts}");
    assert_eq!(first["platformSeq"], 1);
    for line in tenants.iter().filter(|l| l["tenant"] != "p05a") {
        assert_eq!(line["hub"]["platformSeq"], 1, "{line}");
    }
    // The per-tenant view reads its line from the same check.
    let view = rt.get("/v1/tenants/p05a/status");
    assert_eq!(
        (&view.body["state"], &view.body["takenAt"]),
        (&json!("pending"), &first["takenAt"]),
        "{view:?}"
    );

    // Healed by the first check, the late tenant is in sync at the second.
    eventually(Duration::from_secs(30), || {
        (history_len(&rt, "p05a") >= 1).then_some(())
    });
    let second = run_check(&rt);
    assert_eq!(second["counts"]["success"], 11, "{second}");
    assert_eq!(second["tenants"].as_array().unwrap().len(), 11);
}
