//! WeChat Pay's side of a request: parsing the `Authorization` header (tolerant of order and
//! spaces, strict about everything else) and verifying it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use wechatpay_signing::{AuthorizationError, AuthorizationHeader, DEFAULT_WINDOW, PublicKey};

const SIG: &str = "c2lnbmF0dXJl";

fn header(fields: &str) -> String {
    format!("WECHATPAY2-SHA256-RSA2048 {fields}")
}

fn canonical() -> String {
    header(&format!(
        r#"mchid="{MCHID}",nonce_str="{REQUEST_NONCE}",timestamp="{REQUEST_TIMESTAMP}",serial_no="{MERCHANT_SERIAL}",signature="{SIG}""#
    ))
}

fn parse_error(value: &str) -> AuthorizationError {
    AuthorizationHeader::parse(value).unwrap_err()
}

#[test]
fn parses_the_canonical_form_and_prints_it_back() {
    let parsed = AuthorizationHeader::parse(&canonical()).unwrap();
    assert_eq!(parsed.mchid(), MCHID);
    assert_eq!(parsed.nonce(), REQUEST_NONCE);
    assert_eq!(parsed.timestamp(), REQUEST_TIMESTAMP);
    assert_eq!(parsed.serial(), MERCHANT_SERIAL);
    assert_eq!(parsed.signature(), SIG);
    assert_eq!(parsed.to_string(), canonical());
    assert_eq!(canonical().parse::<AuthorizationHeader>().unwrap(), parsed);
}

#[test]
fn tolerates_field_order_and_spaces() {
    let reordered = format!(
        "  WECHATPAY2-SHA256-RSA2048   signature = \"{SIG}\" ,\tserial_no=\"{MERCHANT_SERIAL}\",timestamp=\"{REQUEST_TIMESTAMP}\" , nonce_str=\"{REQUEST_NONCE}\",mchid=\"{MCHID}\"  "
    );
    assert_eq!(
        AuthorizationHeader::parse(&reordered).unwrap(),
        AuthorizationHeader::parse(&canonical()).unwrap()
    );
}

#[test]
fn strict_about_the_scheme() {
    assert_eq!(parse_error(""), AuthorizationError::Empty);
    assert_eq!(parse_error("   "), AuthorizationError::Empty);
    let bearer = canonical().replace("WECHATPAY2-SHA256-RSA2048", "Bearer");
    assert_eq!(
        parse_error(&bearer),
        AuthorizationError::UnsupportedScheme("Bearer".to_owned())
    );
    let lower = canonical().to_lowercase();
    assert!(matches!(
        parse_error(&lower),
        AuthorizationError::UnsupportedScheme(_)
    ));
    let brand = canonical().replace("WECHATPAY2-", "WECHATPAY-BRAND-");
    assert!(matches!(
        parse_error(&brand),
        AuthorizationError::UnsupportedScheme(_)
    ));
    let glued = canonical().replacen(' ', "", 1);
    assert!(matches!(
        parse_error(&glued),
        AuthorizationError::UnsupportedScheme(_)
    ));
    let fields_only = canonical().replace("WECHATPAY2-SHA256-RSA2048 ", "");
    assert!(matches!(
        parse_error(&fields_only),
        AuthorizationError::UnsupportedScheme(_)
    ));
}

#[test]
fn missing_fields() {
    assert_eq!(
        parse_error("WECHATPAY2-SHA256-RSA2048"),
        AuthorizationError::MissingField("mchid")
    );
    let all = canonical();
    let pairs = &all["WECHATPAY2-SHA256-RSA2048 ".len()..];
    for field in ["mchid", "nonce_str", "timestamp", "serial_no", "signature"] {
        let prefix = format!("{field}=");
        let without: Vec<&str> = pairs
            .split(',')
            .filter(|pair| !pair.starts_with(&prefix))
            .collect();
        let value = header(&without.join(","));
        let error = parse_error(&value);
        assert!(
            matches!(error, AuthorizationError::MissingField(name) if name == field),
            "{field}: {error:?}"
        );
        assert!(error.to_string().contains(field));
    }
}

#[test]
fn duplicated_fields() {
    let value = format!("{},mchid=\"{MCHID}\"", canonical());
    assert_eq!(
        parse_error(&value),
        AuthorizationError::DuplicateField("mchid")
    );
}

#[test]
fn unknown_fields() {
    let value = format!("{},appid=\"wx1234\"", canonical());
    assert_eq!(
        parse_error(&value),
        AuthorizationError::UnknownField("appid".to_owned())
    );
    let value = canonical().replace("nonce_str", "nonce");
    assert_eq!(
        parse_error(&value),
        AuthorizationError::UnknownField("nonce".to_owned())
    );
    let value = canonical().replace("mchid", "MCHID");
    assert!(matches!(
        parse_error(&value),
        AuthorizationError::UnknownField(_)
    ));
}

#[test]
fn unquoted_fields() {
    let value = canonical().replace(
        &format!("\"{REQUEST_TIMESTAMP}\""),
        &REQUEST_TIMESTAMP.to_string(),
    );
    assert_eq!(
        parse_error(&value),
        AuthorizationError::UnquotedField("timestamp")
    );
    let value = canonical().replace(&format!("\"{MCHID}\""), &format!("'{MCHID}'"));
    assert_eq!(
        parse_error(&value),
        AuthorizationError::UnquotedField("mchid")
    );
}

#[test]
fn malformed_syntax() {
    let cases = [
        format!("{},", canonical()),         // trailing comma
        canonical().replacen(',', " ", 1),   // no comma
        canonical().replacen(',', ",,", 1),  // empty element
        canonical().replacen('=', " ", 1),   // no '='
        header(&format!("mchid=\"{MCHID}")), // unterminated quote
        header("=\"1\""),                    // no name
        canonical().replacen(',', ";", 1),   // wrong separator
    ];
    for value in cases {
        let error = parse_error(&value);
        assert!(
            matches!(error, AuthorizationError::Malformed { .. }),
            "{value}: {error:?}"
        );
    }
}

#[test]
fn invalid_field_values() {
    let value = canonical().replace(&REQUEST_TIMESTAMP.to_string(), "1554208460.5");
    assert_eq!(
        parse_error(&value),
        AuthorizationError::InvalidField {
            field: "timestamp",
            reason: "expected Unix seconds (digits only)"
        }
    );
    let value = canonical().replace(REQUEST_NONCE, "");
    assert!(matches!(
        parse_error(&value),
        AuthorizationError::InvalidField {
            field: "nonce_str",
            ..
        }
    ));
    let value = canonical().replace(REQUEST_NONCE, "a b");
    assert!(matches!(
        parse_error(&value),
        AuthorizationError::InvalidField {
            field: "nonce_str",
            ..
        }
    ));
    let value = canonical().replace(MCHID, "商户");
    assert!(matches!(
        parse_error(&value),
        AuthorizationError::InvalidField { field: "mchid", .. }
    ));
}

fn merchant_public() -> PublicKey {
    PublicKey::from_pem(&fixture("merchant_cert.pem")).unwrap()
}

#[test]
fn verifies_a_real_request_and_rejects_any_change() {
    let body = fixture_bytes("request_body.json");
    let signer = merchant_signer();
    let value = signer
        .authorization_at(
            REQUEST_METHOD,
            REQUEST_URL,
            &body,
            REQUEST_TIMESTAMP,
            REQUEST_NONCE,
        )
        .unwrap();
    let parsed = AuthorizationHeader::parse(&value).unwrap();
    let key = merchant_public();
    let verify = |method: &str, url: &str, body: &[u8]| {
        parsed.verify_at(&key, method, url, body, REQUEST_TIMESTAMP, DEFAULT_WINDOW)
    };
    verify(REQUEST_METHOD, REQUEST_URL, &body).unwrap();
    assert_eq!(
        verify("POST", REQUEST_URL, &body),
        Err(AuthorizationError::BadSignature)
    );
    let decoded_url = REQUEST_URL.replace("card_id=", "card_id%3D");
    assert_eq!(
        verify(REQUEST_METHOD, &decoded_url, &body),
        Err(AuthorizationError::BadSignature)
    );
    assert_eq!(
        verify(REQUEST_METHOD, REQUEST_URL, b"{}"),
        Err(AuthorizationError::BadSignature)
    );

    // Another merchant's key.
    let other = PublicKey::from_pem(&fixture("wechatpay_pub.pem")).unwrap();
    assert_eq!(
        parsed.verify_at(
            &other,
            REQUEST_METHOD,
            REQUEST_URL,
            &body,
            REQUEST_TIMESTAMP,
            DEFAULT_WINDOW
        ),
        Err(AuthorizationError::BadSignature)
    );
}

#[test]
fn fresh_requests_verify_against_the_clock() {
    let signer = merchant_signer();
    let value = signer
        .authorization("GET", "/v3/certificates", b"")
        .unwrap();
    let parsed = AuthorizationHeader::parse(&value).unwrap();
    assert_eq!(parsed.nonce().len(), 32);
    assert!(parsed.nonce().bytes().all(|b| b.is_ascii_alphanumeric()));
    parsed
        .verify(&merchant_public(), "GET", "/v3/certificates", b"")
        .unwrap();
    let again = AuthorizationHeader::parse(
        &signer
            .authorization("GET", "/v3/certificates", b"")
            .unwrap(),
    )
    .unwrap();
    assert_ne!(again.nonce(), parsed.nonce());
}

#[test]
fn stale_future_and_undecodable() {
    let signer = merchant_signer();
    let key = merchant_public();
    let at = |timestamp| {
        AuthorizationHeader::parse(
            &signer
                .authorization_at("GET", "/v3/x", b"", timestamp, "nonce")
                .unwrap(),
        )
        .unwrap()
    };
    let now = REQUEST_TIMESTAMP;
    let window = Duration::from_secs(300);
    assert_eq!(
        at(now - 301).verify_at(&key, "GET", "/v3/x", b"", now, window),
        Err(AuthorizationError::StaleTimestamp {
            timestamp: now - 301,
            now,
            window_secs: 300
        })
    );
    assert!(matches!(
        at(now + 301).verify_at(&key, "GET", "/v3/x", b"", now, window),
        Err(AuthorizationError::FutureTimestamp { .. })
    ));
    at(now + 300)
        .verify_at(&key, "GET", "/v3/x", b"", now, window)
        .unwrap();

    let broken = canonical().replace(SIG, "!!!");
    assert_eq!(
        AuthorizationHeader::parse(&broken).unwrap().verify_at(
            &key,
            "GET",
            "/v3/x",
            b"",
            REQUEST_TIMESTAMP,
            window
        ),
        Err(AuthorizationError::SignatureNotBase64)
    );
}

#[test]
fn invalid_nonce_for_signing_is_refused() {
    let signer = merchant_signer();
    for nonce in ["", "a\"b", "with space", &"n".repeat(65)] {
        assert!(
            signer
                .authorization_at("GET", "/v3/x", b"", 1, nonce)
                .is_err(),
            "{nonce:?}"
        );
    }
}
