//! Each backend against the other and against openssl's vectors: a signature made by one
//! verifies with the other and equals openssl's byte for byte, OAEP ciphertexts cross over, and
//! AES-256-GCM matches the vectors of Python's `cryptography` and crosses over.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::backend::Backend;
use crate::backend::aws_lc::AwsLc;
use crate::backend::rust_crypto::RustCrypto;
use crate::formats;

const MERCHANT_KEY: &str = include_str!("../tests/fixtures/merchant_key.pkcs8.pem");
const WECHATPAY_KEY: &str = include_str!("../tests/fixtures/wechatpay_key.pem");
const REQUEST_MESSAGE: &[u8] = include_bytes!("../tests/fixtures/request_message.txt");
const REQUEST_SIGNATURE: &str = include_str!("../tests/fixtures/request_signature.b64");
const SENSITIVE_FOR_WECHATPAY: &str = include_str!("../tests/fixtures/sensitive_for_wechatpay.b64");
const SENSITIVE_PLAINTEXT: &[u8] = include_bytes!("../tests/fixtures/sensitive_plaintext.txt");

struct Keys<B: Backend> {
    private: B::PrivateKey,
    public: B::PublicKey,
}

fn load<B: Backend>(pem: &str) -> Keys<B> {
    let der = formats::private_key_from_pem(pem).unwrap();
    Keys {
        private: B::private_key_from_pkcs8(&der.pkcs8).unwrap(),
        public: B::public_key_from_spki(&der.public.spki).unwrap(),
    }
}

#[test]
fn both_backends_sign_exactly_like_openssl_and_verify_each_other() {
    let aws = load::<AwsLc>(MERCHANT_KEY);
    let rust = load::<RustCrypto>(MERCHANT_KEY);
    let expected = BASE64.decode(REQUEST_SIGNATURE.trim()).unwrap();

    let by_aws = AwsLc::sign_sha256(&aws.private, REQUEST_MESSAGE).unwrap();
    let by_rust = RustCrypto::sign_sha256(&rust.private, REQUEST_MESSAGE).unwrap();
    assert_eq!(by_aws, expected, "{} differs from openssl", AwsLc::NAME);
    assert_eq!(
        by_rust,
        expected,
        "{} differs from openssl",
        RustCrypto::NAME
    );

    assert!(RustCrypto::verify_sha256(
        &rust.public,
        REQUEST_MESSAGE,
        &by_aws
    ));
    assert!(AwsLc::verify_sha256(&aws.public, REQUEST_MESSAGE, &by_rust));
    assert!(!RustCrypto::verify_sha256(&rust.public, b"other", &by_aws));
    assert!(!AwsLc::verify_sha256(&aws.public, b"other", &by_rust));
}

#[test]
fn oaep_ciphertexts_cross_between_backends_and_from_openssl() {
    let aws = load::<AwsLc>(WECHATPAY_KEY);
    let rust = load::<RustCrypto>(WECHATPAY_KEY);

    let from_openssl = BASE64.decode(SENSITIVE_FOR_WECHATPAY.trim()).unwrap();
    assert_eq!(
        *AwsLc::decrypt_oaep_sha1(&aws.private, &from_openssl).unwrap(),
        SENSITIVE_PLAINTEXT
    );
    assert_eq!(
        *RustCrypto::decrypt_oaep_sha1(&rust.private, &from_openssl).unwrap(),
        SENSITIVE_PLAINTEXT
    );

    let by_aws = AwsLc::encrypt_oaep_sha1(&aws.public, b"13800138000").unwrap();
    let by_rust = RustCrypto::encrypt_oaep_sha1(&rust.public, b"13800138000").unwrap();
    assert_eq!(
        *RustCrypto::decrypt_oaep_sha1(&rust.private, &by_aws).unwrap(),
        b"13800138000"
    );
    assert_eq!(
        *AwsLc::decrypt_oaep_sha1(&aws.private, &by_rust).unwrap(),
        b"13800138000"
    );
}

#[test]
fn a_key_generated_by_one_backend_works_in_the_other() {
    let pkcs8 = AwsLc::generate_rsa2048_pkcs8().unwrap();
    let der = formats::private_key_from_pkcs8(&pkcs8).unwrap();
    assert_eq!(der.public.bits, 2048);
    let rust_key = RustCrypto::private_key_from_pkcs8(&der.pkcs8).unwrap();
    let aws_public = AwsLc::public_key_from_spki(&der.public.spki).unwrap();
    let signature = RustCrypto::sign_sha256(&rust_key, b"message").unwrap();
    assert!(AwsLc::verify_sha256(&aws_public, b"message", &signature));

    // And back: rust-crypto's export loads in aws-lc.
    let exported = RustCrypto::private_key_to_pkcs8(&rust_key).unwrap();
    let aws_key = AwsLc::private_key_from_pkcs8(&exported).unwrap();
    assert_eq!(AwsLc::sign_sha256(&aws_key, b"message").unwrap(), signature);
}

/// One of the independent AES-256-GCM vectors (Python's `cryptography`), decoded.
struct GcmVector {
    key: [u8; 32],
    nonce: [u8; 12],
    aad: Vec<u8>,
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
}

fn aes_gcm_vectors() -> Vec<GcmVector> {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/aes_gcm_vectors.json")).unwrap();
    let field = |v: &serde_json::Value, name: &str| v[name].as_str().unwrap().as_bytes().to_vec();
    all["valid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| GcmVector {
            key: field(v, "key").try_into().unwrap(),
            nonce: field(v, "nonce").try_into().unwrap(),
            aad: field(v, "associated_data"),
            plaintext: field(v, "plaintext"),
            sealed: BASE64.decode(v["ciphertext"].as_str().unwrap()).unwrap(),
        })
        .collect()
}

#[test]
fn aes_gcm_matches_the_vectors_on_both_backends_and_crosses_over() {
    let vectors = aes_gcm_vectors();
    assert!(vectors.len() >= 5);
    for GcmVector {
        key,
        nonce,
        aad,
        plaintext,
        sealed,
    } in &vectors
    {
        let by_aws = AwsLc::aes256_gcm_seal(key, nonce, aad, plaintext).unwrap();
        let by_rust = RustCrypto::aes256_gcm_seal(key, nonce, aad, plaintext).unwrap();
        assert_eq!(&by_aws, sealed, "{} differs from the vector", AwsLc::NAME);
        assert_eq!(
            &by_rust,
            sealed,
            "{} differs from the vector",
            RustCrypto::NAME
        );
        assert_eq!(
            *AwsLc::aes256_gcm_open(key, nonce, aad, &by_rust).unwrap(),
            *plaintext
        );
        assert_eq!(
            *RustCrypto::aes256_gcm_open(key, nonce, aad, &by_aws).unwrap(),
            *plaintext
        );
    }

    // Encrypted by one with a fresh nonce, decrypted by the other; a changed tag fails on both.
    let GcmVector {
        key,
        aad,
        plaintext,
        ..
    } = &vectors[2];
    let mut nonce = [0u8; 12];
    AwsLc::fill_random(&mut nonce).unwrap();
    let mut sealed = AwsLc::aes256_gcm_seal(key, &nonce, aad, plaintext).unwrap();
    assert_eq!(
        *RustCrypto::aes256_gcm_open(key, &nonce, aad, &sealed).unwrap(),
        *plaintext
    );
    let sealed_by_rust = RustCrypto::aes256_gcm_seal(key, &nonce, aad, plaintext).unwrap();
    assert_eq!(sealed_by_rust, sealed);
    if let Some(last) = sealed.last_mut() {
        *last ^= 0x80;
    }
    assert!(AwsLc::aes256_gcm_open(key, &nonce, aad, &sealed).is_err());
    assert!(RustCrypto::aes256_gcm_open(key, &nonce, aad, &sealed).is_err());
    // A sealed text shorter than the tag is refused by both, without a panic.
    assert!(AwsLc::aes256_gcm_open(key, &nonce, aad, &sealed[..15]).is_err());
    assert!(RustCrypto::aes256_gcm_open(key, &nonce, aad, &sealed[..15]).is_err());
}
