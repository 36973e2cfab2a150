//! Each fault kind, over real HTTP, with rates of 1.0 (or seeds) for determinism.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use wechatpay_sandbox::{Faults, Sandbox};
use wechatpay_signing::VerifyError;

fn level_body(level: &str) -> String {
    json!({"brand_id": BRAND, "openid": OPENID, "level": level}).to_string()
}

async fn with_faults(faults: Faults) -> (Sandbox, Client) {
    let sandbox = builder().faults(faults).start().await.unwrap();
    let client = Client::new(&sandbox);
    (sandbox, client)
}

fn level(sandbox: &Sandbox) -> String {
    sandbox.card(CARD_ID, CODE).unwrap().level.unwrap()
}

#[tokio::test]
async fn injected_500s_and_429s_are_signed_and_apply_nothing() {
    for (faults, status, code) in [
        (
            Faults {
                fail_rate: 1.0,
                ..Faults::default()
            },
            500,
            "SYSTEM_ERROR",
        ),
        (
            Faults {
                rate_limit_rate: 1.0,
                ..Faults::default()
            },
            429,
            "RATELIMIT_EXCEEDED",
        ),
    ] {
        let (sandbox, client) = with_faults(faults).await;
        let answer = client.patch(&card_url(), &level_body("金卡")).await;
        assert_eq!((answer.status, answer.code().as_str()), (status, code));
        assert_eq!(level(&sandbox), "钻石会员");
        let stats = sandbox.stats();
        assert_eq!(counters(&stats), (1, 0, 0, 1));
        // A random 429 is a fault, not the requests-per-second limit.
        assert_eq!(stats.rate_limited, 0);
        assert_eq!(stats.by_status, [(status, 1)].into());
    }
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let (_sandbox, client) = with_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    })
    .await;
    let started = Instant::now();
    let answer = client.patch(&card_url(), &level_body("金卡")).await;
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// A dropped connection, as a client sees it: an error, no status.
fn assert_connection_dropped(result: Result<Answer, reqwest::Error>) {
    match result {
        Ok(answer) => panic!("expected no answer, got {}", answer.status),
        Err(error) => {
            assert!(error.status().is_none(), "{error:?}");
            assert!(
                error.is_request() || error.is_connect() || error.is_body(),
                "{error:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_gives_no_answer_and_applies_nothing() {
    let (sandbox, client) = with_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let body = level_body("金卡");
    let headers = client.headers("PATCH", &card_url(), body.as_bytes());
    assert_connection_dropped(client.send_raw("PATCH", &card_url(), body, &headers).await);
    assert_eq!(level(&sandbox), "钻石会员");
    assert_eq!(counters(&sandbox.stats()), (1, 0, 0, 1));
    // No answer was given: none is counted.
    assert!(sandbox.stats().by_status.is_empty());
    // The host recovers: the same client (its pool) is served again.
    sandbox.set_faults(Faults::default());
    assert_eq!(
        client.patch(&card_url(), &level_body("金卡")).await.status,
        200
    );
    assert_eq!(level(&sandbox), "金卡");
}

#[tokio::test]
async fn applied_then_dropped_stores_the_update_but_loses_the_answer() {
    let (sandbox, client) = with_faults(Faults {
        applied_drop_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let body = level_body("金卡");
    let headers = client.headers("PATCH", &card_url(), body.as_bytes());
    assert_connection_dropped(client.send_raw("PATCH", &card_url(), body, &headers).await);
    assert_eq!(level(&sandbox), "金卡");
    assert_eq!(counters(&sandbox.stats()), (1, 1, 0, 1));
    // A request that would fail is answered as usual: nothing was applied to lose.
    let answer = client
        .patch(
            &card_url(),
            &json!({"brand_id": "1", "openid": OPENID}).to_string(),
        )
        .await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn the_connection_is_closed_without_a_byte_of_an_answer() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (sandbox, client) = with_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let body = level_body("金卡");
    let mut request = format!(
        "PATCH {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
        card_url(),
        body.len()
    );
    for (name, value) in client.headers("PATCH", &card_url(), body.as_bytes()) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut stream = tokio::net::TcpStream::connect(sandbox.local_addr())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received)).await;
    // EOF (or a reset) with nothing received.
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn tampered_and_probe_signatures_fail_verification_but_the_update_is_applied() {
    let (sandbox, client) = with_faults(Faults {
        tamper_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let body = level_body("金卡");
    let headers = client.headers("PATCH", &card_url(), body.as_bytes());
    let answer = client
        .send_raw("PATCH", &card_url(), body, &headers)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert!(matches!(
        client.verify(&answer),
        Err(VerifyError::BadSignature { .. })
    ));
    check_request_id(&answer);
    assert_eq!(level(&sandbox), "金卡");
    assert_eq!(sandbox.stats().faults_injected, 1);

    let (sandbox, client) = with_faults(Faults {
        probe_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let body = level_body("银卡");
    let headers = client.headers("PATCH", &card_url(), body.as_bytes());
    let answer = client
        .send_raw("PATCH", &card_url(), body, &headers)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("Wechatpay-Signature")
            .unwrap()
            .starts_with("WECHATPAY/SIGNTEST/")
    );
    assert_eq!(client.verify(&answer), Err(VerifyError::ProbeSignature));
    assert_eq!(level(&sandbox), "银卡");
}

#[tokio::test]
async fn a_seed_makes_the_fault_sequence_reproducible() {
    let faults = Faults {
        fail_rate: 0.5,
        seed: Some(42),
        ..Faults::default()
    };
    let mut sequences = Vec::new();
    for _ in 0..2 {
        let (_sandbox, client) = with_faults(faults.clone()).await;
        let mut statuses = Vec::new();
        for _ in 0..12 {
            statuses.push(client.patch(&card_url(), &level_body("金卡")).await.status);
        }
        sequences.push(statuses);
    }
    assert_eq!(sequences[0], sequences[1]);
    assert!(
        sequences[0].contains(&200) && sequences[0].contains(&500),
        "{:?}",
        sequences[0]
    );
}

#[tokio::test]
async fn faults_change_at_runtime_and_spare_the_test_hook() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    sandbox.set_faults(Faults {
        fail_rate: 1.0,
        drop_rate: 1.0,
        ..Faults::default()
    });
    assert_eq!(sandbox.faults().fail_rate, 1.0);
    assert_eq!(
        client.patch(&card_url(), &level_body("金卡")).await.status,
        500
    );
    let hook = http()
        .get(format!("{}/_sandbox/user-cards", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 200);
    // Out-of-range rates are clamped at runtime.
    sandbox.set_faults(Faults {
        fail_rate: -3.0,
        rate_limit_rate: f64::NAN,
        ..Faults::default()
    });
    assert_eq!(
        client.patch(&card_url(), &level_body("金卡")).await.status,
        200
    );
    assert_eq!(sandbox.stats().faults_injected, 1);
}
