//! The TypeScript declarations of the wire types, generated with ts-rs into the TypeScript
//! client (`client/packages/client/src/generated/protocol.ts`). The test fails when the
//! committed file differs from what these types generate; `UPDATE_TS=1 cargo test -p
//! cascade-protocol typescript` rewrites it.

use std::path::PathBuf;

use ts_rs::{Config, TS};

use crate::{
    ClientFrame, ConfigChange, HistoryEntry, HistoryPage, PlatformSyncStatus, Problem, Resume,
    Role, Scope, ServerFrame, SnapshotDocument, StoredDocument, SyncState, SyncStatusReport,
    TenantSyncStatus,
};

/// Where the generated file lives in the repository.
fn generated_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../client/packages/client/src/generated/protocol.ts")
}

/// One exported declaration with its doc comment.
fn declaration<T: TS>(cfg: &Config) -> String {
    let docs = T::docs().map(|d| format!("{d}\n")).unwrap_or_default();
    format!("{docs}export {}\n", T::decl(cfg))
}

/// The whole generated file.
fn render() -> String {
    // JSON numbers: the protocol's integers stay within ±(2^53 − 1) (docs/LIMITS.md).
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust protocol types (protocol/src) by ts-rs: do not edit.\n\
         // Regenerate: UPDATE_TS=1 cargo test -p cascade-protocol typescript\n\n\
         /** A JSON object. */\n\
         export type JsonObject = { [key: string]: unknown };\n\n\
         /** One RFC 6902 operation. */\n\
         export type JsonPatchOperation = { op: string; path: string; value?: unknown; from?: string };\n\n",
    );
    for decl in [
        declaration::<Role>(&cfg),
        declaration::<Scope>(&cfg),
        declaration::<SyncState>(&cfg),
        declaration::<ConfigChange>(&cfg),
        declaration::<Resume>(&cfg),
        declaration::<SnapshotDocument>(&cfg),
        declaration::<SyncStatusReport>(&cfg),
        declaration::<TenantSyncStatus>(&cfg),
        declaration::<PlatformSyncStatus>(&cfg),
        declaration::<ClientFrame>(&cfg),
        declaration::<ServerFrame>(&cfg),
        declaration::<StoredDocument>(&cfg),
        declaration::<HistoryEntry>(&cfg),
        declaration::<HistoryPage>(&cfg),
        declaration::<Problem>(&cfg),
    ] {
        out.push_str(&decl);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn typescript_declarations_are_current() {
    let path = generated_path();
    let fresh = render();
    if std::env::var_os("UPDATE_TS").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent"))
            .expect("creates the directory");
        std::fs::write(&path, &fresh).expect("writes the generated file");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: regenerate it with UPDATE_TS=1 cargo test -p cascade-protocol typescript",
        path.display()
    );
}
