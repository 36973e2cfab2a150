//! The notification entry point: an openssl-signed fixture and notifications made on the fly
//! are accepted; forged, tampered, stale, undecryptable, probe, oversized and non-JSON ones are
//! refused with their error kind and a 4xx answer.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use wechatpay_card_client::models::{NotificationEventType, UserCardState};
use wechatpay_card_client::notify::{
    DEFAULT_MAX_NOTIFICATION_BYTES, NotificationErrorKind, NotificationReceiver, answer,
};
use wechatpay_card_client::signing::{
    ApiV3Key, PrivateKey, ResponseSignature, WechatPayKeySet, WechatPayPublicKey, WechatPaySigner,
};

const KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";
const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
/// `Wechatpay-Timestamp` and `-Nonce` of the signing crate's `notification_message.txt`.
const FIXTURE_TIMESTAMP: u64 = 1_795_746_896;
const FIXTURE_NONCE: &str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";

fn wechatpay_signer() -> WechatPaySigner {
    let key = include_str!("../../signing/tests/fixtures/wechatpay_key.pem");
    WechatPaySigner::new(KEY_ID, PrivateKey::from_pem(key).unwrap()).unwrap()
}

/// Another key under the same id: a forger's.
fn forger() -> WechatPaySigner {
    let key = include_str!("../../signing/tests/fixtures/platform_key.pem");
    WechatPaySigner::new(KEY_ID, PrivateKey::from_pem(key).unwrap()).unwrap()
}

fn receiver() -> NotificationReceiver {
    let public = include_str!("../../signing/tests/fixtures/wechatpay_pub.pem");
    let keys = WechatPayKeySet::new()
        .with_public_key(WechatPayPublicKey::from_pem(KEY_ID, public).unwrap());
    NotificationReceiver::new(keys, API_V3_KEY.parse().unwrap())
}

fn lookup<'h>(headers: &'h HashMap<String, String>) -> impl Fn(&str) -> Option<&'h str> + 'h {
    move |name: &str| headers.get(&name.to_ascii_lowercase()).map(String::as_str)
}

fn header_map(signature: &ResponseSignature) -> HashMap<String, String> {
    signature
        .headers()
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), (*value).to_owned()))
        .collect()
}

fn event_json(code: &str) -> String {
    format!(
        r#"{{"event_type":"BRAND_MEMBER_CARD_SP.USER_CARD.CREATE","user_card_code":"{code}","card_id":"pbLatjvWOibDc5-TBnbUk1pD12o0","openid":"o1","brand_id":"1004","user_card_state":"AWAITING_CONFIRM","event_time":"2026-12-01T10:00:00+08:00"}}"#
    )
}

/// A notification body with `event` encrypted under `api_v3_key`.
fn body_with(id: &str, event: &str, api_v3_key: &str, algorithm: &str) -> Vec<u8> {
    let key: ApiV3Key = api_v3_key.parse().unwrap();
    let nonce = ApiV3Key::new_resource_nonce().unwrap();
    let ciphertext = key
        .encrypt_resource(event.as_bytes(), &nonce, "user_card")
        .unwrap();
    serde_json::json!({
        "id": id,
        "create_time": "2026-12-01T10:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "BRAND_MEMBER_CARD_SP.USER_CARD.CREATE",
        "summary": "用户开通会员卡通知",
        "resource": {
            "original_type": "user_card",
            "algorithm": algorithm,
            "ciphertext": ciphertext,
            "associated_data": "user_card",
            "nonce": nonce,
        }
    })
    .to_string()
    .into_bytes()
}

fn body(id: &str) -> Vec<u8> {
    body_with(
        id,
        &event_json("478515832665"),
        API_V3_KEY,
        "AEAD_AES_256_GCM",
    )
}

/// Receives `body` signed now by `signer`; returns the error kind and the answer's status.
fn refused(signer: &WechatPaySigner, body: &[u8]) -> (NotificationErrorKind, u16) {
    let headers = header_map(&signer.sign_response(body).unwrap());
    let result = receiver().receive(lookup(&headers), body);
    let ack = answer(&result);
    let error = result.unwrap_err();
    assert!((400..500).contains(&ack.status), "{error}: {}", ack.status);
    let json: serde_json::Value = serde_json::from_str(&ack.body).unwrap();
    assert_eq!(json["code"], "FAIL");
    assert_eq!(json["message"], error.kind().description());
    (error.kind(), ack.status)
}

#[test]
fn the_openssl_signed_fixture_is_accepted() {
    let body = include_bytes!("../../signing/tests/fixtures/notification_body.json");
    let signature = include_str!("../../signing/tests/fixtures/notification_signature.pubkey.b64");
    let headers: HashMap<String, String> = [
        ("wechatpay-timestamp", FIXTURE_TIMESTAMP.to_string()),
        ("wechatpay-nonce", FIXTURE_NONCE.to_string()),
        ("wechatpay-signature", signature.trim().to_string()),
        ("wechatpay-serial", KEY_ID.to_string()),
        (
            "wechatpay-signature-type",
            "WECHATPAY2-SHA256-RSA2048".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let result = receiver().receive_at(lookup(&headers), body, FIXTURE_TIMESTAMP + 10);
    assert_eq!(answer(&result).status, 200);
    let event = result.unwrap();
    assert_eq!(event.id, "EV-2026112710345600000001");
    assert_eq!(
        event.event_type,
        NotificationEventType::MembercardspUserCardCreate
    );
    assert!(event.is_create() && !event.is_delete());
    assert_eq!(event.event.user_card_code, "478515832665");
    assert_eq!(event.event.card_id, "pbLatjvWOibDc5-TBnbUk1pD12o0");
    assert_eq!(event.event.brand_id.as_deref(), Some("1004"));
    assert_eq!(event.create_time.as_str(), "2026-11-27T10:34:56+08:00");

    // The same fixture, now: its timestamp is days old.
    let result = receiver().receive(lookup(&headers), body);
    assert_eq!(
        result.unwrap_err().kind(),
        NotificationErrorKind::StaleTimestamp
    );
}

#[test]
fn a_notification_made_on_the_fly_is_accepted_with_an_unknown_state() {
    let body = body("EV-1");
    let headers = header_map(&wechatpay_signer().sign_response(&body).unwrap());
    let result = receiver().receive(lookup(&headers), &body);
    let ack = answer(&result);
    assert_eq!((ack.status, ack.body.as_str()), (200, ""));
    let event = result.unwrap();
    assert_eq!(event.id, "EV-1");
    assert!(event.is_create());
    assert_eq!(
        event.event.user_card_state,
        Some(UserCardState::from("AWAITING_CONFIRM"))
    );
    assert!(event.corrections.is_empty(), "{:?}", event.corrections);
    // The CLI prints this: the card event, with the notification's id and type.
    let line = serde_json::to_value(&event).unwrap();
    assert_eq!(line["id"], "EV-1");
    assert_eq!(line["event_type"], "BRAND_MEMBER_CARD_SP.USER_CARD.CREATE");
    assert_eq!(line["event"]["user_card_code"], "478515832665");
}

#[test]
fn a_forged_signature_is_refused() {
    assert_eq!(
        refused(&forger(), &body("EV-2")),
        (NotificationErrorKind::Signature, 401)
    );
}

#[test]
fn a_tampered_body_is_refused() {
    let body = body("EV-3");
    let headers = header_map(&wechatpay_signer().sign_response(&body).unwrap());
    let tampered = String::from_utf8(body).unwrap().replace("EV-3", "EV-4");
    let result = receiver().receive(lookup(&headers), tampered.as_bytes());
    assert_eq!(result.unwrap_err().kind(), NotificationErrorKind::Signature);
    assert_eq!(
        answer(&receiver().receive(lookup(&headers), tampered.as_bytes())).status,
        401
    );
}

#[test]
fn a_stale_notification_is_refused() {
    let body = body("EV-5");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old = wechatpay_signer()
        .sign_response_at(&body, now - 301, "n0nce")
        .unwrap();
    let headers = header_map(&old);
    let error = receiver().receive(lookup(&headers), &body).unwrap_err();
    assert_eq!(error.kind(), NotificationErrorKind::StaleTimestamp);
    assert_eq!(answer::<()>(&Err(error)).status, 401);
}

#[test]
fn another_api_v3_key_fails_decryption() {
    let body = body_with(
        "EV-6",
        &event_json("1"),
        "ABCDEFGHIJ0123456789abcdefghij01",
        "AEAD_AES_256_GCM",
    );
    assert_eq!(
        refused(&wechatpay_signer(), &body),
        (NotificationErrorKind::Decryption, 400)
    );
}

#[test]
fn a_probe_signature_is_reported_as_such() {
    let body = body("EV-7");
    let mut headers = header_map(&wechatpay_signer().sign_response(&body).unwrap());
    headers.insert(
        "wechatpay-signature".into(),
        "WECHATPAY/SIGNTEST/ABCDEFGH".into(),
    );
    let error = receiver().receive(lookup(&headers), &body).unwrap_err();
    assert_eq!(error.kind(), NotificationErrorKind::ProbeSignature);
    assert_eq!(answer::<()>(&Err(error)).status, 401);
}

#[test]
fn an_oversized_body_is_refused_before_verification() {
    let body = vec![b' '; DEFAULT_MAX_NOTIFICATION_BYTES + 1];
    assert_eq!(
        refused(&wechatpay_signer(), &body),
        (NotificationErrorKind::TooLarge, 413)
    );
    // A smaller limit applies too.
    let small = body_with("EV-8", &event_json("1"), API_V3_KEY, "AEAD_AES_256_GCM");
    let headers = header_map(&wechatpay_signer().sign_response(&small).unwrap());
    let error = receiver()
        .with_max_body_bytes(small.len() - 1)
        .receive(lookup(&headers), &small)
        .unwrap_err();
    assert_eq!(error.kind(), NotificationErrorKind::TooLarge);
}

#[test]
fn a_signed_body_that_is_not_json_is_malformed() {
    assert_eq!(
        refused(&wechatpay_signer(), b"<xml>not json</xml>"),
        (NotificationErrorKind::MalformedEnvelope, 400)
    );
    assert_eq!(
        refused(&wechatpay_signer(), br#"{"resource":{}}"#).0,
        NotificationErrorKind::MalformedEnvelope
    );
}

#[test]
fn another_algorithm_is_refused() {
    let body = body_with("EV-9", &event_json("1"), API_V3_KEY, "AEAD_SM4_GCM\u{1b}");
    assert_eq!(
        refused(&wechatpay_signer(), &body),
        (NotificationErrorKind::UnsupportedAlgorithm, 400)
    );
    let headers = header_map(&wechatpay_signer().sign_response(&body).unwrap());
    let error = receiver().receive(lookup(&headers), &body).unwrap_err();
    assert!(error.to_string().contains(r"AEAD_SM4_GCM\u{1b}"), "{error}");
}

#[test]
fn an_event_without_its_code_or_json_is_malformed() {
    for event in [r#"{"card_id":"c"}"#, "not json", r#"["a"]"#] {
        let body = body_with("EV-10", event, API_V3_KEY, "AEAD_AES_256_GCM");
        assert_eq!(
            refused(&wechatpay_signer(), &body),
            (NotificationErrorKind::MalformedEvent, 400),
            "{event}"
        );
    }
}
