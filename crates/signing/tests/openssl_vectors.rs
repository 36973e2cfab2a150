//! Checks against an independent implementation: vectors made by the openssl command line
//! (see fixtures/README.md), and openssl decrypting and verifying what this crate makes.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::*;
use wechatpay_signing::{
    AuthorizationHeader, PrivateKey, PublicKey, ResponseHeaders, ResponseVerifier,
    SensitiveEncryptor, WechatPayKeySet, WechatPaySigner,
};

fn wechatpay_signer() -> WechatPaySigner {
    WechatPaySigner::new(
        PUBLIC_KEY_ID,
        PrivateKey::from_pem(&fixture("wechatpay_key.pem")).unwrap(),
    )
    .unwrap()
}

#[test]
fn request_signature_equals_openssl_byte_for_byte() {
    let body = fixture_bytes("request_body.json");
    let authorization = merchant_signer()
        .authorization_at(
            REQUEST_METHOD,
            REQUEST_URL,
            &body,
            REQUEST_TIMESTAMP,
            REQUEST_NONCE,
        )
        .unwrap();
    let expected = format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCHID}\",nonce_str=\"{REQUEST_NONCE}\",timestamp=\"{REQUEST_TIMESTAMP}\",serial_no=\"{MERCHANT_SERIAL}\",signature=\"{}\"",
        fixture("request_signature.b64").trim()
    );
    assert_eq!(
        authorization,
        expected,
        "backend {}",
        wechatpay_signing::BACKEND
    );

    // The signed message is exactly openssl's input file.
    let message = format!(
        "{REQUEST_METHOD}\n{REQUEST_URL}\n{REQUEST_TIMESTAMP}\n{REQUEST_NONCE}\n{}\n",
        fixture("request_body.json")
    );
    assert_eq!(message, fixture("request_message.txt"));

    // And WeChat Pay's side accepts it.
    let header = AuthorizationHeader::parse(&authorization).unwrap();
    let merchant_public = PublicKey::from_pem(&fixture("merchant_cert.pem")).unwrap();
    header
        .verify_at(
            &merchant_public,
            REQUEST_METHOD,
            REQUEST_URL,
            &body,
            REQUEST_TIMESTAMP + 10,
            wechatpay_signing::DEFAULT_WINDOW,
        )
        .unwrap();
}

#[test]
fn response_signed_by_openssl_verifies_with_public_key_and_certificate() {
    let verifier = ResponseVerifier::new(key_set());
    let body = fixture_bytes("response_body.json");
    let timestamp = RESPONSE_TIMESTAMP.to_string();
    for (serial, signature_file) in [
        (PUBLIC_KEY_ID, "response_signature.pubkey.b64"),
        (PLATFORM_SERIAL, "response_signature.platform.b64"),
    ] {
        let signature = fixture(signature_file);
        let headers = ResponseHeaders {
            timestamp: Some(&timestamp),
            nonce: Some(RESPONSE_NONCE),
            signature: Some(signature.trim()),
            serial: Some(serial),
            signature_type: Some("WECHATPAY2-SHA256-RSA2048"),
        };
        verifier
            .verify_at(&headers, &body, RESPONSE_TIMESTAMP + 299)
            .unwrap();
    }
}

#[test]
fn empty_response_body_signed_by_openssl_verifies() {
    let verifier = ResponseVerifier::new(key_set());
    let timestamp = RESPONSE_TIMESTAMP.to_string();
    let signature = fixture("response_signature_empty.pubkey.b64");
    let headers = ResponseHeaders {
        timestamp: Some(&timestamp),
        nonce: Some(RESPONSE_NONCE),
        signature: Some(signature.trim()),
        serial: Some(PUBLIC_KEY_ID),
        signature_type: None,
    };
    verifier
        .verify_at(&headers, b"", RESPONSE_TIMESTAMP)
        .unwrap();
}

#[test]
fn our_response_signature_equals_openssl() {
    let body = fixture_bytes("response_body.json");
    let signature = wechatpay_signer()
        .sign_response_at(&body, RESPONSE_TIMESTAMP, RESPONSE_NONCE)
        .unwrap();
    assert_eq!(
        signature.signature,
        fixture("response_signature.pubkey.b64").trim()
    );
    assert_eq!(signature.serial, PUBLIC_KEY_ID);
    assert_eq!(signature.timestamp, RESPONSE_TIMESTAMP.to_string());
}

#[test]
fn openssl_oaep_ciphertexts_decrypt_on_both_sides() {
    let plaintext = fixture("sensitive_plaintext.txt");
    let for_merchant = fixture("sensitive_for_merchant.b64");
    assert_eq!(
        merchant_signer()
            .decrypt(for_merchant.trim())
            .unwrap()
            .as_str(),
        plaintext
    );
    let for_wechatpay = fixture("sensitive_for_wechatpay.b64");
    assert_eq!(
        wechatpay_signer()
            .decrypt(for_wechatpay.trim())
            .unwrap()
            .as_str(),
        plaintext
    );
}

/// Runs openssl with `input` on stdin; `None` when openssl is not on PATH.
fn openssl(args: &[&str], input: &[u8]) -> Option<std::process::Output> {
    let mut child = match Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            println!("note: openssl not available ({error}); skipping the openssl cross-check");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(input).unwrap();
    Some(child.wait_with_output().unwrap())
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn openssl_decrypts_our_ciphertext() {
    // Encrypted for WeChat Pay through the key set, and for the merchant as WeChat Pay does.
    let plaintext = fixture("sensitive_plaintext.txt");
    let ours_for_wechatpay = WechatPayKeySet::new()
        .with_public_key(wechatpay_public_key())
        .encryptor()
        .unwrap()
        .encrypt(&plaintext)
        .unwrap();
    assert_eq!(ours_for_wechatpay.key_id, PUBLIC_KEY_ID);
    let merchant_public = PublicKey::from_pem(&fixture("merchant_cert.pem")).unwrap();
    let ours_for_merchant = SensitiveEncryptor::new(MERCHANT_SERIAL, merchant_public)
        .unwrap()
        .encrypt(&plaintext)
        .unwrap();

    for (ciphertext, key) in [
        (&ours_for_wechatpay.ciphertext, "wechatpay_key.pem"),
        (&ours_for_merchant.ciphertext, "merchant_key.pkcs1.pem"),
    ] {
        let key_path = fixture_path(key);
        let Some(output) = openssl(
            &[
                "pkeyutl",
                "-decrypt",
                "-inkey",
                &key_path,
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                "rsa_oaep_md:sha1",
                "-pkeyopt",
                "rsa_mgf1_md:sha1",
            ],
            &base64_decode(ciphertext),
        ) else {
            return;
        };
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(String::from_utf8(output.stdout).unwrap(), plaintext);
    }
}

#[test]
fn openssl_verifies_our_fresh_signature() {
    let body = br#"{"level":"gold"}"#;
    let signature = wechatpay_signer().sign_response(body).unwrap();
    let message = format!(
        "{}\n{}\n{}\n",
        signature.timestamp,
        signature.nonce,
        std::str::from_utf8(body).unwrap()
    );
    let signature_path = std::env::temp_dir().join(format!(
        "wechatpay-signing-test-{}-{}.sig",
        std::process::id(),
        signature.nonce
    ));
    std::fs::write(&signature_path, base64_decode(&signature.signature)).unwrap();
    let key_path = fixture_path("wechatpay_pub.pem");
    let output = openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            &key_path,
            "-signature",
            signature_path.to_str().unwrap(),
        ],
        message.as_bytes(),
    );
    std::fs::remove_file(&signature_path).ok();
    let Some(output) = output else { return };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "Verified OK"
    );
}

#[test]
fn fixtures_readme_shows_the_exact_commands() {
    let readme = fixture("README.md");
    assert!(readme.contains(&fixture("make-fixtures.sh")));
    assert!(readme.contains(&fixture("openssl-ca.cnf")));
}
