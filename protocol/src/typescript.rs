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

/// The declarations the Rust types refer to by name without deriving them: JSON values,
/// RFC 6902 operations, the `error` frame's codes and the origin map.
const HEADER: &str = r#"// Generated from the Rust protocol types (protocol/src) by ts-rs: do not edit.
// Regenerate: UPDATE_TS=1 cargo test -p cascade-protocol typescript

/** A JSON object. */
export type JsonObject = { [key: string]: unknown };

/** One RFC 6902 operation. */
export type JsonPatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "replace"; path: string; value: unknown }
  | { op: "move"; from: string; path: string }
  | { op: "copy"; from: string; path: string }
  | { op: "test"; path: string; value: unknown };

/** The error codes of `error` frames (docs/PROTOCOL.md). */
export type FrameErrorCode =
  | "CASCADE:Frame:Malformed"
  | "CASCADE:Frame:TooLarge"
  | "CASCADE:Frame:Unsupported"
  | "CASCADE:Frame:Forbidden"
  | "CASCADE:Frame:RateLimited";

/**
 * Where the values of an effective config came from: JSON Pointer to the scope of that
 * subtree; the longest pointer that is a value's own or an ancestor's names its origin.
 */
export type Origins = { [pointer: string]: Scope };

"#;

/// One exported declaration with its doc comment.
fn declaration<T: TS>(cfg: &Config) -> String {
    let docs = T::docs().map(|d| format!("{d}\n")).unwrap_or_default();
    format!("{docs}export {}\n", T::decl(cfg))
}

/// The whole generated file.
fn render() -> String {
    // JSON numbers: the protocol's integers stay within ±(2^53 − 1) (docs/LIMITS.md).
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(HEADER);
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
