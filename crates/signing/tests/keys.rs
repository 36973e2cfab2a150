//! Loading keys and certificates: every accepted form, and a clear error for everything else.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use wechatpay_signing::{
    KeyError, MerchantCertificate, MerchantSigner, PlatformCertificate, PrivateKey, PublicKey,
    WechatPayKeySet, WechatPayPublicKey, WechatPaySigner,
};

#[test]
fn pkcs8_and_pkcs1_pem_load_the_same_key() {
    let pkcs8 = PrivateKey::from_pem(&fixture("merchant_key.pkcs8.pem")).unwrap();
    let pkcs1 = PrivateKey::from_pem(&fixture("merchant_key.pkcs1.pem")).unwrap();
    assert_eq!(pkcs8.bits(), 2048);
    assert_eq!(pkcs8.public_key(), pkcs1.public_key());
    let public = PublicKey::from_pem(&fixture("merchant_pub.pem")).unwrap();
    assert_eq!(pkcs8.public_key(), &public);
}

#[test]
fn public_keys_load_from_spki_pkcs1_and_certificates() {
    let spki = PublicKey::from_pem(&fixture("wechatpay_pub.pem")).unwrap();
    assert_eq!(spki.bits(), 2048);
    assert_eq!(spki.max_plaintext_len(), 214);
    // The SPKI we write back is the one openssl wrote.
    assert_eq!(
        spki.to_spki_pem().trim(),
        fixture("wechatpay_pub.pem").trim()
    );
    let again = PublicKey::from_spki_der(spki.spki_der()).unwrap();
    assert_eq!(again, spki);

    let from_certificate = PublicKey::from_pem(&fixture("merchant_cert.pem")).unwrap();
    assert_eq!(&from_certificate, merchant_key().public_key());
}

#[test]
fn pem_text_around_the_block_is_ignored() {
    let pem = format!(
        "Bag Attributes\n    localKeyID: 01\n{}\ntrailing text\n",
        fixture("merchant_key.pkcs8.pem")
    );
    assert!(PrivateKey::from_pem(&pem).is_ok());
    let crlf = fixture("merchant_key.pkcs1.pem").replace('\n', "\r\n");
    assert!(PrivateKey::from_pem(&crlf).is_ok());
}

#[test]
fn merchant_certificate_gives_serial_and_validity() {
    let certificate = MerchantCertificate::from_pem(&fixture("merchant_cert.pem")).unwrap();
    assert_eq!(certificate.serial(), MERCHANT_SERIAL);
    assert!(certificate.not_after() - certificate.not_before() > 99 * 365 * 86_400);
    let signer = MerchantSigner::from_certificate(MCHID, &certificate, merchant_key()).unwrap();
    assert_eq!(signer.serial(), MERCHANT_SERIAL);
    assert_eq!(signer.mchid(), MCHID);
}

#[test]
fn merchant_certificate_must_match_the_key() {
    let certificate = MerchantCertificate::from_pem(&fixture("merchant_cert.pem")).unwrap();
    let other = PrivateKey::from_pem(&fixture("wechatpay_key.pem")).unwrap();
    let error = MerchantSigner::from_certificate(MCHID, &certificate, other).unwrap_err();
    assert_eq!(
        error,
        KeyError::CertificateKeyMismatch {
            serial: MERCHANT_SERIAL.to_owned()
        }
    );
}

#[test]
fn platform_certificate_serial_drops_the_der_sign_byte() {
    let certificate = platform_certificate();
    assert_eq!(certificate.serial(), PLATFORM_SERIAL);
    assert_eq!(certificate.not_before(), 1_546_300_800); // 2019-01-01
    assert_eq!(certificate.not_after(), 4_701_974_400); // 2119-01-01
    assert!(certificate.is_valid_at(RESPONSE_TIMESTAMP));
}

#[test]
fn expired_and_not_yet_valid_platform_certificates_are_refused() {
    let expired = PlatformCertificate::from_pem(&fixture("platform_cert_expired.pem")).unwrap_err();
    assert_eq!(
        expired,
        KeyError::CertificateExpired {
            serial: EXPIRED_SERIAL.to_owned(),
            not_after: 978_307_200,
        }
    );
    assert!(expired.to_string().contains("2001-01-01"), "{expired}");

    let early =
        PlatformCertificate::from_pem(&fixture("platform_cert_not_yet_valid.pem")).unwrap_err();
    assert!(
        matches!(&early, KeyError::CertificateNotYetValid { serial, .. } if serial == NOT_YET_VALID_SERIAL),
        "{early:?}"
    );
    // The same certificates at a time inside their periods.
    assert!(
        PlatformCertificate::from_pem_at(&fixture("platform_cert_expired.pem"), 980_000_000)
            .is_err()
    );
    assert!(
        PlatformCertificate::from_pem_at(&fixture("platform_cert_expired.pem"), 970_000_000)
            .is_ok()
    );
    assert!(
        PlatformCertificate::from_pem_at(
            &fixture("platform_cert_not_yet_valid.pem"),
            4_200_000_000
        )
        .is_ok()
    );
}

#[test]
fn small_keys_are_refused_with_their_size() {
    let error = PrivateKey::from_pem(&fixture("rsa1024_key.pem")).unwrap_err();
    assert_eq!(error, KeyError::UnsupportedKeySize { bits: 1024 });
    assert!(error.to_string().contains("1024 bits"));
    let error = PublicKey::from_pem(&fixture("rsa1024_pub.pem")).unwrap_err();
    assert_eq!(error, KeyError::UnsupportedKeySize { bits: 1024 });
}

#[test]
fn ec_keys_are_refused_as_not_rsa() {
    for name in ["ec_key.pem", "ec_key.sec1.pem"] {
        let error = PrivateKey::from_pem(&fixture(name)).unwrap_err();
        assert!(
            matches!(&error, KeyError::NotRsa { found, .. } if found.contains("EC")),
            "{name}: {error:?}"
        );
        assert!(
            error.to_string().contains("expected an RSA private key"),
            "{error}"
        );
    }
    let error = PublicKey::from_pem(&fixture("ec_pub.pem")).unwrap_err();
    assert!(matches!(error, KeyError::NotRsa { .. }), "{error:?}");
    let error = PlatformCertificate::from_pem(&fixture("ec_cert.pem")).unwrap_err();
    assert!(matches!(error, KeyError::NotRsa { .. }), "{error:?}");
}

#[test]
fn encrypted_keys_are_refused() {
    let error = PrivateKey::from_pem(&fixture("merchant_key.encrypted.pem")).unwrap_err();
    assert_eq!(error, KeyError::EncryptedPrivateKey);
    // Legacy OpenSSL encryption of a PKCS#1 key.
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    assert_eq!(
        PrivateKey::from_pem(legacy).unwrap_err(),
        KeyError::EncryptedPrivateKey
    );
}

#[test]
fn wrong_pem_kinds_name_what_was_expected_and_found() {
    let error = PrivateKey::from_pem(&fixture("merchant_cert.pem")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected an RSA private key (PEM \"PRIVATE KEY\" or \"RSA PRIVATE KEY\"), found a PEM block labelled \"CERTIFICATE\""
    );
    let error = PublicKey::from_pem(&fixture("merchant_key.pkcs8.pem")).unwrap_err();
    assert!(matches!(&error, KeyError::UnexpectedPem { found, .. } if found == "PRIVATE KEY"));
    let error = MerchantCertificate::from_pem(&fixture("wechatpay_pub.pem")).unwrap_err();
    assert!(matches!(error, KeyError::UnexpectedPem { .. }));
}

#[test]
fn garbage_is_refused_without_echoing_it() {
    let pem = fixture("merchant_key.pkcs8.pem");
    let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    // The first two lines of a real key: valid PEM, truncated DER.
    let truncated = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n{}\n-----END PRIVATE KEY-----\n",
        body[0], body[1]
    );
    // A damaged key: one base64 character changed in the middle.
    let mut damaged_body = body.clone();
    let middle = damaged_body[10].replacen('A', "B", 1).replacen('Q', "R", 1);
    damaged_body[10] = &middle;
    let damaged = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        damaged_body.join("\n")
    );
    let inputs = [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----",
        &truncated,
        &damaged,
    ];
    for input in inputs {
        let Err(error) = PrivateKey::from_pem(input) else {
            continue; // a change that happens to keep a valid key is not this test's concern
        };
        let message = error.to_string();
        assert!(message.contains("RSA private key"), "{message}");
        for line in &body {
            assert!(!message.contains(&line[..12]), "{message}");
        }
    }
    assert!(matches!(
        PrivateKey::from_pem("hello").unwrap_err(),
        KeyError::NotPem { .. }
    ));
    assert!(matches!(
        PrivateKey::from_pem(&truncated).unwrap_err(),
        KeyError::Malformed { .. }
    ));
}

#[test]
fn identifiers_are_checked() {
    let key = merchant_key();
    assert!(matches!(
        MerchantSigner::new("19000\"01", MERCHANT_SERIAL, key.clone()),
        Err(KeyError::InvalidIdentifier {
            what: "merchant id",
            ..
        })
    ));
    assert!(matches!(
        MerchantSigner::new(MCHID, "not hex", key.clone()),
        Err(KeyError::InvalidIdentifier { .. })
    ));
    // Given in lowercase, stored as WeChat Pay writes it.
    let signer = MerchantSigner::new(MCHID, &MERCHANT_SERIAL.to_lowercase(), key.clone()).unwrap();
    assert_eq!(signer.serial(), MERCHANT_SERIAL);

    let public = PublicKey::from_pem(&fixture("wechatpay_pub.pem")).unwrap();
    let error = WechatPayPublicKey::new(PLATFORM_SERIAL, public.clone()).unwrap_err();
    assert!(error.to_string().contains("PUB_KEY_ID_"), "{error}");
    assert!(WechatPayPublicKey::new(PUBLIC_KEY_ID, public).is_ok());
    assert!(WechatPaySigner::new("", key).is_err());
}

#[test]
fn debug_output_never_shows_key_material() {
    let signer = merchant_signer();
    let debug = format!("{signer:?}");
    assert_eq!(
        debug,
        format!(
            "MerchantSigner {{ mchid: \"{MCHID}\", serial: \"{MERCHANT_SERIAL}\", key: <redacted RSA-2048 private key> }}"
        )
    );
    assert_eq!(
        format!("{:?}", merchant_key()),
        "PrivateKey(<redacted RSA-2048 private key>)"
    );

    let wechatpay = WechatPaySigner::new(
        PUBLIC_KEY_ID,
        PrivateKey::from_pem(&fixture("wechatpay_key.pem")).unwrap(),
    )
    .unwrap();
    assert!(format!("{wechatpay:?}").contains("<redacted RSA-2048 private key>"));

    let keys = key_set();
    let debug = format!(
        "{keys:?} {:?} {:?}",
        platform_certificate(),
        wechatpay_public_key()
    );
    assert!(
        debug.contains(PUBLIC_KEY_ID) && debug.contains(PLATFORM_SERIAL),
        "{debug}"
    );
    // Not even the public key's base64 is printed.
    let spki_line = fixture("wechatpay_pub.pem")
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(!debug.contains(&spki_line[..20]));
    assert!(!WechatPayKeySet::new().contains(PUBLIC_KEY_ID));
}

#[test]
fn generated_keys_export_and_reload() {
    let key = PrivateKey::generate().unwrap();
    assert_eq!(key.bits(), 2048);
    let pem = key.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let reloaded = PrivateKey::from_pem(&pem).unwrap();
    assert_eq!(reloaded.public_key(), key.public_key());

    let public_pem = key.public_key().to_spki_pem();
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let public = PublicKey::from_pem(&public_pem).unwrap();
    let ciphertext = public.encrypt(b"13800138000").unwrap();
    assert_eq!(
        reloaded.decrypt(&ciphertext).unwrap().as_str(),
        "13800138000"
    );

    // A loaded key exports to the same PKCS#8 openssl wrote.
    assert_eq!(
        merchant_key().to_pkcs8_pem().unwrap().trim(),
        fixture("merchant_key.pkcs8.pem").trim()
    );
}
