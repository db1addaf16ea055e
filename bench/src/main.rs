//! `cascade-bench`: Cascade's benchmarks on the real runtime (workerd through Miniflare, see
//! `scripts/serve.mjs`), driven by the Rust client from this separate process.
//!
//! ```text
//! cascade-bench fanout   [--clients 1000,5000,10000] [--rounds 20]
//!                        [--servers floor,bare-hub,socketio,cascade] [--admins 50]
//! cascade-bench platform [--tenants 100,1000,10000] [--rounds 5]
//! cascade-bench writes   [--writes 500]
//! cascade-bench users    [--users 0,1000,10000,100000]
//! cascade-bench all      (everything above, with the defaults)
//! ```
//!
//! `--admins` is the share of Cascade's fan-out clients, in percent, that are tenant admins
//! (default 50); the rest are users. Admins also get a `sync-status` frame after every
//! commit, so `--admins 0` has Cascade send one frame per client per round, as the other
//! servers do.
//!
//! `CASCADE_BENCH_CPU_DETAIL=1` prints each server process's CPU time per fan-out round to
//! stderr.
//!
//! `CASCADE_BENCH_VARS="NAME=VALUE ..."` passes extra variables to the Worker under test (for
//! experiments such as `DELIVERY_SOCKETS_PER_TURN=500`).
//!
//! Results are printed as Markdown tables (for `docs/BENCHMARKS.md`). `scripts/bench` runs
//! `all`.

mod cpu;
mod fleet;
mod floor;
mod runtime;
mod socketio;
mod stats;
mod users;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cascade_client::Options;
use futures::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use cpu::Meter;
use fleet::{Fleet, Probe};
use runtime::{Runtime, Writer};
use stats::{ms, Summary};

type Result<T> = std::result::Result<T, String>;

/// Handshakes in flight at once while a fleet connects.
const PARALLEL_CONNECTS: usize = 64;
/// How long every client may take to see one change.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);
/// Rest between rounds.
const PAUSE: Duration = Duration::from_millis(250);
/// Rounds run before the measured ones, and left out of every figure: a fresh server's first
/// rounds cost it several times what later ones do (V8 compiling the Worker's hot paths to
/// optimised code, the hub's first socket sweep after it wakes), measured up to 6× the
/// steady CPU per round with 2 clients.
const WARMUP: u64 = 3;
/// How long after the last client saw a round its server's CPU is read again, to catch the
/// work that trails the delivery (part of [`PAUSE`]).
const SETTLE: Duration = Duration::from_millis(100);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cascade-bench: {e}");
            std::process::exit(2);
        }
    };
    let result = runtime.block_on(run(&args));
    if let Err(e) = result {
        eprintln!("cascade-bench: {e}");
        std::process::exit(1);
    }
}

fn list(args: &[String], flag: &str, default: &[usize]) -> Result<Vec<usize>> {
    match args.iter().position(|a| a == flag) {
        None => Ok(default.to_vec()),
        Some(i) => args
            .get(i + 1)
            .ok_or(format!("{flag} needs a value"))?
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .map_err(|_| format!("{flag}: bad number {n:?}"))
            })
            .collect(),
    }
}

fn one(args: &[String], flag: &str, default: usize) -> Result<usize> {
    Ok(list(args, flag, &[default])?
        .first()
        .copied()
        .unwrap_or(default))
}

async fn run(args: &[String]) -> Result<()> {
    let command = args.first().map_or("all", String::as_str);
    match command {
        "floor-server" => floor::serve().await,
        "fanout" => {
            fanout(
                &list(args, "--clients", &[1000, 5000, 10000])?,
                one(args, "--rounds", 20)?,
                &servers(args)?,
                one(args, "--admins", 50)?,
            )
            .await
        }
        "platform" => {
            platform(
                &list(args, "--tenants", &[100, 1000, 10000])?,
                one(args, "--rounds", 5)?,
            )
            .await
        }
        "writes" => writes(one(args, "--writes", 500)?).await,
        "users" => users::users(&list(args, "--users", &[0, 1000, 10000, 100_000])?).await,
        "all" => {
            writes(500).await?;
            fanout(&[1000, 5000, 10000], 20, &servers(args)?, 50).await?;
            platform(&[100, 1000, 10000], 5).await?;
            users::users(&[0, 1000, 10000, 100_000]).await
        }
        other => Err(format!(
            "unknown command {other:?} (fanout, platform, writes, users, all)"
        )),
    }
}

/// The servers `--servers a,b` names (default: all of [`SERVERS`]).
fn servers(args: &[String]) -> Result<Vec<String>> {
    let Some(i) = args.iter().position(|a| a == "--servers") else {
        return Ok(SERVERS.iter().map(|s| (*s).to_owned()).collect());
    };
    let names: Vec<String> = args
        .get(i + 1)
        .ok_or("--servers needs a value")?
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    match names.iter().find(|n| !SERVERS.contains(&n.as_str())) {
        Some(bad) => Err(format!(
            "--servers: unknown server {bad:?} (one of {SERVERS:?})"
        )),
        None => Ok(names),
    }
}

/// Options for a benchmark client: no heartbeat (rounds are short), generous timeout.
fn client_options(url: &str, token: String, tenant: &str, namespace: &str) -> Options {
    Options::new(url, token, tenant)
        .with_heartbeat(None)
        .with_connect_timeout(Duration::from_secs(60))
        .with_namespaces([namespace])
}

/// The servers the fan-out benchmark can compare, in the order they run.
const SERVERS: [&str; 4] = ["floor", "bare-hub", "socketio", "cascade"];

/// One server's fan-out figures over all rounds.
struct FanoutResult {
    /// Time from the change leaving the writer to the last client applying it, per round.
    all: Summary,
    /// Every client's latency, all rounds together.
    per: Summary,
    /// The writer's acknowledgement, where the server sends one apart from the fan-out.
    ack: Option<Summary>,
    /// Resident memory of the server's processes with every client connected, in bytes.
    rss: u64,
    /// The server's CPU time per round, from just before the write to [`SETTLE`] after the
    /// last client applied it.
    cpu: Vec<Duration>,
    /// Of that, what it used after the last client applied the round, per round.
    trailing: Vec<Duration>,
    /// Frames the clients were handed in each round, counted by the fleet: one change frame
    /// per client, plus, for Cascade, a `sync-status` frame per tenant admin.
    frames: Vec<u64>,
    /// Clients connected.
    clients: usize,
}

impl FanoutResult {
    /// Mean CPU per delivered frame over all rounds, in microseconds: total CPU over every
    /// frame the clients were handed (the per-round figures are in clock ticks of 10 ms, so
    /// the total is the figure least touched by rounding).
    fn cpu_per_frame_us(&self) -> f64 {
        let frames: u64 = self.frames.iter().sum();
        self.cpu_total().as_secs_f64() * 1e6 / frames.max(1) as f64
    }

    /// Mean CPU per client per round, in microseconds: what it cost to bring one client one
    /// change, whatever else the server sent it.
    fn cpu_per_client_us(&self) -> f64 {
        let deliveries = (self.clients * self.cpu.len()).max(1) as f64;
        self.cpu_total().as_secs_f64() * 1e6 / deliveries
    }

    /// Mean frames handed to the clients per round.
    fn frames_per_round(&self) -> f64 {
        self.frames.iter().sum::<u64>() as f64 / self.frames.len().max(1) as f64
    }

    fn cpu_total(&self) -> Duration {
        self.cpu.iter().sum()
    }
}

/// Fan-out inside one tenant for each client count: the tokio floor, the two reference
/// servers (a bare per-socket-conversion hub on the same runtime, the seed's Socket.IO
/// design on Node) and Cascade's full path, in the same run; ratios to the floor.
async fn fanout(
    counts: &[usize],
    rounds: usize,
    servers: &[String],
    admins_percent: usize,
) -> Result<()> {
    println!("\n### Fan-out in one tenant ({rounds} rounds each after {WARMUP} unmeasured; time from the write to the last client applying it)\n");
    println!("| clients | server | time-to-all p50 (ms) | p99 (ms) | max (ms) | per-client p50 (ms) | per-client p99 (ms) | write ack p50 (ms) | server RSS (MiB) | p50 × floor |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut cpu_rows = Vec::new();
    for &n in counts {
        let mut floor_p50 = None;
        let mut bare = None;
        for server in SERVERS.iter().filter(|s| servers.iter().any(|x| x == *s)) {
            let (label, result) = match *server {
                "floor" => ("tokio floor", floor_fanout(n, rounds).await?),
                "bare-hub" => ("bare hub (workerd)", bare_hub_fanout(n, rounds).await?),
                "socketio" => ("Socket.IO (Node)", socketio_fanout(n, rounds).await?),
                _ => ("Cascade", cascade_fanout(n, rounds, admins_percent).await?),
            };
            if *server == "floor" {
                floor_p50 = Some(result.all.p50);
            }
            let ratio = floor_p50.map_or("–".to_owned(), |f| {
                format!(
                    "{:.2}×",
                    result.all.p50.as_secs_f64() / f.as_secs_f64().max(1e-9)
                )
            });
            println!(
                "| {n} | {label} | {} | {} | {} | {} | {} | {} | {:.0} | {ratio} |",
                ms(result.all.p50),
                ms(result.all.p99),
                ms(result.all.max),
                ms(result.per.p50),
                ms(result.per.p99),
                result.ack.map_or("–".to_owned(), |a| ms(a.p50)),
                result.rss as f64 / 1_048_576.0
            );
            let (per_frame, per_client) = (result.cpu_per_frame_us(), result.cpu_per_client_us());
            if *server == "bare-hub" {
                bare = Some((per_frame, per_client));
            }
            let cpu = Summary::of(&result.cpu);
            let ratio = |ours: f64, theirs: Option<f64>| {
                theirs.map_or("–".to_owned(), |b| format!("{:.2}×", ours / b.max(1e-9)))
            };
            cpu_rows.push(format!(
                "| {n} | {label} | {} | {} | {} | {:.0} | {per_frame:.1} | {} | {per_client:.1} | {} |",
                ms(cpu.p50),
                ms(cpu.p95),
                ms(Summary::of(&result.trailing).p50),
                result.frames_per_round(),
                ratio(per_frame, bare.map(|b| b.0)),
                ratio(per_client, bare.map(|b| b.1)),
            ));
        }
    }
    println!(
        "\n### Server CPU per round ({rounds} rounds each; user + system time of the server's \
         processes from /proc, {} clock ticks per second; from just before the write to {} ms \
         after the last client applied it)\n",
        cpu::ticks_per_second(),
        SETTLE.as_millis()
    );
    println!("| clients | server | CPU/round p50 (ms) | p95 (ms) | after the last client p50 (ms) | frames/round | CPU/frame (µs) | CPU/frame × bare hub | CPU/client/round (µs) | CPU/client × bare hub |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in cpu_rows {
        println!("{row}");
    }
    Ok(())
}

/// One round's measurements: time-to-all, and every client's latency.
fn round_times(started: Instant, arrivals: &[Instant]) -> (Duration, Vec<Duration>) {
    let per: Vec<Duration> = arrivals
        .iter()
        .map(|a| a.saturating_duration_since(started))
        .collect();
    (per.iter().copied().max().unwrap_or_default(), per)
}

/// The change the reference servers broadcast in round `round`: the frame Cascade sends for
/// the same write, so every fleet parses and applies the same thing.
fn reference_frame(round: u64) -> serde_json::Value {
    json!({
        "type": "config-updated", "seq": round, "tenant": "floor", "scope": "tenant",
        "namespace": "bench", "version": round,
        "patch": [{"op": "add", "path": "/round", "value": round}], "triggeredBy": "bench"
    })
}

/// Runs `rounds` rounds: `send` starts round `round` and answers when the server has taken
/// it (its acknowledgement); the round ends when every client applied it. `server` is the
/// server's process tree, whose CPU time each round is charged. [`WARMUP`] rounds go first,
/// unmeasured.
async fn run_rounds<F>(
    fleet: &mut Fleet,
    server: Vec<u32>,
    rounds: usize,
    mut send: F,
) -> Result<FanoutResult>
where
    F: AsyncFnMut(u64) -> Result<()>,
{
    for round in 1..=WARMUP {
        send(round).await?;
        fleet.await_round(round, ROUND_TIMEOUT).await?;
        tokio::time::sleep(PAUSE).await;
    }
    let mut meter = Meter::new(server);
    let (mut alls, mut pers, mut acks) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cpu, mut trailing, mut frames) = (Vec::new(), Vec::new(), Vec::new());
    for round in WARMUP + 1..=WARMUP + rounds as u64 {
        // Frames are counted over the same span as the CPU time.
        let received_before = fleet.received();
        meter.start();
        let started = Instant::now();
        send(round).await?;
        acks.push(started.elapsed());
        let arrivals = fleet.await_round(round, ROUND_TIMEOUT).await?;
        let at_all = meter.elapsed();
        let (all, per) = round_times(started, &arrivals);
        alls.push(all);
        pers.extend(per);
        tokio::time::sleep(SETTLE).await;
        let settled = meter.elapsed();
        frames.push(fleet.received() - received_before);
        if std::env::var_os("CASCADE_BENCH_CPU_DETAIL").is_some() {
            eprintln!("round {round}: CPU by process: {}", meter.detail());
        }
        cpu.push(settled);
        trailing.push(settled.saturating_sub(at_all));
        tokio::time::sleep(PAUSE.saturating_sub(SETTLE)).await;
    }
    Ok(FanoutResult {
        all: Summary::of(&alls),
        per: Summary::of(&pers),
        ack: Some(Summary::of(&acks)),
        rss: 0,
        cpu,
        trailing,
        frames,
        clients: fleet.size,
    })
}

async fn cascade_fanout(n: usize, rounds: usize, admins_percent: usize) -> Result<FanoutResult> {
    let rt = Runtime::start(1)?;
    let probe = Probe {
        namespace: "bench".into(),
    };
    // By default half tenant admins, half users: both rooms are on the path.
    let options = (0..n)
        .map(|i| {
            let token = if i % 100 < admins_percent {
                Runtime::token("tenant-admin", Some("t0000"), &format!("admin{i}"))
            } else {
                Runtime::token("user", Some("t0000"), &format!("user{i}"))
            };
            client_options(&rt.url, token, "t0000", "bench")
        })
        .collect();
    let mut fleet = Fleet::open(options, &probe, PARALLEL_CONNECTS).await?;
    let rss = rt.workerd_rss();
    let mut result = run_rounds(&mut fleet, rt.pids(), rounds, async |round| {
        let (status, body) = rt.put("/v1/tenants/t0000/config/bench", &json!({"round": round}))?;
        if status != 200 {
            return Err(format!("write answered {status}: {body}"));
        }
        Ok(())
    })
    .await?;
    result.rss = rss;
    Ok(result)
}

/// The bare reference hub on the same runtime: clients as Cascade's, the frame sent with a
/// per-socket string conversion, answered after the loop.
async fn bare_hub_fanout(n: usize, rounds: usize) -> Result<FanoutResult> {
    let rt = Runtime::start_bare_hub()?;
    let probe = Probe {
        namespace: "bench".into(),
    };
    let options = (0..n)
        .map(|_| client_options(&rt.url, String::new(), "bare", "bench"))
        .collect();
    let mut fleet = Fleet::open(options, &probe, PARALLEL_CONNECTS).await?;
    let rss = rt.workerd_rss();
    let mut result = run_rounds(&mut fleet, rt.pids(), rounds, async |round| {
        let (status, body) = rt.post_text("/broadcast", &reference_frame(round).to_string())?;
        if status != 200 {
            return Err(format!("bare hub answered {status}: {body}"));
        }
        Ok(())
    })
    .await?;
    result.ack = None;
    result.rss = rss;
    Ok(result)
}

/// A reference server started as its own process, which prints `{"port": N}` when ready.
struct Reference {
    child: Child,
    port: u16,
}

impl Reference {
    fn start(command: &mut Command) -> Result<Self> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child
            .stdout
            .take()
            .ok_or("reference server has no stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let port = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok());
        let mut server = Self { child, port: 0 };
        server.port = port.ok_or(format!("reference server printed no port: {line:?}"))?;
        Ok(server)
    }

    /// The server's process and any below it (the floor: this binary run as
    /// `floor-server`, so the fleet's CPU is never in its figure).
    fn pids(&self) -> Vec<u32> {
        runtime::descendants(self.child.id())
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn floor_fanout(n: usize, rounds: usize) -> Result<FanoutResult> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let server = Reference::start(Command::new(exe).arg("floor-server"))?;
    let url = format!("http://127.0.0.1:{}", server.port);
    let probe = Probe {
        namespace: "bench".into(),
    };
    let options = (0..n)
        .map(|_| client_options(&url, String::new(), "floor", "bench"))
        .collect();
    let mut fleet = Fleet::open(options, &probe, PARALLEL_CONNECTS).await?;
    let rss = runtime::rss(server.child.id());
    let (mut control, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/go", server.port))
            .await
            .map_err(|e| e.to_string())?;
    let mut result = run_rounds(&mut fleet, server.pids(), rounds, async |round| {
        control
            .send(Message::text(reference_frame(round).to_string()))
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    result.ack = None;
    result.rss = rss;
    Ok(result)
}

/// The seed's design on Node + Socket.IO (`bench/socketio/server.mjs`).
async fn socketio_fanout(n: usize, rounds: usize) -> Result<FanoutResult> {
    let server = Reference::start(
        Command::new("node")
            .current_dir(runtime::root())
            .arg("bench/socketio/server.mjs"),
    )?;
    let probe = Probe {
        namespace: "bench".into(),
    };
    let mut fleet = socketio::open(server.port, n, "t0000", &probe, PARALLEL_CONNECTS).await?;
    let rss = runtime::rss(server.child.id());
    let control = Writer::new(&format!("http://127.0.0.1:{}", server.port));
    let mut result = run_rounds(&mut fleet, server.pids(), rounds, async |round| {
        let message = json!({"room": "tenant:t0000", "event": "config-updated", "payload": reference_frame(round)});
        let (status, body) = control.post_text("/broadcast", &message.to_string())?;
        if status != 200 {
            return Err(format!("socket.io server answered {status}: {body}"));
        }
        Ok(())
    })
    .await?;
    result.ack = None;
    result.rss = rss;
    Ok(result)
}

/// How long a health check over every tenant may take before the bench gives up.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(900);

/// One platform change reaching every tenant and its client, for each tenant count in the
/// same run; then a health check over all of them, which also verifies that every tenant
/// applied each round's update exactly once.
async fn platform(counts: &[usize], rounds: usize) -> Result<()> {
    println!("\n### Platform fan-out ({rounds} rounds each; one client per tenant; time from the write to the last client applying it)\n");
    println!("| tenants | time-to-all p50 (ms) | p99 (ms) | max (ms) | per-tenant cost p50 (ms) | client arrival p50 (ms) | client arrival p99 (ms) | exactly once | health check (s) | classified |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut costs: Vec<(usize, f64)> = Vec::new();
    for &tenants in counts {
        let rt = Runtime::start(tenants)?;
        // A platform change reaches a tenant only through a rule that covers it.
        let rule = json!({"triggerEvents": ["benchp.*"], "targetScopes": ["tenant", "user"], "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true});
        let (status, body) = rt.put("/v1/rules/bench-platform", &rule)?;
        if status != 201 && status != 200 {
            return Err(format!("rule answered {status}: {body}"));
        }
        let probe = Probe {
            namespace: "benchp".into(),
        };
        let options = (0..tenants)
            .map(|i| {
                let tenant = format!("t{i:04}");
                let token = Runtime::token("tenant-admin", Some(&tenant), "admin");
                client_options(&rt.url, token, &tenant, "benchp")
            })
            .collect();
        let mut fleet = Fleet::open(options, &probe, PARALLEL_CONNECTS).await?;
        // A platform round is sequential batches of tenant hubs: its time grows with the
        // tenants, so its time limit does too (60 ms per tenant, on a loaded 2-core VM).
        let timeout = ROUND_TIMEOUT.max(Duration::from_millis(60 * tenants as u64));
        let (mut alls, mut pers) = (Vec::new(), Vec::new());
        for round in 1..=rounds as u64 {
            let started = Instant::now();
            let (status, body) = rt.put("/v1/platform/config/benchp", &json!({"round": round}))?;
            if status != 200 {
                return Err(format!("platform write answered {status}: {body}"));
            }
            let arrivals = fleet.await_round(round, timeout).await?;
            let (all, per) = round_times(started, &arrivals);
            alls.push(all);
            pers.extend(per);
            tokio::time::sleep(PAUSE).await;
        }
        let (all, per) = (Summary::of(&alls), Summary::of(&pers));
        let cost = all.p50.as_secs_f64() * 1000.0 / tenants as f64;
        costs.push((tenants, cost));
        let check = health_check(&rt, tenants, rounds as u64).await?;
        println!(
            "| {tenants} | {} | {} | {} | {cost:.3} | {} | {} | {}/{tenants} | {:.1} | {} |",
            ms(all.p50),
            ms(all.p99),
            ms(all.max),
            ms(per.p50),
            ms(per.p99),
            check.exactly_once,
            check.took.as_secs_f64(),
            check.classified
        );
    }
    if let (Some(first), Some(last)) = (costs.first(), costs.last()) {
        println!(
            "\nPer-tenant cost at {} tenants: {:.2}× that at {} tenants (same run).",
            last.0,
            last.1 / first.1,
            first.0
        );
    }
    Ok(())
}

/// What the health check after the rounds found.
struct Check {
    /// Tenants at platform seq `rounds` with hub seq `rounds`: each update applied once.
    exactly_once: usize,
    /// From the cron trigger to the stored snapshot.
    took: Duration,
    /// Counts per state, as the snapshot gives them.
    classified: String,
}

/// Triggers the cron health check (Miniflare's scheduled handler), waits for its snapshot,
/// and checks every tenant's line: all present, and each at hub seq and platform seq
/// `rounds` (a platform update takes one tenant seq when applied, none when ignored).
async fn health_check(rt: &Runtime, tenants: usize, rounds: u64) -> Result<Check> {
    let started = Instant::now();
    let status = rt
        .get_json("/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*")?
        .0;
    if status != 200 {
        return Err(format!("scheduled handler answered {status}"));
    }
    let snapshot = loop {
        let (status, body) = rt.get_json("/v1/status")?;
        if status == 200 {
            break body;
        }
        if started.elapsed() > HEALTH_TIMEOUT {
            return Err(format!("no health snapshot within {HEALTH_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let took = started.elapsed();
    let lines = snapshot["tenants"].as_array().cloned().unwrap_or_default();
    if lines.len() != tenants {
        return Err(format!(
            "the snapshot has {} lines for {tenants} tenants",
            lines.len()
        ));
    }
    let exactly_once = lines
        .iter()
        .filter(|l| l["hub"]["seq"] == rounds && l["hub"]["platformSeq"] == rounds)
        .count();
    let c = &snapshot["counts"];
    Ok(Check {
        exactly_once,
        took,
        classified: format!(
            "{} success, {} partial, {} pending, {} failed",
            c["success"], c["partial"], c["pending"], c["failed"]
        ),
    })
}

/// Acknowledged writes on one tenant: sequential, then four writers at once.
async fn writes(count: usize) -> Result<()> {
    let rt = Runtime::start(1)?;
    println!("\n### Write path (one tenant, {count} writes, each durable before its ack)\n");
    println!("| writers | writes/s | ack p50 (ms) | ack p99 (ms) | max (ms) |");
    println!("|---|---|---|---|---|");
    // The read path through the same Worker and hub, as the floor of a write's latency.
    let reader = Writer::new(&rt.url);
    let mut reads = Vec::new();
    for _ in 0..count.min(200) {
        let t = Instant::now();
        reader.get("/v1/tenants/t0000/config/w0")?;
        reads.push(t.elapsed());
    }
    let r = Summary::of(&reads);
    println!(
        "| read (GET, 1 reader) | {:.0} | {} | {} | {} |",
        reads.len() as f64 / reads.iter().sum::<Duration>().as_secs_f64(),
        ms(r.p50),
        ms(r.p99),
        ms(r.max)
    );
    for writers in [1usize, 4] {
        let per_writer = count / writers;
        let started = Instant::now();
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let url = rt.url.clone();
                std::thread::spawn(move || -> Result<Vec<Duration>> {
                    let writer = Writer::new(&url);
                    (0..per_writer)
                        .map(|i| {
                            let t = Instant::now();
                            let (status, _) = writer
                                .put(&format!("/v1/tenants/t0000/config/w{w}"), &json!({"n": i}))?;
                            if status != 200 {
                                return Err(format!("write answered {status}"));
                            }
                            Ok(t.elapsed())
                        })
                        .collect()
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for h in handles {
            latencies.extend(h.join().map_err(|_| "writer panicked")??);
        }
        let elapsed = started.elapsed();
        let s = Summary::of(&latencies);
        println!(
            "| {writers} | {:.0} | {} | {} | {} |",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            ms(s.p50),
            ms(s.p99),
            ms(s.max)
        );
    }
    Ok(())
}
