//! The requests-per-second limit ([`Faults::rps_limit`](crate::Faults::rps_limit)): a token
//! bucket per merchant (the `mchid` of the verified `Authorization`) and per endpoint (the
//! schema's endpoint name, e.g. `UpdateUserCard`).
//!
//! A bucket holds at most `max(1, rps)` tokens (one second of burst, as a server counting per
//! second allows; at least one, so that a rate below 1 still lets a request through), starts
//! full, and is refilled continuously at `rps` tokens per second. A request takes one token; with
//! less than one left it is refused.
//!
//! The buckets are bounded: at most [`MAX_RATE_BUCKETS`]. A new bucket past the cap replaces the
//! full bucket refilled longest ago (a full bucket is the same as no bucket: forgetting it loses
//! nothing); when no bucket is full, the request is refused as over the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The highest [`Faults::rps_limit`](crate::Faults::rps_limit): a million requests per second.
pub const MAX_RPS: f64 = 1e6;
/// The most token buckets kept (merchants × endpoints).
pub const MAX_RATE_BUCKETS: usize = 10_000;
/// The longest wait a `Retry-After` header says: a day.
pub(crate) const MAX_RETRY_AFTER_SECS: u64 = 86_400;

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RateRefusal {
    /// Its bucket has less than one token; one is back in this many seconds (rounded up, 1 to
    /// [`MAX_RETRY_AFTER_SECS`]).
    Empty { retry_after_secs: u64 },
    /// It needs a new bucket, and [`MAX_RATE_BUCKETS`] are kept, none of them full.
    TooManyBuckets,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    /// Adds the tokens earned since it was last refilled, up to `capacity`.
    fn refill(&mut self, now: Instant, rps: f64, capacity: f64) {
        // An instant before the last refill (read by another thread before it took the lock)
        // earns nothing, and does not move the refill time back.
        if now > self.refilled {
            let elapsed = now.duration_since(self.refilled).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rps).min(capacity);
            self.refilled = now;
        }
    }

    fn is_full_at(&self, now: Instant, rps: f64, capacity: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens + elapsed * rps >= capacity
    }
}

struct State {
    rps: Option<f64>,
    /// mchid → endpoint → bucket.
    buckets: HashMap<String, HashMap<String, Bucket>>,
    len: usize,
}

/// The token buckets of every merchant and endpoint.
pub(crate) struct RateLimiter {
    state: Mutex<State>,
    max_buckets: usize,
}

/// A bucket's size: one second of tokens, at least one.
fn capacity(rps: f64) -> f64 {
    rps.max(1.0)
}

impl RateLimiter {
    /// A limiter of `rps` requests per second per merchant and endpoint (`None`: no limit).
    /// `rps` must be finite and above 0 (see [`Faults::check`](crate::Faults)).
    pub(crate) fn new(rps: Option<f64>) -> Self {
        Self::with_max_buckets(rps, MAX_RATE_BUCKETS)
    }

    fn with_max_buckets(rps: Option<f64>, max_buckets: usize) -> Self {
        Self {
            state: Mutex::new(State {
                rps,
                buckets: HashMap::new(),
                len: 0,
            }),
            max_buckets,
        }
    }

    /// Replaces the limit; every bucket starts full again.
    pub(crate) fn set(&self, rps: Option<f64>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.rps = rps;
        state.buckets.clear();
        state.len = 0;
    }

    /// Takes a token from the bucket of `mchid` and `endpoint` at `now`, or says why not. Without
    /// a limit, always admits (and keeps nothing).
    pub(crate) fn admit(
        &self,
        mchid: &str,
        endpoint: &str,
        now: Instant,
    ) -> Result<(), RateRefusal> {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        let Some(rps) = state.rps else {
            return Ok(());
        };
        let capacity = capacity(rps);
        if let Some(bucket) = state
            .buckets
            .get_mut(mchid)
            .and_then(|endpoints| endpoints.get_mut(endpoint))
        {
            bucket.refill(now, rps, capacity);
            if bucket.tokens < 1.0 {
                let wait = ((1.0 - bucket.tokens) / rps).ceil();
                // In range, so the conversion neither saturates nor truncates.
                let retry_after_secs = wait.clamp(1.0, MAX_RETRY_AFTER_SECS as f64) as u64;
                return Err(RateRefusal::Empty { retry_after_secs });
            }
            bucket.tokens -= 1.0;
            return Ok(());
        }
        if state.len >= self.max_buckets && !evict_oldest_full(state, now, rps, capacity) {
            return Err(RateRefusal::TooManyBuckets);
        }
        state.buckets.entry(mchid.to_owned()).or_default().insert(
            endpoint.to_owned(),
            Bucket {
                tokens: capacity - 1.0,
                refilled: now,
            },
        );
        state.len += 1;
        Ok(())
    }
}

/// Forgets the full bucket refilled longest ago, if any bucket is full.
fn evict_oldest_full(state: &mut State, now: Instant, rps: f64, capacity: f64) -> bool {
    let oldest = state
        .buckets
        .iter()
        .flat_map(|(mchid, endpoints)| {
            endpoints
                .iter()
                .map(move |(endpoint, bucket)| (mchid, endpoint, bucket))
        })
        .filter(|(_, _, bucket)| bucket.is_full_at(now, rps, capacity))
        .min_by_key(|(_, _, bucket)| bucket.refilled)
        .map(|(mchid, endpoint, _)| (mchid.clone(), endpoint.clone()));
    let Some((mchid, endpoint)) = oldest else {
        return false;
    };
    if let Some(endpoints) = state.buckets.get_mut(&mchid) {
        endpoints.remove(&endpoint);
        if endpoints.is_empty() {
            state.buckets.remove(&mchid);
        }
    }
    state.len -= 1;
    true
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn admitted(
        limiter: &RateLimiter,
        mchid: &str,
        endpoint: &str,
        now: Instant,
        n: usize,
    ) -> usize {
        (0..n)
            .filter(|_| limiter.admit(mchid, endpoint, now).is_ok())
            .count()
    }

    #[test]
    fn a_bucket_holds_one_second_and_refills_continuously() {
        let limiter = RateLimiter::new(Some(5.0));
        let t0 = Instant::now();
        assert_eq!(admitted(&limiter, "m", "Update", t0, 12), 5);
        assert!(matches!(
            limiter.admit("m", "Update", t0),
            Err(RateRefusal::Empty { .. })
        ));
        // Another endpoint, another merchant: their own buckets.
        assert_eq!(admitted(&limiter, "m", "Get", t0, 12), 5);
        assert_eq!(admitted(&limiter, "n", "Update", t0, 12), 5);
        // 200 ms give one token back (300 ms: one and a half), 1 s the whole bucket, never more.
        assert_eq!(
            admitted(&limiter, "m", "Update", t0 + Duration::from_millis(199), 3),
            0
        );
        assert_eq!(
            admitted(&limiter, "m", "Update", t0 + Duration::from_millis(300), 3),
            1
        );
        assert_eq!(
            admitted(&limiter, "m", "Update", t0 + Duration::from_secs(60), 12),
            5
        );
    }

    #[test]
    fn a_refusal_says_when_a_token_is_back() {
        let wait = |rps: f64, after: Duration| {
            let limiter = RateLimiter::new(Some(rps));
            let t0 = Instant::now();
            while limiter.admit("m", "Get", t0).is_ok() {}
            match limiter.admit("m", "Get", t0 + after) {
                Err(RateRefusal::Empty { retry_after_secs }) => retry_after_secs,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(wait(5.0, Duration::ZERO), 1);
        assert_eq!(wait(0.01, Duration::ZERO), 100);
        assert_eq!(wait(0.01, Duration::from_secs(30)), 70);
        assert_eq!(wait(0.5, Duration::from_millis(1500)), 1);
        assert_eq!(
            wait(f64::MIN_POSITIVE, Duration::ZERO),
            MAX_RETRY_AFTER_SECS
        );
    }

    #[test]
    fn a_rate_below_one_still_holds_one_token() {
        let limiter = RateLimiter::new(Some(0.5));
        let t0 = Instant::now();
        assert_eq!(admitted(&limiter, "m", "Get", t0, 3), 1);
        assert_eq!(
            admitted(&limiter, "m", "Get", t0 + Duration::from_millis(1900), 3),
            0
        );
        assert_eq!(
            admitted(&limiter, "m", "Get", t0 + Duration::from_secs(4), 3),
            1
        );
        // A tiny rate neither overflows nor panics; a huge one holds its second of tokens.
        let limiter = RateLimiter::new(Some(f64::MIN_POSITIVE));
        assert_eq!(admitted(&limiter, "m", "Get", t0, 3), 1);
        let later = t0 + Duration::from_secs(1_000_000_000);
        assert_eq!(admitted(&limiter, "m", "Get", later, 3), 0);
        let limiter = RateLimiter::new(Some(MAX_RPS));
        assert_eq!(admitted(&limiter, "m", "Get", t0, 2_000_000), 1_000_000);
        // An earlier instant (another thread's) refills nothing and takes nothing back.
        assert_eq!(
            admitted(&limiter, "m", "Get", t0 - Duration::from_millis(1), 1),
            0
        );
    }

    #[test]
    fn no_limit_admits_everything_and_set_restarts_full() {
        let limiter = RateLimiter::new(None);
        let t0 = Instant::now();
        assert_eq!(admitted(&limiter, "m", "Get", t0, 1000), 1000);
        limiter.set(Some(2.0));
        assert_eq!(admitted(&limiter, "m", "Get", t0, 5), 2);
        limiter.set(Some(2.0));
        assert_eq!(admitted(&limiter, "m", "Get", t0, 5), 2);
    }

    #[test]
    fn the_buckets_are_bounded() {
        let limiter = RateLimiter::with_max_buckets(Some(1.0), 3);
        let t0 = Instant::now();
        for (ms, endpoint) in [(0, "a"), (1, "b"), (2, "c")] {
            assert!(
                limiter
                    .admit("m", endpoint, t0 + Duration::from_millis(ms))
                    .is_ok()
            );
        }
        // No bucket is full: a fourth is refused, whatever the merchant.
        assert_eq!(
            limiter.admit("n", "a", t0 + Duration::from_millis(3)),
            Err(RateRefusal::TooManyBuckets)
        );
        // "b" is refilled last: once all are full again, "a" goes first.
        let t1 = t0 + Duration::from_millis(500);
        assert!(matches!(
            limiter.admit("m", "b", t1),
            Err(RateRefusal::Empty { .. })
        ));
        let t2 = t0 + Duration::from_secs(2);
        assert!(limiter.admit("n", "a", t2).is_ok());
        {
            let state = limiter.state.lock().unwrap();
            assert_eq!(state.len, 3);
            let m = &state.buckets["m"];
            assert!(!m.contains_key("a") && m.contains_key("b") && m.contains_key("c"));
        }
        // "n"/"a" is empty and the others full: "c" (refilled at t0 + 2 ms) goes before "b" (t1).
        assert!(limiter.admit("n", "b", t2).is_ok());
        let state = limiter.state.lock().unwrap();
        assert_eq!(state.len, 3);
        assert!(state.buckets["m"].contains_key("b") && !state.buckets["m"].contains_key("c"));
    }
}
