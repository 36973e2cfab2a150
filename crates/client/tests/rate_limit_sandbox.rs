//! The adaptive rate limiter against the sandbox's own rate limit (a token bucket of `R`
//! requests per second per merchant and endpoint, 429 `RATELIMIT_EXCEEDED` beyond it), over
//! loopback HTTP. The assertions are about behaviour (every update applied, 429 answers met and
//! backed off from, the rate found near `R`), never about speed.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use wechatpay_card_client::RateLimiter;
use wechatpay_card_client::models::{UpdateUserCardBody, UpdateUserCardRequest};
use wechatpay_sandbox::{Faults, Sandbox};

mod common;
use common::{retries, sandbox_client};

const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
const CODE: &str = "478515832665";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adaptive_limiter_finds_the_sandbox_limit_and_backs_off_on_429() {
    const LIMIT: f64 = 20.0;
    const UPDATES: usize = 200;
    const TASKS: usize = 8;
    let sandbox = Sandbox::builder()
        .faults(Faults {
            rps_limit: Some(LIMIT),
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    // Not told the limit: it starts at the documented 5/s.
    let limiter = RateLimiter::adaptive(5.0).unwrap();
    let client = sandbox_client(&sandbox)
        .rate_limiter(limiter.clone())
        .retry_policy(retries(20, 5, 50))
        .build()
        .unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let client = client.clone();
        tasks.spawn(async move {
            for i in (task..UPDATES).step_by(TASKS) {
                let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
                    .with_level(format!("L{i}"));
                let request = UpdateUserCardRequest::new(CODE, CARD_ID, body);
                client.update_user_card(request).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    let stats = sandbox.stats();
    let ok = stats.by_status.get(&200).copied().unwrap_or(0);
    let throttled = stats.by_status.get(&429).copied().unwrap_or(0);
    // Every update applied once answered 200 (the retries of a 429 included).
    assert_eq!(ok, UPDATES as u64, "{stats:?}");
    // The slow start went past the limit and met it...
    assert!(throttled >= 1, "never met the limit: {stats:?}");
    // ...and backed off: a client without a limiter, 8 at a time, meets hundreds.
    assert!(
        (throttled as f64) <= 0.1 * (UPDATES as f64),
        "{throttled} answers 429 for {UPDATES} updates: {stats:?}"
    );
    // The rate it settled at is the limit's order, not the 5/s it started from.
    let rate = limiter.rate();
    assert!(
        (0.5 * LIMIT..=1.5 * LIMIT).contains(&rate),
        "rate {rate} for a limit of {LIMIT}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_waits_for_the_sandbox_retry_after_instead_of_hammering() {
    // 2 per second, and 429 answers that say when a token is back (Retry-After: 1).
    let sandbox = Sandbox::builder()
        .faults(Faults {
            rps_limit: Some(2.0),
            ..Faults::default()
        })
        .retry_after(true)
        .start()
        .await
        .unwrap();
    // Fixed far above the limit (it does not slow down on a 429 by itself), retries 5 ms
    // apart: only the Retry-After holds it back.
    let limiter = RateLimiter::fixed(100.0).unwrap();
    let client = sandbox_client(&sandbox)
        .rate_limiter(limiter)
        .retry_policy(retries(50, 5, 5))
        .build()
        .unwrap();
    for i in 0..6 {
        let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
            .with_level(format!("R{i}"));
        client
            .update_user_card(UpdateUserCardRequest::new(CODE, CARD_ID, body))
            .await
            .unwrap();
    }
    let stats = sandbox.stats();
    assert_eq!(stats.by_status.get(&200).copied(), Some(6), "{stats:?}");
    // The bucket's 2 tokens, then a 429 per second at most: each names the second to wait,
    // and no attempt is sent before it. Without it, the 5 ms retries meet ~200 per second.
    let throttled = stats.by_status.get(&429).copied().unwrap_or(0);
    assert!(
        (1..=4).contains(&throttled),
        "{throttled} answers 429: {stats:?}"
    );
}
