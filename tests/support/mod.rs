//! Test support for end-to-end tests on Cascade's local runtime, one module per concern:
//! [`tokens`] (minting JWTs), [`processes`] (wrangler, ports, process trees), [`state`] (state
//! folders with the D1 migrations applied), [`runtime`] (starting and stopping `wrangler dev`),
//! [`http`] (requests and answers), [`sockets`] (WebSockets and frames), [`relay`] (a TCP relay
//! that can cut connections).
//!
//! [`Runtime::start`] starts `wrangler dev` (workerd underneath) on a fresh state folder, on
//! 127.0.0.1 with free ports; dropping the [`Runtime`] stops its whole process tree.
//! The Worker is built once per test run by `scripts/build` (a no-op when the build is newer
//! than the sources); the runtime is then started with `CASCADE_PREBUILT=1` so it does not
//! rebuild on its own.

// Each test binary uses a part of this support; what one leaves unused another uses.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod processes;
pub mod relay;
pub mod runtime;
pub mod sockets;
pub mod state;
pub mod tokens;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use http::Reply;
pub use processes::free_port;
pub use runtime::Runtime;
pub use sockets::Socket;
pub use state::{copy_dir, write_test_config, State};
pub use tokens::{token, token_with, TEST_JWT_SECRET};

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `within`.
pub fn eventually<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A two-thread Tokio runtime for tests that drive the Rust client.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The last `n` bytes of `text` (a runtime log, for failure messages).
pub fn tail(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
