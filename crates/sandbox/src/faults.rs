//! [`Faults`]: the failures a sandbox injects at the endpoint, so that clients can prove their
//! retries and their verification.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::SandboxError;
use crate::rate::{MAX_RPS, RateLimiter, RateRefusal};

/// Which faults the endpoint injects, and how often. All off by default.
///
/// Every rate is a probability per request, from `0.0` (never) to `1.0` (always). Each request
/// to the endpoint draws its faults in a fixed order from one random generator, seeded by
/// [`Faults::seed`] when given, so the same sequence of requests meets the same faults.
/// Faults apply to the endpoint only, never to the test hook (`/_sandbox/…`).
///
/// In the order they are considered, once the request's body has been read:
///
/// | fault | effect | update applied |
/// |---|---|---|
/// | [`latency`](Self::latency) | the answer is delayed by this much (before anything else) | as usual |
/// | [`rps_limit`](Self::rps_limit) | a merchant's requests to one endpoint beyond a token bucket of this many per second: 429 `RATELIMIT_EXCEEDED` (decided after the signature check, see below) | no |
/// | [`rate_limit_rate`](Self::rate_limit_rate) | 429 `RATELIMIT_EXCEEDED` | no |
/// | [`fail_rate`](Self::fail_rate) | 500 `SYSTEM_ERROR` | no |
/// | [`drop_rate`](Self::drop_rate) | the connection is closed without an answer | no |
/// | [`applied_drop_rate`](Self::applied_drop_rate) | the update is stored, then the connection is closed without an answer (only when the request would have succeeded; else its error is answered) | yes |
/// | [`tamper_rate`](Self::tamper_rate) | the answer's `Wechatpay-Signature` is altered so that it does not verify | as usual |
/// | [`probe_rate`](Self::probe_rate) | the answer's `Wechatpay-Signature` is a WeChat Pay probe, `WECHATPAY/SIGNTEST/…` | as usual |
///
/// Injected 429 and 500 answers are signed like any other answer.
///
/// [`rps_limit`](Self::rps_limit) is not drawn: it is a limit, as WeChat Pay's. Each merchant
/// (the `mchid` of the verified `Authorization`) has a token bucket per endpoint (the schema's
/// endpoint, e.g. `UpdateUserCard`), holding at most `max(1, rps_limit)` tokens (one second of
/// burst, as a server counting requests per second allows), full at the start and refilled
/// continuously at `rps_limit` tokens per second. A request takes a token once its signature has
/// verified (a request that does not verify spends none of the merchant's tokens) and before the
/// headers, parameters and body are checked; with none left it is answered 429
/// `RATELIMIT_EXCEEDED` and nothing is applied. At most [`MAX_RATE_BUCKETS`](crate::MAX_RATE_BUCKETS)
/// buckets are kept: a new one past the cap replaces the full bucket refilled longest ago (a full
/// bucket is a new bucket), and when none is full the request is answered 429. Setting the faults
/// again ([`Sandbox::set_faults`](crate::Sandbox::set_faults)) refills every bucket. These 429s
/// are counted in [`Stats::rate_limited`](crate::Stats::rate_limited), not as faults.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Rate of 500 `SYSTEM_ERROR` answers (the update is not applied).
    pub fail_rate: f64,
    /// Rate of 429 `RATELIMIT_EXCEEDED` answers (the update is not applied).
    pub rate_limit_rate: f64,
    /// At most this many requests per second per merchant and per endpoint (a token bucket of
    /// `max(1, rps_limit)` tokens, see above); those beyond get 429 `RATELIMIT_EXCEEDED`. A
    /// finite number above 0, at most [`MAX_RPS`](crate::MAX_RPS) (fractions allowed: `0.5` is a
    /// request every 2 s). `None`: no limit.
    pub rps_limit: Option<f64>,
    /// Added to every endpoint answer (and to every dropped connection).
    pub latency: Duration,
    /// Rate of connections closed without an answer, the update not applied.
    pub drop_rate: f64,
    /// Rate of updates stored whose answer is then lost (the connection is closed): the
    /// ambiguous case every client must survive.
    pub applied_drop_rate: f64,
    /// Rate of answers whose signature does not verify.
    pub tamper_rate: f64,
    /// Rate of answers carrying a WeChat Pay probe signature (`WECHATPAY/SIGNTEST/…`).
    pub probe_rate: f64,
    /// Seed of the fault sequence; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl Faults {
    /// Whether no fault is on.
    pub fn is_off(&self) -> bool {
        self.fail_rate <= 0.0
            && self.rate_limit_rate <= 0.0
            && self.rps_limit.is_none()
            && self.latency.is_zero()
            && self.drop_rate <= 0.0
            && self.applied_drop_rate <= 0.0
            && self.tamper_rate <= 0.0
            && self.probe_rate <= 0.0
    }

    fn rates(&self) -> [(&'static str, f64); 6] {
        [
            ("fail_rate", self.fail_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("drop_rate", self.drop_rate),
            ("applied_drop_rate", self.applied_drop_rate),
            ("tamper_rate", self.tamper_rate),
            ("probe_rate", self.probe_rate),
        ]
    }

    /// Checks that every rate is a number from 0.0 to 1.0, and the requests per second a finite
    /// number above 0, at most [`MAX_RPS`].
    pub(crate) fn check(&self) -> Result<(), SandboxError> {
        for (name, rate) in self.rates() {
            if !(0.0..=1.0).contains(&rate) {
                return Err(SandboxError::Faults(format!(
                    "{name} is {rate}: a rate is a probability from 0.0 to 1.0"
                )));
            }
        }
        if let Some(rps) = self.rps_limit
            && !valid_rps(rps)
        {
            return Err(SandboxError::Faults(format!(
                "rps_limit is {rps}: requests per second are a finite number above 0, at most \
                 {MAX_RPS}"
            )));
        }
        Ok(())
    }

    /// The same faults with every rate forced into 0.0..=1.0 (NaN counts as 0.0), and the
    /// requests per second into (0, [`MAX_RPS`]]: above it (infinity included) is `MAX_RPS`,
    /// NaN, 0 or below is no limit.
    fn clamped(mut self) -> Self {
        self.rps_limit = self.rps_limit.and_then(|rps| {
            if rps.is_nan() || rps <= 0.0 {
                None
            } else {
                Some(rps.min(MAX_RPS))
            }
        });
        for rate in [
            &mut self.fail_rate,
            &mut self.rate_limit_rate,
            &mut self.drop_rate,
            &mut self.applied_drop_rate,
            &mut self.tamper_rate,
            &mut self.probe_rate,
        ] {
            *rate = if rate.is_nan() {
                0.0
            } else {
                rate.clamp(0.0, 1.0)
            };
        }
        self
    }
}

/// Whether `rps` is a limit [`Faults::check`] accepts.
fn valid_rps(rps: f64) -> bool {
    rps.is_finite() && rps > 0.0 && rps <= MAX_RPS
}

/// What happens to the answer's signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SignatureFault {
    /// Signed as WeChat Pay signs.
    #[default]
    None,
    /// The signature is altered: it does not verify.
    Tampered,
    /// A probe signature, `WECHATPAY/SIGNTEST/…`.
    Probe,
}

/// The faults one request meets.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Draw {
    pub(crate) latency: Duration,
    pub(crate) rate_limited: bool,
    pub(crate) fail: bool,
    pub(crate) drop: bool,
    pub(crate) applied_drop: bool,
    pub(crate) signature: SignatureFault,
}

struct State {
    faults: Faults,
    rng: fastrand::Rng,
}

/// The faults in force, their random generator, and the requests-per-second limit's buckets.
pub(crate) struct FaultInjector {
    state: Mutex<State>,
    limiter: RateLimiter,
}

fn rng_for(faults: &Faults) -> fastrand::Rng {
    faults
        .seed
        .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed)
}

impl FaultInjector {
    pub(crate) fn new(faults: Faults) -> Self {
        let faults = faults.clamped();
        Self {
            limiter: RateLimiter::new(faults.rps_limit),
            state: Mutex::new(State {
                rng: rng_for(&faults),
                faults,
            }),
        }
    }

    /// Replaces the faults; the sequence restarts from the new seed, and every token bucket
    /// is full again.
    pub(crate) fn set(&self, faults: Faults) {
        let faults = faults.clamped();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.rng = rng_for(&faults);
        self.limiter.set(faults.rps_limit);
        state.faults = faults;
    }

    /// Takes a token from the bucket of merchant `mchid` (verified) and `endpoint`, or says why
    /// the request is over the limit.
    pub(crate) fn admit(&self, mchid: &str, endpoint: &str) -> Result<(), RateRefusal> {
        self.limiter.admit(mchid, endpoint, Instant::now())
    }

    /// The faults in force.
    pub(crate) fn get(&self) -> Faults {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.faults.clone()
    }

    /// Draws the faults of one request. Always the same number of draws, whatever the rates,
    /// so that a seed gives the same sequence whichever faults are on.
    pub(crate) fn draw(&self) -> Draw {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        let faults = &state.faults;
        let rng = &mut state.rng;
        // `f64()` is in [0, 1): a rate of 1.0 always hits, 0.0 never does.
        let mut hit = |rate: f64| rng.f64() < rate;
        let rate_limited = hit(faults.rate_limit_rate);
        let fail = hit(faults.fail_rate);
        let drop = hit(faults.drop_rate);
        let applied_drop = hit(faults.applied_drop_rate);
        let tampered = hit(faults.tamper_rate);
        let probe = hit(faults.probe_rate);
        Draw {
            latency: faults.latency,
            rate_limited,
            fail,
            drop,
            applied_drop,
            signature: if probe {
                SignatureFault::Probe
            } else if tampered {
                SignatureFault::Tampered
            } else {
                SignatureFault::None
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_sequence() {
        let faults = Faults {
            fail_rate: 0.5,
            drop_rate: 0.3,
            seed: Some(7),
            ..Faults::default()
        };
        let sequence = |injector: &FaultInjector| -> Vec<(bool, bool)> {
            (0..64)
                .map(|_| {
                    let d = injector.draw();
                    (d.fail, d.drop)
                })
                .collect()
        };
        let a = sequence(&FaultInjector::new(faults.clone()));
        let b = sequence(&FaultInjector::new(faults.clone()));
        assert_eq!(a, b);
        assert!(a.iter().any(|(fail, _)| *fail) && a.iter().any(|(fail, _)| !*fail));
    }

    #[test]
    fn rates_of_zero_and_one_are_never_and_always() {
        let injector = FaultInjector::new(Faults {
            fail_rate: 1.0,
            ..Faults::default()
        });
        for _ in 0..100 {
            let d = injector.draw();
            assert!(d.fail && !d.drop && !d.rate_limited && !d.applied_drop);
            assert_eq!(d.signature, SignatureFault::None);
        }
    }

    #[test]
    fn rates_are_checked_and_clamped() {
        let bad = Faults {
            tamper_rate: 1.5,
            ..Faults::default()
        };
        assert!(bad.check().is_err());
        assert!(
            Faults {
                probe_rate: f64::NAN,
                ..Faults::default()
            }
            .check()
            .is_err()
        );
        assert_eq!(bad.clamped().tamper_rate, 1.0);
        assert!(Faults::default().is_off());
    }

    #[test]
    fn rps_limits_are_checked_and_clamped() {
        let with = |rps: f64| Faults {
            rps_limit: Some(rps),
            ..Faults::default()
        };
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -1.0,
            1e300,
            MAX_RPS * 2.0,
        ] {
            let error = with(bad).check().unwrap_err().to_string();
            assert!(error.contains("rps_limit"), "{error}");
        }
        for good in [f64::MIN_POSITIVE, 0.5, 5.0, MAX_RPS] {
            assert!(with(good).check().is_ok(), "{good}");
            assert_eq!(with(good).clamped().rps_limit, Some(good));
        }
        assert_eq!(with(f64::NAN).clamped().rps_limit, None);
        assert_eq!(with(-1.0).clamped().rps_limit, None);
        assert_eq!(with(0.0).clamped().rps_limit, None);
        assert_eq!(with(f64::INFINITY).clamped().rps_limit, Some(MAX_RPS));
        assert_eq!(with(1e300).clamped().rps_limit, Some(MAX_RPS));
    }

    #[test]
    fn the_injector_limits_per_merchant_and_endpoint_and_set_refills() {
        let injector = FaultInjector::new(Faults {
            rps_limit: Some(3.0),
            ..Faults::default()
        });
        let admitted = |mchid: &str, endpoint: &str| {
            (0..5)
                .filter(|_| injector.admit(mchid, endpoint).is_ok())
                .count()
        };
        // Back to back (a token takes 333 ms to come back; a slow machine may earn one).
        assert!((3..=4).contains(&admitted("m", "UpdateUserCard")));
        assert!((3..=4).contains(&admitted("m", "GetUserCard")));
        injector.set(injector.get());
        assert!((3..=4).contains(&admitted("m", "UpdateUserCard")));
        injector.set(Faults::default());
        assert_eq!(admitted("m", "UpdateUserCard"), 5);
    }
}
