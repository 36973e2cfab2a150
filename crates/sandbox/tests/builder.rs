//! Configuration: keys generated or given, platform-certificate mode, a backup host sharing the
//! keys, cards from a file, and every misconfiguration refused at start, naming its cause.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use wechatpay_sandbox::{Faults, Sandbox, SandboxError, default_cards};
use wechatpay_signing::{PlatformCertificate, PrivateKey, ResponseVerifier, WechatPayKeySet};

fn level_body(level: &str) -> String {
    json!({"brand_id": BRAND, "openid": OPENID, "level": level}).to_string()
}

#[tokio::test]
async fn keys_are_generated_unless_given() {
    let a = Sandbox::builder().start().await.unwrap();
    let b = Sandbox::builder()
        .mchid("1230000109")
        .start()
        .await
        .unwrap();
    let (ca, cb) = (a.credentials(), b.credentials());
    assert_eq!(ca.mchid, "1900000001");
    assert_eq!(cb.mchid, "1230000109");
    assert!(ca.wechatpay_key_id.starts_with("PUB_KEY_ID_"));
    assert_ne!(ca.wechatpay_key_id, cb.wechatpay_key_id);
    assert_ne!(ca.merchant_public_key_pem, cb.merchant_public_key_pem);
    assert_eq!(ca.merchant_serial.len(), 40);
    assert!(
        ca.merchant_private_key_pem
            .as_ref()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(ca.platform_certificate_pem.is_none() && !ca.is_certificate_mode());
    assert!(a.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(a.base_url(), format!("http://{}", a.local_addr()));
    // Generated keys work end to end.
    let client = Client::new(&b);
    assert_eq!(
        client.patch(&card_url(), &level_body("金卡")).await.status,
        200
    );
}

#[test]
fn debug_never_shows_a_private_key() {
    let creds = credentials();
    let debug = format!("{creds:?}");
    assert!(debug.contains("<redacted>"));
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    assert!(debug.contains(&creds.wechatpay_key_id));
}

#[tokio::test]
async fn a_backup_host_with_the_same_keys_accepts_the_same_requests() {
    let primary = start().await;
    let backup = Sandbox::builder()
        .credentials(primary.credentials().clone())
        .start()
        .await
        .unwrap();
    assert_ne!(primary.base_url(), backup.base_url());
    assert_eq!(
        primary.credentials().wechatpay_key_id,
        backup.credentials().wechatpay_key_id
    );
    let to_primary = Client::new(&primary);
    let to_backup = Client::for_url(backup.base_url(), primary.credentials().clone());
    let body = json!({"brand_id": BRAND, "openid": OPENID, "phone_number": to_primary.encrypt("13800000000")})
        .to_string();
    assert_eq!(to_primary.patch(&card_url(), &body).await.status, 200);
    assert_eq!(to_backup.patch(&card_url(), &body).await.status, 200);
    // Each keeps its own state.
    primary.set_faults(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    });
    assert_eq!(to_primary.patch(&card_url(), &body).await.status, 500);
    assert_eq!(to_backup.patch(&card_url(), &body).await.status, 200);
}

#[tokio::test]
async fn a_given_merchant_public_key_verifies_requests() {
    let key = PrivateKey::generate().unwrap();
    let sandbox = Sandbox::builder()
        .merchant_public_key_pem(key.public_key().to_spki_pem())
        .merchant_serial("abcdef0123")
        .wechatpay_public_key_id("PUB_KEY_ID_0112345")
        .start()
        .await
        .unwrap();
    let mut creds = sandbox.credentials().clone();
    assert!(creds.merchant_private_key_pem.is_none());
    assert_eq!(creds.merchant_serial, "ABCDEF0123");
    assert_eq!(creds.wechatpay_key_id, "PUB_KEY_ID_0112345");
    creds.merchant_private_key_pem = Some(key.to_pkcs8_pem().unwrap());
    let client = Client::for_url(sandbox.base_url(), creds);
    let body =
        json!({"brand_id": BRAND, "openid": OPENID, "phone_number": client.encrypt("13800000001")})
            .to_string();
    let answer = client.patch(&card_url(), &body).await;
    assert_eq!(answer.status, 200);
    // Encrypted for the given key.
    let phone = answer.json()["phone_number"].as_str().unwrap().to_owned();
    assert_eq!(key.decrypt(&phone).unwrap().as_str(), "13800000001");
}

#[tokio::test]
async fn platform_certificate_mode() {
    let sandbox = builder()
        .platform_certificate(PLATFORM_CERT, PLATFORM_KEY)
        .start()
        .await
        .unwrap();
    let creds = sandbox.credentials().clone();
    assert_eq!(creds.wechatpay_key_id, PLATFORM_SERIAL);
    assert_eq!(
        creds.platform_certificate_pem.as_deref(),
        Some(PLATFORM_CERT)
    );
    let client = Client::new(&sandbox);
    // Encrypted with the certificate's key, answered under its serial.
    let body =
        json!({"brand_id": BRAND, "openid": OPENID, "phone_number": client.encrypt("13800000002")})
            .to_string();
    let answer = client.patch(&card_url(), &body).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("Wechatpay-Serial"), Some(PLATFORM_SERIAL));
    let verifier = ResponseVerifier::new(
        WechatPayKeySet::new()
            .with_certificate(PlatformCertificate::from_pem(PLATFORM_CERT).unwrap()),
    );
    verifier
        .verify(&answer.response_headers(), &answer.body)
        .unwrap();
    // A backup host from these credentials is in certificate mode too.
    let backup = Sandbox::builder().credentials(creds).start().await.unwrap();
    assert_eq!(backup.credentials().wechatpay_key_id, PLATFORM_SERIAL);
}

#[tokio::test]
async fn cards_from_a_file() {
    let mut cards = default_cards();
    let mut second = cards[0].clone();
    second.card_id = "pOtherTemplate".into();
    second.brand_id = "2002".into();
    second.user_card_code = "900001".into();
    cards.push(second);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&cards).unwrap()).unwrap();
    let sandbox = builder().cards_file(file.path()).start().await.unwrap();
    assert_eq!(sandbox.cards().len(), 2);
    let client = Client::new(&sandbox);
    let body = json!({"brand_id": "2002", "openid": OPENID, "level": "金卡"}).to_string();
    assert_eq!(
        client
            .patch(&url("900001", "pOtherTemplate"), &body)
            .await
            .status,
        200
    );
    // The other template's brand is not this one's.
    assert_eq!(client.patch(&card_url(), &body).await.status, 400);
    assert_eq!(
        sandbox
            .card("pOtherTemplate", "900001")
            .unwrap()
            .level
            .as_deref(),
        Some("金卡")
    );
}

async fn refused(builder: wechatpay_sandbox::SandboxBuilder, what: &str) -> String {
    match builder.start().await {
        Ok(_) => panic!("{what}: started"),
        Err(error) => {
            // The message and its causes, as a caller walking the chain prints them (each
            // level says only its own part).
            let mut message = error.to_string();
            let mut cause = std::error::Error::source(&error);
            while let Some(inner) = cause {
                message.push_str(": ");
                message.push_str(&inner.to_string());
                cause = inner.source();
            }
            assert!(!message.contains("-----BEGIN"), "{message}");
            message
        }
    }
}

#[tokio::test]
async fn misconfigurations_are_refused_naming_the_cause() {
    let message = refused(Sandbox::builder().nonce_capacity(0), "nonce capacity").await;
    assert!(message.contains("nonce capacity"), "{message}");
    let message = refused(Sandbox::builder().mchid("19 00"), "mchid").await;
    assert!(message.contains("mchid"), "{message}");
    let message = refused(Sandbox::builder().merchant_serial("XYZ"), "serial").await;
    assert!(message.contains("serial"), "{message}");
    let message = refused(
        Sandbox::builder().merchant_public_key_pem("not a key"),
        "pem",
    )
    .await;
    assert!(message.contains("merchant public key"), "{message}");
    let message = refused(
        Sandbox::builder().wechatpay_private_key_pem(PLATFORM_CERT),
        "pem",
    )
    .await;
    assert!(message.contains("WeChat Pay private key"), "{message}");
    let message = refused(Sandbox::builder().wechatpay_public_key_id("KEY_1"), "id").await;
    assert!(message.contains("PUB_KEY_ID_"), "{message}");
    let message = refused(
        Sandbox::builder()
            .platform_certificate(PLATFORM_CERT, PLATFORM_KEY)
            .wechatpay_private_key_pem(PLATFORM_KEY),
        "both",
    )
    .await;
    assert!(message.contains("not both"), "{message}");
    let message = refused(
        Sandbox::builder()
            .platform_certificate(PLATFORM_CERT, PLATFORM_KEY)
            .wechatpay_public_key_id("PUB_KEY_ID_01"),
        "cert and id",
    )
    .await;
    assert!(message.contains("serial number"), "{message}");
    let other = PrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    let message = refused(
        Sandbox::builder().platform_certificate(PLATFORM_CERT, other.as_str()),
        "cert key",
    )
    .await;
    assert!(
        message.contains("is not the key of platform certificate"),
        "{message}"
    );
    let message = refused(
        Sandbox::builder().platform_certificate(PLATFORM_CERT_EXPIRED, PLATFORM_KEY),
        "expired",
    )
    .await;
    assert!(message.contains("expired"), "{message}");
    let message = refused(
        Sandbox::builder().faults(Faults {
            drop_rate: 2.0,
            ..Faults::default()
        }),
        "rate",
    )
    .await;
    assert!(message.contains("drop_rate"), "{message}");
    let message = refused(
        Sandbox::builder().cards(vec![]).cards_file("cards.json"),
        "cards twice",
    )
    .await;
    assert!(message.contains("both cards and a cards file"), "{message}");
    let message = refused(
        Sandbox::builder().cards_file("/nonexistent/cards.json"),
        "no file",
    )
    .await;
    assert!(message.contains("/nonexistent/cards.json"), "{message}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), br#"[{"card_id": "x"}]"#).unwrap();
    let message = refused(Sandbox::builder().cards_file(file.path()), "bad file").await;
    assert!(
        message.contains("not a JSON array of user cards"),
        "{message}"
    );
    let card = default_cards().remove(0);
    let message = refused(Sandbox::builder().cards(vec![card.clone(), card]), "twice").await;
    assert!(message.contains("given twice"), "{message}");
    let message = refused(
        Sandbox::builder().read_timeout(std::time::Duration::ZERO),
        "timeout",
    )
    .await;
    assert!(message.contains("read timeout"), "{message}");

    let running = start().await;
    match builder().listen(running.local_addr()).start().await {
        Err(SandboxError::Bind { addr, .. }) => assert_eq!(addr, running.local_addr()),
        other => panic!("expected a bind error, got {other:?}"),
    }
}

#[tokio::test]
async fn shutdown_and_drop_close_the_listener() {
    let sandbox = start().await;
    let addr = sandbox.local_addr();
    sandbox.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let sandbox = start().await;
    let addr = sandbox.local_addr();
    drop(sandbox);
    // The server task is aborted; the listener closes when the runtime drops the task.
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(closed);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let sandbox = builder()
        .faults(Faults {
            latency: std::time::Duration::from_millis(300),
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let client = Client::new(&sandbox);
    let in_flight =
        tokio::spawn(async move { client.patch(&card_url(), &level_body("金卡")).await.status });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    sandbox.shutdown().await;
    assert_eq!(in_flight.await.unwrap(), 200);
}

#[tokio::test]
async fn an_error_says_its_own_part_and_leaves_the_cause_to_source() {
    let error = match Sandbox::builder()
        .cards_file("/nonexistent/cards.json")
        .start()
        .await
    {
        Ok(_) => panic!("started without its cards file"),
        Err(error) => error,
    };
    let own = error.to_string();
    assert!(own.contains("/nonexistent/cards.json"), "{own}");
    // Printed once, by whoever walks the chain (the CLI prints "caused by: …").
    let cause = std::error::Error::source(&error)
        .expect("the io error")
        .to_string();
    assert!(!own.contains(&cause), "{own} repeats {cause}");
}
