//! Posting a notice to the alert webhook: JSON body, `Idempotency-Key` header (the notice
//! id), a few attempts with growing delays, and a timeout per attempt. Any 2xx answer counts
//! as delivered.

use std::time::Duration;

use futures::future::{select, Either};
use worker::{Delay, Fetch, Headers, Method, Request, RequestInit};

use super::incidents::Notice;

/// Attempts per notice within one run.
pub const ATTEMPTS: u32 = 3;
/// Delay before the second attempt; doubled before each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a notice was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The request could not be built or sent.
    #[error("webhook request failed: {0}")]
    Send(String),
    /// The receiver answered with a non-2xx status.
    #[error("webhook answered {0}")]
    Status(u16),
    /// No answer within [`ATTEMPT_TIMEOUT`].
    #[error("webhook did not answer within {0:?}")]
    Timeout(Duration),
}

/// The outcome of delivering one notice: how many attempts it took, and the last error if
/// every attempt failed.
pub struct Delivery {
    /// Attempts made.
    pub attempts: u32,
    /// `None` when delivered.
    pub error: Option<WebhookError>,
}

/// Posts `notice` to `url`, retrying with backoff up to [`ATTEMPTS`] times.
pub async fn deliver(url: &str, notice: &Notice) -> Delivery {
    let mut backoff = FIRST_BACKOFF;
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            Delay::from(backoff).await;
            backoff *= 2;
        }
        match post(url, notice).await {
            Ok(()) => {
                return Delivery {
                    attempts: attempt,
                    error: None,
                }
            }
            Err(e) => {
                worker::console_warn!("alert {} attempt {attempt}: {e}", notice.id);
                last = Some(e);
            }
        }
    }
    Delivery {
        attempts: ATTEMPTS,
        error: last,
    }
}

async fn post(url: &str, notice: &Notice) -> Result<(), WebhookError> {
    let send = |e: worker::Error| WebhookError::Send(e.to_string());
    let body = serde_json::to_string(notice).map_err(|e| WebhookError::Send(e.to_string()))?;
    let headers = Headers::new();
    headers
        .set("content-type", "application/json")
        .map_err(send)?;
    headers.set("idempotency-key", &notice.id).map_err(send)?;
    headers
        .set("user-agent", "cascade-health-check")
        .map_err(send)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let request = Request::new_with_init(url, &init).map_err(send)?;
    let fetch = Fetch::Request(request);
    let sending = std::pin::pin!(fetch.send());
    let timeout = Delay::from(ATTEMPT_TIMEOUT);
    match select(sending, timeout).await {
        Either::Left((Ok(resp), _)) => match resp.status_code() {
            200..=299 => Ok(()),
            status => Err(WebhookError::Status(status)),
        },
        Either::Left((Err(e), _)) => Err(send(e)),
        Either::Right(_) => Err(WebhookError::Timeout(ATTEMPT_TIMEOUT)),
    }
}
