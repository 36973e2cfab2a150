//! The merchant side of a response: each way verification fails has its own error, keys are
//! chosen by serial from a set that can change at runtime, and encryption picks its key.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use wechatpay_signing::{
    CryptoError, PlatformCertificate, PrivateKey, ResponseHeaders, ResponseSignature,
    ResponseVerifier, VerifyError, WechatPayKeySet, WechatPaySigner, header,
};

const BODY: &[u8] = r#"{"user_card_code":"478515832665","level":"钻石会员"}"#.as_bytes();
const NOW: u64 = RESPONSE_TIMESTAMP;

fn public_key_signer() -> WechatPaySigner {
    WechatPaySigner::new(
        PUBLIC_KEY_ID,
        PrivateKey::from_pem(&fixture("wechatpay_key.pem")).unwrap(),
    )
    .unwrap()
}

fn platform_signer() -> WechatPaySigner {
    WechatPaySigner::new(
        PLATFORM_SERIAL,
        PrivateKey::from_pem(&fixture("platform_key.pem")).unwrap(),
    )
    .unwrap()
}

fn signed(signer: &WechatPaySigner, body: &[u8], timestamp: u64) -> ResponseSignature {
    signer
        .sign_response_at(body, timestamp, RESPONSE_NONCE)
        .unwrap()
}

fn verify(
    verifier: &ResponseVerifier,
    headers: ResponseHeaders<'_>,
    body: &[u8],
) -> Result<(), VerifyError> {
    verifier.verify_at(&headers, body, NOW)
}

#[test]
fn a_signed_response_verifies_and_any_change_breaks_it() {
    let verifier = ResponseVerifier::new(key_set());
    let signature = signed(&public_key_signer(), BODY, NOW);
    verify(&verifier, signature.as_response_headers(), BODY).unwrap();

    let mut changed = BODY.to_vec();
    changed[3] ^= 1;
    assert_eq!(
        verify(&verifier, signature.as_response_headers(), &changed),
        Err(VerifyError::BadSignature {
            serial: PUBLIC_KEY_ID.to_owned()
        })
    );
    let mut headers = signature.as_response_headers();
    headers.nonce = Some("another-nonce");
    assert!(matches!(
        verify(&verifier, headers, BODY),
        Err(VerifyError::BadSignature { .. })
    ));
    // The key the serial names must be the key that signed: the platform key's signature under
    // the public key's id fails.
    let other = signed(&platform_signer(), BODY, NOW);
    let mut headers = other.as_response_headers();
    headers.serial = Some(PUBLIC_KEY_ID);
    assert!(matches!(
        verify(&verifier, headers, BODY),
        Err(VerifyError::BadSignature { .. })
    ));
}

#[test]
fn each_missing_header_is_named() {
    let verifier = ResponseVerifier::new(key_set());
    let signature = signed(&public_key_signer(), BODY, NOW);
    let pairs = signature.headers();
    for missing in [
        header::TIMESTAMP,
        header::NONCE,
        header::SIGNATURE,
        header::SERIAL,
    ] {
        // Absent, except the signature: present but blank.
        let headers = ResponseHeaders::from_lookup(|name| match name {
            name if name == missing && name == header::SIGNATURE => Some("  "),
            name if name == missing => None,
            name => pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
        });
        let error = verify(&verifier, headers, BODY).unwrap_err();
        assert_eq!(error, VerifyError::MissingHeader(missing));
        assert!(error.to_string().contains(missing));
    }
}

#[test]
fn unknown_serial() {
    let verifier = ResponseVerifier::new(key_set());
    let signature = signed(&public_key_signer(), BODY, NOW);
    let mut headers = signature.as_response_headers();
    headers.serial = Some("PUB_KEY_ID_0000");
    assert_eq!(
        verify(&verifier, headers, BODY),
        Err(VerifyError::UnknownSerial {
            serial: "PUB_KEY_ID_0000".to_owned()
        })
    );
    // A long hostile serial is shortened in the error.
    let long = "A".repeat(10_000);
    headers.serial = Some(&long);
    let error = verify(&verifier, headers, BODY).unwrap_err();
    assert!(error.to_string().len() < 200, "{error}");
}

#[test]
fn stale_and_future_timestamps_with_a_configurable_window() {
    let verifier = ResponseVerifier::new(key_set());
    assert_eq!(verifier.window(), Duration::from_secs(300));
    let old = signed(&public_key_signer(), BODY, NOW - 301);
    assert_eq!(
        verify(&verifier, old.as_response_headers(), BODY),
        Err(VerifyError::StaleTimestamp {
            timestamp: NOW - 301,
            now: NOW,
            window_secs: 300
        })
    );
    let edge = signed(&public_key_signer(), BODY, NOW - 300);
    verify(&verifier, edge.as_response_headers(), BODY).unwrap();
    let future = signed(&public_key_signer(), BODY, NOW + 301);
    let error = verify(&verifier, future.as_response_headers(), BODY).unwrap_err();
    assert!(
        matches!(error, VerifyError::FutureTimestamp { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("301 s after"), "{error}");

    let wide = ResponseVerifier::new(key_set()).with_window(Duration::from_secs(600));
    verify(&wide, old.as_response_headers(), BODY).unwrap();
    verify(&wide, future.as_response_headers(), BODY).unwrap();

    let mut headers = edge.as_response_headers();
    headers.timestamp = Some("2019-04-02T12:00:00Z");
    assert_eq!(
        verify(&verifier, headers, BODY),
        Err(VerifyError::MalformedTimestamp)
    );
}

#[test]
fn bad_base64_signature() {
    let verifier = ResponseVerifier::new(key_set());
    let signature = signed(&public_key_signer(), BODY, NOW);
    let mut headers = signature.as_response_headers();
    headers.signature = Some("not base64!");
    assert_eq!(
        verify(&verifier, headers, BODY),
        Err(VerifyError::SignatureNotBase64)
    );
}

#[test]
fn wechat_probe_signature_has_its_own_error() {
    let verifier = ResponseVerifier::new(key_set());
    let signature = signed(&public_key_signer(), BODY, NOW);
    let mut headers = signature.as_response_headers();
    let probe = format!("WECHATPAY/SIGNTEST/{}", signature.signature);
    headers.signature = Some(&probe);
    let error = verify(&verifier, headers, BODY).unwrap_err();
    assert_eq!(error, VerifyError::ProbeSignature);
    assert!(
        error
            .to_string()
            .contains("may nevertheless have been applied")
    );
}

#[test]
fn another_signature_type_is_refused_but_its_absence_is_not() {
    let verifier = ResponseVerifier::new(key_set());
    let signature = signed(&public_key_signer(), BODY, NOW);
    let mut headers = signature.as_response_headers();
    headers.signature_type = Some("WECHATPAY2-SM2-WITH-SM3");
    assert_eq!(
        verify(&verifier, headers, BODY),
        Err(VerifyError::UnsupportedSignatureType(
            "WECHATPAY2-SM2-WITH-SM3".to_owned()
        ))
    );
    headers.signature_type = None;
    verify(&verifier, headers, BODY).unwrap();
}

#[test]
fn headers_read_through_a_lookup_function() {
    let signature = signed(&public_key_signer(), BODY, NOW);
    let pairs = signature.headers();
    let headers = ResponseHeaders::from_lookup(|name| {
        pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    });
    assert_eq!(headers, signature.as_response_headers());
    verify(&ResponseVerifier::new(key_set()), headers, BODY).unwrap();
}

#[test]
fn migration_and_rotation_at_runtime() {
    let keys = WechatPayKeySet::new().with_certificate(platform_certificate());
    let verifier = ResponseVerifier::new(keys.clone());
    let by_certificate = signed(&platform_signer(), BODY, NOW);
    let by_public_key = signed(&public_key_signer(), BODY, NOW);

    verify(&verifier, by_certificate.as_response_headers(), BODY).unwrap();
    assert!(matches!(
        verify(&verifier, by_public_key.as_response_headers(), BODY),
        Err(VerifyError::UnknownSerial { .. })
    ));

    // Migration: the public key joins; both kinds verify through the same verifier.
    keys.set_public_key(wechatpay_public_key());
    verify(&verifier, by_certificate.as_response_headers(), BODY).unwrap();
    verify(&verifier, by_public_key.as_response_headers(), BODY).unwrap();
    assert_eq!(keys.ids(), [PUBLIC_KEY_ID, PLATFORM_SERIAL]);

    // The certificate retires: a lowercase serial finds it too.
    assert!(
        keys.remove_certificate(&PLATFORM_SERIAL.to_lowercase())
            .is_some()
    );
    assert!(matches!(
        verify(&verifier, by_certificate.as_response_headers(), BODY),
        Err(VerifyError::UnknownSerial { .. })
    ));
    verify(&verifier, by_public_key.as_response_headers(), BODY).unwrap();
}

#[test]
fn an_expired_certificate_in_the_set_no_longer_verifies() {
    let certificate =
        PlatformCertificate::from_pem_at(&fixture("platform_cert_expired.pem"), 970_000_000)
            .unwrap();
    let keys = WechatPayKeySet::new().with_certificate(certificate);
    let signer = WechatPaySigner::new(
        EXPIRED_SERIAL,
        PrivateKey::from_pem(&fixture("platform_key.pem")).unwrap(),
    )
    .unwrap();
    let verifier = ResponseVerifier::new(keys.clone());
    let then = signer.sign_response_at(BODY, 970_000_000, "n").unwrap();
    verifier
        .verify_at(&then.as_response_headers(), BODY, 970_000_000)
        .unwrap();
    let now = signed(&signer, BODY, NOW);
    assert_eq!(
        verify(&verifier, now.as_response_headers(), BODY),
        Err(VerifyError::CertificateNotValid {
            serial: EXPIRED_SERIAL.to_owned()
        })
    );
    assert_eq!(keys.remove_expired_certificates_at(NOW), 1);
    assert!(keys.is_empty());
}

#[test]
fn verifier_is_shared_across_threads_while_keys_rotate() {
    let keys = WechatPayKeySet::new().with_public_key(wechatpay_public_key());
    let verifier = ResponseVerifier::new(keys.clone());
    let signature = signed(&public_key_signer(), BODY, NOW);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let verifier = verifier.clone();
            let signature = &signature;
            scope.spawn(move || {
                for _ in 0..20 {
                    verify(&verifier, signature.as_response_headers(), BODY).unwrap();
                }
            });
        }
        scope.spawn(|| {
            for _ in 0..20 {
                keys.add_certificate(platform_certificate());
                keys.remove_certificate(PLATFORM_SERIAL);
            }
        });
    });
}

#[test]
fn encryption_prefers_the_public_key_then_the_newest_valid_certificate() {
    let keys = WechatPayKeySet::new();
    assert_eq!(keys.encryptor().unwrap_err(), CryptoError::NoEncryptionKey);

    let expired =
        PlatformCertificate::from_pem_at(&fixture("platform_cert_expired.pem"), 970_000_000)
            .unwrap();
    keys.add_certificate(expired);
    assert_eq!(
        keys.encryptor_at(NOW).unwrap_err(),
        CryptoError::NoEncryptionKey
    );
    assert_eq!(
        keys.encryptor_at(970_000_000).unwrap().key_id(),
        EXPIRED_SERIAL
    );

    keys.add_certificate(platform_certificate());
    assert_eq!(keys.encryptor_at(NOW).unwrap().key_id(), PLATFORM_SERIAL);
    // In 2000 the 2019 certificate is not yet valid: the expired one was the only choice.
    assert_eq!(
        keys.encryptor_at(970_000_000).unwrap().key_id(),
        EXPIRED_SERIAL
    );

    keys.set_public_key(wechatpay_public_key());
    let encryptor = keys.encryptor().unwrap();
    assert_eq!(encryptor.key_id(), PUBLIC_KEY_ID);
    let value = encryptor.encrypt("13800138000").unwrap();
    assert_eq!(value.key_id, PUBLIC_KEY_ID);
    let wechatpay = public_key_signer();
    assert_eq!(
        wechatpay.decrypt(&value.ciphertext).unwrap().as_str(),
        "13800138000"
    );
    // OAEP is randomized: the same value encrypts differently each time.
    assert_ne!(
        encryptor.encrypt("13800138000").unwrap().ciphertext,
        value.ciphertext
    );
}

#[test]
fn plaintext_over_the_oaep_limit_is_an_error_without_the_plaintext() {
    let encryptor = WechatPayKeySet::new()
        .with_public_key(wechatpay_public_key())
        .encryptor()
        .unwrap();
    let at_limit = "x".repeat(214);
    assert!(encryptor.encrypt(&at_limit).is_ok());
    let over = "秘".repeat(72); // 216 bytes of UTF-8
    let error = encryptor.encrypt(&over).unwrap_err();
    assert_eq!(error, CryptoError::PlaintextTooLong { len: 216, max: 214 });
    assert!(!error.to_string().contains('秘'));
}

#[test]
fn decryption_errors() {
    let merchant = merchant_signer();
    assert_eq!(
        merchant.decrypt("%%%").unwrap_err(),
        CryptoError::CiphertextNotBase64
    );
    assert_eq!(
        merchant.decrypt("AAAA").unwrap_err(),
        CryptoError::DecryptionFailed
    );
    // Encrypted for WeChat Pay, not for the merchant.
    let for_wechatpay = fixture("sensitive_for_wechatpay.b64");
    assert_eq!(
        merchant.decrypt(for_wechatpay.trim()).unwrap_err(),
        CryptoError::DecryptionFailed
    );
    // Valid OAEP around bytes that are not UTF-8.
    let not_text = merchant.public_key().encrypt(&[0xff, 0xfe]).unwrap();
    assert_eq!(
        merchant.decrypt(&not_text).unwrap_err(),
        CryptoError::PlaintextNotUtf8
    );
}
