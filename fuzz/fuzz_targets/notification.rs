//! Notifications (callbacks): the signature check over headers and body
//! ([`NotificationVerifier`]), the event's JSON, and the resource's decryption with the APIv3
//! key ([`ApiV3Key::decrypt_resource`]). The input is a request written as text (see
//! `split_message`); when the first byte's bit 0 is set the body is signed with the test
//! WeChat Pay key, and when bit 1 is set the body's `resource.ciphertext` is replaced by the
//! encryption of the rest of the body's `resource.plaintext` (so the decryption succeeds and
//! its output is read as JSON).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wechatpay_card_fuzz as common;
use wechatpay_signing::{
    ApiV3Key, NotificationVerifier, PrivateKey, ResponseHeaders, WechatPayKeySet,
    WechatPayPublicKey, WechatPaySigner,
};

struct Fixture {
    verifier: NotificationVerifier,
    signer: WechatPaySigner,
    key: ApiV3Key,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let public = WechatPayPublicKey::from_pem(common::WECHATPAY_KEY_ID, common::WECHATPAY_PUB_PEM)
        .expect("WeChat Pay's public key");
    let verifier = NotificationVerifier::new(WechatPayKeySet::new().with_public_key(public));
    let private = PrivateKey::from_pem(common::WECHATPAY_KEY_PEM).expect("WeChat Pay's key");
    let signer = WechatPaySigner::new(common::WECHATPAY_KEY_ID, private).expect("a signer");
    let key = ApiV3Key::new("0123456789abcdef0123456789abcdef").expect("an APIv3 key");
    Fixture {
        verifier,
        signer,
        key,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let f = &*FIXTURE;
    let message = common::split_message(rest);
    let mut body = message.body.to_vec();
    if flags & 2 != 0
        && let Ok(mut event) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(resource) = event.get_mut("resource").and_then(|r| r.as_object_mut())
    {
        let plaintext = resource
            .get("plaintext")
            .and_then(|p| p.as_str())
            .unwrap_or_default()
            .to_owned();
        let nonce = resource
            .get("nonce")
            .and_then(|n| n.as_str())
            .unwrap_or("0123456789ab")
            .to_owned();
        let associated = resource
            .get("associated_data")
            .and_then(|a| a.as_str())
            .unwrap_or_default()
            .to_owned();
        if let Ok(ciphertext) = f
            .key
            .encrypt_resource(plaintext.as_bytes(), &nonce, &associated)
        {
            resource.insert("ciphertext".into(), ciphertext.into());
            body = serde_json::to_vec(&event).unwrap_or_default();
        }
    }
    let header = |name: &str| {
        message
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    };
    let now = common::unix_now();
    let signed;
    let headers = if flags & 1 != 0 {
        let Ok(signature) = f.signer.sign_response_at(&body, now, "fuzznonce") else {
            return;
        };
        signed = signature;
        signed.as_response_headers()
    } else {
        ResponseHeaders::from_lookup(header)
    };
    if let Err(e) = f.verifier.verify_at(&headers, &body, now) {
        let _ = e.to_string();
        if flags & 1 != 0 {
            panic!("a notification signed now does not verify: {e}");
        }
        return;
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return;
    };
    let resource = &event["resource"];
    let field = |name: &str| resource[name].as_str().unwrap_or_default();
    match f.key.decrypt_resource(
        field("ciphertext"),
        field("nonce"),
        field("associated_data"),
    ) {
        Ok(plaintext) => {
            let _ = serde_json::from_slice::<serde_json::Value>(&plaintext);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
