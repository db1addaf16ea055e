//! Reads at an earlier version (`?version=N`), shared by the tenant and platform hubs: the
//! bound on how far back a read replays, and the answers for a version that cannot be read.

use cascade_engine::scope::Namespace;
use cascade_engine::EngineError;
use cascade_protocol::Problem;

use crate::engine_error;

/// Most history entries of a namespace a read at an old version replays (each is read and
/// parsed; the history is kept in full, so a read far back is refused rather than slow).
pub const MAX_VERSIONS_REPLAYED: u64 = 1_000;

/// The `version` query parameter as a number, or the 400 problem for one that is not.
pub fn parse(version: &str) -> Result<u64, Problem> {
    version.parse::<u64>().map_err(|_| {
        Problem::new(
            400,
            "CASCADE:Request:BadQuery",
            "Bad Request",
            format!("query parameter 'version': must be a whole number, got '{version:.40}'"),
        )
    })
}

/// The 410 problem when reaching `version` would replay `later` entries, more than
/// [`MAX_VERSIONS_REPLAYED`]; `None` when the read may go on.
pub fn too_far_back(namespace: &Namespace, version: u64, later: u64) -> Option<Problem> {
    (later > MAX_VERSIONS_REPLAYED).then(|| {
        Problem::new(
            410,
            "CASCADE:Config:VersionNotRetained",
            "Gone",
            format!(
                "version {version} of '{namespace}' is {later} changes back; reads reach at most {MAX_VERSIONS_REPLAYED} (roll back in steps, or read the history's patches)"
            ),
        )
    })
}

/// The problem for an engine error of a read at `version`: 404 for a version not reached
/// yet, 410 for one older than the retained history, the engine's problem otherwise.
pub fn refusal(namespace: &Namespace, version: u64, error: &EngineError) -> Problem {
    match error {
        EngineError::VersionInFuture { current, .. } => Problem::new(
            404,
            "CASCADE:Config:VersionNotFound",
            "Not Found",
            format!("'{namespace}' has no version {version} yet: it is at {current}"),
        ),
        EngineError::VersionUnreachable { floor, .. } => Problem::new(
            410,
            "CASCADE:Config:VersionNotRetained",
            "Gone",
            format!(
                "version {version} of '{namespace}' is no longer retained: the oldest readable version is {floor}"
            ),
        ),
        e => engine_error::problem(e),
    }
}
