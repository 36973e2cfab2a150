//! The client against the sandbox, over real loopback HTTP.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use wechatpay_card_client::models::{
    CardType, CommonFieldFlag, DateInfo, DateType, Timestamp, UpdateUserCardBody,
    UpdateUserCardRequest, UserCard, UserInfo, UserInfoCommonField, UserInfoCustomField,
};
use wechatpay_card_client::{Client, ClientBuilder, ErrorKind, FailoverPolicy, RetryPolicy};
use wechatpay_sandbox::{Faults, Sandbox};

mod common;
use common::{retries, sandbox_client};

const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
const CODE: &str = "478515832665";
const BRAND: &str = "1004";
const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";

/// An error and its sources, as a program prints them (`a: b: c`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

async fn start(faults: Faults) -> Sandbox {
    Sandbox::builder().faults(faults).start().await.unwrap()
}

/// A client for `sandbox`: its credentials, no backup host, quick retries.
fn builder(sandbox: &Sandbox) -> ClientBuilder {
    sandbox_client(sandbox).retry_policy(fast_retries(8))
}

fn fast_retries(attempts: u32) -> RetryPolicy {
    retries(attempts, 5, 20)
}

fn request(body: UpdateUserCardBody) -> UpdateUserCardRequest {
    UpdateUserCardRequest::new(CODE, CARD_ID, body)
}

fn level(level: &str) -> UpdateUserCardRequest {
    request(UpdateUserCardBody::new(BRAND, OPENID).with_level(level))
}

fn stored(sandbox: &Sandbox) -> UserCard {
    sandbox.card(CARD_ID, CODE).unwrap()
}

#[tokio::test]
async fn updates_every_optional_field() {
    let sandbox = start(Faults::default()).await;
    let client = builder(&sandbox).build().unwrap();
    let begin = Timestamp::parse("2026-01-01T00:00:00.000+08:00").unwrap();
    let end = Timestamp::parse("2027-01-01T00:00:00+08:00").unwrap();
    let body = UpdateUserCardBody::new(BRAND, OPENID)
        .with_card_color("#00FF7F")
        .with_card_picture_url("https://wxpaylogo.qpic.cn/wxpaylogo/new/0")
        .with_phone_number("13900139000")
        .with_level("黑金会员")
        .with_valid_date_information(
            DateInfo::new(DateType::FixTimeRange)
                .with_available_begin_time(begin.clone())
                .with_available_end_time(end.clone()),
        )
        .with_user_information(
            UserInfo::new()
                .with_common_field_list(vec![UserInfoCommonField::new(
                    CommonFieldFlag::UserFormFlagName,
                    "李四",
                )])
                .with_custom_field_list(vec![
                    UserInfoCustomField::new("喜欢的运动")
                        .with_user_chosen_values(vec!["网球".into()]),
                ]),
        )
        .with_attach("tier-2026");
    let verified = client.execute(request(body)).await.unwrap();
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.attempts(), 1);
    assert!(verified.request_id().is_some());
    assert_eq!(verified.signed_by(), sandbox.credentials().wechatpay_key_id);
    let mut card = verified.into_inner();
    assert_eq!(card.card_color.as_deref(), Some("#00FF7F"));
    assert_eq!(card.level.as_deref(), Some("黑金会员"));
    assert_eq!(card.attach.as_deref(), Some("tier-2026"));
    assert_eq!(card.valid_date_information.available_end_time, Some(end));
    // Sensitive fields come back encrypted for the merchant, and decrypt on request.
    let phone = card.phone_number.clone().unwrap();
    assert_ne!(phone.expose(), "13900139000");
    client.decrypt(&mut card).unwrap();
    assert_eq!(card.phone_number.unwrap().expose(), "13900139000");
    let info = card.user_information.unwrap();
    assert_eq!(info.common_field_list[0].value.expose(), "李四");
    assert_eq!(
        info.custom_field_list[0].user_chosen_values[0].expose(),
        "网球"
    );
    // The sandbox stored what was sent (it decrypted the fields with its WeChat Pay key).
    let stored = stored(&sandbox);
    assert_eq!(stored.phone_number.unwrap().expose(), "13900139000");
    assert_eq!(stored.level.as_deref(), Some("黑金会员"));
}

#[tokio::test]
async fn an_invalid_request_sends_nothing() {
    let sandbox = start(Faults::default()).await;
    let client = builder(&sandbox).build().unwrap();
    let body = UpdateUserCardBody::new(BRAND, OPENID)
        .with_card_color("yellow")
        .with_level("🙂");
    let err = client.update_user_card(request(body)).await.unwrap_err();
    let violations = err.as_validation().unwrap().violations();
    let paths: Vec<&str> = violations.iter().map(|v| v.path()).collect();
    assert_eq!(paths, ["card_color", "level"]);
    assert!(!err.may_have_been_applied());
    // A plaintext too long to encrypt is caught before sending too, naming the field.
    let long = UpdateUserCardBody::new(BRAND, OPENID).with_phone_number("1".repeat(300));
    let err = client.update_user_card(request(long)).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.field()),
        (ErrorKind::Encryption, Some("phone_number")),
        "{err}"
    );
    assert!(!err.may_have_been_applied());
    assert_eq!(sandbox.stats().requests, 0, "the sandbox saw no request");
}

#[tokio::test]
async fn each_api_error_maps_to_its_error_with_a_request_id() {
    let sandbox = start(Faults::default()).await;
    let client = builder(&sandbox).build().unwrap();

    let unknown_card = UpdateUserCardRequest::new(
        "000000000000",
        CARD_ID,
        UpdateUserCardBody::new(BRAND, OPENID),
    );
    let wrong_brand = request(UpdateUserCardBody::new("9999", OPENID));
    let cases = [
        (unknown_card, 404, "NOT_FOUND"),
        (wrong_brand, 400, "INVALID_REQUEST"),
    ];
    for (req, status, code) in cases {
        let err = client.update_user_card(req).await.unwrap_err();
        let api = err.as_api().unwrap_or_else(|| panic!("{err}"));
        assert_eq!((api.status(), api.code()), (status, code), "{err}");
        assert!(api.request_id().is_some_and(|id| !id.is_empty()));
        assert_eq!(err.request_id(), api.request_id());
        assert_eq!(err.kind(), ErrorKind::Api);
        assert_eq!((err.status(), err.code()), (Some(status), Some(code)));
        assert_eq!(err.message(), Some(api.message()));
        assert!(!err.is_retryable() && !err.may_have_been_applied());
        assert!(err.to_string().contains(code) && err.to_string().contains("Request-ID"));
    }

    // Another merchant's key: 401 SIGN_ERROR.
    let other = wechatpay_signing::PrivateKey::generate().unwrap();
    let impostor = builder(&sandbox).private_key(other).build().unwrap();
    let err = impostor.update_user_card(level("金卡")).await.unwrap_err();
    assert_eq!(
        err.as_api().map(|a| (a.status(), a.code())),
        Some((401, "SIGN_ERROR")),
        "{err}"
    );

    // A WeChat Pay key the sandbox does not hold, under the right id: the phone number does
    // not decrypt there, 400 PARAM_ERROR naming the field.
    let stranger = wechatpay_signing::PrivateKey::generate().unwrap();
    let c = sandbox.credentials();
    let confused = builder(&sandbox)
        .wechatpay_public_key_pem(&c.wechatpay_key_id, stranger.public_key().to_spki_pem())
        .build()
        .unwrap();
    let err = confused
        .update_user_card(request(
            UpdateUserCardBody::new(BRAND, OPENID).with_phone_number("13800138000"),
        ))
        .await
        .unwrap_err();
    let api = err.as_api().unwrap_or_else(|| panic!("{err}"));
    assert_eq!((api.status(), api.code()), (400, "PARAM_ERROR"));
    assert_eq!(
        api.detail().and_then(|d| d.field.as_deref()),
        Some("phone_number")
    );

    // Injected 500 and 429, with retries off.
    for (faults, status, code) in [
        (
            Faults {
                fail_rate: 1.0,
                ..Faults::default()
            },
            500,
            "SYSTEM_ERROR",
        ),
        (
            Faults {
                rate_limit_rate: 1.0,
                ..Faults::default()
            },
            429,
            "RATELIMIT_EXCEEDED",
        ),
    ] {
        sandbox.set_faults(faults);
        let once = builder(&sandbox)
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        let err = once.update_user_card(level("金卡")).await.unwrap_err();
        let api = err.as_api().unwrap_or_else(|| panic!("{err}"));
        assert_eq!((api.status(), api.code()), (status, code));
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn retries_through_500s_429s_and_dropped_connections() {
    for faults in [
        Faults {
            fail_rate: 0.5,
            seed: Some(1),
            ..Faults::default()
        },
        Faults {
            rate_limit_rate: 0.5,
            seed: Some(2),
            ..Faults::default()
        },
        Faults {
            drop_rate: 0.5,
            seed: Some(3),
            ..Faults::default()
        },
    ] {
        let sandbox = start(faults.clone()).await;
        let client = builder(&sandbox)
            .retry_policy(fast_retries(20))
            .build()
            .unwrap();
        for i in 0..10 {
            let want = format!("级别{i}");
            let card = client
                .update_user_card(level(&want))
                .await
                .unwrap_or_else(|e| panic!("{faults:?}: {e}"));
            assert_eq!(card.level.as_deref(), Some(want.as_str()));
            assert_eq!(stored(&sandbox).level.as_deref(), Some(want.as_str()));
        }
        assert!(
            sandbox.stats().faults_injected > 0,
            "{faults:?} injected nothing"
        );
    }
}

#[tokio::test]
async fn applied_then_dropped_ends_with_the_card_updated_once_in_effect() {
    let sandbox = start(Faults {
        applied_drop_rate: 0.5,
        seed: Some(7),
        ..Faults::default()
    })
    .await;
    let client = builder(&sandbox)
        .retry_policy(fast_retries(20))
        .build()
        .unwrap();
    for i in 0..10 {
        let want = format!("{i}号会员");
        let card = client.update_user_card(level(&want)).await.unwrap();
        assert_eq!(card.level.as_deref(), Some(want.as_str()));
        assert_eq!(stored(&sandbox).level.as_deref(), Some(want.as_str()));
    }
    let stats = sandbox.stats();
    assert!(
        stats.updates_applied > 10,
        "some updates were applied twice: {stats:?}"
    );
}

#[tokio::test]
async fn fails_over_to_the_backup_and_back() {
    let primary = start(Faults::default()).await;
    let backup = Sandbox::builder()
        .credentials(primary.credentials().clone())
        .start()
        .await
        .unwrap();
    let client = builder(&primary)
        .backup_base_url(backup.base_url())
        .failover_policy(
            FailoverPolicy::default()
                .threshold(2)
                .probe_interval(Duration::from_millis(300)),
        )
        .build()
        .unwrap();

    client.update_user_card(level("一")).await.unwrap();
    assert_eq!(primary.stats().updates_applied, 1);

    // The primary fails: after two 500s the call (and the next ones) go to the backup.
    primary.set_faults(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    });
    let verified = client.execute(level("二")).await.unwrap();
    assert_eq!(verified.base_url(), backup.base_url());
    assert_eq!(verified.attempts(), 3);
    client.update_user_card(level("三")).await.unwrap();
    assert_eq!(stored(&backup).level.as_deref(), Some("三"));
    assert_eq!(
        primary.stats().requests,
        3,
        "no request tried the failing primary meanwhile"
    );

    // It recovers: the next probe after the interval finds it, and requests move back.
    primary.set_faults(Faults::default());
    tokio::time::sleep(Duration::from_millis(350)).await;
    let verified = client.execute(level("四")).await.unwrap();
    assert_eq!(verified.base_url(), primary.base_url());
    client.update_user_card(level("五")).await.unwrap();
    assert_eq!(stored(&primary).level.as_deref(), Some("五"));
    assert_eq!(stored(&backup).level.as_deref(), Some("三"));
}

#[tokio::test]
async fn fails_over_when_the_primary_refuses_connections() {
    let backup = start(Faults::default()).await;
    // A port with nothing listening: bind, note it, close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = builder(&backup)
        .base_url(format!("http://{addr}"))
        .backup_base_url(backup.base_url())
        .build()
        .unwrap();
    let verified = client.execute(level("备用")).await.unwrap();
    assert_eq!(verified.base_url(), backup.base_url());
    assert_eq!(stored(&backup).level.as_deref(), Some("备用"));
}

#[tokio::test]
async fn tampered_and_probe_signatures_are_rejected_and_not_retried() {
    for (faults, probe) in [
        (
            Faults {
                tamper_rate: 1.0,
                ..Faults::default()
            },
            false,
        ),
        (
            Faults {
                probe_rate: 1.0,
                ..Faults::default()
            },
            true,
        ),
    ] {
        let sandbox = start(faults).await;
        let client = builder(&sandbox).build().unwrap();
        let err = client.update_user_card(level("金卡")).await.unwrap_err();
        let signature = err.as_signature().unwrap_or_else(|| panic!("{err}"));
        assert_eq!(signature.is_probe(), probe, "{err}");
        assert!(err.may_have_been_applied());
        assert!(err.to_string().contains("read the card back"));
        assert_eq!(
            sandbox.stats().requests,
            1,
            "a failed verification is not retried"
        );
        assert_eq!(
            sandbox.stats().updates_applied,
            1,
            "the update was applied although unverified"
        );
    }
}

#[tokio::test]
async fn a_client_with_a_public_key_and_a_certificate_verifies_either() {
    let by_key = start(Faults::default()).await;
    let c = by_key.credentials().clone();
    let cert_pem = include_str!("../../signing/tests/fixtures/platform_cert.pem");
    let cert_key = include_str!("../../signing/tests/fixtures/platform_key.pem");
    let by_cert = Sandbox::builder()
        .mchid(&c.mchid)
        .merchant_serial(&c.merchant_serial)
        .merchant_public_key_pem(&c.merchant_public_key_pem)
        .platform_certificate(cert_pem, cert_key)
        .start()
        .await
        .unwrap();
    let cert_serial = by_cert.credentials().wechatpay_key_id.clone();
    assert_ne!(cert_serial, c.wechatpay_key_id);

    // The migration case: both keys held; each host signs with its own. (The merchant's
    // private key is the first sandbox's: the second was given only its public key.)
    let both = |sandbox: &Sandbox| {
        builder(&by_key)
            .base_url(sandbox.base_url())
            .platform_certificate_pem(cert_pem)
            .build()
            .unwrap()
    };
    let v = both(&by_key).execute(level("公钥")).await.unwrap();
    assert_eq!(v.signed_by(), c.wechatpay_key_id);
    let v = both(&by_cert).execute(level("证书")).await.unwrap();
    assert_eq!(v.signed_by(), cert_serial);

    // Only a certificate: it encrypts with it and names its serial (the sandbox decrypts).
    let cert_only = Client::builder()
        .mchid(&c.mchid)
        .merchant_serial(&c.merchant_serial)
        .private_key_pem(c.merchant_private_key_pem.as_ref().unwrap().as_str())
        .platform_certificate_pem(cert_pem)
        .base_url(by_cert.base_url())
        .disable_failover()
        .build()
        .unwrap();
    let prepared = cert_only
        .prepare(request(
            UpdateUserCardBody::new(BRAND, OPENID).with_phone_number("13700137000"),
        ))
        .unwrap();
    assert_eq!(prepared.wechatpay_serial(), cert_serial);
    assert_eq!(prepared.encrypted_fields(), ["phone_number"]);
    cert_only.send(&prepared).await.unwrap();
    assert_eq!(
        stored(&by_cert).phone_number.unwrap().expose(),
        "13700137000"
    );
}

#[tokio::test]
async fn an_unknown_enum_value_in_a_response_parses() {
    let mut card: UserCard = serde_json::from_str(include_str!(
        "../../models/tests/fixtures/user-card.response.json"
    ))
    .unwrap();
    card.brand_id = BRAND.into();
    card.card_type = CardType::from("PREMIUM");
    card.phone_number = Some("13800138000".into());
    card.user_information = None;
    let sandbox = Sandbox::builder().cards(vec![card]).start().await.unwrap();
    let client = builder(&sandbox).build().unwrap();
    let card = client.update_user_card(level("金卡")).await.unwrap();
    assert!(card.card_type.is_unknown());
    assert_eq!(card.card_type.as_str(), "PREMIUM");
}

#[tokio::test]
async fn many_tasks_share_one_client() {
    let template: UserCard = serde_json::from_str(include_str!(
        "../../models/tests/fixtures/user-card.response.json"
    ))
    .unwrap();
    let cards: Vec<UserCard> = (0..64)
        .map(|i| {
            let mut card = template.clone();
            card.brand_id = BRAND.into();
            card.user_card_code = format!("CODE{i:04}");
            card.phone_number = Some("13800138000".into());
            card.user_information = None;
            card
        })
        .collect();
    let sandbox = Sandbox::builder().cards(cards).start().await.unwrap();
    let client = builder(&sandbox).build().unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let body = UpdateUserCardBody::new(BRAND, OPENID).with_level(format!("L{i}"));
                client
                    .update_user_card(UpdateUserCardRequest::new(
                        format!("CODE{i:04}"),
                        CARD_ID,
                        body,
                    ))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for i in 0..64 {
        let card = sandbox.card(CARD_ID, &format!("CODE{i:04}")).unwrap();
        assert_eq!(card.level, Some(format!("L{i}")));
    }
}

#[tokio::test]
async fn a_slow_answer_hits_the_attempt_timeout() {
    let sandbox = start(Faults {
        latency: Duration::from_secs(2),
        ..Faults::default()
    })
    .await;
    let client = builder(&sandbox)
        .attempt_timeout(Duration::from_millis(200))
        .call_timeout(Duration::from_millis(700))
        .retry_policy(fast_retries(10))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.update_user_card(level("金卡")).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "bounded by the call deadline"
    );
    assert!(err.may_have_been_applied());
}

#[tokio::test]
async fn a_misconfigured_client_fails_at_build_time() {
    let sandbox = start(Faults::default()).await;
    let err = builder(&sandbox).mchid("").build().unwrap_err();
    assert!(chain(&err).contains("merchant id"), "{err}");
    let err = Client::builder().mchid("1900000001").build().unwrap_err();
    assert!(chain(&err).contains("private key"), "{err}");
    let err = builder(&sandbox)
        .base_url("api.mch.weixin.qq.com")
        .build()
        .unwrap_err();
    assert!(chain(&err).contains("base URL"), "{err}");
    let err = builder(&sandbox)
        .private_key_pem("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        .build()
        .unwrap_err();
    assert!(chain(&err).contains("merchant private key"), "{err}");
    assert!(
        !chain(&err).contains("not a key"),
        "no key material echoed: {err}"
    );
    let err = builder(&sandbox)
        .merchant_certificate_pem(include_str!(
            "../../signing/tests/fixtures/merchant_cert.pem"
        ))
        .build()
        .unwrap_err();
    assert!(
        chain(&err).contains("is not the serial of the merchant certificate"),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.as_config().is_some() && !err.may_have_been_applied());
}

#[tokio::test]
async fn loads_from_pem_files_and_from_the_environment_in_one_call() {
    let sandbox = start(Faults::default()).await;
    let c = sandbox.credentials();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("apiclient_key.pem");
    let pub_file = dir.path().join("pub_key.pem");
    std::fs::write(
        &key_file,
        c.merchant_private_key_pem.as_ref().unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(&pub_file, &c.wechatpay_public_key_pem).unwrap();

    let from_files = Client::from_pem_files(
        &c.mchid,
        &c.merchant_serial,
        &key_file,
        &c.wechatpay_key_id,
        &pub_file,
    )
    .unwrap();
    assert_eq!(
        from_files.base_url(),
        wechatpay_card_client::DEFAULT_BASE_URL
    );
    assert_eq!(
        from_files.backup_base_url(),
        Some(wechatpay_card_client::DEFAULT_BACKUP_BASE_URL)
    );

    // The WECHATPAY_* variables, as `wechatpay-card sandbox --state-dir` writes them: paths.
    let vars = std::collections::HashMap::from([
        (wechatpay_card_client::env::MCHID, c.mchid.clone()),
        (
            wechatpay_card_client::env::MERCHANT_SERIAL,
            c.merchant_serial.clone(),
        ),
        (
            wechatpay_card_client::env::PRIVATE_KEY,
            key_file.display().to_string(),
        ),
        (
            wechatpay_card_client::env::PUBLIC_KEY_ID,
            c.wechatpay_key_id.clone(),
        ),
        (
            wechatpay_card_client::env::PUBLIC_KEY,
            pub_file.display().to_string(),
        ),
        (
            wechatpay_card_client::env::BASE_URL,
            sandbox.base_url().to_string(),
        ),
        (
            wechatpay_card_client::env::BACKUP_BASE_URL,
            "none".to_string(),
        ),
    ]);
    let from_env = ClientBuilder::from_vars(|name| vars.get(name).cloned())
        .build()
        .unwrap();
    assert_eq!(from_env.backup_base_url(), None);
    from_env.update_user_card(level("环境")).await.unwrap();
    assert_eq!(stored(&sandbox).level.as_deref(), Some("环境"));

    // A variable pointing at a file that is not there: named, at build time.
    let mut broken = vars.clone();
    broken.insert(
        wechatpay_card_client::env::PUBLIC_KEY,
        "/nonexistent/pub_key.pem".into(),
    );
    let err = ClientBuilder::from_vars(|name| broken.get(name).cloned())
        .build()
        .unwrap_err();
    assert!(
        chain(&err).contains("WECHATPAY_PUBLIC_KEY") && chain(&err).contains("/nonexistent"),
        "{err}"
    );
    let missing = ClientBuilder::new().build().unwrap_err();
    assert!(chain(&missing).contains("WECHATPAY_MCHID"), "{missing}");
}

#[test]
fn every_missing_setting_is_named_at_once() {
    let err = chain(&ClientBuilder::new().build().unwrap_err());
    for variable in [
        "WECHATPAY_MCHID",
        "WECHATPAY_PRIVATE_KEY",
        "WECHATPAY_MERCHANT_SERIAL",
        "WECHATPAY_PUBLIC_KEY",
        "WECHATPAY_PLATFORM_CERT",
    ] {
        assert!(err.contains(variable), "{variable} not named: {err}");
    }
    let err = chain(
        &ClientBuilder::new()
            .mchid("1900000001")
            .base_url("x")
            .build()
            .unwrap_err(),
    );
    assert!(!err.contains("invalid the"), "{err}");
}

#[tokio::test]
async fn the_backup_host_defaults_to_wechat_pays_only_for_wechat_pays_primary() {
    let sandbox = start(Faults::default()).await;
    let c = sandbox.credentials();
    let base = || {
        Client::builder()
            .mchid(&c.mchid)
            .merchant_serial(&c.merchant_serial)
            .private_key_pem(c.merchant_private_key_pem.as_ref().unwrap().as_str())
            .wechatpay_public_key_pem(&c.wechatpay_key_id, &c.wechatpay_public_key_pem)
    };
    let production = base().build().unwrap();
    assert_eq!(
        production.backup_base_url(),
        Some(wechatpay_card_client::DEFAULT_BACKUP_BASE_URL)
    );
    // A test host given alone: no failover to production.
    let test_host = base().base_url(sandbox.base_url()).build().unwrap();
    assert_eq!(test_host.backup_base_url(), None);
    let vars = std::collections::HashMap::from([
        (wechatpay_card_client::env::MCHID, c.mchid.clone()),
        (
            wechatpay_card_client::env::MERCHANT_SERIAL,
            c.merchant_serial.clone(),
        ),
        (
            wechatpay_card_client::env::PRIVATE_KEY,
            c.merchant_private_key_pem.as_ref().unwrap().to_string(),
        ),
        (
            wechatpay_card_client::env::PUBLIC_KEY_ID,
            c.wechatpay_key_id.clone(),
        ),
        (
            wechatpay_card_client::env::PUBLIC_KEY,
            c.wechatpay_public_key_pem.clone(),
        ),
        (
            wechatpay_card_client::env::BASE_URL,
            sandbox.base_url().to_string(),
        ),
    ]);
    let from_env = ClientBuilder::from_vars(|name| vars.get(name).cloned())
        .build()
        .unwrap();
    assert_eq!(from_env.backup_base_url(), None);
    let explicit = base()
        .base_url(sandbox.base_url())
        .backup_base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert_eq!(explicit.backup_base_url(), Some("http://127.0.0.1:9"));
    assert_eq!(
        base().disable_failover().build().unwrap().backup_base_url(),
        None
    );
}

#[tokio::test]
async fn key_settings_take_pem_text_and_never_echo_key_material() {
    let sandbox = start(Faults::default()).await;
    let c = sandbox.credentials();
    let key_pem = c.merchant_private_key_pem.as_ref().unwrap().to_string();
    let vars = |key: String| {
        std::collections::HashMap::from([
            (wechatpay_card_client::env::MCHID, c.mchid.clone()),
            (
                wechatpay_card_client::env::MERCHANT_SERIAL,
                c.merchant_serial.clone(),
            ),
            (wechatpay_card_client::env::PRIVATE_KEY, key),
            (
                wechatpay_card_client::env::PUBLIC_KEY_ID,
                c.wechatpay_key_id.clone(),
            ),
            (
                wechatpay_card_client::env::PUBLIC_KEY,
                c.wechatpay_public_key_pem.clone(),
            ),
            (
                wechatpay_card_client::env::BASE_URL,
                sandbox.base_url().to_string(),
            ),
        ])
    };
    let build = |key: String| {
        let vars = vars(key);
        ClientBuilder::from_vars(|name| vars.get(name).cloned()).build()
    };
    // PEM text, as is and with its line breaks written as \n (as containers often pass it).
    build(key_pem.clone()).unwrap();
    let client = build(key_pem.trim_end().replace('\n', "\\n")).unwrap();
    client.update_user_card(level("文本")).await.unwrap();

    // Key material that is not PEM text is taken for a path, and must not be printed back.
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for not_pem in [
        body.clone(),
        key_pem.replace("-----BEGIN PRIVATE KEY-----", ""),
        format!(" {}", &body[..80]),
    ] {
        let err = chain(&build(not_pem.clone()).unwrap_err());
        assert!(err.contains("WECHATPAY_PRIVATE_KEY"), "{err}");
        for line in not_pem.lines().filter(|l| l.len() > 16) {
            assert!(!err.contains(line.trim()), "key material echoed: {err}");
        }
        assert!(!err.contains(&body[..40]), "key material echoed: {err}");
    }
    // A file that never ends is refused at a bound, not read until memory runs out.
    let err = chain(&build("/dev/zero".into()).unwrap_err());
    assert!(err.contains("larger than"), "{err}");
}
