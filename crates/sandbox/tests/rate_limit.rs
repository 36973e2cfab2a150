//! The requests-per-second limit over real HTTP: a token bucket per merchant and endpoint,
//! decided after the signature check; and the answers counted by `/_sandbox/stats`.
//!
//! No assertion is about speed: the bucket holds `rps` tokens and only gains more as time
//! passes, so a run measures its own time and allows the tokens it may have earned (none on any
//! machine that sends 12 requests within 200 ms).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use wechatpay_sandbox::{Faults, Sandbox};

fn level_body(level: &str) -> String {
    json!({"brand_id": BRAND, "openid": OPENID, "level": level}).to_string()
}

fn level(sandbox: &Sandbox) -> String {
    sandbox.card(CARD_ID, CODE).unwrap().level.unwrap()
}

async fn limited(rps: f64) -> (Sandbox, Client) {
    let sandbox = builder()
        .faults(Faults {
            rps_limit: Some(rps),
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let client = Client::new(&sandbox);
    (sandbox, client)
}

/// The tokens a bucket of `rps` may have earned in `elapsed`, beyond the `max(1, rps)` it starts
/// with.
fn earned(rps: f64, elapsed: Duration) -> usize {
    (elapsed.as_secs_f64() * rps).floor() as usize
}

/// GET of the default card: another endpoint (`GetUserCard`) than the PATCH.
async fn get_card(client: &Client) -> Answer {
    let url = format!(
        "/v3/brand/partner/card-member/user-cards/{CODE}?brand_id={BRAND}&card_id={CARD_ID}&openid={OPENID}"
    );
    let headers: Vec<(String, String)> = client
        .headers("GET", &url, b"")
        .into_iter()
        .filter(|(n, _)| n != "Content-Type" && n != "Wechatpay-Serial")
        .collect();
    client.send("GET", &url, "", &headers).await
}

/// `GET /_sandbox/stats` as JSON.
async fn stats_json(sandbox: &Sandbox) -> serde_json::Value {
    let body = http()
        .get(format!("{}/_sandbox/stats", sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn a_merchant_gets_rps_requests_per_endpoint_then_429s_that_change_nothing() {
    let (sandbox, client) = limited(5.0).await;
    // Signed beforehand, so that the requests go back to back.
    let requests: Vec<(String, Vec<(String, String)>)> = (0..12)
        .map(|i| {
            let body = level_body(&format!("L{i}"));
            let headers = client.headers("PATCH", &card_url(), body.as_bytes());
            (body, headers)
        })
        .collect();
    let started = Instant::now();
    let mut expected_level = level(&sandbox);
    let mut statuses = Vec::new();
    for (i, (body, headers)) in requests.iter().enumerate() {
        // Signed and verified by `send`, 429s included.
        let answer = client
            .send("PATCH", &card_url(), body.clone(), headers)
            .await;
        match answer.status {
            200 => expected_level = format!("L{i}"),
            429 => assert_eq!(answer.code(), "RATELIMIT_EXCEEDED"),
            other => panic!("request {i}: {other} {:?}", answer.body),
        }
        // A refused request changes nothing.
        assert_eq!(level(&sandbox), expected_level, "after request {i}");
        statuses.push(answer.status);
    }
    let elapsed = started.elapsed();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(statuses[..5], [200; 5], "{statuses:?}");
    assert!(
        ok <= 5 + earned(5.0, elapsed),
        "{statuses:?} in {elapsed:?}"
    );
    assert!(ok < 12, "{statuses:?}");
    let limited = 12 - ok;

    // Another endpoint of the same merchant has its own bucket.
    let answer = get_card(&client).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["level"], expected_level.as_str());

    // What the test saw, counted.
    let stats = sandbox.stats();
    assert_eq!(
        stats.by_status,
        [(200, ok as u64 + 1), (429, limited as u64)].into()
    );
    assert_eq!(stats.rate_limited, limited as u64);
    assert_eq!(counters(&stats), (13, ok as u64, 1, 0));
    let json = stats_json(&sandbox).await;
    assert_eq!(
        json["by_status"],
        json!({"200": ok + 1, "429": limited}),
        "{json}"
    );
    assert_eq!(json["rate_limited"], limited);
    assert_eq!(json["requests"], 13);

    // Tokens come back with time: after a second, the PATCH is served again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let answer = client.patch(&card_url(), &level_body("金卡")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(level(&sandbox), "金卡");
    assert_eq!(sandbox.stats().by_status[&200], ok as u64 + 2);
}

#[tokio::test]
async fn requests_that_do_not_verify_spend_no_token() {
    let (sandbox, client) = limited(2.0).await;
    let body = level_body("金卡");
    let good = client.headers("PATCH", &card_url(), body.as_bytes());
    let unsigned: Vec<(String, String)> = good
        .iter()
        .filter(|(n, _)| n != "Authorization")
        .cloned()
        .collect();
    // Signed over another body: the signature does not verify.
    let mut forged = client.headers("PATCH", &card_url(), level_body("银卡").as_bytes());
    forged.retain(|(n, _)| n == "Authorization");
    forged.extend(unsigned.iter().cloned());
    let started = Instant::now();
    for headers in [&unsigned, &forged].into_iter().cycle().take(10) {
        let answer = client
            .send("PATCH", &card_url(), body.clone(), headers)
            .await;
        assert_eq!((answer.status, answer.code().as_str()), (401, "SIGN_ERROR"));
    }
    // The merchant's two tokens are all there.
    for level_name in ["金卡", "银卡"] {
        let answer = client.patch(&card_url(), &level_body(level_name)).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(level(&sandbox), level_name);
    }
    // And then they are spent (unless this run was slow enough to earn one back).
    let answer = client.patch(&card_url(), &level_body("铜卡")).await;
    if earned(2.0, started.elapsed()) == 0 {
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (429, "RATELIMIT_EXCEEDED")
        );
        assert_eq!(level(&sandbox), "银卡");
    }
    let stats = sandbox.stats();
    assert_eq!(stats.by_status[&401], 10);
    assert_eq!(
        stats.by_status[&200] + stats.by_status.get(&429).unwrap_or(&0),
        3
    );
    assert_eq!(stats.rate_limited, *stats.by_status.get(&429).unwrap_or(&0));
}

#[tokio::test]
async fn a_fractional_rate_holds_one_token_and_set_faults_refills() {
    // One request per 100 s: a bucket of one token.
    let (sandbox, client) = limited(0.01).await;
    assert_eq!(
        client.patch(&card_url(), &level_body("金卡")).await.status,
        200
    );
    let answer = client.patch(&card_url(), &level_body("银卡")).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (429, "RATELIMIT_EXCEEDED")
    );
    assert_eq!(level(&sandbox), "金卡");
    // Setting the faults again refills every bucket; removing the limit removes it.
    sandbox.set_faults(sandbox.faults());
    assert_eq!(
        client.patch(&card_url(), &level_body("银卡")).await.status,
        200
    );
    sandbox.set_faults(Faults::default());
    for _ in 0..3 {
        assert_eq!(
            client.patch(&card_url(), &level_body("铜卡")).await.status,
            200
        );
    }
    let stats = sandbox.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.by_status, [(200, 5), (429, 1)].into());
}

#[tokio::test]
async fn an_rps_limit_out_of_range_is_refused_at_start_and_clamped_at_runtime() {
    for rps in [f64::NAN, f64::INFINITY, 0.0, -1.0, 1e300] {
        let error = builder()
            .faults(Faults {
                rps_limit: Some(rps),
                ..Faults::default()
            })
            .start()
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("rps_limit"), "{rps}: {error}");
    }
    let sandbox = start().await;
    sandbox.set_faults(Faults {
        rps_limit: Some(f64::INFINITY),
        ..Faults::default()
    });
    assert_eq!(sandbox.faults().rps_limit, Some(wechatpay_sandbox::MAX_RPS));
    sandbox.set_faults(Faults {
        rps_limit: Some(f64::NAN),
        ..Faults::default()
    });
    assert_eq!(sandbox.faults().rps_limit, None);
}

#[tokio::test]
async fn retry_after_is_sent_only_when_asked_for() {
    // By default: none (WeChat Pay documents none).
    let (_sandbox, client) = limited(0.01).await;
    assert_eq!(
        client.patch(&card_url(), &level_body("金卡")).await.status,
        200
    );
    let answer = client.patch(&card_url(), &level_body("银卡")).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("Retry-After"), None);

    // Opted in: the whole seconds until a token is back (100 s at 0.01 per second; the
    // milliseconds the request took may make it 99.something, rounded up to 100).
    let sandbox = builder()
        .retry_after(true)
        .faults(Faults {
            rps_limit: Some(0.01),
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let client = Client::new(&sandbox);
    assert_eq!(
        client.patch(&card_url(), &level_body("金卡")).await.status,
        200
    );
    let answer = client.patch(&card_url(), &level_body("银卡")).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (429, "RATELIMIT_EXCEEDED")
    );
    let secs: u64 = answer.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=100).contains(&secs), "{secs}");
    // The random 429 fault never carries one.
    sandbox.set_faults(Faults {
        rate_limit_rate: 1.0,
        ..Faults::default()
    });
    let answer = client.patch(&card_url(), &level_body("银卡")).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("Retry-After"), None);
}
