//! The engine's one error type.
//!
//! Every variant carries a stable machine code (`CASCADE:<Area>:<Reason>`, see
//! [`EngineError::code`]) and a human message (its `Display`). The Worker maps these to
//! RFC 7807 problem documents in exactly one place and WebSocket frames reuse the same codes,
//! so codes must never be renamed once shipped.

use thiserror::Error;

/// Everything the engine can refuse. Nothing in the engine panics on bad input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// A lower scope tried to set a value at a path a rule locks for that scope.
    #[error("path {path} is locked by rule {rule} and cannot be overridden at {scope} scope")]
    LockedPath {
        /// The offending path, rendered as a JSON Pointer (id segments as `[id]`).
        path: String,
        /// The lock pattern that matched.
        pattern: String,
        /// The rule that declares the lock (its `id`, or `#index` when it has none).
        rule: String,
        /// The scope that attempted the write.
        scope: String,
    },
    /// A JSON Pointer or lock pattern is not well formed.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A document (layer, event config or resulting effective config) exceeds the size limit.
    #[error("{what} is {bytes} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Which document.
        what: String,
        /// Its serialized size.
        bytes: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A document nests deeper than the depth limit.
    #[error("{what} nests {depth} levels deep, over the limit of {limit}")]
    TooDeep {
        /// Which document.
        what: String,
        /// Its depth.
        depth: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A JSON Patch has more operations than allowed.
    #[error("patch has {ops} operations, over the limit of {limit}")]
    PatchTooLarge {
        /// Number of operations.
        ops: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A document that must be a JSON object is not one.
    #[error("{what} must be a JSON object")]
    NotAnObject {
        /// Which document.
        what: String,
    },
    /// `null` appears where it cannot mean "delete this key".
    #[error("null at {path} is not allowed: null only deletes an object member outside arrays")]
    NullValue {
        /// Where the null was found.
        path: String,
    },
    /// A namespace name is not acceptable.
    #[error("invalid namespace {name:?}: {reason}")]
    InvalidNamespace {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A trigger pattern in a rule is not well formed.
    #[error("invalid trigger pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The event's scope or target does not fit the operation it was given to.
    #[error("event scope mismatch: {reason}")]
    ScopeMismatch {
        /// Why the event does not fit.
        reason: String,
    },
    /// A tenant- or user-scope event has no `targetId`.
    #[error("a {scope}-scope event needs a targetId")]
    MissingTarget {
        /// The event's scope.
        scope: String,
    },
    /// A batch with no events.
    #[error("a change set must contain at least one event")]
    EmptyBatch,
    /// No open conflict with this id.
    #[error("no open conflict {id} in namespace {namespace}")]
    ConflictNotFound {
        /// The namespace searched.
        namespace: String,
        /// The id asked for.
        id: String,
    },
    /// No pending change with this id.
    #[error("no pending change {id} in namespace {namespace}")]
    PendingNotFound {
        /// The namespace searched.
        namespace: String,
        /// The id asked for.
        id: String,
    },
    /// Pending changes of a namespace are accepted oldest first.
    #[error(
        "pending change {id} cannot be accepted before {oldest}: accept or reject the oldest first"
    )]
    PendingOutOfOrder {
        /// The id asked for.
        id: String,
        /// The oldest pending change of the namespace.
        oldest: String,
    },
    /// The requested version is older than the retained history.
    #[error(
        "version {version} of {namespace} is no longer in history (oldest reachable: {floor})"
    )]
    VersionUnreachable {
        /// The namespace.
        namespace: String,
        /// The version asked for.
        version: u64,
        /// The oldest version that can still be restored.
        floor: u64,
    },
    /// The requested version is newer than the namespace's current version.
    #[error("version {version} of {namespace} is in the future (current: {current})")]
    VersionInFuture {
        /// The namespace.
        namespace: String,
        /// The version asked for.
        version: u64,
        /// The current version.
        current: u64,
    },
    /// Stored history could not be replayed; the state is corrupt or was edited by hand.
    #[error("history of {namespace} cannot be replayed: {reason}")]
    CorruptHistory {
        /// The namespace.
        namespace: String,
        /// What failed.
        reason: String,
    },
}

impl EngineError {
    /// The stable machine code of this error, e.g. `CASCADE:Rule:LockedPath`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::LockedPath { .. } => "CASCADE:Rule:LockedPath",
            Self::InvalidPath { .. } => "CASCADE:Validation:PathSyntax",
            Self::TooLarge { .. } => "CASCADE:Validation:TooLarge",
            Self::TooDeep { .. } => "CASCADE:Validation:TooDeep",
            Self::PatchTooLarge { .. } => "CASCADE:Validation:PatchTooLarge",
            Self::NotAnObject { .. } => "CASCADE:Validation:NotAnObject",
            Self::NullValue { .. } => "CASCADE:Validation:NullValue",
            Self::InvalidNamespace { .. } => "CASCADE:Validation:Namespace",
            Self::InvalidPattern { .. } => "CASCADE:Rule:InvalidPattern",
            Self::ScopeMismatch { .. } => "CASCADE:Event:ScopeMismatch",
            Self::MissingTarget { .. } => "CASCADE:Event:MissingTarget",
            Self::EmptyBatch => "CASCADE:Event:EmptyBatch",
            Self::ConflictNotFound { .. } => "CASCADE:Conflict:NotFound",
            Self::PendingNotFound { .. } => "CASCADE:Pending:NotFound",
            Self::PendingOutOfOrder { .. } => "CASCADE:Pending:OutOfOrder",
            Self::VersionUnreachable { .. } => "CASCADE:History:Unreachable",
            Self::VersionInFuture { .. } => "CASCADE:History:FutureVersion",
            Self::CorruptHistory { .. } => "CASCADE:History:Corrupt",
        }
    }

    /// Whether the caller sent something wrong (as opposed to stored state being corrupt).
    #[must_use]
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::CorruptHistory { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_human() {
        let err = EngineError::LockedPath {
            path: "/sso/enforced".into(),
            pattern: "/sso/*".into(),
            rule: "auth-sso".into(),
            scope: "tenant".into(),
        };
        assert_eq!(err.code(), "CASCADE:Rule:LockedPath");
        assert_eq!(
            err.to_string(),
            "path /sso/enforced is locked by rule auth-sso and cannot be overridden at tenant scope"
        );
        assert_eq!(EngineError::EmptyBatch.code(), "CASCADE:Event:EmptyBatch");
        assert!(EngineError::EmptyBatch.is_client_error());
    }
}
