//! `wechatpay-card sandbox --rps N`: the option's checks, and the limit as a client meets it,
//! counted by `GET /_sandbox/stats`.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::Instant;

use common::{BIN, Running, get_json, source_env};
use wechatpay_signing::{MerchantSigner, PrivateKey};

const URL: &str =
    "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";

#[test]
fn rps_must_be_a_finite_number_above_zero_and_at_most_a_million() {
    for value in [
        "nan", "NaN", "inf", "-inf", "0", "0.0", "-1", "1e300", "1000001", "five", "",
    ] {
        let output = Command::new(BIN)
            .args(["sandbox", &format!("--rps={value}")])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "--rps={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--rps"), "--rps={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "--rps={value}: {stderr}");
        assert!(output.stdout.is_empty(), "--rps={value}");
    }
    // --retry-after without --rps: a usage error too.
    let output = Command::new(BIN)
        .args(["sandbox", "--retry-after"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let help = Command::new(BIN)
        .args(["sandbox", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    for words in [
        "each merchant",
        "each endpoint",
        "token bucket",
        "max(1, N)",
        "--retry-after",
    ] {
        assert!(
            text.contains(words),
            "{words:?} missing from --help: {text}"
        );
    }
}

#[tokio::test]
async fn a_merchant_over_the_limit_gets_429_and_the_stats_count_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // A fraction is allowed: 2.5 per second, a bucket of 2.5 tokens (two requests at once).
    let running = Running::start(&[
        "--state-dir",
        state.to_str().unwrap(),
        "--rps",
        "2.5",
        "--retry-after",
    ]);
    let env = source_env(&state);
    let key = std::fs::read_to_string(&env["WECHATPAY_PRIVATE_KEY"]).unwrap();
    let signer = MerchantSigner::new(
        &env["WECHATPAY_MCHID"],
        &env["WECHATPAY_MERCHANT_SERIAL"],
        PrivateKey::from_pem(&key).unwrap(),
    )
    .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let requests: Vec<(String, String)> = ["金卡", "银卡", "铜卡"]
        .iter()
        .map(|level| {
            let body = serde_json::json!({
                "brand_id": "1004", "openid": "obLatjnx9gnqzS4myYGmLZ7LgLBA", "level": level,
            })
            .to_string();
            let authorization = signer.authorization("PATCH", URL, body.as_bytes()).unwrap();
            (body, authorization)
        })
        .collect();
    let started = Instant::now();
    let mut statuses = Vec::new();
    for (body, authorization) in requests {
        let response = http
            .patch(format!("{}{URL}", running.base_url))
            .header("Authorization", authorization)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .header("User-Agent", "wechatpay-card-tests/0.1")
            .header("Wechatpay-Serial", &env["WECHATPAY_PUBLIC_KEY_ID"])
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .map(|v| v.to_str().unwrap().to_owned());
        let answer: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        if status == 429 {
            assert_eq!(answer["code"], "RATELIMIT_EXCEEDED");
            // Half a token missing at 2.5 per second: back within a second.
            assert_eq!(retry_after.as_deref(), Some("1"), "--retry-after");
        }
        statuses.push(status);
    }
    // Half a token was left; the third request finds a whole one only after 200 ms.
    if started.elapsed().as_millis() < 200 {
        assert_eq!(statuses, [200, 200, 429]);
    } else {
        assert_eq!(statuses[..2], [200, 200]);
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let stats = get_json(&running.base_url, "/_sandbox/stats");
    assert_eq!(stats["by_status"]["200"], 3 - limited, "{stats}");
    assert_eq!(stats["rate_limited"], limited, "{stats}");
    assert_eq!(stats["requests"], 3, "{stats}");
    let (status, stderr) = running.terminate();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{limited} over the rate limit")),
        "{stderr}"
    );
}
