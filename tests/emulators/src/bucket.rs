//! The token bucket every emulator throttles with, as rate-limited APIs do: up to `burst`
//! requests at once, and tokens coming back at a steady rate.

use std::time::{Duration, Instant};

/// Tokens short of one by less than this count as one, so a client paced at exactly the rate
/// is never refused for a rounding error.
const ROUNDING: f64 = 1e-9;

/// A token bucket, full at the start.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    per_second: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Option<Instant>,
}

impl TokenBucket {
    /// A bucket of `burst` tokens (at least 1) refilled at `per_second` (a negative rate: 0).
    pub fn new(per_second: f64, burst: u32) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            per_second: per_second.max(0.0),
            capacity,
            tokens: capacity,
            refilled_at: None,
        }
    }

    /// Takes a token for a request that arrived `at` (arrivals may be handled out of order).
    /// When none is left: how long until one is, `None` if never (a rate of zero).
    pub fn take(&mut self, at: Instant) -> Result<(), Option<Duration>> {
        if let Some(last) = self.refilled_at {
            let elapsed = at.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        }
        self.refilled_at = Some(self.refilled_at.map_or(at, |last| last.max(at)));
        if self.tokens >= 1.0 - ROUNDING {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else if self.per_second > 0.0 {
            Err(Some(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            )))
        } else {
            Err(None)
        }
    }
}

/// A wait as whole seconds for `Retry-After`: rounded up, 1 to 86,400 (a day, also for never).
pub fn retry_after_seconds(wait: Option<Duration>) -> u64 {
    wait.map_or(86_400, |wait| {
        wait.as_secs_f64().ceil().clamp(1.0, 86_400.0) as u64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_tokens_come_back_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Ok(()));
        }
        let wait = bucket.take(start).unwrap_err().unwrap();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        let later = start + Duration::from_millis(100);
        assert_eq!(bucket.take(later), Ok(()));
        assert!(bucket.take(later).is_err());
        // A long pause refills no more than the burst.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.take(much_later), Ok(()));
        }
        assert!(bucket.take(much_later).is_err());
    }

    #[test]
    fn a_client_paced_at_exactly_the_rate_is_never_refused() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3.0, 1);
        // A third of a second in whole nanoseconds, as a client's limiter paces it: three of
        // them refill 0.999999999 of a token.
        let interval = Duration::from_secs_f64(1.0 / 3.0);
        for k in 0..10_000u32 {
            assert_eq!(bucket.take(start + interval * k), Ok(()), "request {k}");
        }
    }

    #[test]
    fn an_earlier_arrival_handled_late_refills_nothing() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1.0, 1);
        assert_eq!(bucket.take(start + Duration::from_secs(1)), Ok(()));
        assert!(bucket.take(start).is_err());
        assert_eq!(bucket.take(start + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn a_rate_of_zero_never_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(0.0, 1);
        assert_eq!(bucket.take(start), Ok(()));
        assert_eq!(bucket.take(start + Duration::from_secs(3600)), Err(None));
        assert_eq!(retry_after_seconds(None), 86_400);
        assert_eq!(retry_after_seconds(Some(Duration::from_millis(1))), 1);
        assert_eq!(retry_after_seconds(Some(Duration::from_millis(1500))), 2);
    }
}
