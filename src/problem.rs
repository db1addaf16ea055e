//! Errors of the HTTP API and their one mapping to RFC 7807 `application/problem+json`.
//!
//! Every variant has a stable code (`CASCADE:Area:What`) that clients can match on; the
//! detail text is precise but never leaks internals: an [`ApiError::Internal`] is logged here
//! and answered with an opaque message.

use cascade_protocol::{Problem, PROBLEM_CONTENT_TYPE};
use worker::Response;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path parameter is not a valid identifier.
    #[error("{what} '{value}' is invalid: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit")]
    InvalidName {
        /// Which parameter (`tenant`, `namespace`, ...).
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// A namespace name breaks the namespace rule.
    #[error("{what} '{value}' is invalid: {reason}")]
    InvalidNamespace {
        /// Which parameter (`namespace`, `optOuts namespace`, ...).
        what: &'static str,
        /// The value given.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The body is larger than the limit.
    #[error("request body is {size} bytes; the limit is {limit} bytes")]
    BodyTooLarge {
        /// Size of the body received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is not JSON, or not the JSON expected.
    #[error("request body is not valid JSON for this endpoint: {0}")]
    MalformedJson(String),
    /// The body nests deeper than the limit.
    #[error("JSON nests {depth} levels deep; the limit is {limit}")]
    TooDeep {
        /// Depth found.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A JSON number is an integer outside the range every client reads exactly.
    #[error("the number at '{pointer}' is an integer outside ±(2^53 − 1), which JSON clients cannot represent exactly; send it as a string")]
    InexactInteger {
        /// JSON Pointer (RFC 6901) to the number in the body.
        pointer: String,
    },
    /// A configuration document must be a JSON object.
    #[error("a configuration document must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// No tenant with this id is registered.
    #[error("no tenant '{0}' is registered; create it with PUT /v1/tenants/{0}")]
    TenantNotFound(String),
    /// No route matches the path.
    #[error("no resource at {0}")]
    NoRoute(String),
    /// The path exists but not with this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path.
        path: String,
    },
    /// A WebSocket endpoint was called without an upgrade.
    #[error("this endpoint only accepts WebSocket upgrades (send 'Upgrade: websocket')")]
    UpgradeRequired,
    /// A `PATCH` body's media type is neither merge patch nor JSON Patch.
    #[error("PATCH takes Content-Type application/merge-patch+json or application/json-patch+json, got '{0}'")]
    UnsupportedMediaType(String),
    /// A request header is malformed.
    #[error("header '{name}': {problem}")]
    BadHeader {
        /// Header name.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A query parameter is missing or malformed.
    #[error("query parameter '{name}': {problem}")]
    BadQuery {
        /// Parameter name.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The request carries no valid credentials.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A sync rule does not parse or validate.
    #[error("invalid sync rule: {0}")]
    InvalidRule(String),
    /// One field of a sync rule is missing or does not parse; named in the problem's `pointer`.
    #[error("invalid sync rule: {field}: {problem}")]
    InvalidRuleField {
        /// The field, as the body names it (`syncDirection`).
        field: String,
        /// Why it is refused.
        problem: String,
    },
    /// No sync rule with this id.
    #[error("no sync rule '{0}'")]
    RuleNotFound(String),
    /// Posted events do not form a valid batch.
    #[error("invalid events: {0}")]
    InvalidEvents(String),
    /// `If-Match` named another version of the tenant's registry entry.
    #[error("tenant '{tenant}' changed since it was read (its ETag is now {etag}): read it again")]
    TenantChanged {
        /// Tenant id.
        tenant: String,
        /// The entry's current `ETag`.
        etag: String,
    },
    /// No health check has run yet.
    #[error("no health snapshot yet: the cron health check has not run")]
    NoSnapshot,
    /// No health check has seen this tenant yet (it was registered after the last one).
    #[error("tenant '{0}' has not been health-checked yet; the next cron run will")]
    NotChecked(String),
    /// A hub refused the call with its own problem document, passed on as it is.
    #[error("{}", .0.detail)]
    Hub(Problem),
    /// Anything the client cannot act on; logged, answered opaquely.
    #[error("internal error")]
    Internal(String),
}

/// A problem about one field of the request body: the problem's members and the field as a
/// JSON Pointer (an invalid sync rule field answers 422 with `pointer: "/syncDirection"`).
#[derive(Debug, serde::Serialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "type": "about:blank", "title": "Unprocessable Content", "status": 422,
    "detail": "syncDirection must be down or up", "code": "CASCADE:Rule:Invalid",
    "pointer": "/syncDirection"
})))]
pub struct FieldProblem<'a> {
    /// The problem.
    #[serde(flatten)]
    pub problem: &'a Problem,
    /// JSON Pointer to the member of the request body the problem is about.
    pub pointer: String,
}

impl ApiError {
    /// HTTP status, stable code and title of this error.
    fn parts(&self) -> (u16, &'static str, &'static str) {
        match self {
            Self::Unauthenticated(_) => (401, "CASCADE:Auth:Unauthenticated", "Unauthorized"),
            Self::Forbidden(_) => (403, "CASCADE:Auth:Forbidden", "Forbidden"),
            Self::InvalidRule(_) | Self::InvalidRuleField { .. } => {
                (422, "CASCADE:Rule:Invalid", "Unprocessable Content")
            }
            Self::RuleNotFound(_) => (404, "CASCADE:Rule:NotFound", "Not Found"),
            Self::InvalidEvents(_) => (422, "CASCADE:Event:Invalid", "Unprocessable Content"),
            Self::TenantChanged { .. } => {
                (412, "CASCADE:Tenant:VersionMismatch", "Precondition Failed")
            }
            Self::NoSnapshot => (404, "CASCADE:Health:NoSnapshot", "Not Found"),
            Self::NotChecked(_) => (404, "CASCADE:Health:NotChecked", "Not Found"),
            Self::Hub(_) => (502, "CASCADE:Hub", "Bad Gateway"),
            Self::InvalidName { .. } | Self::InvalidNamespace { .. } => {
                (400, "CASCADE:Request:InvalidName", "Bad Request")
            }
            Self::BodyTooLarge { .. } => (413, "CASCADE:Request:TooLarge", "Payload Too Large"),
            Self::MalformedJson(_) => (400, "CASCADE:Request:MalformedJson", "Bad Request"),
            Self::TooDeep { .. } => (422, "CASCADE:Request:TooDeep", "Unprocessable Content"),
            Self::InexactInteger { .. } => (
                422,
                "CASCADE:Validation:InexactInteger",
                "Unprocessable Content",
            ),
            Self::NotAnObject(_) => (422, "CASCADE:Config:NotAnObject", "Unprocessable Content"),
            Self::TenantNotFound(_) => (404, "CASCADE:Tenant:NotFound", "Not Found"),
            Self::NoRoute(_) => (404, "CASCADE:Route:NotFound", "Not Found"),
            Self::MethodNotAllowed { .. } => {
                (405, "CASCADE:Route:MethodNotAllowed", "Method Not Allowed")
            }
            Self::UpgradeRequired => (426, "CASCADE:Connect:UpgradeRequired", "Upgrade Required"),
            Self::UnsupportedMediaType(_) => (
                415,
                "CASCADE:Request:UnsupportedMediaType",
                "Unsupported Media Type",
            ),
            Self::BadHeader { .. } => (400, "CASCADE:Request:BadHeader", "Bad Request"),
            Self::BadQuery { .. } => (400, "CASCADE:Request:BadQuery", "Bad Request"),
            Self::Internal(_) => (500, "CASCADE:Internal", "Internal Server Error"),
        }
    }

    /// The problem document for this error.
    pub fn to_problem(&self) -> Problem {
        if let Self::Hub(problem) = self {
            return problem.clone();
        }
        let (status, code, title) = self.parts();
        Problem::new(status, code, title, self.to_string())
    }

    /// The HTTP response for this error. Internal details are logged, not sent.
    pub fn into_response(self) -> worker::Result<Response> {
        if let Self::Internal(detail) = &self {
            worker::console_error!("internal error: {detail}");
        }
        let problem = self.to_problem();
        let mut resp = match &self {
            // The invalid field, as a JSON Pointer into the body, beside the problem's members.
            Self::InvalidRuleField { field, .. } => {
                let body = FieldProblem {
                    problem: &problem,
                    pointer: format!("/{field}"),
                };
                let mut resp = Response::from_json(&body)?.with_status(problem.status);
                resp.headers_mut()
                    .set("content-type", PROBLEM_CONTENT_TYPE)?;
                resp
            }
            _ => problem_response(&problem)?,
        };
        if matches!(self, Self::Unauthenticated(_)) {
            resp.headers_mut()
                .set("www-authenticate", "Bearer realm=\"cascade\"")?;
        }
        Ok(resp)
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("serialization: {e}"))
    }
}

/// Renders a problem document as a response with the problem+json media type.
pub fn problem_response(problem: &Problem) -> worker::Result<Response> {
    let mut resp = Response::from_json(problem)?.with_status(problem.status);
    resp.headers_mut()
        .set("content-type", PROBLEM_CONTENT_TYPE)?;
    if let Some(seconds) = problem.retry_after {
        resp.headers_mut()
            .set("retry-after", &seconds.to_string())?;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                ApiError::InvalidName {
                    what: "tenant",
                    value: "a b".into(),
                },
                400,
                "CASCADE:Request:InvalidName",
            ),
            (
                ApiError::BodyTooLarge { size: 10, limit: 5 },
                413,
                "CASCADE:Request:TooLarge",
            ),
            (
                ApiError::TooDeep {
                    depth: 40,
                    limit: 32,
                },
                422,
                "CASCADE:Request:TooDeep",
            ),
            (
                ApiError::NotAnObject("array"),
                422,
                "CASCADE:Config:NotAnObject",
            ),
            (
                ApiError::TenantNotFound("x".into()),
                404,
                "CASCADE:Tenant:NotFound",
            ),
            (
                ApiError::UpgradeRequired,
                426,
                "CASCADE:Connect:UpgradeRequired",
            ),
            (
                ApiError::Internal("db down".into()),
                500,
                "CASCADE:Internal",
            ),
        ];
        for (err, status, code) in cases {
            let p = err.to_problem();
            assert_eq!((p.status, p.code.as_str()), (status, code), "{err:?}");
        }
    }

    #[test]
    fn internal_details_are_not_sent() {
        let p = ApiError::Internal("secret connection string".into()).to_problem();
        assert!(!p.detail.contains("secret"));
    }
}
