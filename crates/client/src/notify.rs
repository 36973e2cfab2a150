//! Receiving WeChat Pay's card event notifications (会员卡事件通知,
//! <https://pay.weixin.qq.com/doc/v3/partner/4015283692>), whatever the HTTP framework.
//!
//! WeChat Pay POSTs a signed JSON envelope to the card template's notify URL; its `resource` is
//! the event, encrypted with the APIv3 key. [`NotificationReceiver::receive`] takes the request's
//! headers (as a lookup) and its raw body bytes and, in this order:
//!
//! 1. refuses a body over its limit ([`DEFAULT_MAX_NOTIFICATION_BYTES`]) before anything else;
//! 2. **verifies** the signature over the raw bytes ([`NotificationVerifier`]: `Wechatpay-*`
//!    headers, key chosen by `Wechatpay-Serial`, a 300 s window, probe signatures reported as
//!    such);
//! 3. parses the envelope leniently ([`crate::models::Notification`]): only a non-empty `id` and the
//!    `resource`'s `ciphertext` and `nonce` are needed;
//! 4. checks `resource.algorithm` is `AEAD_AES_256_GCM`, and **decrypts** with the APIv3 key;
//! 5. parses the event leniently ([`crate::models::UserCardEvent`]): only `user_card_code` and
//!    `card_id` are needed.
//!
//! The result is a [`CardEvent`] or a [`NotificationError`] whose [`kind`](NotificationError::kind)
//! says which check failed. Answer WeChat Pay with [`answer`]: 200 with an empty body on success;
//! otherwise a 4xx with `{"code":"FAIL","message":…}`, so that it sends the notification again
//! (every 60 s, up to 11 times). Within 5 s: act on the event (a confirm, a database write)
//! after answering, or in the background.
//!
//! The same notification can arrive more than once, even after a 200: deduplicate by
//! [`CardEvent::id`].
//!
//! ```
//! use wechatpay_card_client::notify::{NotificationReceiver, answer};
//! use wechatpay_card_client::signing::{ApiV3Key, WechatPayKeySet};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let api_v3_key: ApiV3Key = "0123456789abcdefghijABCDEFGHIJ01".parse()?;
//! // With a client: `NotificationReceiver::for_client(&client, api_v3_key)`.
//! let receiver = NotificationReceiver::new(WechatPayKeySet::new(), api_v3_key);
//!
//! // In a handler: the request's headers and raw body.
//! let headers = std::collections::HashMap::<String, String>::new();
//! let result = receiver.receive(|name| headers.get(name).map(String::as_str), b"{}");
//! let ack = answer(&result);
//! assert_eq!(ack.status, 401); // unsigned: WeChat Pay did not send this
//! assert_eq!(ack.body, r#"{"code":"FAIL","message":"signature verification failed"}"#);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use wechatpay_card_models::{
    Correction, Notification, NotificationEventType, Timestamp, UserCardEvent, from_json_lenient,
};
use wechatpay_signing::{
    ApiV3Key, CryptoError, NotificationVerifier, RESOURCE_ALGORITHM, ResponseHeaders, VerifyError,
    WechatPayKeySet,
};

use crate::{Client, Untrusted};

/// The largest notification body accepted, 64 KiB: a card event is under 4 KiB. Read at most
/// this many bytes from the request (the limit is checked again by
/// [`NotificationReceiver::receive`]).
pub const DEFAULT_MAX_NOTIFICATION_BYTES: usize = 64 * 1024;

/// The longest notification `id` accepted, in bytes (the page says string(36)); a receiver keeps
/// ids to deduplicate, so they are bounded.
pub const MAX_NOTIFICATION_ID_LEN: usize = 128;

/// Verifies, decrypts and parses card event notifications: see the [module](self) docs.
///
/// Its `Debug` never shows the APIv3 key.
#[derive(Clone, Debug)]
pub struct NotificationReceiver {
    verifier: NotificationVerifier,
    api_v3_key: ApiV3Key,
    max_body_bytes: usize,
}

impl NotificationReceiver {
    /// A receiver with the WeChat Pay keys that sign notifications (the same as answers') and
    /// the APIv3 key that encrypts their resources.
    pub fn new(keys: WechatPayKeySet, api_v3_key: ApiV3Key) -> Self {
        Self {
            verifier: NotificationVerifier::new(keys),
            api_v3_key,
            max_body_bytes: DEFAULT_MAX_NOTIFICATION_BYTES,
        }
    }

    /// A receiver with the client's WeChat Pay keys ([`Client::wechatpay_keys`], a handle: keys
    /// added to the client later are used here too).
    pub fn for_client(client: &Client, api_v3_key: ApiV3Key) -> Self {
        Self::new(client.wechatpay_keys().clone(), api_v3_key)
    }

    /// Sets how far `Wechatpay-Timestamp` may be from local time (default 300 s).
    #[must_use]
    pub fn with_window(self, window: Duration) -> Self {
        Self {
            verifier: self.verifier.with_window(window),
            ..self
        }
    }

    /// Sets the largest body accepted (default [`DEFAULT_MAX_NOTIFICATION_BYTES`]).
    #[must_use]
    pub fn with_max_body_bytes(self, max_body_bytes: usize) -> Self {
        Self {
            max_body_bytes,
            ..self
        }
    }

    /// The largest body accepted: read no more than this from the request.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Verifies, decrypts and parses one notification: `header` looks a request header up by
    /// name (`Wechatpay-Timestamp`, …; match names case-insensitively, as `http::HeaderMap`
    /// does), `body` is the raw body, exactly as received.
    ///
    /// # Errors
    /// A [`NotificationError`] naming the check that failed; nothing in the body may be acted
    /// on then. Answer it with [`answer`].
    pub fn receive<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> Result<CardEvent, NotificationError> {
        self.receive_inner(header, body, None)
    }

    /// [`receive`](Self::receive) as if the local time were `now` (Unix seconds): for tests and
    /// for replaying recorded notifications.
    ///
    /// # Errors
    /// As [`receive`](Self::receive).
    pub fn receive_at<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        now: u64,
    ) -> Result<CardEvent, NotificationError> {
        self.receive_inner(header, body, Some(now))
    }

    fn receive_inner<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        now: Option<u64>,
    ) -> Result<CardEvent, NotificationError> {
        if body.len() > self.max_body_bytes {
            return Err(NotificationError::TooLarge {
                len: body.len(),
                max: self.max_body_bytes,
            });
        }
        let headers = ResponseHeaders::from_lookup(header);
        match now {
            Some(now) => self.verifier.verify_at(&headers, body, now),
            None => self.verifier.verify(&headers, body),
        }
        .map_err(NotificationError::Signature)?;

        let envelope = from_json_lenient::<Notification>(body)
            .map_err(|e| NotificationError::MalformedEnvelope(e.to_string()))?;
        let mut corrections = envelope.corrections;
        let envelope = envelope.value;
        if envelope.id.is_empty() {
            return Err(NotificationError::MalformedEnvelope(
                "id is missing or empty".into(),
            ));
        }
        if envelope.id.len() > MAX_NOTIFICATION_ID_LEN {
            return Err(NotificationError::MalformedEnvelope(format!(
                "id is {} bytes, more than {MAX_NOTIFICATION_ID_LEN}",
                envelope.id.len()
            )));
        }
        let resource = &envelope.resource;
        if resource.algorithm != RESOURCE_ALGORITHM {
            return Err(NotificationError::UnsupportedAlgorithm(
                resource.algorithm.clone(),
            ));
        }
        for (field, value) in [
            ("resource.ciphertext", &resource.ciphertext),
            ("resource.nonce", &resource.nonce),
        ] {
            if value.is_empty() {
                return Err(NotificationError::MalformedEnvelope(format!(
                    "{field} is missing or empty"
                )));
            }
        }
        let plaintext = self
            .api_v3_key
            .decrypt_resource(
                &resource.ciphertext,
                &resource.nonce,
                resource.associated_data.as_deref().unwrap_or(""),
            )
            .map_err(NotificationError::Decryption)?;

        let event = from_json_lenient::<UserCardEvent>(&plaintext)
            .map_err(|e| NotificationError::MalformedEvent(e.to_string()))?;
        for field in ["user_card_code", "card_id"] {
            let value = match field {
                "user_card_code" => &event.value.user_card_code,
                _ => &event.value.card_id,
            };
            if value.is_empty() {
                return Err(NotificationError::MalformedEvent(format!(
                    "{field} is missing or empty"
                )));
            }
        }
        corrections.extend(event.corrections.into_iter().map(|c| Correction {
            path: format!("resource.{}", c.path),
            issue: c.issue,
        }));
        Ok(CardEvent {
            id: envelope.id,
            create_time: envelope.create_time,
            event_type: envelope.event_type,
            summary: envelope.summary,
            event: event.value,
            corrections,
        })
    }
}

/// A verified, decrypted card event notification.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CardEvent {
    /// The notification's id: the same notification sent again keeps it; deduplicate by it.
    pub id: String,
    /// When WeChat Pay created the notification.
    pub create_time: Timestamp,
    /// The envelope's `event_type`.
    pub event_type: NotificationEventType,
    /// The envelope's `summary`.
    pub summary: String,
    /// The decrypted event.
    pub event: UserCardEvent,
    /// The fields of the envelope (`id`, …) and of the event (`resource.openid`, …) that were
    /// missing or unusable and were filled or left out (see [`models::Lenient`]); empty when
    /// everything matched. Worth a warning, never a rejection.
    ///
    /// [`models::Lenient`]: crate::models::Lenient
    #[serde(skip)]
    pub corrections: Vec<Correction>,
}

impl CardEvent {
    /// Whether a user opened a card (`MEMBERCARDSP.USER_CARD.CREATE` or
    /// `BRAND_MEMBER_CARD_SP.USER_CARD.CREATE`): confirm it with [`Client::confirm_user_card`],
    /// or it never becomes valid.
    pub fn is_create(&self) -> bool {
        self.event_type.is_create()
    }

    /// Whether a user deleted a card (`MEMBERCARDSP.USER_CARD.DELETE` or
    /// `BRAND_MEMBER_CARD_SP.USER_CARD.DELETE`).
    pub fn is_delete(&self) -> bool {
        self.event_type.is_delete()
    }
}

/// Which check a notification failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotificationErrorKind {
    /// The body is larger than the receiver accepts.
    TooLarge,
    /// The signature is missing, malformed, by an unknown key, or does not verify.
    Signature,
    /// A WeChat Pay probe signature (`WECHATPAY/SIGNTEST/`): unverified by design.
    ProbeSignature,
    /// `Wechatpay-Timestamp` is outside the window (in the past: a replay or a slow clock; or
    /// in the future).
    StaleTimestamp,
    /// The verified body is not a usable notification envelope.
    MalformedEnvelope,
    /// `resource.algorithm` is not `AEAD_AES_256_GCM`.
    UnsupportedAlgorithm,
    /// The resource does not decrypt with the APIv3 key (another key, or a changed resource).
    Decryption,
    /// The decrypted resource is not a usable card event.
    MalformedEvent,
}

impl NotificationErrorKind {
    /// A short description, as sent back to WeChat Pay in the answer's `message`.
    pub fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "notification body too large",
            Self::Signature => "signature verification failed",
            Self::ProbeSignature => "probe signature: not verified",
            Self::StaleTimestamp => "timestamp outside the allowed window",
            Self::MalformedEnvelope => "malformed notification",
            Self::UnsupportedAlgorithm => "unsupported resource algorithm",
            Self::Decryption => "resource decryption failed",
            Self::MalformedEvent => "malformed card event",
        }
    }
}

impl fmt::Display for NotificationErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// A notification that must not be acted on, and why. `Display` escapes the text that came
/// from the network ([`Untrusted`]); no variant carries a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// The body is over the receiver's limit.
    #[error("notification body of {len} bytes is over the {max} bytes accepted")]
    TooLarge {
        /// The body's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The signature check failed (including probe signatures and timestamps outside the
    /// window: see [`NotificationError::kind`]).
    #[error("notification signature: {}", Untrusted(&.0.to_string()))]
    Signature(VerifyError),
    /// The verified body is not a usable envelope (not JSON, not an object, no `id`, …).
    #[error("malformed notification: {}", Untrusted(.0))]
    MalformedEnvelope(String),
    /// `resource.algorithm` is another algorithm (the value received).
    #[error(
        "notification resource algorithm \"{}\" is not AEAD_AES_256_GCM",
        Untrusted(.0)
    )]
    UnsupportedAlgorithm(String),
    /// The resource did not decrypt.
    #[error("notification resource: {0}")]
    Decryption(CryptoError),
    /// The decrypted resource is not a usable card event.
    #[error("malformed card event: {}", Untrusted(.0))]
    MalformedEvent(String),
}

impl NotificationError {
    /// Which check failed.
    pub fn kind(&self) -> NotificationErrorKind {
        match self {
            Self::TooLarge { .. } => NotificationErrorKind::TooLarge,
            Self::Signature(VerifyError::ProbeSignature) => NotificationErrorKind::ProbeSignature,
            Self::Signature(
                VerifyError::StaleTimestamp { .. } | VerifyError::FutureTimestamp { .. },
            ) => NotificationErrorKind::StaleTimestamp,
            Self::Signature(_) => NotificationErrorKind::Signature,
            Self::MalformedEnvelope(_) => NotificationErrorKind::MalformedEnvelope,
            Self::UnsupportedAlgorithm(_) => NotificationErrorKind::UnsupportedAlgorithm,
            Self::Decryption(_) => NotificationErrorKind::Decryption,
            Self::MalformedEvent(_) => NotificationErrorKind::MalformedEvent,
        }
    }

    /// The HTTP status to answer with: 413 for a body too large, 401 when the signature (or
    /// its timestamp) failed, 400 otherwise. Always a 4xx, so that WeChat Pay retries.
    pub fn status(&self) -> u16 {
        match self.kind() {
            NotificationErrorKind::TooLarge => 413,
            NotificationErrorKind::Signature
            | NotificationErrorKind::ProbeSignature
            | NotificationErrorKind::StaleTimestamp => 401,
            _ => 400,
        }
    }
}

/// The answer to give WeChat Pay: see [`answer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The HTTP status: 200, or a 4xx.
    pub status: u16,
    /// The body: empty for 200, else `{"code":"FAIL","message":…}` (JSON, `application/json`).
    pub body: String,
}

impl Acknowledgement {
    /// Whether this acknowledges the notification (2xx): WeChat Pay will not send it again.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `Content-Type` of the body, if there is one.
    pub fn content_type(&self) -> Option<&'static str> {
        (!self.body.is_empty()).then_some("application/json")
    }
}

impl From<Acknowledgement> for (u16, String) {
    fn from(ack: Acknowledgement) -> Self {
        (ack.status, ack.body)
    }
}

/// The answer to a received notification, as the page asks: 200 with no body when it was
/// accepted; otherwise [`NotificationError::status`] (a 4xx) with
/// `{"code":"FAIL","message":…}`, the message being the failed check's
/// [description](NotificationErrorKind::description) (never the body or a key), so that WeChat
/// Pay sends it again.
pub fn answer<T>(result: &Result<T, NotificationError>) -> Acknowledgement {
    match result {
        Ok(_) => Acknowledgement {
            status: 200,
            body: String::new(),
        },
        Err(error) => Acknowledgement {
            status: error.status(),
            body: serde_json::json!({
                "code": "FAIL",
                "message": error.kind().description(),
            })
            .to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_api_v3_key_is_not_in_debug() {
        let key = "0123456789abcdefghijABCDEFGHIJ01";
        let receiver = NotificationReceiver::new(WechatPayKeySet::new(), key.parse().unwrap());
        let debug = format!("{receiver:?}");
        assert!(!debug.contains(key), "{debug}");
        assert!(debug.contains("ApiV3Key(<redacted>)"), "{debug}");
    }

    #[test]
    fn network_text_is_escaped_in_display() {
        let error = NotificationError::UnsupportedAlgorithm("X\u{1b}]0;t\u{7}".into());
        assert_eq!(
            error.to_string(),
            r#"notification resource algorithm "X\u{1b}]0;t\u{7}" is not AEAD_AES_256_GCM"#
        );
        let error =
            NotificationError::Signature(VerifyError::UnsupportedSignatureType("A\rB".into()));
        assert!(error.to_string().contains(r"A\rB"), "{error}");
    }

    #[test]
    fn every_error_is_a_4xx_fail() {
        let errors = [
            NotificationError::TooLarge { len: 2, max: 1 },
            NotificationError::Signature(VerifyError::ProbeSignature),
            NotificationError::MalformedEnvelope("x".into()),
            NotificationError::Decryption(CryptoError::AuthenticationFailed),
        ];
        for error in errors {
            let ack = answer::<()>(&Err(error.clone()));
            assert!((400..500).contains(&ack.status), "{error}");
            assert!(!ack.is_success());
            let body: serde_json::Value = serde_json::from_str(&ack.body).unwrap();
            assert_eq!(body["code"], "FAIL");
            assert_eq!(body["message"], error.kind().description());
        }
        let ok = answer::<()>(&Ok(()));
        assert_eq!((ok.status, ok.body.as_str()), (200, ""));
        assert_eq!(ok.content_type(), None);
    }
}
