//! When and how long to wait before trying again.

use std::time::Duration;

/// How a call retries: which failures, how many times, how long it waits in between.
///
/// Connection errors, timeouts, 429 and 5xx answers are retried; other answers are not. Each
/// attempt is signed anew (fresh timestamp and nonce). The wait before attempt `n + 1` is drawn
/// uniformly from `[0, min(max_backoff, initial_backoff * 2^(n-1))]` ("full jitter"), so that
/// many clients failing together do not retry together; and no attempt starts past the call's
/// deadline ([`crate::ClientBuilder::call_timeout`]).
///
/// ```
/// use std::time::Duration;
/// use wechatpay_card_client::RetryPolicy;
///
/// let patient = RetryPolicy::default().max_attempts(6).max_backoff(Duration::from_secs(10));
/// let none = RetryPolicy::never();
/// assert_eq!(none.attempts(), 1);
/// # let _ = patient;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, waits of up to 200 ms, 400 ms, 800 ms (capped at 5 s).
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Attempts in all, the first included (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The cap of the first wait; each later cap doubles.
    #[must_use]
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest cap of a wait.
    #[must_use]
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Attempts in all.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The largest wait after failed attempt `attempt` (1-based).
    pub(crate) fn backoff_cap(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// A random wait after failed attempt `attempt`: full jitter under [`Self::backoff_cap`].
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let cap = self.backoff_cap(attempt);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_double_up_to_the_maximum() {
        let p = RetryPolicy::default();
        let caps: Vec<u128> = (1..=7).map(|n| p.backoff_cap(n).as_millis()).collect();
        assert_eq!(caps, [200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(p.backoff_cap(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn waits_are_jittered_under_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<Duration> = (0..200).map(|_| p.backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(800)));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "waits are spread out, not one value");
    }

    #[test]
    fn at_least_one_attempt() {
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
    }
}
