//! What costs in WeChat Pay APIv3 cryptography, per backend: RSA-2048 sign and verify
//! (SHA256withRSA), OAEP-SHA1 encrypt and decrypt, and the per-request composite (1 sign +
//! 1 verify + 1 encrypt), plus the same composite through the public API.
//!
//! `cargo bench -p wechatpay-signing --all-features` measures both backends side by side.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wechatpay_signing::{
    MerchantSigner, PrivateKey, ResponseVerifier, WechatPayKeySet, WechatPayPublicKey,
    WechatPaySigner,
};

// The backends themselves are crate-private; the benchmark compiles the module on its own.
#[allow(dead_code)]
#[path = "../src/backend/mod.rs"]
mod backend;

use backend::Backend;

const MERCHANT_KEY: &str = include_str!("../tests/fixtures/merchant_key.pkcs8.pem");
const WECHATPAY_KEY: &str = include_str!("../tests/fixtures/wechatpay_key.pem");
const WECHATPAY_PUB: &str = include_str!("../tests/fixtures/wechatpay_pub.pem");
const MERCHANT_PUB: &str = include_str!("../tests/fixtures/merchant_pub.pem");
const REQUEST_MESSAGE: &[u8] = include_bytes!("../tests/fixtures/request_message.txt");
const REQUEST_BODY: &[u8] = include_bytes!("../tests/fixtures/request_body.json");
const RESPONSE_BODY: &[u8] = include_bytes!("../tests/fixtures/response_body.json");
const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";
const URL: &str =
    "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";
const PHONE: &[u8] = b"13800138000";

fn der(pem: &str) -> Vec<u8> {
    der::pem::decode_vec(pem.as_bytes()).unwrap().1
}

fn backend<B: Backend>(c: &mut Criterion) {
    let merchant = B::private_key_from_pkcs8(&der(MERCHANT_KEY)).unwrap();
    let merchant_public = B::public_key_from_spki(&der(MERCHANT_PUB)).unwrap();
    let wechatpay = B::private_key_from_pkcs8(&der(WECHATPAY_KEY)).unwrap();
    let wechatpay_public = B::public_key_from_spki(&der(WECHATPAY_PUB)).unwrap();
    let signature = B::sign_sha256(&merchant, REQUEST_MESSAGE).unwrap();
    let ciphertext = B::encrypt_oaep_sha1(&wechatpay_public, PHONE).unwrap();
    let name = B::NAME;

    c.bench_function(&format!("{name}/sign"), |b| {
        b.iter(|| B::sign_sha256(&merchant, black_box(REQUEST_MESSAGE)).unwrap())
    });
    c.bench_function(&format!("{name}/verify"), |b| {
        b.iter(|| {
            assert!(B::verify_sha256(
                &merchant_public,
                black_box(REQUEST_MESSAGE),
                black_box(&signature)
            ))
        })
    });
    c.bench_function(&format!("{name}/encrypt"), |b| {
        b.iter(|| B::encrypt_oaep_sha1(&wechatpay_public, black_box(PHONE)).unwrap())
    });
    c.bench_function(&format!("{name}/decrypt"), |b| {
        b.iter(|| B::decrypt_oaep_sha1(&wechatpay, black_box(&ciphertext)).unwrap())
    });
    c.bench_function(&format!("{name}/request"), |b| {
        b.iter(|| {
            let ciphertext = B::encrypt_oaep_sha1(&wechatpay_public, black_box(PHONE)).unwrap();
            let signature = B::sign_sha256(&merchant, black_box(REQUEST_MESSAGE)).unwrap();
            // Standing in for the response's signature check: same key size, same work.
            assert!(B::verify_sha256(
                &merchant_public,
                REQUEST_MESSAGE,
                &signature
            ));
            ciphertext
        })
    });
}

/// The composite through the public API (default backend): message building, base64, nonce,
/// key-set lookup included.
fn public_api(c: &mut Criterion) {
    let signer = MerchantSigner::new(
        "1900000001",
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        PrivateKey::from_pem(MERCHANT_KEY).unwrap(),
    )
    .unwrap();
    let keys = WechatPayKeySet::new()
        .with_public_key(WechatPayPublicKey::from_pem(PUBLIC_KEY_ID, WECHATPAY_PUB).unwrap());
    let verifier = ResponseVerifier::new(keys.clone());
    let wechatpay =
        WechatPaySigner::new(PUBLIC_KEY_ID, PrivateKey::from_pem(WECHATPAY_KEY).unwrap()).unwrap();
    let response = wechatpay
        .sign_response_at(RESPONSE_BODY, 1_554_209_980, "nonce")
        .unwrap();
    let headers = response.as_response_headers();

    c.bench_function(
        &format!("api-{}/request", wechatpay_signing::BACKEND),
        |b| {
            b.iter(|| {
                let phone = keys.encryptor().unwrap().encrypt("13800138000").unwrap();
                let authorization = signer
                    .authorization("PATCH", URL, black_box(REQUEST_BODY))
                    .unwrap();
                verifier
                    .verify_at(&headers, black_box(RESPONSE_BODY), 1_554_209_980)
                    .unwrap();
                (phone, authorization)
            })
        },
    );
}

fn backends(c: &mut Criterion) {
    #[cfg(feature = "aws-lc")]
    backend::<backend::aws_lc::AwsLc>(c);
    #[cfg(feature = "rust-crypto")]
    backend::<backend::rust_crypto::RustCrypto>(c);
}

criterion_group!(benches, backends, public_api);
criterion_main!(benches);
