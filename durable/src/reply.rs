//! Responses from hub handlers: JSON bodies and problem documents.

use cascade_protocol::{Problem, PROBLEM_CONTENT_TYPE};
use serde::Serialize;
use worker::{Response, Result};

/// A JSON response with status 200.
pub fn json<T: Serialize>(value: &T) -> Result<Response> {
    Response::from_json(value)
}

/// A problem+json response.
pub fn problem(
    status: u16,
    code: &str,
    title: &str,
    detail: impl Into<String>,
) -> Result<Response> {
    let body = Problem::new(status, code, title, detail);
    let mut resp = Response::from_json(&body)?.with_status(status);
    resp.headers_mut()
        .set("content-type", PROBLEM_CONTENT_TYPE)?;
    Ok(resp)
}
