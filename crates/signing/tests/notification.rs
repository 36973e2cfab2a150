//! Notifications: AES-256-GCM resources against independent vectors (Python's `cryptography`,
//! `fixtures/make-aes-gcm-vectors.py`), each way decryption fails, and the signature of a
//! notification body signed by openssl (`fixtures/make-fixtures.sh`). Runs on whichever backend
//! is compiled: `cargo test -p wechatpay-signing` and again with
//! `--no-default-features --features rust-crypto`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use wechatpay_signing::{
    ApiV3Key, CryptoError, KeyError, MAX_RESOURCE_CIPHERTEXT_LEN, NotificationVerifier, PrivateKey,
    RESOURCE_ALGORITHM, ResponseHeaders, ResponseVerifier, VerifyError, WechatPaySigner,
};

const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
/// `Wechatpay-Timestamp` and `-Nonce` of `fixtures/notification_message.txt`.
const NOTIFICATION_TIMESTAMP: u64 = 1_795_746_896;
const NOTIFICATION_NONCE: &str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";

fn vectors(kind: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(&fixture("aes_gcm_vectors.json")).unwrap();
    all[kind].as_array().unwrap().clone()
}

fn text<'a>(vector: &'a Value, field: &str) -> &'a str {
    vector[field]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {field}"))
}

fn key() -> ApiV3Key {
    API_V3_KEY.parse().unwrap()
}

#[test]
fn independent_vectors_decrypt_and_encrypt_to_the_same_ciphertext() {
    let valid = vectors("valid");
    assert!(valid.len() >= 5);
    let mut saw_empty_aad = false;
    let mut saw_multi_kb = false;
    for vector in &valid {
        let name = text(vector, "name");
        let key = ApiV3Key::new(text(vector, "key")).unwrap();
        let (nonce, aad) = (text(vector, "nonce"), text(vector, "associated_data"));
        let plaintext = text(vector, "plaintext").as_bytes();
        let ciphertext = text(vector, "ciphertext");
        saw_empty_aad |= aad.is_empty();
        saw_multi_kb |= plaintext.len() > 4096;

        let decrypted = key
            .decrypt_resource(ciphertext, nonce, aad)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decrypted.as_slice(), plaintext, "{name}");
        // GCM is deterministic for a given key and nonce.
        assert_eq!(
            key.encrypt_resource(plaintext, nonce, aad).unwrap(),
            ciphertext,
            "{name}"
        );
    }
    assert!(saw_empty_aad && saw_multi_kb);
}

#[test]
fn tampered_vectors_fail_authentication() {
    let invalid = vectors("invalid");
    assert!(invalid.len() >= 3);
    for vector in &invalid {
        let name = text(vector, "name");
        assert_eq!(text(vector, "error"), "authentication", "{name}");
        let key = ApiV3Key::new(text(vector, "key")).unwrap();
        let error = key
            .decrypt_resource(
                text(vector, "ciphertext"),
                text(vector, "nonce"),
                text(vector, "associated_data"),
            )
            .unwrap_err();
        assert_eq!(error, CryptoError::AuthenticationFailed, "{name}");
    }
}

#[test]
fn each_malformed_resource_has_its_own_error() {
    let key = key();
    let good = key.encrypt_resource(b"{}", "abcdefghijkl", "").unwrap();

    assert_eq!(
        key.decrypt_resource(&good, "abcdefghijk", "").unwrap_err(),
        CryptoError::ResourceNonceLength { len: 11 }
    );
    assert_eq!(
        key.decrypt_resource(&good, "abcdefghijklm", "")
            .unwrap_err(),
        CryptoError::ResourceNonceLength { len: 13 }
    );
    assert_eq!(
        key.encrypt_resource(b"{}", "", "").unwrap_err(),
        CryptoError::ResourceNonceLength { len: 0 }
    );
    // Twelve characters but not twelve bytes.
    assert_eq!(
        key.decrypt_resource(&good, "会员卡abcdefghi", "")
            .unwrap_err(),
        CryptoError::ResourceNonceLength { len: 18 }
    );

    assert_eq!(
        key.decrypt_resource("not base64!", "abcdefghijkl", "")
            .unwrap_err(),
        CryptoError::CiphertextNotBase64
    );
    assert_eq!(
        key.decrypt_resource(&format!("{good}\n"), "abcdefghijkl", "")
            .unwrap_err(),
        CryptoError::CiphertextNotBase64
    );
    // 15 bytes: shorter than the tag alone.
    assert_eq!(
        key.decrypt_resource("AAAAAAAAAAAAAAAAAAAA", "abcdefghijkl", "")
            .unwrap_err(),
        CryptoError::CiphertextTooShort { len: 15 }
    );
    assert_eq!(
        key.decrypt_resource("", "abcdefghijkl", "").unwrap_err(),
        CryptoError::CiphertextTooShort { len: 0 }
    );
    // Exactly a tag, but not the right one.
    assert_eq!(
        key.decrypt_resource("AAAAAAAAAAAAAAAAAAAAAA==", "abcdefghijkl", "")
            .unwrap_err(),
        CryptoError::AuthenticationFailed
    );

    let huge = "A".repeat(MAX_RESOURCE_CIPHERTEXT_LEN + 4);
    assert_eq!(
        key.decrypt_resource(&huge, "abcdefghijkl", "").unwrap_err(),
        CryptoError::ResourceTooLarge {
            what: "ciphertext (base64)",
            len: MAX_RESOURCE_CIPHERTEXT_LEN + 4,
            max: MAX_RESOURCE_CIPHERTEXT_LEN,
        }
    );
}

#[test]
fn errors_and_debug_never_show_the_key_or_the_plaintext() {
    let key = key();
    let secret = br#"{"openid":"o-secret-openid"}"#;
    let ciphertext = key.encrypt_resource(secret, "abcdefghijkl", "a").unwrap();
    let other: ApiV3Key = "ABCDEFGHIJabcdefghij0123456789XY".parse().unwrap();
    let failures = [
        other.decrypt_resource(&ciphertext, "abcdefghijkl", "a"),
        key.decrypt_resource(&ciphertext, "abcdefghijkl", "b"),
        key.decrypt_resource(&ciphertext, "abcdefghijk", "a"),
    ];
    for failure in failures {
        let error = failure.unwrap_err();
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains(API_V3_KEY) && !shown.contains("o-secret-openid"));
        }
    }
    assert_eq!(format!("{key:?}"), "ApiV3Key(<redacted>)");
    let error = ApiV3Key::new(&API_V3_KEY.as_bytes()[..20]).unwrap_err();
    assert_eq!(error, KeyError::ApiV3KeyLength { len: 20 });
    assert!(!error.to_string().contains(&API_V3_KEY[..20]));
}

#[test]
fn random_nonces_make_different_ciphertexts_that_round_trip() {
    let key = key();
    let event = fixture_bytes("notification_body.json");
    let (n1, n2) = (
        ApiV3Key::new_resource_nonce().unwrap(),
        ApiV3Key::new_resource_nonce().unwrap(),
    );
    let c1 = key.encrypt_resource(&event, &n1, "user_card").unwrap();
    let c2 = key.encrypt_resource(&event, &n2, "user_card").unwrap();
    assert_ne!(c1, c2);
    assert_eq!(
        key.decrypt_resource(&c2, &n2, "user_card")
            .unwrap()
            .as_slice(),
        event
    );
    assert_eq!(
        key.decrypt_resource(&c1, &n2, "user_card").unwrap_err(),
        CryptoError::AuthenticationFailed
    );
}

/// The notification as openssl signed it, with its five headers.
fn notification() -> (Vec<u8>, String) {
    (
        fixture_bytes("notification_body.json"),
        fixture("notification_signature.pubkey.b64"),
    )
}

fn headers(signature: &str) -> ResponseHeaders<'_> {
    ResponseHeaders {
        timestamp: Some("1795746896"),
        nonce: Some(NOTIFICATION_NONCE),
        signature: Some(signature.trim()),
        serial: Some(PUBLIC_KEY_ID),
        signature_type: Some("WECHATPAY2-SHA256-RSA2048"),
    }
}

#[test]
fn a_notification_signed_by_openssl_verifies_then_decrypts() {
    let (body, signature) = notification();
    // The fixture's signed message is exactly TIMESTAMP\nNONCE\nBODY\n.
    let mut message = format!("{NOTIFICATION_TIMESTAMP}\n{NOTIFICATION_NONCE}\n").into_bytes();
    message.extend_from_slice(&body);
    message.push(b'\n');
    assert_eq!(message, fixture_bytes("notification_message.txt"));

    let verifier = NotificationVerifier::new(key_set());
    verifier
        .verify_at(&headers(&signature), &body, NOTIFICATION_TIMESTAMP + 299)
        .unwrap();

    // Only after verification: parse, check the algorithm, decrypt.
    let notification: Value = serde_json::from_slice(&body).unwrap();
    let resource = &notification["resource"];
    assert_eq!(resource["algorithm"], RESOURCE_ALGORITHM);
    let plaintext = key()
        .decrypt_resource(
            resource["ciphertext"].as_str().unwrap(),
            resource["nonce"].as_str().unwrap(),
            resource["associated_data"].as_str().unwrap_or(""),
        )
        .unwrap();
    let event: Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(event["user_card_code"], "478515832665");
    assert_eq!(event["card_id"], "pbLatjvWOibDc5-TBnbUk1pD12o0");
}

#[test]
fn a_notification_with_a_tampered_body_or_stale_timestamp_fails() {
    let (body, signature) = notification();
    let verifier = NotificationVerifier::new(key_set());

    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("USER_CARD.CREATE", "USER_CARD.DELETE");
    assert_ne!(tampered.as_bytes(), body.as_slice());
    assert_eq!(
        verifier.verify_at(
            &headers(&signature),
            tampered.as_bytes(),
            NOTIFICATION_TIMESTAMP
        ),
        Err(VerifyError::BadSignature {
            serial: PUBLIC_KEY_ID.to_owned()
        })
    );
    // A trailing newline is a different body.
    let mut with_newline = body.clone();
    with_newline.push(b'\n');
    assert!(matches!(
        verifier.verify_at(&headers(&signature), &with_newline, NOTIFICATION_TIMESTAMP),
        Err(VerifyError::BadSignature { .. })
    ));

    assert_eq!(
        verifier.verify_at(&headers(&signature), &body, NOTIFICATION_TIMESTAMP + 301),
        Err(VerifyError::StaleTimestamp {
            timestamp: NOTIFICATION_TIMESTAMP,
            now: NOTIFICATION_TIMESTAMP + 301,
            window_secs: 300,
        })
    );
    // verify() reads the clock: a 2026 notification is stale (or future) by now, never valid.
    assert!(matches!(
        verifier.verify(&headers(&signature), &body),
        Err(VerifyError::StaleTimestamp { .. } | VerifyError::FutureTimestamp { .. })
    ));
    // The serial chooses the key: the platform certificate's did not sign this.
    let mut other_serial = headers(&signature);
    other_serial.serial = Some(PLATFORM_SERIAL);
    assert!(matches!(
        verifier.verify_at(&other_serial, &body, NOTIFICATION_TIMESTAMP),
        Err(VerifyError::BadSignature { .. })
    ));
}

#[test]
fn a_probe_signature_on_a_notification_is_reported_as_such() {
    let (body, _) = notification();
    let verifier = NotificationVerifier::new(key_set());
    let probe = "WECHATPAY/SIGNTEST/c2lnbmF0dXJlIHByb2Jl";
    let error = verifier
        .verify_at(&headers(probe), &body, NOTIFICATION_TIMESTAMP)
        .unwrap_err();
    assert_eq!(error, VerifyError::ProbeSignature);
    assert!(error.to_string().contains("notification is unverified"));
}

#[test]
fn notification_verifier_is_the_response_verifier() {
    let signer = WechatPaySigner::new(
        PUBLIC_KEY_ID,
        PrivateKey::from_pem(&fixture("wechatpay_key.pem")).unwrap(),
    )
    .unwrap();
    let body = fixture_bytes("notification_body.json");
    let signed = signer.sign_response(&body).unwrap();
    let window = std::time::Duration::from_secs(60);
    let from_response: NotificationVerifier =
        ResponseVerifier::new(key_set()).with_window(window).into();
    let direct = NotificationVerifier::new(key_set()).with_window(window);
    assert_eq!(from_response.window(), window);
    assert_eq!(direct.keys().ids(), from_response.keys().ids());
    for verifier in [from_response, direct] {
        verifier
            .verify(&signed.as_response_headers(), &body)
            .unwrap();
        assert!(matches!(
            verifier.verify_at(&signed.as_response_headers(), &body, 0),
            Err(VerifyError::FutureTimestamp { .. })
        ));
    }
}
