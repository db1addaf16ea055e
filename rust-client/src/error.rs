//! The crate's error type.

use std::time::Duration;

/// What can go wrong talking to Cascade.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL cannot be turned into a WebSocket URL.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The token cannot be sent as an HTTP header value.
    #[error("the token is not a valid header value")]
    InvalidToken,
    /// The server answered the upgrade with an HTTP status instead of a WebSocket.
    #[error("the server refused the WebSocket with HTTP {status}{}", body.as_deref().map(|b| format!(": {b:.300}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The body (a problem+json document), if any.
        body: Option<String>,
    },
    /// The socket could not be opened in time.
    #[error("the connection did not open within {0:?}")]
    Timeout(Duration),
    /// A WebSocket or network error.
    #[error("websocket: {0}")]
    WebSocket(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// A text frame that is not a known server frame; the connection is still usable.
    #[error("malformed frame: {error} in {text:.200}")]
    Malformed {
        /// The text received.
        text: String,
        /// Why it could not be parsed.
        error: String,
    },
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
}

impl Error {
    /// Whether retrying with the same token and URL cannot help: a 4xx refusal other than
    /// 408 and 429 (a bad token, a forbidden tenant), or a bad URL or token.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Rejected { status, .. } => {
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            Self::InvalidUrl { .. } | Self::InvalidToken => true,
            Self::Timeout(_) | Self::WebSocket(_) | Self::Malformed { .. } | Self::Closed => false,
        }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error as E;
        match error {
            E::Http(response) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned());
                Self::Rejected { status, body }
            }
            E::ConnectionClosed | E::AlreadyClosed => Self::Closed,
            other => Self::WebSocket(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_client_side_refusals_are_permanent() {
        let rejected = |status| Error::Rejected { status, body: None };
        assert!(rejected(401).is_permanent());
        assert!(rejected(403).is_permanent());
        assert!(!rejected(429).is_permanent());
        assert!(!rejected(408).is_permanent());
        assert!(!rejected(503).is_permanent());
        assert!(!Error::Timeout(Duration::from_secs(1)).is_permanent());
        assert!(Error::InvalidToken.is_permanent());
        let text = rejected(403).to_string();
        assert_eq!(text, "the server refused the WebSocket with HTTP 403");
    }
}
