//! State folders: where a runtime keeps its D1 and Durable Object state, created with the
//! D1 migrations applied, and the test config each runtime is started with.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tempfile::TempDir;

use super::processes::{quiet_env, wrangler};
use super::root;

/// Where a runtime keeps its D1 and Durable Object state; shared by restarts.
#[derive(Clone)]
pub struct State(Arc<TempDir>);

impl State {
    /// A fresh, empty state folder with the D1 migrations applied: a copy of the migrated
    /// template (see [`migrated_template`]).
    pub fn fresh() -> Self {
        build_worker_once();
        let state = Self::empty();
        copy_dir(&migrated_template().join("v3"), &state.path().join("v3"));
        write_test_config(state.path());
        state
    }

    /// A state folder with nothing in it (no D1 tables either).
    fn empty() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cascade-e2e-")
            .tempdir()
            .unwrap();
        Self(Arc::new(dir))
    }

    /// Applies the D1 migrations this state has not had yet, as a deploy does (a state
    /// folder written by an earlier version lacks the newer ones).
    pub fn apply_migrations(&self) {
        write_test_config(self.path());
        self.d1(&["migrations", "apply", "DB"], "applying migrations");
    }

    /// Runs SQL against the local D1 database of this state (test setup, before a start).
    pub fn execute_sql(&self, sql: &str) {
        let file = self.path().join("setup.sql");
        std::fs::write(&file, sql).unwrap();
        self.d1(
            &["execute", "DB", "--file", file.to_str().unwrap()],
            "d1 execute",
        );
    }

    /// Runs one SQL query against the local D1 database of this state (with no runtime
    /// running on it) and returns its rows.
    pub fn query_sql(&self, sql: &str) -> Vec<Value> {
        let out = self.d1(&["execute", "DB", "--json", "--command", sql], "d1 query");
        let answer: Value = serde_json::from_slice(&out).unwrap();
        answer[0]["results"].as_array().cloned().unwrap_or_default()
    }

    /// Runs `wrangler d1 <args> --local` on this state with its config; its standard output.
    /// Panics with wrangler's output, headed by `what`, when it fails.
    fn d1(&self, args: &[&str], what: &str) -> Vec<u8> {
        let out = Command::new(wrangler())
            .current_dir(root())
            .arg("d1")
            .args(args)
            .arg("--local")
            .arg("--config")
            .arg(self.config())
            .arg("--persist-to")
            .arg(self.path())
            .envs(quiet_env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The runtime config of this state (see [`write_test_config`]).
    pub fn config(&self) -> PathBuf {
        self.path().join("wrangler.json")
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A state folder with every D1 migration applied and nothing else, made once per set of
/// migrations, wrangler config and wrangler version (in the test scratch folder
/// `target/tmp`), and copied by [`State::fresh`]. Applying the migrations runs wrangler, about
/// five seconds of CPU; copying the result takes milliseconds. Test processes that find no
/// template make one in a scratch folder and rename it into place: the first rename wins, and
/// the others delete theirs.
fn migrated_template() -> PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let parent = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cascade-d1-templates");
            let dir = parent.join(format!("{:016x}", migrations_fingerprint()));
            if dir.join("ready").exists() {
                return dir;
            }
            std::fs::create_dir_all(&parent).unwrap();
            let scratch = tempfile::Builder::new()
                .prefix("making-")
                .tempdir_in(&parent)
                .unwrap();
            let state = State(Arc::new(scratch));
            state.apply_migrations();
            std::fs::write(state.path().join("ready"), "").unwrap();
            let made = state.path().to_owned();
            if std::fs::rename(&made, &dir).is_err() {
                // Another test process put its template there first; ours is deleted with
                // its TempDir.
                assert!(
                    dir.join("ready").exists(),
                    "no template at {}",
                    dir.display()
                );
            }
            dir
        })
        .clone()
}

/// What a migrated state depends on: every migration's name and text, the wrangler config
/// (the D1 binding and database id name the database file) and the wrangler version.
fn migrations_fingerprint() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut migrations: Vec<PathBuf> = std::fs::read_dir(root().join("migrations"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    migrations.sort();
    for file in migrations {
        file.file_name().hash(&mut hasher);
        std::fs::read(&file).unwrap().hash(&mut hasher);
    }
    for file in ["wrangler.jsonc", "node_modules/wrangler/package.json"] {
        std::fs::read(root().join(file)).unwrap().hash(&mut hasher);
    }
    hasher.finish()
}

/// Copies the folder `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `scripts/build` once per test process; every test waits for it.
fn build_worker_once() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let out = Command::new("bash")
            .arg("scripts/build")
            .current_dir(root())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    if let Err(log) = built {
        panic!("scripts/build failed:\n{log}");
    }
}

/// Writes `wrangler.json` into `dir`: the local environment of the repository's
/// `wrangler.jsonc` without its build step and deploy environments, with absolute paths (as
/// `scripts/test-config.mjs` makes it for the client tests). The runtime then never rebuilds
/// or restarts itself when a file changes (wrangler watches the build's sources), so what a
/// test sees is what it did.
pub fn write_test_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("wrangler.jsonc")).unwrap();
    let mut config: serde_json::Map<String, Value> =
        serde_json::from_reader(json_comments::StripComments::new(text.as_bytes())).unwrap();
    for local_only in ["build", "env", "$schema"] {
        config.remove(local_only);
    }
    let absolute =
        |v: &Value| Value::String(root().join(v.as_str().unwrap()).display().to_string());
    let main = absolute(&config["main"]);
    config.insert("main".into(), main);
    if let Some(assets) = config.get_mut("assets").and_then(Value::as_object_mut) {
        let mut directory = absolute(&assets["directory"]);
        // The dashboard may not be built (`cargo test` alone): serve an empty folder then.
        if !Path::new(directory.as_str().unwrap()).is_dir() {
            let empty = dir.join("assets");
            std::fs::create_dir_all(&empty).unwrap();
            directory = Value::String(empty.display().to_string());
        }
        assets.insert("directory".into(), directory);
    }
    if let Some(dbs) = config.get_mut("d1_databases").and_then(Value::as_array_mut) {
        for db in dbs.iter_mut().filter_map(Value::as_object_mut) {
            let default = Value::String("migrations".into());
            let migrations = absolute(db.get("migrations_dir").unwrap_or(&default));
            db.insert("migrations_dir".into(), migrations);
        }
    }
    let file = dir.join("wrangler.json");
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    file
}
