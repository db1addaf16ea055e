//! The runtime under test: the built Worker served straight from workerd by
//! `scripts/serve.mjs` (Miniflare), on 127.0.0.1, with its state in a temporary folder.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

/// The HS256 secret the benchmark runtime is started with.
const SECRET: &str = "cascade-bench-secret-0123456789abcdef";

/// A running workerd serving Cascade.
pub struct Runtime {
    child: Child,
    /// Closing it tells serve.mjs to stop.
    stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:{port}`.
    pub url: String,
    /// The platform admin's connection for [`Runtime::put`].
    writer: Writer,
    _state: tempfile::TempDir,
}

/// Repository root (the bench crate lives in `bench/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

impl Runtime {
    /// Starts workerd with `tenants` tenants (`t0000`..) and no write rate limit.
    pub fn start(tenants: usize) -> Result<Self, String> {
        Self::serve("wrangler.jsonc", tenants)
    }

    /// Starts workerd serving the bare reference hub (`bench/bare-hub`, built beforehand by
    /// `scripts/bench`).
    pub fn start_bare_hub() -> Result<Self, String> {
        Self::serve("bench/bare-hub/wrangler.toml", 0)
    }

    /// Starts workerd serving the Worker configured by `config` (relative to the root).
    fn serve(config: &str, tenants: usize) -> Result<Self, String> {
        let state = tempfile::Builder::new()
            .prefix("cascade-bench-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let mut child = Command::new("node")
            .current_dir(root())
            .arg("scripts/serve.mjs")
            .arg("--persist")
            .arg(state.path())
            .args(["--config", config])
            // The dashboard's static assets are left out: locally they put Miniflare's asset
            // router in front of the Worker, and every WebSocket message then crosses one more
            // hop (measured: +40 ms to 5,000 clients and +300 MiB; docs/BENCHMARKS.md).
            // CASCADE_BENCH_ASSETS=1 keeps them.
            .args(
                std::env::var("CASCADE_BENCH_ASSETS")
                    .is_err()
                    .then_some("--no-assets"),
            )
            .args(["--seed-tenants", &tenants.to_string()])
            .args(["--var", &format!("JWT_SECRET={SECRET}")])
            .args([
                "--var",
                "WRITE_RATE_PER_SEC=1000000",
                "--var",
                "WRITE_BURST=1000000",
            ])
            // Extra Worker variables for experiments, e.g. DELIVERY_SOCKETS_PER_TURN=500.
            .args(
                std::env::var("CASCADE_BENCH_VARS")
                    .unwrap_or_default()
                    .split_whitespace()
                    .flat_map(|v| ["--var".to_owned(), v.to_owned()]),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting scripts/serve.mjs: {e}"))?;
        let stdout = child.stdout.take().ok_or("serve.mjs has no stdout")?;
        // wrangler's config reader may print notices first; the ready line is JSON.
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while !line.starts_with('{') {
            line.clear();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("serve.mjs exited before it was ready".into());
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let ready: Value = serde_json::from_str(&line)
            .map_err(|e| format!("serve.mjs did not start ({e}): {line:?}"))?;
        let url = ready["url"]
            .as_str()
            .ok_or("serve.mjs printed no url")?
            .to_owned();
        Ok(Self {
            stdin: child.stdin.take(),
            child,
            writer: Writer::new(&url),
            url,
            _state: state,
        })
    }

    /// The folder holding the runtime's D1 and Durable Object state.
    pub fn state_path(&self) -> &Path {
        self._state.path()
    }

    /// A token for `role` in `tenant` as `sub`.
    pub fn token(role: &str, tenant: Option<&str>, sub: &str) -> String {
        let mut claims = Claims::new(json!({"sub": sub, "role": role, "tid": tenant}));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        claims.expiration = chrono::DateTime::from_timestamp(now + 6 * 3600, 0);
        Hs256
            .token(&Header::empty(), &claims, &Hs256Key::new(SECRET.as_bytes()))
            .unwrap_or_default()
    }

    /// `PUT {path}` with `body` as a platform admin; the status and JSON answer. One kept-alive
    /// writer serves every call, so a timed write does not also pay a token and a connection.
    pub fn put(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        self.writer.put(path, body)
    }

    /// `GET {path}` as a platform admin; the status and JSON answer.
    pub fn get_json(&self, path: &str) -> Result<(u16, Value), String> {
        self.writer.get_json(path)
    }

    /// `POST {path}` with a text body over the same kept-alive connection.
    pub fn post_text(&self, path: &str, body: &str) -> Result<(u16, String), String> {
        self.writer.post_text(path, body)
    }

    /// Every process serving (serve.mjs's Node and the workerd below it).
    pub fn pids(&self) -> Vec<u32> {
        descendants(self.child.id())
    }

    /// Resident memory of the workerd processes serving, in bytes.
    pub fn workerd_rss(&self) -> u64 {
        descendants(self.child.id())
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "workerd")
            })
            .map(rss)
            .sum()
    }
}

/// Resident memory of process `pid`, in bytes (0 when it is gone).
pub fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let tree = descendants(self.child.id());
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in tree {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// `pid` and every process below it.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let ppid = std::fs::read_to_string(format!("/proc/{child}/stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')
                            .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_owned))
                    })
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid == Some(parent) && !all.contains(&child) {
                    all.push(child);
                }
            }
        }
        i += 1;
    }
    all
}

/// A platform admin writing over one kept-alive HTTP agent.
pub struct Writer {
    agent: ureq::Agent,
    url: String,
    auth: String,
}

impl Writer {
    /// A writer to the runtime at `url`.
    pub fn new(url: &str) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
            url: url.to_owned(),
            auth: format!("Bearer {}", Runtime::token("platform-admin", None, "bench")),
        }
    }

    /// `PUT {path}` with `body`; the status and JSON answer. Resent once when the transport
    /// fails: a kept-alive connection left idle while a large fleet connects may have been
    /// closed by the server (seen at 1,000 tenants on a loaded machine). A `PUT` is whole: a
    /// resend of one that did arrive writes identical content, which changes nothing.
    pub fn put(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        self.send_json("PUT", path, "application/json", body)
    }

    /// `POST {path}` with a JSON body as a platform admin; the status and JSON answer.
    pub fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        self.send_json("POST", path, "application/json", body)
    }

    /// `PATCH {path}` with an RFC 7396 merge patch as a platform admin; the status and JSON
    /// answer.
    pub fn merge_patch(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        self.send_json("PATCH", path, "application/merge-patch+json", body)
    }

    /// `{method} {path}` with a JSON body of media type `media` as a platform admin. A `PUT`
    /// (idempotent) is sent once more when the server had closed the kept-alive connection.
    fn send_json(
        &self,
        method: &str,
        path: &str,
        media: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.url);
        let send = || {
            let request = match method {
                "POST" => self.agent.post(&url),
                "PATCH" => self.agent.patch(&url),
                _ => self.agent.put(&url),
            };
            request
                .header("authorization", &self.auth)
                .header("content-type", media)
                // A sized body: `send_json` streams it chunked, which costs a round trip.
                .send(body.to_string())
        };
        let sent = match method {
            "PUT" => send().or_else(|_| send()),
            _ => send(),
        };
        let mut resp = sent.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status().as_u16();
        let value = resp.body_mut().read_json().unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// `POST {path}` with a text body, without a token; the status and text answer.
    pub fn post_text(&self, path: &str, body: &str) -> Result<(u16, String), String> {
        let mut resp = self
            .agent
            .post(&format!("{}{path}", self.url))
            .header("content-type", "text/plain")
            .send(body)
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("POST {path}: {e}"))?;
        Ok((status, text))
    }

    /// `GET {path}`; the status and JSON answer (`Value::Null` when not JSON).
    pub fn get_json(&self, path: &str) -> Result<(u16, Value), String> {
        let mut resp = self
            .agent
            .get(&format!("{}{path}", self.url))
            .header("authorization", &self.auth)
            .call()
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status().as_u16();
        // A 10,000-tenant snapshot is a few MB: above ureq's default body limit.
        let value = resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_json()
            .unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// `GET {path}`; the status.
    pub fn get(&self, path: &str) -> Result<u16, String> {
        let resp = self
            .agent
            .get(&format!("{}{path}", self.url))
            .header("authorization", &self.auth)
            .call()
            .map_err(|e| format!("GET {path}: {e}"))?;
        Ok(resp.status().as_u16())
    }
}
