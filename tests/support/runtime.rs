//! The runtime: `wrangler dev` (workerd underneath) started on a state folder, on
//! 127.0.0.1 with free ports, and always stopped (dropping a [`Runtime`] stops its whole
//! process tree).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::try_request;
use super::processes::{
    free_port, process_tree, process_tree_alive, quiet_env, signal, wait_gone, wrangler,
};
use super::tokens::{token, TEST_JWT_SECRET};
use super::{eventually, root, State};

/// How long the runtime may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Starts of one runtime before an address found in use fails the test.
const START_ATTEMPTS: usize = 3;

/// How a start ended (any other failure panics).
enum Ready {
    /// It answers requests.
    Serving,
    /// It exited before serving because an address it binds was taken in the meantime.
    AddressInUse,
}

/// A running `wrangler dev`.
pub struct Runtime {
    pub(super) child: Option<Child>,
    /// Token sent by [`Runtime::get`], [`Runtime::put_json`], ... (a platform admin's).
    pub admin_token: String,
    /// HTTP port on 127.0.0.1.
    pub port: u16,
    /// Its state folder.
    pub state: State,
    log: PathBuf,
}

impl Runtime {
    /// Starts a runtime on fresh state.
    pub fn start() -> Self {
        Self::start_on(State::fresh())
    }

    /// Starts a runtime on existing state (a restart).
    pub fn start_on(state: State) -> Self {
        Self::start_with(state, &[])
    }

    /// Starts a runtime on `state` with extra Worker variables (`NAME`, `value`).
    ///
    /// Ports are picked free but only taken when wrangler and workerd bind them, so a test
    /// running beside may take one first (wrangler picks its internal ports the same way).
    /// A runtime that exits before serving because an address is in use is therefore started
    /// again on fresh ports, up to [`START_ATTEMPTS`] times, each retry reported on stderr;
    /// any other early exit fails the test at once.
    pub fn start_with(state: State, vars: &[(&str, &str)]) -> Self {
        let mut state = Some(state);
        for attempt in 1..=START_ATTEMPTS {
            let mut rt = Self::spawn(state.take().expect("state is handed back"), vars);
            match rt.wait_ready() {
                Ready::Serving => return rt,
                Ready::AddressInUse if attempt < START_ATTEMPTS => {
                    eprintln!(
                        "wrangler dev found an address in use (attempt {attempt} of {START_ATTEMPTS}); starting again on fresh ports"
                    );
                    state = Some(rt.state.clone());
                }
                Ready::AddressInUse => panic!(
                    "wrangler dev found an address in use {START_ATTEMPTS} times:\n{}",
                    rt.log_text()
                ),
            }
        }
        unreachable!("every attempt returns or panics")
    }

    /// Spawns `wrangler dev` on `state`, on fresh ports.
    fn spawn(state: State, vars: &[(&str, &str)]) -> Self {
        let port = free_port();
        let inspector = free_port();
        let log = state.path().join(format!("wrangler-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(wrangler());
        cmd.current_dir(root())
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector.to_string()])
            .arg("--config")
            .arg(state.config())
            .arg("--persist-to")
            .arg(state.path())
            .args([
                "--test-scheduled",
                "--show-interactive-dev-session=false",
                "--live-reload=false",
            ])
            .args(["--var", &format!("JWT_SECRET:{TEST_JWT_SECRET}")])
            .args(
                vars.iter()
                    .flat_map(|(k, v)| ["--var".to_owned(), format!("{k}:{v}")]),
            )
            .envs(quiet_env())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap();
        let admin_token = token("platform-admin", None, "e2e-platform-admin");
        Self {
            child: Some(child),
            admin_token,
            port,
            state,
            log,
        }
    }

    /// Waits until the runtime serves; panics if it exits for any reason but an address in
    /// use, or is not ready in [`START_TIMEOUT`]. Serving means this wrangler said it is
    /// ready on its port and the health probe answers: a probe alone could be answered by
    /// another test's runtime that took the port first.
    fn wait_ready(&mut self) -> Ready {
        let deadline = Instant::now() + START_TIMEOUT;
        let ready_line = format!("Ready on http://127.0.0.1:{}", self.port);
        loop {
            if self.log_text().contains(&ready_line) {
                if let Ok((200, _, _)) = try_request(self, None, "GET", "/v1/health", None) {
                    return Ready::Serving;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = self.log_text();
                if log.contains("Address already in use") {
                    self.stop();
                    return Ready::AddressInUse;
                }
                panic!("wrangler dev exited ({status}) before serving:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "wrangler dev not ready in {START_TIMEOUT:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What the runtime printed so far.
    pub fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Kills the runtime and everything it started with SIGKILL, as a crash would: no
    /// shutdown, no flush.
    pub fn crash(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let tree = process_tree(child.id());
        signal(&tree, "KILL");
        let _ = child.wait();
        wait_gone(&tree, Duration::from_secs(10));
    }

    /// Stops the runtime and everything it started (wrangler's node processes and workerd,
    /// which Miniflare starts in a process group of its own), and waits for them.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let tree = process_tree(child.id());
        signal(&tree, "TERM");
        wait_gone(&tree, Duration::from_secs(10));
        signal(&process_tree_alive(&tree), "KILL");
        let _ = child.wait();
        wait_gone(&tree, Duration::from_secs(5));
    }

    /// Runs the cron health check (`/__scheduled`) and returns the snapshot it stored.
    pub fn run_health_check(&self) -> Value {
        let before = self.get("/v1/status").body["takenAt"].as_u64().unwrap_or(0);
        let ran = self.get("/__scheduled?cron=*/5+*+*+*+*");
        assert_eq!(ran.status, 200, "{ran:?}");
        eventually(Duration::from_secs(60), || {
            let s = self.get("/v1/status");
            (s.status == 200 && s.body["takenAt"].as_u64().unwrap_or(0) > before).then_some(s.body)
        })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}
