//! Write rate limits: token buckets kept in the hub's memory, one for the whole hub and one
//! per caller inside it.
//!
//! A hub is the single writer of its tenant, so its memory is the natural place to count
//! writes: no shared counter, no extra round trip. When the object is evicted the buckets
//! start full again, which at worst allows one extra burst after an idle period.
//!
//! A write takes a token from its caller's bucket and from the hub's, or from neither: one
//! caller flooding its own layer empties its own bucket, and everyone else keeps the rest of
//! the hub's budget.

use std::collections::HashMap;

/// How many idle callers' buckets a hub keeps before it forgets the full ones.
const MAX_TRACKED_CALLERS: usize = 1024;

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
        self.check(now_ms)?;
        self.tokens -= 1.0;
        Ok(())
    }

    /// Refills to `now_ms` and says whether a token is available, without taking it.
    /// `Err(seconds)` says how long until one is.
    pub fn check(&mut self, now_ms: f64) -> Result<(), u64> {
        let elapsed = ((now_ms - self.last_ms) / 1000.0).max(0.0);
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last_ms = now_ms;
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.per_sec;
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    /// Whether the bucket is full at `now_ms` (its owner has been idle long enough to be
    /// forgotten without granting anything extra).
    fn is_full(&mut self, now_ms: f64) -> bool {
        let _ = self.check(now_ms);
        self.tokens >= self.burst
    }
}

/// Rates of a [`WriteLimiter`]: the hub's and each caller's (writes per second, burst).
#[derive(Debug, Clone, Copy)]
pub struct WriteRates {
    /// The hub's sustained rate.
    pub hub_per_sec: f64,
    /// The hub's burst.
    pub hub_burst: f64,
    /// Each caller's sustained rate.
    pub caller_per_sec: f64,
    /// Each caller's burst.
    pub caller_burst: f64,
}

/// Which budget refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// The caller's own budget; retry in this many seconds.
    Caller(u64),
    /// The hub's budget, shared by all callers; retry in this many seconds.
    Hub(u64),
}

/// The hub's bucket and one bucket per caller.
#[derive(Debug)]
pub struct WriteLimiter {
    rates: WriteRates,
    hub: TokenBucket,
    callers: HashMap<String, TokenBucket>,
}

impl WriteLimiter {
    /// Full buckets at `now_ms`.
    pub fn new(rates: WriteRates, now_ms: f64) -> Self {
        Self {
            rates,
            hub: TokenBucket::new(rates.hub_per_sec, rates.hub_burst, now_ms),
            callers: HashMap::new(),
        }
    }

    /// Takes a token for a write by `caller` (`None`: a write for nobody in particular,
    /// counted only against the hub). Nothing is taken when either budget is exhausted.
    pub fn take(&mut self, caller: Option<&str>, now_ms: f64) -> Result<(), Exhausted> {
        if let Some(caller) = caller {
            if self.callers.len() >= MAX_TRACKED_CALLERS && !self.callers.contains_key(caller) {
                self.callers.retain(|_, bucket| !bucket.is_full(now_ms));
            }
            let rates = self.rates;
            let own = self.callers.entry(caller.to_owned()).or_insert_with(|| {
                TokenBucket::new(rates.caller_per_sec, rates.caller_burst, now_ms)
            });
            own.check(now_ms).map_err(Exhausted::Caller)?;
            self.hub.take(now_ms).map_err(Exhausted::Hub)?;
            own.take(now_ms).map_err(Exhausted::Caller)
        } else {
            self.hub.take(now_ms).map_err(Exhausted::Hub)
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

    const RATES: WriteRates = WriteRates {
        hub_per_sec: 1.0,
        hub_burst: 4.0,
        caller_per_sec: 1.0,
        caller_burst: 2.0,
    };

    #[test]
    fn one_caller_cannot_spend_the_whole_hub_budget() {
        let mut limiter = WriteLimiter::new(RATES, 0.0);
        assert_eq!(limiter.take(Some("user:bob"), 0.0), Ok(()));
        assert_eq!(limiter.take(Some("user:bob"), 0.0), Ok(()));
        assert_eq!(
            limiter.take(Some("user:bob"), 0.0),
            Err(Exhausted::Caller(1))
        );
        assert_eq!(
            limiter.take(Some("user:bob"), 0.0),
            Err(Exhausted::Caller(1))
        );
        // Bob's refused writes took nothing from the hub: the admin still has two.
        assert_eq!(limiter.take(Some("admin:ann"), 0.0), Ok(()));
        assert_eq!(limiter.take(None, 0.0), Ok(()));
        // The hub's budget is spent now, whoever asks.
        assert_eq!(limiter.take(Some("user:eve"), 0.0), Err(Exhausted::Hub(1)));
        assert_eq!(limiter.take(Some("admin:ann"), 0.0), Err(Exhausted::Hub(1)));
        // Eve's refusal by the hub took nothing from her own bucket.
        assert_eq!(limiter.take(Some("user:eve"), 2000.0), Ok(()));
        assert_eq!(limiter.take(Some("user:eve"), 2000.0), Ok(()));
    }

    #[test]
    fn idle_callers_are_forgotten_when_many() {
        let mut limiter = WriteLimiter::new(
            WriteRates {
                hub_per_sec: 1e9,
                hub_burst: 1e9,
                ..RATES
            },
            0.0,
        );
        for i in 0..MAX_TRACKED_CALLERS {
            assert!(limiter.take(Some(&format!("c{i}")), 0.0).is_ok());
        }
        assert_eq!(limiter.callers.len(), MAX_TRACKED_CALLERS);
        // Much later every bucket is full again: a new caller makes room.
        assert!(limiter.take(Some("late"), 10_000.0).is_ok());
        assert_eq!(limiter.callers.len(), 1);
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
