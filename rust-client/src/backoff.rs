//! Reconnection delays: exponential backoff with full jitter.
//!
//! The ceiling for attempt `n` (counting from 0) is `min(max, base · 2ⁿ)`; the delay is drawn
//! uniformly from `[0, ceiling]` ("full jitter"), so that many clients dropped at once by the
//! same restart do not all come back at the same instant. The computation is pure: the random
//! draw is an argument, which keeps it testable.

use std::time::Duration;

/// Exponential backoff with full jitter between reconnection attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first retry's delay; each further attempt doubles it.
    pub base: Duration,
    /// Largest ceiling, whatever the attempt.
    pub max: Duration,
}

impl Default for Backoff {
    /// 250 ms doubling up to 30 s.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// A backoff from `base` doubling up to `max` (`max` below `base` is raised to `base`).
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
        }
    }

    /// The largest delay attempt `attempt` (0 for the first retry) may wait:
    /// `min(max, base · 2^attempt)`, saturating instead of overflowing.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max.max(self.base))
    }

    /// The delay before attempt `attempt`, given a uniform draw `unit` in `[0, 1]` (values
    /// outside are clamped; NaN counts as 0): `ceiling(attempt) · unit`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        self.ceiling(attempt).mul_f64(unit)
    }

    /// The delay before attempt `attempt` with a fresh random draw.
    pub fn jittered(&self, attempt: u32) -> Duration {
        use rand::RngExt;
        self.delay(attempt, rand::rng().random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ceilings: Vec<u128> = (0..6).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn delay_scales_the_ceiling_and_clamps_the_draw() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(b.delay(1, 0.5), Duration::from_millis(100));
        assert_eq!(b.delay(1, 0.0), Duration::ZERO);
        assert_eq!(b.delay(1, 7.0), Duration::from_millis(200));
        assert_eq!(b.delay(1, -1.0), Duration::ZERO);
        assert_eq!(b.delay(1, f64::NAN), Duration::ZERO);
    }

    #[test]
    fn max_below_base_is_raised_and_huge_values_saturate() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(b.max, Duration::from_secs(2));
        assert_eq!(b.ceiling(10), Duration::from_secs(2));
        let huge = Backoff {
            base: Duration::MAX,
            max: Duration::MAX,
        };
        assert_eq!(huge.ceiling(40), Duration::MAX);
    }

    proptest! {
        #[test]
        fn jitter_stays_within_bounds(
            base_ms in 0u64..10_000,
            max_ms in 0u64..600_000,
            attempt in 0u32..200,
            unit in proptest::num::f64::ANY,
        ) {
            let b = Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(max_ms));
            let ceiling = b.ceiling(attempt);
            let delay = b.delay(attempt, unit);
            prop_assert!(delay <= ceiling);
            prop_assert!(ceiling <= b.max);
            prop_assert!(ceiling <= b.base.saturating_mul(1u32 << attempt.min(31)) || ceiling == b.max);
            let random = b.jittered(attempt);
            prop_assert!(random <= ceiling);
        }

        #[test]
        fn ceilings_never_decrease(base_ms in 1u64..10_000, max_ms in 1u64..600_000, attempt in 0u32..100) {
            let b = Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(max_ms));
            prop_assert!(b.ceiling(attempt) <= b.ceiling(attempt + 1));
            prop_assert!(b.ceiling(0) >= b.base.min(b.max));
        }
    }
}
