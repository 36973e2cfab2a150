//! The client's notification entry point, [`NotificationReceiver::receive`] (body limit →
//! signature → envelope → algorithm → decryption → card event), and [`answer`] on every
//! outcome. The input is a first byte of flags, then a request written as text (see
//! `split_message`):
//!
//! - bit 0: the body is signed now with the test WeChat Pay key (so the checks after the
//!   signature are reached); otherwise the request's own `Wechatpay-*` headers are used;
//! - bit 1: the body's `resource.plaintext` (a string, removed) is encrypted with the test APIv3
//!   key into `resource.ciphertext`, with the resource's `nonce` and `associated_data` (so the
//!   decryption succeeds and the event's parsing is reached);
//! - bit 2 (with bit 0): the request's headers take precedence over the signed ones (a
//!   well-signed body with a fuzzed `Wechatpay-Serial`, `-Signature-Type`, …);
//! - bit 3: [`NotificationReceiver::receive_at`] at the request's own `Wechatpay-Timestamp`
//!   (a recorded notification replayed, as the openssl-signed fixture seed is).
//!
//! It checks what the API promises: an accepted notification has a non-empty, bounded id, a
//! card code and a card id; every refusal is answered with a 4xx `{"code":"FAIL",…}` naming the
//! failed check; a body signed now (headers untouched) never fails the signature check; no
//! message shows the APIv3 key.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wechatpay_card_client::notify::{
    MAX_NOTIFICATION_ID_LEN, NotificationErrorKind, NotificationReceiver, answer,
};
use wechatpay_card_client::signing::{
    ApiV3Key, PrivateKey, WechatPayKeySet, WechatPayPublicKey, WechatPaySigner,
};
use wechatpay_card_fuzz as common;

/// The APIv3 key of the client's notification tests (the fixture's resource decrypts with it).
const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

struct Fixture {
    receiver: NotificationReceiver,
    signer: WechatPaySigner,
    key: ApiV3Key,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let public = WechatPayPublicKey::from_pem(common::WECHATPAY_KEY_ID, common::WECHATPAY_PUB_PEM)
        .expect("WeChat Pay's public key");
    let key: ApiV3Key = API_V3_KEY.parse().expect("an APIv3 key");
    let receiver =
        NotificationReceiver::new(WechatPayKeySet::new().with_public_key(public), key.clone());
    let private = PrivateKey::from_pem(common::WECHATPAY_KEY_PEM).expect("WeChat Pay's key");
    let signer = WechatPaySigner::new(common::WECHATPAY_KEY_ID, private).expect("a signer");
    Fixture {
        receiver,
        signer,
        key,
    }
});

/// Whether to print each outcome on stderr (`FUZZ_TRACE=1`, to see which checks the seeds
/// reach when running them with `-runs=0`).
static TRACE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("FUZZ_TRACE").is_some());

/// The body with `resource.plaintext` replaced by its encryption, or `None` when the body has
/// no such resource or the nonce is unusable.
fn encrypt_plaintext(key: &ApiV3Key, body: &[u8]) -> Option<Vec<u8>> {
    let mut envelope = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let resource = envelope.get_mut("resource")?.as_object_mut()?;
    let plaintext = resource.remove("plaintext")?;
    let plaintext = plaintext.as_str()?;
    let text = |name: &str, default: &'static str| {
        resource
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or(default)
            .to_owned()
    };
    let nonce = text("nonce", "0123456789ab");
    let associated = text("associated_data", "");
    let ciphertext = key
        .encrypt_resource(plaintext.as_bytes(), &nonce, &associated)
        .ok()?;
    resource.insert("ciphertext".into(), ciphertext.into());
    serde_json::to_vec(&envelope).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (sign, encrypt, override_headers, replay) = (
        flags & 1 != 0,
        flags & 2 != 0,
        flags & 4 != 0,
        flags & 8 != 0,
    );
    let f = &*FIXTURE;
    let message = common::split_message(rest);
    let body = match encrypt {
        true => encrypt_plaintext(&f.key, message.body).unwrap_or_else(|| message.body.to_vec()),
        false => message.body.to_vec(),
    };
    let own = |name: &str| {
        message
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    };
    let signed = match sign {
        true => match f.signer.sign_response(&body) {
            Ok(signature) => Some(signature),
            Err(_) => return,
        },
        false => None,
    };
    let signed_headers = signed.as_ref().map(|s| s.headers());
    let lookup = |name: &str| {
        let from_signature = || {
            signed_headers
                .as_ref()?
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        match (signed_headers.is_some(), override_headers) {
            (false, _) => own(name),
            (true, true) => own(name).or_else(from_signature),
            (true, false) => from_signature(),
        }
    };
    let result = match replay {
        true => {
            let Some(now) = own("Wechatpay-Timestamp").and_then(|t| t.trim().parse::<u64>().ok())
            else {
                return;
            };
            f.receiver.receive_at(lookup, &body, now)
        }
        false => f.receiver.receive(lookup, &body),
    };

    if *TRACE {
        eprintln!(
            "flags {flags:#04x}: {:?}",
            result.as_ref().map(|e| &e.id).map_err(|e| e.to_string())
        );
    }
    let ack = answer(&result);
    match &result {
        Ok(event) => {
            assert!(!event.id.is_empty() && event.id.len() <= MAX_NOTIFICATION_ID_LEN);
            assert!(!event.event.user_card_code.is_empty() && !event.event.card_id.is_empty());
            let _ = (event.is_create(), event.is_delete());
            serde_json::to_string(event).expect("an accepted event serializes");
            assert_eq!((ack.status, ack.body.as_str()), (200, ""));
            assert!(ack.is_success() && ack.content_type().is_none());
        }
        Err(error) => {
            let text = error.to_string();
            assert!(!text.contains(API_V3_KEY), "the APIv3 key in {text}");
            let kind = error.kind();
            if sign && !override_headers && !replay {
                assert!(
                    !matches!(
                        kind,
                        NotificationErrorKind::Signature
                            | NotificationErrorKind::ProbeSignature
                            | NotificationErrorKind::StaleTimestamp
                    ),
                    "a notification signed now is refused: {text}"
                );
            }
            assert!((400..500).contains(&ack.status), "{text}: {}", ack.status);
            assert_eq!(ack.status, error.status());
            assert!(!ack.is_success());
            assert_eq!(ack.content_type(), Some("application/json"));
            let json: serde_json::Value =
                serde_json::from_str(&ack.body).expect("the answer is JSON");
            assert_eq!(json["code"], "FAIL");
            assert_eq!(json["message"], kind.description());
        }
    }
});
