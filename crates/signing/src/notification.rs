//! Notifications (callbacks): [`ApiV3Key`] decrypts the `resource` of a notification (and
//! encrypts one, for a test server); [`NotificationVerifier`] checks its signature.
//!
//! A notification is a POST from WeChat Pay to the merchant's notify URL whose JSON body is
//! `{id, create_time, event_type, resource_type: "encrypt-resource", summary, resource}`, with
//! `resource` = `{original_type, algorithm: "AEAD_AES_256_GCM", ciphertext, associated_data,
//! nonce}`. The receiver first verifies the signature over the raw body, exactly as for an
//! answer, then decrypts `resource` with AES-256-GCM:
//!
//! - key: the APIv3 key, the 32 characters the merchant set in the merchant platform, as bytes;
//! - nonce: the bytes of the `nonce` string, which must be 12 bytes long;
//! - associated data: the bytes of the `associated_data` string (absent means empty);
//! - `ciphertext`: standard base64 of the encrypted bytes followed by the 16-byte tag.
//!
//! The plaintext is the event as UTF-8 JSON.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use crate::backend::{Backend, Selected};
use crate::error::{CryptoError, KeyError, VerifyError};
use crate::key_set::WechatPayKeySet;
use crate::nonce;
use crate::verifier::{ResponseHeaders, ResponseVerifier};

/// The `resource.algorithm` this crate decrypts: `AEAD_AES_256_GCM`.
pub const RESOURCE_ALGORITHM: &str = "AEAD_AES_256_GCM";
/// The length of an APIv3 key, in bytes.
pub const API_V3_KEY_LEN: usize = 32;
/// The length of a resource's `nonce`, in bytes.
pub const RESOURCE_NONCE_LEN: usize = 12;
/// The longest `resource.ciphertext` accepted, in base64 characters (1 MiB). A card event is
/// well under 4 KiB; the limit only keeps a hostile body from costing unbounded memory.
pub const MAX_RESOURCE_CIPHERTEXT_LEN: usize = 1 << 20;
/// The longest plaintext [`ApiV3Key::encrypt_resource`] accepts: the most whose ciphertext
/// (with its tag, in base64) still fits in [`MAX_RESOURCE_CIPHERTEXT_LEN`].
pub const MAX_RESOURCE_PLAINTEXT_LEN: usize = MAX_RESOURCE_CIPHERTEXT_LEN / 4 * 3 - TAG_LEN;
/// The AES-GCM tag that ends the decoded ciphertext.
const TAG_LEN: usize = 16;

/// The APIv3 key: 32 bytes, the AES-256-GCM key of notification resources (and of the
/// certificate download's resources).
///
/// A secret: its bytes are zeroized when the last clone is dropped, `Debug` prints
/// `ApiV3Key(<redacted>)`, there is no `Display`, and no error carries it. Cloning shares it.
///
/// ```
/// use wechatpay_signing::ApiV3Key;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key: ApiV3Key = "0123456789abcdefghijABCDEFGHIJ01".parse()?;
/// assert_eq!(format!("{key:?}"), "ApiV3Key(<redacted>)");
///
/// // A test server encrypts an event; the merchant decrypts the notification's resource.
/// let nonce = ApiV3Key::new_resource_nonce()?;
/// let ciphertext = key.encrypt_resource(br#"{"event":"test"}"#, &nonce, "user_card")?;
/// let plaintext = key.decrypt_resource(&ciphertext, &nonce, "user_card")?;
/// assert_eq!(plaintext.as_slice(), br#"{"event":"test"}"#);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ApiV3Key {
    bytes: Arc<Zeroizing<[u8; API_V3_KEY_LEN]>>,
}

impl ApiV3Key {
    /// The key from its bytes: exactly [`API_V3_KEY_LEN`] (32). The caller's copy is its own
    /// to zeroize.
    ///
    /// # Errors
    /// [`KeyError::ApiV3KeyLength`], naming the length (never the value).
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let key = key.as_ref();
        if key.len() != API_V3_KEY_LEN {
            return Err(KeyError::ApiV3KeyLength { len: key.len() });
        }
        // Filled in place on the heap, so that no copy is left behind on the stack.
        let mut bytes = Arc::new(Zeroizing::new([0; API_V3_KEY_LEN]));
        if let Some(slot) = Arc::get_mut(&mut bytes) {
            slot.copy_from_slice(key);
        }
        Ok(Self { bytes })
    }

    /// Decrypts a notification's `resource`: `ciphertext` (base64 of the encrypted bytes and
    /// the 16-byte tag), `nonce` and `associated_data` (pass `""` when it is absent), as the
    /// strings of the JSON body. Returns the plaintext (UTF-8 JSON, not checked here) in a
    /// buffer zeroized on drop.
    ///
    /// # Errors
    /// - [`CryptoError::ResourceTooLarge`]: `ciphertext` over [`MAX_RESOURCE_CIPHERTEXT_LEN`];
    /// - [`CryptoError::ResourceNonceLength`]: `nonce` is not 12 bytes;
    /// - [`CryptoError::CiphertextNotBase64`]: `ciphertext` is not standard base64;
    /// - [`CryptoError::CiphertextTooShort`]: fewer bytes than the tag;
    /// - [`CryptoError::AuthenticationFailed`]: another APIv3 key, or a changed ciphertext,
    ///   nonce or `associated_data`.
    pub fn decrypt_resource(
        &self,
        ciphertext: &str,
        nonce: &str,
        associated_data: &str,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if ciphertext.len() > MAX_RESOURCE_CIPHERTEXT_LEN {
            return Err(CryptoError::ResourceTooLarge {
                what: "ciphertext (base64)",
                len: ciphertext.len(),
                max: MAX_RESOURCE_CIPHERTEXT_LEN,
            });
        }
        let nonce = resource_nonce(nonce)?;
        let sealed = BASE64
            .decode(ciphertext)
            .map_err(|_| CryptoError::CiphertextNotBase64)?;
        if sealed.len() < TAG_LEN {
            return Err(CryptoError::CiphertextTooShort { len: sealed.len() });
        }
        Selected::aes256_gcm_open(&self.bytes, nonce, associated_data.as_bytes(), &sealed)
            .map_err(|_| CryptoError::AuthenticationFailed)
    }

    /// Encrypts `plaintext` as a notification's `resource.ciphertext` (base64 of the encrypted
    /// bytes and the tag), with `nonce` and `associated_data` sent beside it. For a test
    /// server: a nonce must never be used twice with the same key, so take a fresh one from
    /// [`ApiV3Key::new_resource_nonce`] each time.
    ///
    /// # Errors
    /// [`CryptoError::ResourceTooLarge`] over [`MAX_RESOURCE_PLAINTEXT_LEN`];
    /// [`CryptoError::ResourceNonceLength`] unless `nonce` is 12 bytes;
    /// [`CryptoError::ResourceEncryption`] if the backend fails.
    pub fn encrypt_resource(
        &self,
        plaintext: &[u8],
        nonce: &str,
        associated_data: &str,
    ) -> Result<String, CryptoError> {
        if plaintext.len() > MAX_RESOURCE_PLAINTEXT_LEN {
            return Err(CryptoError::ResourceTooLarge {
                what: "plaintext",
                len: plaintext.len(),
                max: MAX_RESOURCE_PLAINTEXT_LEN,
            });
        }
        let nonce = resource_nonce(nonce)?;
        let sealed =
            Selected::aes256_gcm_seal(&self.bytes, nonce, associated_data.as_bytes(), plaintext)
                .map_err(|_| CryptoError::ResourceEncryption)?;
        Ok(BASE64.encode(sealed))
    }

    /// A fresh resource nonce: 12 characters from `[0-9A-Za-z]` (about 71 bits) from the OS
    /// random generator, as WeChat Pay's own nonces look.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the generator fails.
    pub fn new_resource_nonce() -> Result<String, CryptoError> {
        nonce::alphanumeric::<RESOURCE_NONCE_LEN>()
    }
}

/// The nonce's bytes, which must be exactly 12.
fn resource_nonce(nonce: &str) -> Result<&[u8; RESOURCE_NONCE_LEN], CryptoError> {
    nonce
        .as_bytes()
        .try_into()
        .map_err(|_| CryptoError::ResourceNonceLength { len: nonce.len() })
}

impl FromStr for ApiV3Key {
    type Err = KeyError;

    /// The key from the 32-character string set in the merchant platform (its bytes, as is:
    /// nothing is trimmed). The caller's string is its own to zeroize.
    fn from_str(key: &str) -> Result<Self, KeyError> {
        Self::new(key.as_bytes())
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

/// Verifies a notification's signature: the same rule as an answer's, so this is a
/// [`ResponseVerifier`] under the name a notify handler looks for, and every check and error is
/// the same (see [`ResponseVerifier::verify_at`]).
///
/// The headers are `Wechatpay-Timestamp`, `-Nonce`, `-Signature`, `-Serial` and
/// `-Signature-Type` (read them with [`ResponseHeaders::from_lookup`]); the signed message is
/// `TIMESTAMP\nNONCE\nBODY\n` over the body bytes exactly as received, before any parsing; the
/// key is the one of the [`WechatPayKeySet`] named by `Wechatpay-Serial`; the timestamp must be
/// within 300 s (by default) of local time. A probe signature (`WECHATPAY/SIGNTEST/…`) fails with
/// [`VerifyError::ProbeSignature`]. On any error, do not decrypt or act on the body: answer with
/// an error status (`{"code": "FAIL", "message": "…"}`), and WeChat Pay sends it again later.
///
/// ```
/// use wechatpay_signing::{
///     ApiV3Key, NotificationVerifier, PrivateKey, WechatPayKeySet, WechatPaySigner,
///     WechatPayPublicKey,
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # const KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";
/// # let wechatpay = WechatPaySigner::new(
/// #     KEY_ID,
/// #     PrivateKey::from_pem(include_str!("../tests/fixtures/wechatpay_key.pem"))?,
/// # )?;
/// # let api_v3_key: ApiV3Key = "0123456789abcdefghijABCDEFGHIJ01".parse()?;
/// # let nonce = ApiV3Key::new_resource_nonce()?;
/// # let ciphertext = api_v3_key.encrypt_resource(br#"{"card_id":"c"}"#, &nonce, "")?;
/// # let body = format!(
/// #     r#"{{"id":"1","resource":{{"algorithm":"AEAD_AES_256_GCM","ciphertext":"{ciphertext}","associated_data":"","nonce":"{nonce}"}}}}"#
/// # );
/// # let signature = wechatpay.sign_response(body.as_bytes())?;
/// let keys = WechatPayKeySet::new().with_public_key(WechatPayPublicKey::from_pem(
///     KEY_ID,
///     include_str!("../tests/fixtures/wechatpay_pub.pem"),
/// )?);
/// let verifier = NotificationVerifier::new(keys);
///
/// // The POST as received: its headers and raw body. Verify first, then parse and decrypt.
/// verifier.verify(&signature.as_response_headers(), body.as_bytes())?;
/// # let (ciphertext, nonce, associated_data) = (ciphertext.as_str(), nonce.as_str(), "");
/// // … parse the body, then with `resource`'s three strings:
/// let event = api_v3_key.decrypt_resource(ciphertext, nonce, associated_data)?;
/// assert_eq!(event.as_slice(), br#"{"card_id":"c"}"#);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct NotificationVerifier {
    inner: ResponseVerifier,
}

impl NotificationVerifier {
    /// A verifier with the [`DEFAULT_WINDOW`](crate::DEFAULT_WINDOW) of 300 s.
    pub fn new(keys: WechatPayKeySet) -> Self {
        Self {
            inner: ResponseVerifier::new(keys),
        }
    }

    /// Sets how far `Wechatpay-Timestamp` may be from local time (whole seconds).
    #[must_use]
    pub fn with_window(self, window: Duration) -> Self {
        Self {
            inner: self.inner.with_window(window),
        }
    }

    /// The allowed distance from local time.
    pub fn window(&self) -> Duration {
        self.inner.window()
    }

    /// The key set (a handle: updating it updates this verifier).
    pub fn keys(&self) -> &WechatPayKeySet {
        self.inner.keys()
    }

    /// Verifies a notification against the current time.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the body must not be trusted, as
    /// [`ResponseVerifier::verify_at`].
    pub fn verify(&self, headers: &ResponseHeaders<'_>, body: &[u8]) -> Result<(), VerifyError> {
        self.inner.verify(headers, body)
    }

    /// Verifies a notification as if the local time were `now` (Unix seconds).
    ///
    /// # Errors
    /// As [`ResponseVerifier::verify_at`].
    pub fn verify_at(
        &self,
        headers: &ResponseHeaders<'_>,
        body: &[u8],
        now: u64,
    ) -> Result<(), VerifyError> {
        self.inner.verify_at(headers, body, now)
    }
}

impl From<ResponseVerifier> for NotificationVerifier {
    /// A notification verifier with the same keys and window.
    fn from(inner: ResponseVerifier) -> Self {
        Self { inner }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

    #[test]
    fn key_length_is_checked_and_never_shown() {
        assert!(ApiV3Key::new(KEY).is_ok());
        assert!(KEY.parse::<ApiV3Key>().is_ok());
        let error = format!("{KEY}\n").parse::<ApiV3Key>().unwrap_err();
        assert_eq!(error, KeyError::ApiV3KeyLength { len: 33 });
        assert!(!error.to_string().contains(KEY));
        assert_eq!(
            ApiV3Key::new(&KEY[..31]).unwrap_err(),
            KeyError::ApiV3KeyLength { len: 31 }
        );
        assert_eq!(
            ApiV3Key::new([]).unwrap_err(),
            KeyError::ApiV3KeyLength { len: 0 }
        );
        let key = ApiV3Key::new(KEY).unwrap();
        assert_eq!(format!("{key:?}"), "ApiV3Key(<redacted>)");
        assert_eq!(format!("{:#?}", key.clone()), "ApiV3Key(<redacted>)");
        assert_eq!(key.bytes.as_slice(), KEY.as_bytes());
    }

    #[test]
    fn nonces_are_12_alphanumerics() {
        let a = ApiV3Key::new_resource_nonce().unwrap();
        assert_eq!(a.len(), RESOURCE_NONCE_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, ApiV3Key::new_resource_nonce().unwrap());
    }

    #[test]
    fn the_plaintext_limit_fits_the_ciphertext_limit() {
        let key = ApiV3Key::new(KEY).unwrap();
        let at_limit = vec![b'x'; MAX_RESOURCE_PLAINTEXT_LEN];
        let ciphertext = key.encrypt_resource(&at_limit, "abcdefghijkl", "").unwrap();
        assert!(ciphertext.len() <= MAX_RESOURCE_CIPHERTEXT_LEN);
        assert_eq!(
            *key.decrypt_resource(&ciphertext, "abcdefghijkl", "")
                .unwrap(),
            at_limit
        );
        let over = vec![b'x'; MAX_RESOURCE_PLAINTEXT_LEN + 1];
        assert_eq!(
            key.encrypt_resource(&over, "abcdefghijkl", "").unwrap_err(),
            CryptoError::ResourceTooLarge {
                what: "plaintext",
                len: MAX_RESOURCE_PLAINTEXT_LEN + 1,
                max: MAX_RESOURCE_PLAINTEXT_LEN
            }
        );
    }
}
