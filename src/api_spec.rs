//! What a route promises beyond its dispatch, for the generated OpenAPI document
//! (`src/openapi.rs`): the query and header parameters it reads ([`Param`], each defined once
//! here and listed by the route rows in [`crate::routes::ROUTES`]) and the failures particular
//! to it ([`Failure`]; the common ones are derived from the row: access rule, path
//! parameters, parameters, body).
//!
//! A handler that reads a parameter uses the name of its definition here (`params::VERSION`,
//! ...), so the document and the code cannot name it differently.

use crate::{audit, config, history, sync_all, targeting};

/// Where a parameter is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// The query string.
    Query,
    /// A request header.
    Header,
}

/// The values a parameter takes, as its handler parses them.
#[derive(Debug, Clone, Copy)]
pub enum Values {
    /// A whole number in `min..=max`, `default` when absent.
    Integer {
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
        /// The value used when the parameter is absent.
        default: Option<u64>,
    },
    /// `true` or `false`.
    Boolean,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A value of a named schema of the document (`Name`, `Namespace`).
    Schema(&'static str),
    /// A string of 1 to `max_len` characters matching `pattern`.
    Text {
        /// Regular expression (ECMA 262) the whole value matches.
        pattern: &'static str,
        /// Longest accepted.
        max_len: usize,
    },
    /// An entity tag as sent in `ETag` (`"v3"`, weak `W/"v3"` accepted), or `*`.
    EntityTag,
}

/// A query or header parameter of some routes.
#[derive(Debug)]
pub struct Param {
    /// Its name (a header's as it is usually written).
    pub name: &'static str,
    /// Where it is sent.
    pub location: In,
    /// What it accepts (anything else is refused with 400).
    pub values: Values,
    /// What it does.
    pub description: &'static str,
    /// The failures it can cause beyond its own 400.
    pub failures: &'static [Failure],
}

impl Param {
    /// `?limit=`: how many items a page holds, 1 to `max`, `default` when absent.
    const fn page_limit(max: u64, default: u64, description: &'static str) -> Self {
        Self {
            name: LIMIT,
            location: In::Query,
            values: Values::Integer {
                min: 1,
                max,
                default: Some(default),
            },
            description,
            failures: &[],
        }
    }
}

/// A failure an operation can answer, with its status and what it means; each defined once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// 400: a path parameter is not a valid name.
    InvalidName,
    /// 400: a query parameter is malformed or unknown.
    BadQuery,
    /// 400: a header is malformed.
    BadHeader,
    /// 400: the body is not JSON, or not of the expected shape.
    MalformedJson,
    /// 401: no valid token.
    Unauthenticated,
    /// 403: the caller's role or tenant may not do this.
    Forbidden,
    /// 404: no tenant with the path's id.
    TenantNotFound,
    /// 404: no rule with the path's id.
    RuleNotFound,
    /// 404: no health check has run yet.
    NoSnapshot,
    /// 404: no health check has seen the tenant yet.
    NotChecked,
    /// 404: no pending change or conflict with the path's id.
    ItemNotFound,
    /// 404: `?version=` names a version not reached yet.
    VersionNotFound,
    /// 409: the write touches a locked path.
    LockedPath,
    /// 409: a pending change decided out of order.
    OutOfOrder,
    /// 410: `?version=` names a version no longer retained.
    VersionNotRetained,
    /// 412: `If-Match` names a version the document has moved past.
    VersionMismatch,
    /// 412: `If-Match` names an older version of the tenant's registry entry.
    TenantChanged,
    /// 413: the body is larger than the limit.
    TooLarge,
    /// 415: a PATCH body that is neither merge patch nor JSON Patch.
    UnsupportedMediaType,
    /// 422: valid JSON the engine refuses (too deep, inexact integers, not an object, ...).
    Unprocessable,
    /// 422: an `Idempotency-Key` reused for another request.
    KeyReused,
    /// 422: an invalid sync rule.
    InvalidRule,
    /// 422: a version the history cannot reach.
    VersionUnreachable,
    /// 426: not a WebSocket upgrade.
    UpgradeRequired,
    /// 429: the write budget is spent.
    RateLimited,
    /// 429: too many open sockets.
    TooManySockets,
    /// 502: a hub could not catch the tenant up with the platform.
    CatchUpFailed,
    /// 502: the tenant's hub could not be erased.
    EraseFailed,
}

/// The `version` query parameter's name (`config::version_query`).
pub const VERSION: &str = "version";
/// The `origins` query parameter's name (`config::origins_query`, the connect upgrade).
pub const ORIGINS: &str = "origins";
/// The `limit` query parameter's name (pages).
pub const LIMIT: &str = "limit";
/// The `before` query parameter's name (pages, newest first).
pub const BEFORE: &str = "before";
/// The `after` query parameter's name (pages in id order).
pub const AFTER: &str = "after";
/// The `namespace` query parameter's name (filters).
pub const NAMESPACE: &str = "namespace";
/// The `tenant` query parameter's name (the connect upgrade).
pub const TENANT: &str = "tenant";
/// The `scope` query parameter's name (history).
pub const SCOPE: &str = "scope";
/// The `outcome` query parameter's name (history).
pub const OUTCOME: &str = "outcome";
/// The `since` query parameter's name (history).
pub const SINCE: &str = "since";
/// The `until` query parameter's name (history).
pub const UNTIL: &str = "until";
/// The `code` query parameter's name (refusals).
pub const CODE: &str = "code";
/// The `If-Match` header's name.
pub const IF_MATCH: &str = "If-Match";
/// The `Idempotency-Key` header's name.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// What the version parameters of a read have in common.
const VERSION_VALUES: Values = Values::Integer {
    min: 0,
    max: config::MAX_VERSION,
    default: None,
};
/// Failures of a read at a version.
const VERSION_FAILURES: &[Failure] = &[Failure::VersionNotFound, Failure::VersionNotRetained];

/// `?version=` of a tenant or user layer read.
pub const LAYER_VERSION: Param = Param {
    name: VERSION,
    location: In::Query,
    values: VERSION_VALUES,
    description: "Read the layer as it was at this version (any seq of the tenant up to its current one, e.g. a history entry's seq), replayed from the retained history; the ETag is then that version. 404 `CASCADE:Config:VersionNotFound` for a version the tenant has not reached; 410 `CASCADE:Config:VersionNotRetained` for one older than the retained history or more than 1,000 changes of the namespace back.",
    failures: VERSION_FAILURES,
};

/// `?version=` of a platform layer read.
pub const PLATFORM_VERSION: Param = Param {
    name: VERSION,
    location: In::Query,
    values: VERSION_VALUES,
    description: "Read the platform layer as it was at this version (any platform seq up to the current one, e.g. a platform history entry's seq), replayed from the platform hub's history; the ETag is then that version. 404 `CASCADE:Config:VersionNotFound` for a version the platform has not reached; 410 `CASCADE:Config:VersionNotRetained` for one more than 1,000 changes of the namespace back.",
    failures: VERSION_FAILURES,
};

/// `?version=` of an effective read.
pub const EFFECTIVE_VERSION: Param = Param {
    name: VERSION,
    location: In::Query,
    values: VERSION_VALUES,
    description: "Read the effective config as it was at this version (any seq of the tenant up to its current one, e.g. a history entry's seq): that version's platform copy, tenant layer and (for a user) user layer, replayed from the retained history and resolved under today's rules; the ETag is then that version. 404 `CASCADE:Config:VersionNotFound` for a version the tenant has not reached; 410 `CASCADE:Config:VersionNotRetained` for one older than the retained history or more than 1,000 changes of the namespace back.",
    failures: VERSION_FAILURES,
};

/// `?origins=` of an effective read.
pub const EFFECTIVE_ORIGINS: Param = Param {
    name: ORIGINS,
    location: In::Query,
    values: Values::Boolean,
    description: "`true`: the answer carries `origins`, where each value of `config` came from (docs/PROTOCOL.md, Origins); `false` or absent: it does not. Anything else is 400 `CASCADE:Request:BadQuery`.",
    failures: &[],
};

/// `?origins=` of the connect upgrade (checked by the tenant hub).
pub const CONNECT_ORIGINS: Param = Param {
    name: ORIGINS,
    location: In::Query,
    values: Values::OneOf(&["0", "1", "true", "false"]),
    description: "`1` or `true`: snapshots and change frames carry origins (docs/PROTOCOL.md, Origins); `0`, `false` or absent: they do not. Anything else is refused with 400 `CASCADE:Connect:BadQuery` before the upgrade.",
    failures: &[],
};

/// `?tenant=` of the connect upgrade.
pub const CONNECT_TENANT: Param = Param {
    name: TENANT,
    location: In::Query,
    values: Values::Schema("Name"),
    description: "Tenant to attach to; defaults to the caller's own. Platform admins who omit it attach to the platform.",
    failures: &[],
};

/// `If-Match` of a document write.
pub const DOCUMENT_IF_MATCH: Param = Param {
    name: IF_MATCH,
    location: In::Header,
    values: Values::EntityTag,
    description:
        "ETag from a GET; the write is refused with 412 if the document has changed since.",
    failures: &[Failure::VersionMismatch],
};

/// `If-Match` of a tenant delete.
pub const TENANT_IF_MATCH: Param = Param {
    name: IF_MATCH,
    location: In::Header,
    values: Values::EntityTag,
    description: "ETag from GET /v1/tenants/{tenant}; the delete is refused with 412 if the tenant was updated since.",
    failures: &[Failure::TenantChanged],
};

/// The values of every `Idempotency-Key` (`config::header_guard`).
const KEY_VALUES: Values = Values::Text {
    pattern: "^[!-~]+$",
    max_len: config::MAX_IDEMPOTENCY_KEY_LEN,
};

/// `Idempotency-Key` of a write a hub commits.
pub const WRITE_IDEMPOTENCY_KEY: Param = Param {
    name: IDEMPOTENCY_KEY,
    location: In::Header,
    values: KEY_VALUES,
    description: "1-255 visible ASCII characters; a retry by the same caller (token `sub` and role) with the same key and body returns the first answer (header Idempotent-Replayed: true) and applies nothing; keys are per caller, so another caller's same key is a request of its own.",
    failures: &[Failure::KeyReused],
};

/// `Idempotency-Key` of a tenant delete.
pub const DELETE_IDEMPOTENCY_KEY: Param = Param {
    name: IDEMPOTENCY_KEY,
    location: In::Header,
    values: KEY_VALUES,
    description: "1-255 visible ASCII characters; a retry of a delete that succeeded answers 204 again (header Idempotent-Replayed: true) instead of 404.",
    failures: &[],
};

/// `?limit=` of a refusals page.
pub const REFUSALS_LIMIT: Param = Param::page_limit(
    audit::MAX_LIMIT as u64,
    audit::DEFAULT_LIMIT as u64,
    "Refusals in this page.",
);

/// `?limit=` of a history page.
pub const HISTORY_LIMIT: Param = Param::page_limit(
    history::MAX_LIMIT as u64,
    history::DEFAULT_LIMIT as u64,
    "Entries in this page.",
);

/// `?before=` of a history page.
pub const HISTORY_BEFORE: Param = Param {
    name: BEFORE,
    location: In::Query,
    values: Values::Integer {
        min: 0,
        max: u64::MAX,
        default: None,
    },
    description: "Only events with a smaller seq (the previous page's nextBefore).",
    failures: &[],
};

/// `?namespace=` of a history page.
pub const HISTORY_NAMESPACE: Param = Param {
    name: NAMESPACE,
    location: In::Query,
    values: Values::Schema("Namespace"),
    description: "Only entries that touched this namespace (any of a batch's).",
    failures: &[],
};

/// `?scope=` of a history page.
pub const HISTORY_SCOPE: Param = Param {
    name: SCOPE,
    location: In::Query,
    values: Values::OneOf(&["platform", "tenant", "user"]),
    description: "Only entries of this scope.",
    failures: &[],
};

/// `?outcome=` of a history page.
pub const HISTORY_OUTCOME: Param = Param {
    name: OUTCOME,
    location: In::Query,
    values: Values::Text {
        pattern: "^[a-z]+$",
        max_len: 40,
    },
    description: "applied, overridden, shadowed, conflict, pending, skipped, refused, unchanged. Writes refused before they commit (403, 409, 412, 422, 429) take no seq and are listed by GET /v1/tenants/{tenant}/refusals.",
    failures: &[],
};

/// `?since=` of a history page.
pub const HISTORY_SINCE: Param = Param {
    name: SINCE,
    location: In::Query,
    values: Values::Integer {
        min: 0,
        max: u64::MAX,
        default: None,
    },
    description: "Unix ms, inclusive.",
    failures: &[],
};

/// `?until=` of a history page.
pub const HISTORY_UNTIL: Param = Param {
    name: UNTIL,
    location: In::Query,
    values: Values::Integer {
        min: 0,
        max: u64::MAX,
        default: None,
    },
    description: "Unix ms, exclusive.",
    failures: &[],
};

/// `?before=` of a refusals page.
pub const REFUSALS_BEFORE: Param = Param {
    name: BEFORE,
    location: In::Query,
    values: Values::Integer {
        min: 0,
        max: u64::MAX,
        default: None,
    },
    description: "Only refusals with a smaller id (the previous page's nextBefore).",
    failures: &[],
};

/// `?namespace=` of a refusals page.
pub const REFUSALS_NAMESPACE: Param = Param {
    name: NAMESPACE,
    location: In::Query,
    values: Values::Schema("Namespace"),
    description: "Only refusals of writes to this namespace.",
    failures: &[],
};

/// `?code=` of a refusals page.
pub const REFUSALS_CODE: Param = Param {
    name: CODE,
    location: In::Query,
    values: Values::Text {
        pattern: "^[A-Za-z0-9:]+$",
        max_len: audit::MAX_CODE_LEN,
    },
    description: "Only refusals with this problem code, e.g. CASCADE:Rule:LockedPath.",
    failures: &[],
};

/// `?after=` of a sync-all page.
pub const SYNC_AFTER: Param = Param {
    name: AFTER,
    location: In::Query,
    values: Values::Schema("Name"),
    description: "Sync tenants with an id after this one (the previous page's `next`); from the first tenant when absent.",
    failures: &[],
};

/// `?limit=` of a sync-all page.
pub const SYNC_LIMIT: Param = Param::page_limit(
    sync_all::MAX_PAGE as u64,
    sync_all::MAX_PAGE as u64,
    "Tenants in this page.",
);

/// `?namespace=` of a rule preview.
pub const PREVIEW_NAMESPACE: Param = Param {
    name: NAMESPACE,
    location: In::Query,
    values: Values::Schema("Namespace"),
    description: "Preview platform writes of this namespace: tenants opted out of it are left out, and a rule that does not deliver it reaches none.",
    failures: &[],
};

/// `?after=` of a rule preview.
pub const PREVIEW_AFTER: Param = Param {
    name: AFTER,
    location: In::Query,
    values: Values::Schema("Name"),
    description: "List tenants with an id after this one (the previous answer's `next`).",
    failures: &[],
};

/// `?limit=` of a rule preview.
pub const PREVIEW_LIMIT: Param = Param::page_limit(
    targeting::MAX_PREVIEW_PAGE as u64,
    targeting::DEFAULT_PREVIEW_PAGE as u64,
    "Tenant ids listed.",
);

/// The parameters of a refusals page.
pub const REFUSALS_QUERY: &[&Param] = &[
    &REFUSALS_LIMIT,
    &REFUSALS_BEFORE,
    &REFUSALS_NAMESPACE,
    &REFUSALS_CODE,
];
/// The parameters of a document write.
pub const WRITE_GUARDS: &[&Param] = &[&DOCUMENT_IF_MATCH, &WRITE_IDEMPOTENCY_KEY];
/// The parameters of a decision (accept, reject, resolve, rollback).
pub const DECISION_GUARDS: &[&Param] = &[&WRITE_IDEMPOTENCY_KEY];
