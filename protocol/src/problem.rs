//! RFC 7807 problem details: the one error shape of the HTTP API, reused on the WebSocket.

use serde::{Deserialize, Serialize};

/// Media type of a problem response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 7807 problem document with Cascade's stable error `code`.
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "type": "about:blank", "title": "Version mismatch", "status": 412,
    "detail": "If-Match names version 3, the namespace is at version 4",
    "code": "CASCADE:Config:VersionMismatch"
})))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// URI reference naming the problem type (`about:blank` when the code says it all).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Precise explanation of this occurrence.
    pub detail: String,
    /// Stable machine-readable code, e.g. `CASCADE:Config:NotAnObject`.
    pub code: String,
    /// Seconds to wait before retrying (rate limits); also sent as `Retry-After`.
    #[serde(
        default,
        rename = "retryAfter",
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// Builds a problem with `about:blank` as its type.
    pub fn new(status: u16, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: "about:blank".to_owned(),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            code: code.to_owned(),
            retry_after: None,
        }
    }

    /// Adds the number of seconds after which a retry may succeed.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_rfc7807_field_names() {
        let p = Problem::new(404, "CASCADE:Tenant:NotFound", "Not Found", "no tenant 'x'");
        let v = serde_json::to_value(&p).expect("serializes");
        assert_eq!(v["type"], "about:blank");
        assert_eq!(v["status"], 404);
        assert_eq!(v["code"], "CASCADE:Tenant:NotFound");
        assert_eq!(v["detail"], "no tenant 'x'");
    }
}
