//! Property tests: no input to a parser or verifier panics, whatever it is.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::*;
use proptest::prelude::*;
use wechatpay_signing::{
    ApiV3Key, AuthorizationHeader, CryptoError, MerchantCertificate, PlatformCertificate,
    PrivateKey, PublicKey, ResponseHeaders, ResponseVerifier, WechatPaySigner,
};

/// Pieces an `Authorization` header is made of, and pieces that break it.
const HEADER_PIECES: &[&str] = &[
    "WECHATPAY2-SHA256-RSA2048",
    " ",
    "\t",
    ",",
    "=",
    "\"",
    "mchid",
    "nonce_str",
    "timestamp",
    "serial_no",
    "signature",
    "1554208460",
    "abc",
    "é",
    "\\",
    "\"1900000001\"",
    "",
    "-",
];

fn header_like() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(HEADER_PIECES), 0..40).prop_map(|p| p.concat())
}

/// A fixture's DER, damaged (a byte changed, or cut short) and put back into PEM.
fn damaged_pem(label: &'static str, pem: String) -> impl Strategy<Value = String> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = BASE64.decode(body).unwrap();
    let len = der.len();
    (0..len, any::<u8>(), 1..=len, any::<bool>()).prop_map(move |(at, byte, keep, flip)| {
        let mut der = der.clone();
        if flip {
            der[at] ^= byte | 1;
        } else {
            der.truncate(keep);
        }
        let text = BASE64.encode(&der);
        let lines: Vec<&str> = text
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    })
}

fn load_everything(pem: &str) {
    let _ = PrivateKey::from_pem(pem);
    let _ = PublicKey::from_pem(pem);
    let _ = MerchantCertificate::from_pem(pem);
    let _ = PlatformCertificate::from_pem_at(pem, RESPONSE_TIMESTAMP);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn authorization_parser_never_panics(value in any::<String>()) {
        let _ = AuthorizationHeader::parse(&value);
    }

    #[test]
    fn authorization_parser_round_trips_what_it_accepts(value in header_like()) {
        if let Ok(parsed) = AuthorizationHeader::parse(&value) {
            let printed = parsed.to_string();
            prop_assert_eq!(AuthorizationHeader::parse(&printed).unwrap(), parsed);
        }
    }

    #[test]
    fn pem_loaders_never_panic_on_text(text in any::<String>()) {
        load_everything(&text);
        load_everything(&format!("-----BEGIN PRIVATE KEY-----\n{text}\n-----END PRIVATE KEY-----\n"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn pem_loaders_never_panic_on_damaged_keys(
        pkcs8 in damaged_pem("PRIVATE KEY", fixture("merchant_key.pkcs8.pem")),
        pkcs1 in damaged_pem("RSA PRIVATE KEY", fixture("merchant_key.pkcs1.pem")),
        spki in damaged_pem("PUBLIC KEY", fixture("wechatpay_pub.pem")),
        certificate in damaged_pem("CERTIFICATE", fixture("platform_cert.pem")),
    ) {
        for pem in [pkcs8, pkcs1, spki, certificate] {
            load_everything(&pem);
        }
    }

    #[test]
    fn response_verifier_never_panics_and_never_accepts_garbage(
        timestamp in proptest::option::of(prop_oneof![Just(RESPONSE_TIMESTAMP.to_string()), any::<String>()]),
        nonce in proptest::option::of(any::<String>()),
        signature in proptest::option::of(prop_oneof![
            any::<String>(),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| BASE64.encode(b)),
        ]),
        serial in proptest::option::of(prop_oneof![
            Just(PUBLIC_KEY_ID.to_owned()), Just(PLATFORM_SERIAL.to_owned()), any::<String>(),
        ]),
        signature_type in proptest::option::of(any::<String>()),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let verifier = ResponseVerifier::new(key_set());
        let headers = ResponseHeaders {
            timestamp: timestamp.as_deref(),
            nonce: nonce.as_deref(),
            signature: signature.as_deref(),
            serial: serial.as_deref(),
            signature_type: signature_type.as_deref(),
        };
        prop_assert!(verifier.verify_at(&headers, &body, RESPONSE_TIMESTAMP).is_err());
    }

    #[test]
    fn a_valid_signature_fails_over_any_other_body(
        body in prop::collection::vec(any::<u8>(), 0..256),
        other in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let signer = WechatPaySigner::new(
            PUBLIC_KEY_ID,
            PrivateKey::from_pem(&fixture("wechatpay_key.pem")).unwrap(),
        ).unwrap();
        let signature = signer.sign_response_at(&body, RESPONSE_TIMESTAMP, "nonce").unwrap();
        let verifier = ResponseVerifier::new(key_set());
        let headers = signature.as_response_headers();
        prop_assert!(verifier.verify_at(&headers, &body, RESPONSE_TIMESTAMP).is_ok());
        prop_assert_eq!(verifier.verify_at(&headers, &other, RESPONSE_TIMESTAMP).is_ok(), body == other);
    }

    #[test]
    fn decrypt_never_panics_on_arbitrary_base64(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            prop::collection::vec(any::<u8>(), 256..=256),
        ],
        text in any::<String>(),
    ) {
        let signer = merchant_signer();
        prop_assert!(signer.decrypt(&BASE64.encode(&bytes)).is_err());
        let _ = signer.decrypt(&text);
    }

    #[test]
    fn encryption_round_trips_any_text_up_to_the_limit(text in "\\PC{0,71}") {
        let merchant = merchant_signer();
        let result = merchant.public_key().encrypt(text.as_bytes());
        if text.len() <= 214 {
            let decrypted = merchant.decrypt(&result.unwrap()).unwrap();
            prop_assert_eq!(decrypted.as_str(), text.as_str());
        } else {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn resource_decryption_never_panics_and_never_accepts_garbage(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        nonce in any::<String>(),
        aad in any::<String>(),
        text in any::<String>(),
    ) {
        let key: ApiV3Key = "0123456789abcdefghijABCDEFGHIJ01".parse().unwrap();
        prop_assert!(key.decrypt_resource(&BASE64.encode(&bytes), &nonce, &aad).is_err());
        prop_assert!(key.decrypt_resource(&BASE64.encode(&bytes), "abcdefghijkl", &aad).is_err());
        let _ = key.decrypt_resource(&text, &nonce, &aad);
    }

    #[test]
    fn resources_round_trip_and_any_changed_byte_fails(
        plaintext in prop::collection::vec(any::<u8>(), 0..300),
        aad in "\\PC{0,20}",
        flip in any::<prop::sample::Index>(),
    ) {
        let key: ApiV3Key = "0123456789abcdefghijABCDEFGHIJ01".parse().unwrap();
        let nonce = ApiV3Key::new_resource_nonce().unwrap();
        let ciphertext = key.encrypt_resource(&plaintext, &nonce, &aad).unwrap();
        let decrypted = key.decrypt_resource(&ciphertext, &nonce, &aad).unwrap();
        prop_assert_eq!(decrypted.as_slice(), plaintext.as_slice());
        let mut sealed = BASE64.decode(&ciphertext).unwrap();
        let at = flip.index(sealed.len());
        sealed[at] ^= 1;
        prop_assert_eq!(
            key.decrypt_resource(&BASE64.encode(&sealed), &nonce, &aad).unwrap_err(),
            CryptoError::AuthenticationFailed
        );
    }
}
