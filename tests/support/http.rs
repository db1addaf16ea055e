//! HTTP: requests to a runtime (as a platform admin, with a token, or with exact headers)
//! and their answers.

use std::time::Duration;

use serde_json::Value;

use super::Runtime;

impl Runtime {
    /// Sends a request as a platform admin and returns status, headers (lower-case names)
    /// and the JSON body (`Value::Null` when empty or not JSON).
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        let auth = format!("Bearer {}", self.admin_token);
        self.request_with(&[("authorization", &auth)], method, path, body)
    }

    /// Sends a request with exactly the given headers (no token unless given).
    pub fn request_with(
        &self,
        headers: &[(&str, &str)],
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Reply {
        let (status, headers, body) = try_request(self, Some(headers), method, path, body).unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Sends a request with `token` as bearer.
    pub fn request_as(&self, token: &str, method: &str, path: &str, body: Option<&str>) -> Reply {
        self.request_with(
            &[("authorization", &format!("Bearer {token}"))],
            method,
            path,
            body,
        )
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    /// `PUT path` with a JSON body.
    pub fn put_json(&self, path: &str, body: &Value) -> Reply {
        self.request("PUT", path, Some(&body.to_string()))
    }

    /// Registers a tenant and checks it was created.
    pub fn create_tenant(&self, id: &str) {
        let reply = self.put_json(
            &format!("/v1/tenants/{id}"),
            &serde_json::json!({"name": id}),
        );
        assert!(
            reply.status == 201 || reply.status == 200,
            "create tenant {id}: {reply:?}"
        );
    }

    /// `GET path` as a platform admin, or `None` when no answer came within `timeout` (for
    /// polling loops that must outlive one slow request).
    pub fn try_get(&self, path: &str, timeout: Duration) -> Option<Reply> {
        let auth = format!("Bearer {}", self.admin_token);
        try_request_within(
            self,
            Some(&[("authorization", &auth)]),
            "GET",
            path,
            None,
            timeout,
        )
        .ok()
        .map(|(status, headers, body)| Reply {
            status,
            headers,
            body,
        })
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body; a body that is not JSON is kept as a string (`Null` when empty).
    pub body: Value,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts this is a problem+json answer with `status` and `code`.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(self.body["code"], code, "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{self:?}"
        );
    }
}

/// Status, headers and JSON body.
type RawReply = (u16, Vec<(String, String)>, Value);

/// How long one GET may wait for its answer before it is sent again (see [`try_request`]).
const GET_PATIENCE: Duration = Duration::from_secs(30);

/// Sends a request and reads its whole answer, within two minutes.
///
/// A GET with no answer after [`GET_PATIENCE`] is sent again (it changes nothing), at most
/// three times, and each resend is reported on stderr. The cause is wrangler's dev proxy
/// (`ProxyWorker`): when the Worker restarts under a GET, the proxy queues the GET for a
/// retry, but when the restart's "play" has already been handled, nothing runs that queue
/// until the next request reaches the proxy, and a test waiting on the answer sends none.
/// The resend is that next request; it also releases the queued one.
pub(super) fn try_request(
    rt: &Runtime,
    headers: Option<&[(&str, &str)]>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<RawReply, ureq::Error> {
    if method != "GET" {
        return try_request_within(rt, headers, method, path, body, Duration::from_secs(120));
    }
    let mut resent = 0;
    loop {
        match try_request_within(rt, headers, method, path, body, GET_PATIENCE) {
            Err(ureq::Error::Timeout(_)) if resent < 3 => {
                resent += 1;
                eprintln!(
                    "GET {path}: no answer in {GET_PATIENCE:?}; sent again ({resent} of 3): the dev proxy's retry after a Worker restart waits for a next request"
                );
            }
            answer => return answer,
        }
    }
}

fn try_request_within(
    rt: &Runtime,
    headers: Option<&[(&str, &str)]>,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<RawReply, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let url = rt.url(path);
    let mut builder = ureq::http::Request::builder().method(method).uri(&url);
    for (k, v) in headers.unwrap_or_default() {
        builder = builder.header(*k, *v);
    }
    let typed = headers
        .unwrap_or_default()
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if body.is_some() && !typed {
        builder = builder.header("content-type", "application/json");
    }
    // A request without a body is sent without one (no `content-length: 0`), as a browser
    // sends a GET. That matters to wrangler's dev proxy: when the Worker restarts under a
    // request, the proxy retries a GET or HEAD by rebuilding it from the original, which
    // fails with 500 "Cannot reconstruct a Request with a used body" when the original
    // carried a body stream, even an empty one. Tests used to resend such GETs; now the
    // proxy's own retry succeeds, and the answer is kept as it came, so a test fails loudly
    // if that error ever shows again.
    let mut resp = match body {
        Some(text) => agent.run(builder.body(text.to_owned()).unwrap())?,
        None => agent.run(builder.body(()).unwrap())?,
    };
    let status = resp.status().as_u16();
    let headers = header_pairs(&resp);
    let text = resp.body_mut().read_to_string()?;
    let body = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(_) if text.is_empty() => Value::Null,
        Err(_) => Value::String(text),
    };
    Ok((status, headers, body))
}

/// A response's headers, names lowercased.
fn header_pairs<B>(resp: &ureq::http::Response<B>) -> Vec<(String, String)> {
    resp.headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
