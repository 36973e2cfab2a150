//! Simulated users and card event notifications, over real HTTP: a receiver on loopback records
//! what the sandbox delivers, and answers as each test scripts it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use wechatpay_sandbox::{EVENT_CREATE, EVENT_DELETE, Sandbox};
use wechatpay_signing::{
    ApiV3Key, NotificationVerifier, ResponseHeaders, WechatPayKeySet, WechatPayPublicKey,
};

const KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
const INTERVAL: Duration = Duration::from_millis(100);

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: Bytes,
    at: Instant,
}

/// A receiver on loopback: answers the scripted statuses in turn, then `then`.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: Vec<u16>, then: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/wx/notify", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.into_iter()));
        let recorded = got.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (got, script) = (recorded.clone(), script.clone());
                let service =
                    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                        let (got, script) = (got.clone(), script.clone());
                        async move {
                            let headers = request
                                .headers()
                                .iter()
                                .map(|(n, v)| {
                                    (n.as_str().to_owned(), v.to_str().unwrap().to_owned())
                                })
                                .collect();
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            got.lock().unwrap().push(Received {
                                headers,
                                body,
                                at: Instant::now(),
                            });
                            let status = script.lock().unwrap().next().unwrap_or(then);
                            let answer = if status < 300 {
                                String::new()
                            } else {
                                json!({"code": "FAIL", "message": "scripted"}).to_string()
                            };
                            let mut response = hyper::Response::new(Full::new(Bytes::from(answer)));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        Self { url, got }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn start_with(receiver: &Receiver, retries: u32) -> Sandbox {
    builder()
        .template("t2", BRAND)
        .notify_url(&receiver.url)
        .notify_interval(INTERVAL)
        .notify_retries(retries)
        .apiv3_key(KEY)
        .start()
        .await
        .unwrap()
}

/// Waits until `done` holds (5 s at most).
async fn until(done: impl FnMut() -> bool) {
    until_within(Duration::from_secs(5), done).await;
}

async fn until_within(limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn admin(sandbox: &Sandbox, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_sandbox/users/{path}", sandbox.base_url()))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}

/// Verifies a notification with the sandbox's WeChat Pay public key and decrypts its resource:
/// the envelope and the plaintext.
fn open(sandbox: &Sandbox, got: &Received) -> (Value, Value) {
    let creds = sandbox.credentials();
    let keys = WechatPayKeySet::new().with_public_key(
        WechatPayPublicKey::from_pem(&creds.wechatpay_key_id, &creds.wechatpay_public_key_pem)
            .unwrap(),
    );
    let header = |name: &str| {
        got.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    };
    NotificationVerifier::new(keys)
        .verify(&ResponseHeaders::from_lookup(header), &got.body)
        .unwrap();
    let envelope: Value = serde_json::from_slice(&got.body).unwrap();
    let resource = &envelope["resource"];
    let key: ApiV3Key = sandbox
        .setting("WECHATPAY_APIV3_KEY")
        .unwrap()
        .parse()
        .unwrap();
    let plaintext = key
        .decrypt_resource(
            resource["ciphertext"].as_str().unwrap(),
            resource["nonce"].as_str().unwrap(),
            resource["associated_data"].as_str().unwrap(),
        )
        .unwrap();
    (envelope, serde_json::from_slice(&plaintext).unwrap())
}

#[tokio::test]
async fn open_card_delivers_one_signed_encrypted_create_and_the_confirm_applies() {
    let receiver = Receiver::start(vec![], 200).await;
    let sandbox = start_with(&receiver, 3).await;
    let (status, answer) = admin(
        &sandbox,
        "open-card",
        &json!({"brand_id": BRAND, "card_id": "t2", "openid": "u1", "user_card_code": "c1"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["card"]["user_card_state"], "UNACTIVATED");
    let id = answer["notification_id"].as_str().unwrap().to_owned();
    until(|| sandbox.deliveries().len() == 1).await;
    // No retry follows a 200.
    tokio::time::sleep(INTERVAL * 3).await;
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["content-type"], "application/json");
    assert!(!got[0].headers["user-agent"].is_empty());
    let (envelope, card) = open(&sandbox, &got[0]);
    assert_eq!(envelope["id"], id.as_str());
    assert_eq!(envelope["event_type"], EVENT_CREATE);
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    assert_eq!(envelope["resource"]["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(envelope["resource"]["original_type"], "user_card");
    assert!(
        envelope["create_time"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    let stored = serde_json::to_value(sandbox.card("t2", "c1").unwrap()).unwrap();
    assert_eq!(card, stored);
    let delivery = &sandbox.deliveries()[0];
    assert_eq!(
        (
            delivery.notification_id.as_str(),
            delivery.attempt,
            delivery.status
        ),
        (id.as_str(), 1, Some(200))
    );

    // The merchant confirms: EFFECTIVE.
    let client = Client::new(&sandbox);
    let url = "/v3/brand/partner/card-member/user-cards/c1/confirm?card_id=t2";
    let body = json!({"brand_id": BRAND, "openid": "u1", "user_card_confirm_state": "CREATE_CARD_SUCCESS"})
        .to_string();
    let headers = client.headers("POST", url, body.as_bytes());
    let answer = client.send("POST", url, body, &headers).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        sandbox.card("t2", "c1").unwrap().user_card_state.as_str(),
        "EFFECTIVE"
    );

    // The hook lists the attempt.
    let listed = reqwest::get(format!("{}/_sandbox/notifications", sandbox.base_url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed[0]["notification_id"], id.as_str());
    assert_eq!(listed[0]["status"], 200);
}

#[tokio::test]
async fn failures_are_retried_at_the_interval_until_a_2xx() {
    let receiver = Receiver::start(vec![500, 500], 200).await;
    let sandbox = start_with(&receiver, 5).await;
    let event = sandbox.user_opens_card(None, "t2", None, "u1").unwrap();
    let code = event.card.user_card_code.clone();
    assert_eq!(code.len(), 12, "{code}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    until(|| sandbox.deliveries().len() == 3).await;
    tokio::time::sleep(INTERVAL * 3).await;
    let deliveries = sandbox.deliveries();
    let statuses: Vec<_> = deliveries.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(statuses, [(1, Some(500)), (2, Some(500)), (3, Some(200))]);
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    for pair in got.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= INTERVAL, "{gap:?}");
        assert!(
            gap < Duration::from_secs(30),
            "the configured interval, not the default 60 s: {gap:?}"
        );
        // The same notification, signed afresh.
        let (a, b): (Value, Value) = (
            serde_json::from_slice(&pair[0].body).unwrap(),
            serde_json::from_slice(&pair[1].body).unwrap(),
        );
        assert_eq!(a["id"], b["id"]);
        assert_ne!(
            pair[0].headers["wechatpay-nonce"],
            pair[1].headers["wechatpay-nonce"]
        );
    }
    open(&sandbox, &got[2]);
}

#[tokio::test]
async fn without_a_2xx_delivery_stops_after_one_plus_the_retries() {
    let receiver = Receiver::start(vec![], 503).await;
    let sandbox = start_with(&receiver, 2).await;
    sandbox
        .user_opens_card(Some(BRAND), "t2", Some("c1"), "u1")
        .unwrap();
    until(|| sandbox.deliveries().len() == 3).await;
    tokio::time::sleep(INTERVAL * 4).await;
    assert_eq!(sandbox.deliveries().len(), 3);
    assert_eq!(receiver.got().len(), 3);
    assert!(sandbox.deliveries().iter().all(|d| d.status == Some(503)));
}

#[tokio::test]
async fn an_unreachable_url_records_the_error() {
    // A port just freed: connections are refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sandbox = builder()
        .template("t2", BRAND)
        .notify_url(format!("http://127.0.0.1:{port}/n"))
        .notify_interval(INTERVAL)
        .notify_retries(1)
        .start()
        .await
        .unwrap();
    sandbox
        .user_opens_card(None, "t2", Some("c1"), "u1")
        .unwrap();
    until(|| sandbox.deliveries().len() == 2).await;
    let delivery = &sandbox.deliveries()[0];
    assert_eq!(delivery.status, None);
    assert!(delivery.error.as_deref().is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn an_attempt_without_an_answer_gives_up_after_5_s() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/n", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let sandbox = builder()
        .template("t2", BRAND)
        .notify_url(url)
        .notify_retries(0)
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    sandbox
        .user_opens_card(None, "t2", Some("c1"), "u1")
        .unwrap();
    until_within(Duration::from_secs(9), || sandbox.deliveries().len() == 1).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(4900), "{elapsed:?}");
    let delivery = &sandbox.deliveries()[0];
    assert_eq!(delivery.status, None);
    assert_eq!(delivery.error.as_deref(), Some("no answer within 5 s"));
}

#[tokio::test]
async fn delete_card_removes_it_and_delivers_a_delete() {
    let receiver = Receiver::start(vec![], 204).await;
    let sandbox = start_with(&receiver, 0).await;
    sandbox
        .user_opens_card(None, "t2", Some("c1"), "u1")
        .unwrap();
    until(|| receiver.got().len() == 1).await;
    let (status, answer) = admin(
        &sandbox,
        "delete-card",
        &json!({"card_id": "t2", "user_card_code": "c1"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(sandbox.card("t2", "c1").is_none());
    until(|| receiver.got().len() == 2).await;
    let (envelope, card) = open(&sandbox, &receiver.got()[1]);
    assert_eq!(envelope["event_type"], EVENT_DELETE);
    assert_eq!(envelope["id"], answer["notification_id"]);
    assert_eq!(card["user_card_code"], "c1");
    assert_eq!(card["openid"], "u1");
    // Deleting it again: no such card.
    let (status, answer) = admin(
        &sandbox,
        "delete-card",
        &json!({"card_id": "t2", "user_card_code": "c1"}),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn admin_endpoints_work_without_a_notify_url_and_refuse_bad_bodies() {
    let sandbox = builder().template("t2", BRAND).start().await.unwrap();
    let key = sandbox.setting("WECHATPAY_APIV3_KEY").unwrap();
    assert_eq!(key.len(), 32);
    assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
    let (status, answer) = admin(
        &sandbox,
        "open-card",
        &json!({"card_id": "t2", "openid": "u1"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["notification_id"].is_null());
    assert!(answer["delivery"].as_str().unwrap().starts_with("none"));
    for (body, says) in [
        (json!({"card_id": "t2"}), "openid"),
        (json!({"card_id": "nope", "openid": "u2"}), "nope"),
        (
            json!({"brand_id": "9999", "card_id": "t2", "openid": "u2"}),
            "9999",
        ),
        (
            json!({"card_id": "t2", "openid": "u1"}),
            "awaiting confirmation",
        ),
    ] {
        let (status, answer) = admin(&sandbox, "open-card", &body).await;
        assert!((400..500).contains(&status), "{body}: {status}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    assert!(sandbox.deliveries().is_empty());
}

#[tokio::test]
async fn bad_notify_settings_are_refused_at_start() {
    for builder in [
        builder().notify_url("ftp://127.0.0.1/x"),
        builder()
            .notify_url("http://127.0.0.1:1/x")
            .notify_interval(Duration::ZERO),
        builder().apiv3_key("short"),
    ] {
        let error = builder.start().await.unwrap_err().to_string();
        assert!(
            error.contains("notify") || error.contains("APIv3"),
            "{error}"
        );
        assert!(!error.contains("short"), "the key is never shown: {error}");
    }
}
