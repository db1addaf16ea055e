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
    problem_document(&Problem::new(status, code, title, detail))
}

/// A problem+json response for a problem document, with `Retry-After` when it says when to
/// retry (a refused connect reaches the client as the hub answered it, so the header must be
/// set here, not by the Worker).
pub fn problem_document(problem: &Problem) -> Result<Response> {
    let mut resp = Response::from_json(problem)?.with_status(problem.status);
    resp.headers_mut()
        .set("content-type", PROBLEM_CONTENT_TYPE)?;
    if let Some(seconds) = problem.retry_after {
        resp.headers_mut()
            .set("retry-after", &seconds.to_string())?;
    }
    Ok(resp)
}
