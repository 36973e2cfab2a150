//! `wechatpay-signing` alone, for an APIv3 endpoint this repository does not wrap:
//! `GET /v3/certificates` (下载平台证书). No network: it prints the request's `Authorization`
//! header for a fixed timestamp and nonce, checks it as WeChat Pay would, then signs an answer
//! with the (test) WeChat Pay key and verifies it as the merchant would, and shows that a
//! changed body is refused.
//!
//! The keys in `fixtures/` are the signing crate's public test keys: never use them elsewhere.

use wechatpay_signing::{
    AuthorizationHeader, DEFAULT_WINDOW, MerchantCertificate, MerchantSigner, PrivateKey,
    PublicKey, ResponseHeaders, ResponseVerifier, WechatPayKeySet, WechatPayPublicKey,
    WechatPaySigner, header,
};

const MCHID: &str = "1900000001";
const WECHATPAY_KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";
/// Fixed, so that the output is the same on every run (RSA PKCS#1 v1.5 signatures are
/// deterministic). A real program calls `authorization` / `verify`, which read the clock.
const TIMESTAMP: u64 = 1_767_225_600;
const NONCE: &str = "593BEC0C930BF1AFEB40B4A08C8FB242";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The merchant's side: its API key and certificate (the serial is read from it).
    let key = PrivateKey::from_pem(include_str!("../fixtures/merchant_key.pkcs8.pem"))?;
    let certificate = MerchantCertificate::from_pem(include_str!("../fixtures/merchant_cert.pem"))?;
    let signer = MerchantSigner::from_certificate(MCHID, &certificate, key)?;

    // 1. The request: a GET signs the path and query with an empty body.
    let url = "/v3/certificates?algorithm_type=RSA";
    let authorization = signer.authorization_at("GET", url, b"", TIMESTAMP, NONCE)?;
    println!("GET https://api.mch.weixin.qq.com{url}");
    println!("Authorization: {authorization}");
    println!("Accept: application/json");

    // 2. What WeChat Pay does with it: parse the header and check it with the merchant's key.
    let merchant_key = PublicKey::from_pem(include_str!("../fixtures/merchant_cert.pem"))?;
    let parsed = AuthorizationHeader::parse(&authorization)?;
    parsed.verify_at(&merchant_key, "GET", url, b"", TIMESTAMP, DEFAULT_WINDOW)?;
    println!(
        "request signature: verified with the merchant certificate ({})",
        parsed.serial()
    );

    // 3. The answer, signed by (a test stand-in for) WeChat Pay.
    let body = br#"{"data":[{"serial_no":"5157F09EFDC096DE15EBE81A47057A7232F1B8E1","effective_time":"2026-01-01T00:00:00+08:00","expire_time":"2031-01-01T00:00:00+08:00","encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","nonce":"61f9c719728a","associated_data":"certificate","ciphertext":"c2lnbmluZy1vbmx5"}}]}"#;
    let wechatpay = WechatPaySigner::new(
        WECHATPAY_KEY_ID,
        PrivateKey::from_pem(include_str!("../fixtures/wechatpay_key.pem"))?,
    )?;
    let signature =
        wechatpay.sign_response_at(body, TIMESTAMP, "c5ac7061fccab6bf3e254dcf98995b8c")?;
    println!();
    println!("HTTP/1.1 200 OK");
    let received: Vec<(&str, &str)> = signature.headers().to_vec();
    for (name, value) in &received {
        println!("{name}: {value}");
    }
    println!();
    println!("{}", String::from_utf8_lossy(body));

    // 4. The merchant verifies the raw body before parsing it, with WeChat Pay's public key.
    let keys = WechatPayKeySet::new().with_public_key(WechatPayPublicKey::from_pem(
        WECHATPAY_KEY_ID,
        include_str!("../fixtures/wechatpay_pub.pem"),
    )?);
    let verifier = ResponseVerifier::new(keys);
    let headers = ResponseHeaders::from_lookup(|name| {
        received
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    });
    verifier.verify_at(&headers, body, TIMESTAMP)?;
    println!();
    println!(
        "answer signature: verified with {}",
        headers.serial.unwrap_or(header::SERIAL)
    );

    // A body changed on the way is refused.
    let mut changed = body.to_vec();
    changed[20] ^= 1;
    match verifier.verify_at(&headers, &changed, TIMESTAMP) {
        Ok(()) => return Err("a changed answer verified".into()),
        Err(e) => println!("changed answer: refused ({e})"),
    }
    Ok(())
}
