//! Bounded, jittered exponential backoff shared by both remote clients.
//!
//! Why one module: NetSuite and ION fail in the same ways (429, 5xx, resets, timeouts), and the
//! admin tunes nothing per side; a single policy keeps "how long do we wait" answerable in one
//! place. The policy is pure (it only computes delays) so it is testable without a clock.

use std::time::Duration;

use rand::Rng;

/// How a failed attempt should be treated by the caller's retry loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Worth another attempt after a delay (429, 5xx, connection errors, timeouts).
    Transient,
    /// Retrying cannot help (bad request, permission, validation); park it instead.
    Permanent,
}

/// Backoff parameters. `Default` is tuned for NetSuite's shared concurrency limit: up to 6
/// attempts spread over roughly a minute.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Delay before the second attempt.
    pub base: Duration,
    /// Upper bound of any one delay, also applied to a server's `Retry-After`.
    pub max_delay: Duration,
    /// Total attempts including the first; bounded so no loop is ever stuck on one request.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// A fast policy for tests and the sandbox: same shape, millisecond delays.
    pub fn fast() -> Self {
        Self {
            base: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_attempts: 6,
        }
    }

    /// Delay before attempt number `attempt` (1 = the first retry), "full jitter" style: a random
    /// value in `[cap/2, cap]` where `cap = min(max_delay, base * 2^(attempt-1))`. A server's
    /// `Retry-After`, when given, is honoured as a lower bound (still capped by `max_delay`).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let cap = self.base.saturating_mul(1u32 << exp).min(self.max_delay);
        let half = cap / 2;
        let jitter = if cap > half {
            rand::rng().random_range(half..=cap)
        } else {
            cap
        };
        match retry_after {
            Some(ra) => jitter.max(ra.min(self.max_delay)),
            None => jitter,
        }
    }

    /// Whether another attempt is allowed after `attempts_made` attempts.
    pub fn may_retry(&self, attempts_made: u32) -> bool {
        attempts_made < self.max_attempts
    }
}

/// Parses an HTTP `Retry-After` header given in seconds (the HTTP-date form is ignored: neither
/// NetSuite nor ION is documented to send it).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let b = Backoff::default();
        for attempt in 1..=30 {
            let d = b.delay(attempt, None);
            assert!(d <= b.max_delay, "attempt {attempt}: {d:?}");
            let cap = b
                .base
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(b.max_delay);
            assert!(
                d >= cap / 2,
                "attempt {attempt}: {d:?} below half of {cap:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_a_floor_but_capped() {
        let b = Backoff::default();
        assert!(b.delay(1, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        assert_eq!(b.delay(1, Some(Duration::from_secs(3600))), b.max_delay);
    }

    #[test]
    fn attempts_are_bounded() {
        let b = Backoff::default();
        assert!(b.may_retry(5));
        assert!(!b.may_retry(6));
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(
            parse_retry_after(Some(" 12 ")),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }
}
