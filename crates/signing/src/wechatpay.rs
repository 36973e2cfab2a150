//! [`WechatPaySigner`]: WeChat Pay's side of a response, for a test server or a stand-in.

use std::fmt;

use zeroize::Zeroizing;

use crate::clock::unix_now;
use crate::error::{CryptoError, KeyError};
use crate::header::{self, SIGNATURE_SCHEME};
use crate::ids;
use crate::keys::{PrivateKey, PublicKey};
use crate::message::response_message;
use crate::nonce::{check_nonce, new_nonce};
use crate::verifier::ResponseHeaders;

/// WeChat Pay's private key with the id merchants know it by (a `PUB_KEY_ID_…` or a platform
/// certificate serial): signs responses and decrypts the sensitive fields of requests.
/// Cloning shares the key.
#[derive(Clone)]
pub struct WechatPaySigner {
    key_id: String,
    key: PrivateKey,
}

/// The signature headers of a response, as [`WechatPaySigner::sign_response`] makes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSignature {
    /// `Wechatpay-Timestamp`: Unix seconds.
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature`: base64.
    pub signature: String,
    /// `Wechatpay-Serial`: the signing key's id.
    pub serial: String,
}

impl ResponseSignature {
    /// `Wechatpay-Signature-Type`: always `WECHATPAY2-SHA256-RSA2048`.
    pub fn signature_type(&self) -> &'static str {
        SIGNATURE_SCHEME
    }

    /// The five headers to send, as (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, &str); 5] {
        [
            (header::TIMESTAMP, &self.timestamp),
            (header::NONCE, &self.nonce),
            (header::SIGNATURE, &self.signature),
            (header::SERIAL, &self.serial),
            (header::SIGNATURE_TYPE, SIGNATURE_SCHEME),
        ]
    }

    /// The same values as the [`ResponseHeaders`] a client would read.
    pub fn as_response_headers(&self) -> ResponseHeaders<'_> {
        ResponseHeaders {
            timestamp: Some(&self.timestamp),
            nonce: Some(&self.nonce),
            signature: Some(&self.signature),
            serial: Some(&self.serial),
            signature_type: Some(SIGNATURE_SCHEME),
        }
    }
}

impl WechatPaySigner {
    /// A signer known to merchants as `key_id`.
    ///
    /// # Errors
    /// [`KeyError::InvalidIdentifier`] unless `key_id` is 1 to 64 letters, digits or `_`.
    pub fn new(key_id: impl Into<String>, key: PrivateKey) -> Result<Self, KeyError> {
        let key_id = key_id.into();
        ids::check_key_id(&key_id)?;
        Ok(Self { key_id, key })
    }

    /// The id responses are signed under (`Wechatpay-Serial`).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half: what merchants verify with and encrypt to.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// Signs a response body (the exact bytes sent; empty for 204) with the current time and a
    /// fresh nonce.
    ///
    /// # Errors
    /// [`CryptoError::Random`] or [`CryptoError::Signing`] if the backend fails.
    pub fn sign_response(&self, body: &[u8]) -> Result<ResponseSignature, CryptoError> {
        self.sign_response_at(body, unix_now(), &new_nonce()?)
    }

    /// [`WechatPaySigner::sign_response`] with a given timestamp (Unix seconds) and nonce.
    ///
    /// # Errors
    /// [`CryptoError::InvalidNonce`] unless `nonce` is 1 to 64 printable ASCII characters
    /// without `"` or `\`; [`CryptoError::Signing`] if the backend fails.
    pub fn sign_response_at(
        &self,
        body: &[u8],
        timestamp: u64,
        nonce: &str,
    ) -> Result<ResponseSignature, CryptoError> {
        check_nonce(nonce)?;
        let timestamp = timestamp.to_string();
        let signature = self
            .key
            .sign_base64(&response_message(&timestamp, nonce, body))?;
        Ok(ResponseSignature {
            timestamp,
            nonce: nonce.to_owned(),
            signature,
            serial: self.key_id.clone(),
        })
    }

    /// Decrypts a sensitive request field encrypted with WeChat Pay's key.
    ///
    /// # Errors
    /// As [`PrivateKey::decrypt`].
    pub fn decrypt(&self, ciphertext_base64: &str) -> Result<Zeroizing<String>, CryptoError> {
        self.key.decrypt(ciphertext_base64)
    }
}

impl fmt::Debug for WechatPaySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatPaySigner")
            .field("key_id", &self.key_id)
            .field(
                "key",
                &format_args!("<redacted RSA-{} private key>", self.key.bits()),
            )
            .finish()
    }
}
