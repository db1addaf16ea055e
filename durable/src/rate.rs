//! Per-hub write rate limit: a token bucket kept in the hub's memory.
//!
//! A hub is the single writer of its tenant, so its memory is the natural place to count
//! writes: no shared counter, no extra round trip. When the object is evicted the bucket
//! starts full again, which at worst allows one extra burst after an idle period.

/// A token bucket: `burst` tokens, refilled at `per_sec` tokens per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last_ms: f64,
}

impl TokenBucket {
    /// A full bucket at time `now_ms`.
    pub fn new(per_sec: f64, burst: f64, now_ms: f64) -> Self {
        let per_sec = per_sec.max(0.001);
        let burst = burst.max(1.0);
        Self {
            per_sec,
            burst,
            tokens: burst,
            last_ms: now_ms,
        }
    }

    /// Takes one token at `now_ms`. `Err(seconds)` says how long until one is available.
    pub fn take(&mut self, now_ms: f64) -> Result<(), u64> {
        let elapsed = ((now_ms - self.last_ms) / 1000.0).max(0.0);
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.per_sec;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refuses_until_refilled() {
        let mut bucket = TokenBucket::new(1.0, 3.0, 0.0);
        assert_eq!(bucket.take(0.0), Ok(()));
        assert_eq!(bucket.take(0.0), Ok(()));
        assert_eq!(bucket.take(0.0), Ok(()));
        assert_eq!(bucket.take(0.0), Err(1));
        assert_eq!(bucket.take(500.0), Err(1));
        assert_eq!(bucket.take(1000.0), Ok(()));
        assert_eq!(bucket.take(1000.0), Err(1));
    }

    #[test]
    fn retry_after_reflects_the_refill_rate() {
        let mut bucket = TokenBucket::new(0.1, 1.0, 0.0);
        assert_eq!(bucket.take(0.0), Ok(()));
        assert_eq!(bucket.take(0.0), Err(10));
        // Never more than the bucket size: a long idle period does not bank tokens.
        let mut bucket = TokenBucket::new(10.0, 2.0, 0.0);
        assert!(bucket.take(60_000.0).is_ok());
        assert!(bucket.take(60_000.0).is_ok());
        assert!(bucket.take(60_000.0).is_err());
    }
}
