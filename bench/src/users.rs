//! `cascade-bench users`: what one tenant's write and read cost as its users' personal
//! layers grow, in one run (one runtime, the users added between measurements).
//!
//! Every user holds a ~150-byte layer in namespace `prefs` (theme, density, locale,
//! notification digest, MFA method); every hundredth user also overrides `/banner/text`. At
//! each size it measures, with one kept-alive client:
//! - a user's own write (a merge patch on the user's layer);
//! - a tenant write that no user's layer touches (`/features/...`);
//! - a tenant write on `/banner`, which 1% of the users override (each of them gets their
//!   own patch; every other user shares the tenant's);
//! - a user's effective-config read;
//! - the tenant hub's SQLite file size on disk, and every non-2xx answer as an error.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::runtime::{Runtime, Writer};
use crate::stats::{ms, Summary};
use crate::Result;

/// Users added per `POST /v1/events` batch (the batch limit).
const BATCH: usize = 100;
/// Timed operations per measurement.
const SAMPLES: usize = 100;
/// One in this many users overrides `/banner/text`.
const BANNER_EVERY: usize = 100;
const TENANT: &str = "t0000";

fn user_layer(i: usize) -> Value {
    let mut layer = json!({
        "ui": {"theme": if i.is_multiple_of(2) { "dark" } else { "light" }, "density": i % 3, "locale": "en-GB"},
        "notify": {"digest": "weekly"},
        "mfa": {"method": "totp"}
    });
    if i.is_multiple_of(BANNER_EVERY) {
        layer["banner"] = json!({"text": format!("mine-{i}")});
    }
    layer
}

/// Adds users `from..to`, in batches; returns how many batches were refused.
fn grow(writer: &Writer, from: usize, to: usize) -> Result<usize> {
    let mut errors = 0;
    for start in (from..to).step_by(BATCH) {
        let batch: Vec<Value> = (start..(start + BATCH).min(to))
            .map(|i| {
                json!({"type": "prefs", "action": "update", "scope": "user", "targetId": format!("u{i}"),
                       "tenantId": TENANT, "config": user_layer(i), "triggeredBy": "bench"})
            })
            .collect();
        let (status, body) = writer.post("/v1/events", &Value::Array(batch))?;
        if status != 200 {
            errors += 1;
            eprintln!("growing at {start}: {status} {body}");
        }
    }
    Ok(errors)
}

/// Times `SAMPLES` calls of `op`; counts non-2xx answers.
fn timed(mut op: impl FnMut(usize) -> Result<u16>) -> Result<(Summary, usize)> {
    let mut latencies = Vec::with_capacity(SAMPLES);
    let mut errors = 0;
    for i in 0..SAMPLES {
        let t = Instant::now();
        let status = op(i)?;
        latencies.push(t.elapsed());
        if !(200..300).contains(&status) {
            errors += 1;
        }
    }
    Ok((Summary::of(&latencies), errors))
}

/// Bytes of the largest SQLite file under `dir` (the tenant hub's: the only object with a
/// namespace of 100,000 users).
fn largest_sqlite(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(std::result::Result::ok)
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                largest_sqlite(&path)
            } else if path.extension().is_some_and(|x| x == "sqlite") {
                e.metadata().map_or(0, |m| m.len())
            } else {
                0
            }
        })
        .max()
        .unwrap_or(0)
}

/// Runs the benchmark at each user count (ascending) and prints one Markdown table.
pub async fn users(counts: &[usize]) -> Result<()> {
    let mut counts = counts.to_vec();
    counts.sort_unstable();
    let rt = Runtime::start(1)?;
    let writer = Writer::new(&rt.url);
    let (status, body) = writer.put(
        "/v1/rules/prefs",
        &json!({"triggerEvents": ["prefs.*"], "targetScopes": ["tenant", "user"],
                "syncDirection": "down", "conflictResolution": "user-wins", "autoApply": true}),
    )?;
    if !(200..300).contains(&status) {
        return Err(format!("installing the prefs rule: {status} {body}"));
    }
    println!("\n### One tenant's users (personal layers in `prefs`, ~150 B each; 1% override `/banner/text`)\n");
    println!("| users | user write p50 (ms) | tenant write, no user's paths, p50 (ms) | tenant write, 1% of users' paths, p50 (ms) | user read p50 (ms) | hub SQLite (MB) | errors |");
    println!("|---|---|---|---|---|---|---|");
    let mut have = 0;
    for (round, n) in counts.into_iter().enumerate() {
        let mut errors = grow(&writer, have, n)?;
        have = have.max(n);
        // Settle: let the last batch's outbox flush before timing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let user = |i: usize| format!("u{}", if have == 0 { i } else { (i * 7919) % have });
        let (user_write, e) = timed(|i| {
            let path = format!("/v1/tenants/{TENANT}/users/{}/config/prefs", user(i));
            writer
                .merge_patch(&path, &json!({"ui": {"density": (i + round) % 3 + 10}}))
                .map(|(s, _)| s)
        })?;
        errors += e;
        let tenant_path = format!("/v1/tenants/{TENANT}/config/prefs");
        let (tenant_write, e) = timed(|i| {
            writer
                .merge_patch(
                    &tenant_path,
                    &json!({"features": {"rollout": i + round * SAMPLES}}),
                )
                .map(|(s, _)| s)
        })?;
        errors += e;
        let (banner_write, e) = timed(|i| {
            writer
                .merge_patch(
                    &tenant_path,
                    &json!({"banner": {"text": format!("notice {i} {round}")}}),
                )
                .map(|(s, _)| s)
        })?;
        errors += e;
        let (read, e) = timed(|i| {
            writer.get(&format!(
                "/v1/tenants/{TENANT}/users/{}/effective/prefs",
                user(i)
            ))
        })?;
        errors += e;
        let bytes = largest_sqlite(rt.state_path());
        println!(
            "| {n} | {} | {} | {} | {} | {:.1} | {errors} |",
            ms(user_write.p50),
            ms(tenant_write.p50),
            ms(banner_write.p50),
            ms(read.p50),
            bytes as f64 / 1_048_576.0
        );
    }
    Ok(())
}
