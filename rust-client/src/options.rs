//! How to reach Cascade and how a [`Client`](crate::Client) behaves: URL, token, tenant,
//! namespaces, backoff, heartbeat and timeouts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::Error;

/// Heartbeat timing: a `{"type":"ping"}` every `interval`; no `pong` within `timeout` of a
/// ping means the connection is dead (it is dropped and reconnected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Time between pings.
    pub interval: Duration,
    /// How long a ping may wait for its pong.
    pub timeout: Duration,
}

impl Default for Heartbeat {
    /// A ping every 25 s, dead after 10 s without its pong.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(25),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A function that returns the token to connect with, called on every (re)connection: for
/// long-lived clients whose tokens expire.
#[derive(Clone)]
pub struct TokenProvider(Arc<dyn Fn() -> String + Send + Sync>);

impl TokenProvider {
    /// Wraps `provider`.
    pub fn new(provider: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(provider))
    }

    /// A token from the provider.
    pub fn token(&self) -> String {
        (self.0)()
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenProvider(..)")
    }
}

impl PartialEq for TokenProvider {
    /// The same function (not merely one that returns the same tokens).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TokenProvider {}

/// Everything a connection needs. Build with [`Options::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Origin of the service: `http://127.0.0.1:8787`, `https://…`, `ws://…` or `wss://…`
    /// (a path prefix is kept).
    pub base_url: String,
    /// The JWT, sent as `Authorization: Bearer <token>` (unless `token_provider` is set).
    pub token: String,
    /// Called for a fresh token on every (re)connection instead of using `token`.
    pub token_provider: Option<TokenProvider>,
    /// The tenant whose hub to follow.
    pub tenant: String,
    /// The namespaces to follow (`config:{type}` rooms); `None` follows all.
    pub namespaces: Option<Vec<String>>,
    /// Delays between reconnection attempts.
    pub backoff: Backoff,
    /// Heartbeat timing; `None` sends no pings.
    pub heartbeat: Option<Heartbeat>,
    /// How long opening a socket (TCP and the upgrade) may take.
    pub connect_timeout: Duration,
    /// How many events a subscriber may fall behind before it misses some.
    pub event_capacity: usize,
}

impl Options {
    /// Options for `tenant` at `base_url` with `token`, and the defaults: all namespaces,
    /// [`Backoff::default`], [`Heartbeat::default`], a 15 s connect timeout, 256 buffered
    /// events per subscriber.
    pub fn new(
        base_url: impl Into<String>,
        token: impl Into<String>,
        tenant: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            token: token.into(),
            token_provider: None,
            tenant: tenant.into(),
            namespaces: None,
            backoff: Backoff::default(),
            heartbeat: Some(Heartbeat::default()),
            connect_timeout: Duration::from_secs(15),
            event_capacity: 256,
        }
    }

    /// Follows only these namespaces.
    pub fn with_namespaces<I, S>(mut self, namespaces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.namespaces = Some(namespaces.into_iter().map(Into::into).collect());
        self
    }

    /// Takes the token from `provider` on every (re)connection (a token that expires).
    pub fn with_token_provider(
        mut self,
        provider: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        self.token_provider = Some(TokenProvider::new(provider));
        self
    }

    /// The token for the next connection.
    pub fn current_token(&self) -> String {
        match &self.token_provider {
            Some(provider) => provider.token(),
            None => self.token.clone(),
        }
    }

    /// Sets the reconnection backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the heartbeat (`None` turns it off, e.g. for many sockets in a test).
    pub fn with_heartbeat(mut self, heartbeat: Option<Heartbeat>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the event buffer per subscriber.
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// The WebSocket URL: `ws(s)://host/…/v1/connect?tenant=…[&since=…][&namespaces=a,b]`.
    pub fn connect_url(&self, since: Option<u64>) -> Result<String, Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: self.base_url.clone(),
            reason: reason.to_owned(),
        };
        let base = self.base_url.trim_end_matches('/');
        let (scheme, rest) = base.split_once("://").ok_or_else(|| invalid("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => "ws",
            "https" | "wss" => "wss",
            _ => return Err(invalid("the scheme must be http, https, ws or wss")),
        };
        if rest.is_empty() || rest.contains(['?', '#']) {
            return Err(invalid("expected an origin with an optional path"));
        }
        let mut url = format!(
            "{scheme}://{rest}/v1/connect?tenant={}",
            encode(&self.tenant)
        );
        if let Some(since) = since {
            url.push_str(&format!("&since={since}"));
        }
        if let Some(namespaces) = &self.namespaces {
            let list: Vec<String> = namespaces.iter().map(|n| encode(n)).collect();
            url.push_str("&namespaces=");
            url.push_str(&list.join(","));
        }
        Ok(url)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_urls() {
        let o = Options::new("http://127.0.0.1:8787/", "t", "acme");
        assert_eq!(
            o.connect_url(None).expect("url"),
            "ws://127.0.0.1:8787/v1/connect?tenant=acme"
        );
        let o = Options::new("https://cfg.example.com/base", "t", "a b")
            .with_namespaces(["auth", "my,ns"]);
        assert_eq!(
            o.connect_url(Some(12)).expect("url"),
            "wss://cfg.example.com/base/v1/connect?tenant=a%20b&since=12&namespaces=auth,my%2Cns"
        );
        assert_eq!(
            Options::new("WS://h:1", "t", "x")
                .connect_url(Some(0))
                .expect("url"),
            "ws://h:1/v1/connect?tenant=x&since=0"
        );
        for bad in ["127.0.0.1:8787", "ftp://h", "http://", "http://h/?q"] {
            let err = Options::new(bad, "t", "x").connect_url(None);
            assert!(matches!(err, Err(Error::InvalidUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn builders() {
        let o = Options::new("http://h", "t", "x")
            .with_heartbeat(None)
            .with_backoff(Backoff::new(
                Duration::from_millis(1),
                Duration::from_millis(2),
            ))
            .with_connect_timeout(Duration::from_secs(1))
            .with_event_capacity(0);
        assert_eq!(o.heartbeat, None);
        assert_eq!(o.backoff.max, Duration::from_millis(2));
        assert_eq!(o.connect_timeout, Duration::from_secs(1));
        assert_eq!(o.event_capacity, 1);
        assert_eq!(o.current_token(), "t");
        let counter = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let seen = Arc::clone(&counter);
        let o = o.with_token_provider(move || {
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            format!("t{n}")
        });
        assert_eq!(
            (o.current_token(), o.current_token()),
            ("t0".into(), "t1".into())
        );
        assert_eq!(o.clone(), o);
        assert_eq!(format!("{:?}", o.token_provider), "Some(TokenProvider(..))");
    }
}
