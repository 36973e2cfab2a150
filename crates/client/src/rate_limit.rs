//! A client-side rate limiter shared by every task of a process: fixed, or adaptive (it finds
//! the server's limit from its 429 answers, like the AWS SDKs' "adaptive" retry mode).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// The highest rate either constructor accepts, in requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// The lowest rate either constructor accepts, in requests per second (one per 1000 s).
pub const MIN_RATE: f64 = 0.001;

/// The lowest rate an adaptive limiter cuts down to, in requests per second.
pub const MIN_ADAPTIVE_RATE: f64 = 0.5;

/// The longest `Retry-After` honoured; a longer one waits this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Slow start: the rate grows by this much (requests per second) per successful answer until the
/// first 429, which doubles it about every 0.23 s while the limiter is what holds callers back.
const SLOW_START_GAIN: f64 = 3.0;

/// The first 429 of the slow start estimates the limit at this share of the successes of
/// the last second (but not below the starting rate).
const SLOW_START_EXIT: f64 = 0.5;

/// A 429 cuts the rate to this share of the rate the server was accepting.
const BETA: f64 = 0.9;

/// After a cut, the time (under load) the rate takes to climb back to the rate the server was
/// accepting, in seconds (the concave half of the CUBIC curve).
const CUBIC_K: f64 = 2.0;

/// How long the rate then stays at the accepted rate before probing beyond it (the convex half
/// of the curve), in seconds: the first time, and at most, doubling each time a 429 finds the
/// limit where the previous one did.
const PLATEAU_FIRST: f64 = 8.0;
const PLATEAU_MAX: f64 = 64.0;

/// A limit "where the previous one was": at most this share (plus one request per second)
/// above it.
const SAME_LIMIT: f64 = 0.1;

/// A 429 at or below the plateau lowers it to at most this share of what it was.
const LOWER_LIMIT: f64 = 0.95;

/// The shortest pause after a 429 without `Retry-After`.
const MIN_HOLD: Duration = Duration::from_millis(100);

/// The longest pause after consecutive 429 answers without `Retry-After`.
const MAX_HOLD: Duration = Duration::from_secs(1);

/// How the successes of the last second are counted: this many buckets of `1 s / BUCKETS`.
const BUCKETS: usize = 100;
const BUCKET_NANOS: u128 = 1_000_000_000 / BUCKETS as u128;

/// A rate given to [`RateLimiter::fixed`] or [`RateLimiter::adaptive`] that is not a number of
/// requests per second from [`MIN_RATE`] to [`MAX_RATE`] (NaN and infinities included).
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("rate must be a number of requests per second from {MIN_RATE} to {MAX_RATE}, got {0}")]
pub struct InvalidRate(pub f64);

/// A client-side rate limiter: a token bucket of one token (requests are spaced evenly, never
/// sent in bursts), shared by every clone.
///
/// * [`RateLimiter::fixed`] sends at most `rps` requests per second, whatever the answers; only
///   a `Retry-After` given to [`on_throttle`](Self::on_throttle) pauses it.
/// * [`RateLimiter::adaptive`] starts at `initial_rps` (the endpoint's documented limit, or a
///   safe guess) and adapts, in the manner of the AWS SDKs' "adaptive" retry mode (CUBIC):
///   - until the first 429 (**slow start**), each successful answer adds 3 requests per second,
///     so the rate doubles about every 0.23 s while the limiter is what holds callers back
///     (5/s becomes 100/s within about a second);
///   - a 429 estimates the limit `A` as the lower of the current rate and the successes of the
///     last second, and cuts the rate to `0.9·A`. The slow start's first 429 is different: a
///     server's token bucket is full at first and lets a burst through, so its last second may
///     hold up to twice the limit; it restarts from half of it (or, when half is no more than
///     the starting rate, takes the starting rate as `A`, as a documented limit should be)
///     and climbs back towards it (a window server meets its limit on the way). Successes
///     then raise the rate along a CUBIC curve:
///     back to `A` within 2 s, flat at `A` for a **plateau** (8 s at first), then probing beyond
///     it ever faster until the next 429. A 429 met while probing, that finds the limit where
///     `A` was, keeps `A` and doubles the plateau (up to 64 s): a settled limit is probed
///     rarely. A 429 met at or below `A` lowers it (to at most `0.95·A`); one clearly above `A`
///     replaces it;
///   - 429 answers without `Retry-After` also pause sending, for twice the interval between
///     tokens (at least 100 ms), doubling with each 429 that follows without a success, up to
///     1 s: a server counting per second has no room left until its window turns. Only the
///     first 429 of such a run cuts the rate, and a 429 answered during a pause (a request
///     that was in flight when it began) changes nothing;
///   - the rate only grows while callers are waiting for tokens, so a lightly loaded limiter
///     does not drift up to a rate it never tried; it stays within [`MIN_ADAPTIVE_RATE`] and
///     [`MAX_RATE`].
///
/// Both honour a `Retry-After`: no token is granted before the instant it names (capped at
/// [`MAX_RETRY_AFTER`]).
///
/// Meant to be called around each attempt (a retry is an attempt like the first):
///
/// ```
/// use std::time::Duration;
/// use wechatpay_card_client::RateLimiter;
///
/// # async fn send() -> (u16, Option<Duration>) { (200, None) }
/// # async fn run() -> Result<(), wechatpay_card_client::InvalidRate> {
/// let limiter = RateLimiter::adaptive(5.0)?; // one per process; clones share it
/// limiter.acquire().await; // before sending the attempt
/// let (status, retry_after) = send().await;
/// match status {
///     429 => limiter.on_throttle(retry_after),
///     200..=299 => limiter.on_success(),
///     _ => {} // other answers and transport errors say nothing about the rate
/// }
/// # Ok(()) }
/// ```
///
/// Tokens are handed out in the order [`acquire`](Self::acquire) was called; a change of rate
/// or a pause applies to every caller waiting from the next token on (a rise, once the
/// interval at the old rate has passed).
#[derive(Clone)]
pub struct RateLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    /// The callers waiting for a token, first come first served: only the one holding it
    /// sleeps on the clock, so a change of rate applies to every caller queued from the next
    /// token on.
    queue: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("RateLimiter")
            .field("adaptive", &state.adaptive)
            .field("rate", &state.rate)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// At most `rps` requests per second, evenly spaced. [`InvalidRate`] unless `rps` is from
    /// [`MIN_RATE`] to [`MAX_RATE`].
    pub fn fixed(rps: f64) -> Result<Self, InvalidRate> {
        Ok(Self::new(false, validate(rps)?))
    }

    /// Starts at `initial_rps` and adapts to the server's 429 answers (see the type's
    /// documentation). [`InvalidRate`] unless `initial_rps` is from [`MIN_RATE`] to [`MAX_RATE`];
    /// a rate below [`MIN_ADAPTIVE_RATE`] starts at that.
    pub fn adaptive(initial_rps: f64) -> Result<Self, InvalidRate> {
        let rate = validate(initial_rps)?.max(MIN_ADAPTIVE_RATE);
        Ok(Self::new(true, rate))
    }

    fn new(adaptive: bool, rate: f64) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: tokio::sync::Mutex::new(()),
                state: Mutex::new(State::new(adaptive, rate, Instant::now())),
            }),
        }
    }

    /// Whether the rate adapts to the answers.
    pub fn is_adaptive(&self) -> bool {
        self.lock().adaptive
    }

    /// The current rate, in requests per second (for logs and tests).
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// Waits until the next request may be sent. Call it once before each attempt. Callers
    /// are served in the order they called; one that stops waiting (its future dropped) gives
    /// its turn to the next.
    pub async fn acquire(&self) {
        let _turn = self.shared.queue.lock().await;
        loop {
            let wait_until = match self.lock().take(Instant::now()) {
                Ok(()) => return,
                Err(until) => until,
            };
            // Woken, check again: a 429 may have pushed the instant back, a success brought it
            // forward.
            sleep_until(wait_until).await;
        }
    }

    /// A successful (2xx) answer: an adaptive limiter may raise its rate.
    pub fn on_success(&self) {
        self.lock().on_success(Instant::now());
    }

    /// A 429 answer, with its `Retry-After` if it had one: no token is granted before that
    /// instant (at most [`MAX_RETRY_AFTER`] away); an adaptive limiter also cuts its rate.
    pub fn on_throttle(&self, retry_after: Option<Duration>) {
        self.lock().on_throttle(Instant::now(), retry_after);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent before anything that could panic, so a
        // poisoned lock is still usable.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn validate(rps: f64) -> Result<f64, InvalidRate> {
    if (MIN_RATE..=MAX_RATE).contains(&rps) {
        Ok(rps)
    } else {
        Err(InvalidRate(rps))
    }
}

/// The time between two tokens at `rate`, rounded up to the nanosecond so that the spacing is
/// never shorter than the rate allows.
fn interval(rate: f64) -> Duration {
    // rate is in [MIN_RATE, MAX_RATE]: 1e9 / rate is in [1e3, 1e12].
    Duration::from_nanos((1e9 / rate).ceil() as u64)
}

/// `at + wait`; `at` should that not be representable (it is, for any wait this module makes).
fn later(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait).unwrap_or(at)
}

#[derive(Debug)]
struct State {
    adaptive: bool,
    rate: f64,
    /// No token before this instant (`Retry-After`, or a pause after repeated 429 answers).
    blocked_until: Instant,
    /// The slot of the last token granted.
    last_granted: Option<Instant>,
    /// The last time a caller had to wait for a token.
    last_waited: Option<Instant>,
    slow_start: bool,
    /// The rate the limiter started at: the endpoint's documented limit, or a safe guess.
    initial: f64,
    /// The rate the server accepted at the last cut (`A`).
    w_max: f64,
    /// Time under load since the last cut, in seconds (the CUBIC curve's `t`).
    cubic_clock: f64,
    /// The rate right after the last cut, as a share of `w_max` (where the curve starts).
    start_share: f64,

    /// The flat part of the curve, in seconds.
    plateau: f64,
    last_success: Instant,
    /// 429 answers since the last success.
    streak: u32,
    successes: SuccessCounter,
}

impl State {
    fn new(adaptive: bool, rate: f64, now: Instant) -> Self {
        Self {
            adaptive,
            rate,
            blocked_until: now,
            last_granted: None,
            last_waited: None,
            slow_start: true,
            initial: rate,
            w_max: rate,
            cubic_clock: 0.0,
            start_share: BETA,
            plateau: PLATEAU_FIRST,
            last_success: now,
            streak: 0,
            successes: SuccessCounter::new(now),
        }
    }

    /// The next token if it is due at `now`, else the instant it will be.
    fn take(&mut self, now: Instant) -> Result<(), Instant> {
        let interval = interval(self.rate);
        let due = self
            .last_granted
            .map_or(now, |last| later(last, interval))
            .max(self.blocked_until);
        if due > now {
            self.last_waited = Some(now);
            return Err(due);
        }
        // The token's slot is when it was due, so that a timer waking a little late does not
        // slow the rate down; but no earlier than one interval (or 1 ms) ago, so that a
        // limiter left idle does not hand out a burst.
        let slack = interval.min(Duration::from_millis(1));
        let floor = now.checked_sub(slack).unwrap_or(now);
        self.last_granted = Some(due.max(floor));
        Ok(())
    }

    /// Whether callers waited for tokens lately: the rate is what holds them back.
    fn loaded(&self, now: Instant) -> bool {
        let recent = interval(self.rate).max(Duration::from_millis(100)) * 2;
        self.last_waited
            .is_some_and(|waited| now.saturating_duration_since(waited) <= recent)
    }

    fn on_success(&mut self, now: Instant) {
        self.streak = 0;
        self.successes.record(now);
        let elapsed = now.saturating_duration_since(self.last_success);
        self.last_success = now;
        if !self.adaptive || !self.loaded(now) {
            return;
        }
        let rate = if self.slow_start {
            self.rate + SLOW_START_GAIN
        } else {
            self.cubic_clock += elapsed.as_secs_f64();
            self.w_max * cubic(self.cubic_clock, self.plateau, self.start_share)
        };
        self.set_rate(rate);
    }

    fn on_throttle(&mut self, now: Instant, retry_after: Option<Duration>) {
        if retry_after.is_none() && self.adaptive && now < self.blocked_until {
            // Answered during the pause of an earlier 429, so sent before it: a request that
            // was in flight says nothing new.
            return;
        }
        self.streak = self.streak.saturating_add(1);
        if self.adaptive && self.streak == 1 {
            let accepted = f64::from(self.successes.last_second(now));
            let a = if accepted > 0.0 {
                self.rate.min(accepted)
            } else {
                self.rate
            };
            let a = a.clamp(MIN_ADAPTIVE_RATE, MAX_RATE);
            let mut start_share = BETA;
            let probing = self.cubic_clock > CUBIC_K + self.plateau;
            if self.slow_start {
                // The slow start's first 429: the successes of the last second include the
                // server's burst (a token bucket starts full), so the limit is below them.
                // Restart from half of them, and climb back towards them (without a plateau
                // below them); but when half is no more than the starting rate (the documented
                // limit), that is the estimate.
                let half = SLOW_START_EXIT * a;
                if half <= self.initial {
                    self.w_max = self.initial.min(a);
                } else {
                    self.w_max = a;
                    start_share = SLOW_START_EXIT;
                }
                self.plateau = PLATEAU_FIRST;
            } else if a > self.w_max * (1.0 + SAME_LIMIT) + 1.0 {
                // The first limit found, or the server now accepts clearly more.
                self.w_max = a;
                self.plateau = PLATEAU_FIRST;
            } else if probing {
                // The probe beyond the plateau found the limit where the plateau was, which
                // held for `plateau` seconds: keep it, and wait longer before the next probe.
                self.plateau = (self.plateau * 2.0).min(PLATEAU_MAX);
            } else {
                // Throttled at or below the plateau: the limit is lower than it was.
                self.w_max = a.min(self.w_max * LOWER_LIMIT).max(MIN_ADAPTIVE_RATE);
                self.plateau = PLATEAU_FIRST;
            }
            self.slow_start = false;
            self.cubic_clock = 0.0;
            self.start_share = start_share;
            self.set_rate(start_share * self.w_max);
        }
        let hold = match retry_after {
            Some(wait) => Some(wait.min(MAX_RETRY_AFTER)),
            None if self.adaptive => {
                let doubling = 2u32.saturating_pow((self.streak - 1).min(20));
                let base = (interval(self.rate) * 2).max(MIN_HOLD);
                Some((base * doubling).min(MAX_HOLD))
            }
            None => None,
        };
        if let Some(until) = hold.and_then(|hold| now.checked_add(hold)) {
            self.blocked_until = self.blocked_until.max(until);
        }
    }

    fn set_rate(&mut self, rate: f64) {
        if rate.is_finite() {
            self.rate = rate.clamp(MIN_ADAPTIVE_RATE, MAX_RATE);
        }
    }
}

/// The rate after a cut, as a share of the accepted rate, `t` seconds (under load) after the
/// cut: CUBIC's concave climb from `BETA` back to 1 in `CUBIC_K` seconds, flat for `plateau`
/// seconds, then its convex probe beyond.
fn cubic(t: f64, plateau: f64, start_share: f64) -> f64 {
    if t < CUBIC_K {
        let x = t / CUBIC_K - 1.0;
        1.0 + (1.0 - start_share) * x * x * x
    } else {
        let x = ((t - CUBIC_K - plateau) / CUBIC_K).max(0.0);
        1.0 + (1.0 - BETA) * x * x * x
    }
}

/// Successes per bucket of `1 s / BUCKETS`, over the last second.
#[derive(Debug)]
struct SuccessCounter {
    origin: Instant,
    /// The bucket `now` falls in, counted from `origin`.
    head: u128,
    counts: [u32; BUCKETS],
}

impl SuccessCounter {
    fn new(now: Instant) -> Self {
        Self {
            origin: now,
            head: 0,
            counts: [0; BUCKETS],
        }
    }

    fn advance(&mut self, now: Instant) {
        let bucket = now.saturating_duration_since(self.origin).as_nanos() / BUCKET_NANOS;
        if bucket <= self.head {
            return;
        }
        let stale = (bucket - self.head).min(BUCKETS as u128);
        for step in 1..=stale {
            self.counts[((self.head + step) % BUCKETS as u128) as usize] = 0;
        }
        self.head = bucket;
    }

    fn record(&mut self, now: Instant) {
        self.advance(now);
        let slot = &mut self.counts[(self.head % BUCKETS as u128) as usize];
        *slot = slot.saturating_add(1);
    }

    fn last_second(&mut self, now: Instant) -> u32 {
        self.advance(now);
        self.counts
            .iter()
            .fold(0u32, |sum, n| sum.saturating_add(*n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_climbs_back_stays_flat_then_probes() {
        let plateau = PLATEAU_FIRST;
        assert!((cubic(0.0, plateau, BETA) - BETA).abs() < 1e-12);
        assert!(cubic(CUBIC_K / 2.0, plateau, BETA) > BETA);
        assert!((cubic(CUBIC_K, plateau, BETA) - 1.0).abs() < 1e-12);
        assert!((cubic(CUBIC_K + plateau, plateau, BETA) - 1.0).abs() < 1e-12);
        let probe = cubic(2.0 * CUBIC_K + plateau, plateau, BETA);
        assert!((probe - (2.0 - BETA)).abs() < 1e-12, "{probe}");
    }

    #[test]
    fn intervals_never_undercut_the_rate() {
        for rate in [MIN_RATE, 0.3, 3.0, 7.0, 97.2, 449.0, MAX_RATE] {
            assert!(interval(rate).as_secs_f64() * rate >= 1.0, "{rate}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn successes_are_counted_over_the_last_second() {
        let start = Instant::now();
        let mut counter = SuccessCounter::new(start);
        for _ in 0..5 {
            counter.record(Instant::now());
            tokio::time::advance(Duration::from_millis(200)).await;
        }
        // Successes at 0, 0.2, 0.4, 0.6 and 0.8 s; now is 1.0 s: the one at 0 has left.
        assert_eq!(counter.last_second(Instant::now()), 4);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(counter.last_second(Instant::now()), 0);
        counter.record(Instant::now());
        assert_eq!(counter.last_second(Instant::now()), 1);
    }
}
