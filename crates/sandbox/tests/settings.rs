//! `Sandbox::setting`: every `WECHATPAY_*` variable a client needs, in both key modes, and a
//! client configured from nothing else talks to the sandbox.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use wechatpay_sandbox::{Credentials, Sandbox, env};
use zeroize::Zeroizing;

#[tokio::test]
async fn public_key_mode_settings_are_all_there() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let creds = sandbox.credentials().clone();
    let get = |name: &str| {
        sandbox
            .setting(name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(get(env::MCHID), creds.mchid);
    assert_eq!(get(env::MERCHANT_SERIAL), creds.merchant_serial);
    assert_eq!(
        get(env::PRIVATE_KEY),
        creds.merchant_private_key_pem.as_deref().unwrap().as_str()
    );
    assert!(get(env::PRIVATE_KEY).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(get(env::PUBLIC_KEY_ID), creds.wechatpay_key_id);
    assert!(get(env::PUBLIC_KEY_ID).starts_with("PUB_KEY_ID_"));
    assert_eq!(get(env::PUBLIC_KEY), creds.wechatpay_public_key_pem);
    assert!(get(env::PUBLIC_KEY).starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(get(env::BASE_URL), sandbox.base_url());
    assert_eq!(get(env::BACKUP_BASE_URL), "none");
    // The other mode's variable, and names that are not settings, are absent.
    assert_eq!(sandbox.setting(env::PLATFORM_CERT), None);
    assert_eq!(sandbox.setting("WECHATPAY_MERCHANT_CERT"), None);
    assert_eq!(sandbox.setting("HOME"), None);

    // A client built from the settings alone is accepted, and verifies the answer.
    let from_settings = Credentials {
        mchid: get(env::MCHID),
        merchant_serial: get(env::MERCHANT_SERIAL),
        merchant_private_key_pem: Some(Zeroizing::new(get(env::PRIVATE_KEY))),
        merchant_public_key_pem: String::new(),
        wechatpay_key_id: get(env::PUBLIC_KEY_ID),
        wechatpay_public_key_pem: get(env::PUBLIC_KEY),
        wechatpay_private_key_pem: Zeroizing::new(String::new()),
        platform_certificate_pem: None,
    };
    let client = Client::for_url(&get(env::BASE_URL), from_settings);
    let body =
        json!({"brand_id": BRAND, "openid": OPENID, "phone_number": client.encrypt("13800000009")})
            .to_string();
    let answer = client.patch(&card_url(), &body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

#[tokio::test]
async fn certificate_mode_settings_are_all_there() {
    let sandbox = builder()
        .platform_certificate(PLATFORM_CERT, PLATFORM_KEY)
        .start()
        .await
        .unwrap();
    let get = |name: &str| {
        sandbox
            .setting(name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(get(env::MCHID), MCHID);
    assert_eq!(get(env::MERCHANT_SERIAL), MERCHANT_SERIAL);
    assert!(get(env::PRIVATE_KEY).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(get(env::PLATFORM_CERT), PLATFORM_CERT);
    assert_eq!(get(env::BASE_URL), sandbox.base_url());
    assert_eq!(get(env::BACKUP_BASE_URL), "none");
    // Public-key mode's variables are absent: a client given both would be ambiguous.
    assert_eq!(sandbox.setting(env::PUBLIC_KEY_ID), None);
    assert_eq!(sandbox.setting(env::PUBLIC_KEY), None);
}

#[tokio::test]
async fn no_private_key_setting_without_the_merchant_private_key() {
    let key = wechatpay_signing::PrivateKey::generate().unwrap();
    let sandbox = Sandbox::builder()
        .merchant_public_key_pem(key.public_key().to_spki_pem())
        .start()
        .await
        .unwrap();
    assert_eq!(sandbox.setting(env::PRIVATE_KEY), None);
    assert!(sandbox.setting(env::MCHID).is_some());
    // Every name in env::ALL other than the private key and the certificate has a value.
    for name in env::ALL {
        let expected = name != env::PRIVATE_KEY && name != env::PLATFORM_CERT;
        assert_eq!(sandbox.setting(name).is_some(), expected, "{name}");
    }
}
