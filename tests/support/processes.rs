//! Processes: wrangler's command and environment, free ports, and the process trees a
//! runtime leaves to stop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::root;

/// wrangler from the repository's npm packages.
pub(super) fn wrangler() -> PathBuf {
    root().join("node_modules/.bin/wrangler")
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment every wrangler command of the tests runs with: no metrics, no colours,
/// no rebuild of the Worker (it is built once per run).
pub(super) fn quiet_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CI", "true"),
        ("WRANGLER_SEND_METRICS", "false"),
        ("CASCADE_PREBUILT", "1"),
        ("NO_COLOR", "1"),
    ]
}

/// `pid` and all its descendants, read from `/proc` (parents first).
pub(super) fn process_tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // The parent pid is the second field after the parenthesised command name.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|f| f.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((p, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// The processes of `tree` still running. A zombie (exited, not yet reaped by its parent)
/// counts as gone: the runtime's top process is this test's child and stays a zombie until
/// [`Child::wait`], so counting it would make every stop wait out its whole deadline.
pub(super) fn process_tree_alive(tree: &[u32]) -> Vec<u32> {
    tree.iter()
        .copied()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                // The state is the first field after the parenthesised command name.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .is_some_and(|state| state != "Z" && state != "X")
            })
        })
        .collect()
}

/// Sends `sig` to each of `pids`.
pub(super) fn signal(pids: &[u32], sig: &str) {
    for pid in pids {
        let _ = Command::new("kill")
            .args([format!("-{sig}"), pid.to_string()])
            .status();
    }
}

/// Waits until no process of `tree` is left running, for at most `within`.
pub(super) fn wait_gone(tree: &[u32], within: Duration) {
    let deadline = Instant::now() + within;
    while !process_tree_alive(tree).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}
