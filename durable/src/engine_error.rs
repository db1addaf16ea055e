//! Engine errors as problem documents: the engine's stable code, an HTTP status by kind.

use cascade_engine::EngineError;
use cascade_protocol::Problem;

/// The problem a hub answers for an engine error.
pub fn problem(error: &EngineError) -> Problem {
    let code = error.code();
    let (status, title) = match error {
        EngineError::LockedPath { .. } => (409, "Conflict"),
        EngineError::ConflictNotFound { .. } | EngineError::PendingNotFound { .. } => {
            (404, "Not Found")
        }
        EngineError::PendingOutOfOrder { .. } => (409, "Conflict"),
        EngineError::VersionUnreachable { .. } | EngineError::VersionInFuture { .. } => {
            (422, "Unprocessable Content")
        }
        EngineError::CorruptHistory { .. } => (500, "Internal Server Error"),
        _ => (422, "Unprocessable Content"),
    };
    Problem::new(status, code, title, error.to_string())
}
