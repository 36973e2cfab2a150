//! [`SensitiveEncryptor`]: RSAES-OAEP-SHA1 encryption of sensitive field values, with the id of
//! the key used.

use std::fmt;

use crate::error::{CryptoError, KeyError};
use crate::ids;
use crate::keys::PublicKey;

/// Encrypts sensitive field values with one key and says which: the merchant encrypts request
/// fields with WeChat Pay's key (take one from [`WechatPayKeySet::encryptor`](crate::WechatPayKeySet::encryptor)
/// per request, so that every field and `Wechatpay-Serial` agree); WeChat Pay's side encrypts
/// response fields with the merchant certificate's key.
#[derive(Clone)]
pub struct SensitiveEncryptor {
    key_id: String,
    key: PublicKey,
}

/// A sensitive value encrypted by [`SensitiveEncryptor::encrypt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedValue {
    /// RSAES-OAEP (SHA-1, MGF1-SHA-1) ciphertext, standard base64.
    pub ciphertext: String,
    /// The id of the key used (`PUB_KEY_ID_…` or a certificate serial): the request's
    /// `Wechatpay-Serial`.
    pub key_id: String,
}

impl SensitiveEncryptor {
    /// Encrypts with `key`, known to the receiver as `key_id` (a WeChat Pay public key id or a
    /// certificate serial number).
    ///
    /// # Errors
    /// [`KeyError::InvalidIdentifier`] unless `key_id` is 1 to 64 letters, digits or `_`.
    pub fn new(key_id: impl Into<String>, key: PublicKey) -> Result<Self, KeyError> {
        let key_id = key_id.into();
        ids::check_key_id(&key_id)?;
        Ok(Self { key_id, key })
    }

    pub(crate) fn from_parts(key_id: &str, key: &PublicKey) -> Self {
        Self {
            key_id: key_id.to_owned(),
            key: key.clone(),
        }
    }

    /// The id of the key: what `Wechatpay-Serial` must say.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Encrypts one value (at most 214 bytes of UTF-8 with an RSA-2048 key).
    ///
    /// # Errors
    /// [`CryptoError::PlaintextTooLong`] past the limit; [`CryptoError::Encryption`] if the
    /// backend fails.
    pub fn encrypt(&self, plaintext: &str) -> Result<EncryptedValue, CryptoError> {
        Ok(EncryptedValue {
            ciphertext: self.key.encrypt(plaintext.as_bytes())?,
            key_id: self.key_id.clone(),
        })
    }
}

impl fmt::Debug for SensitiveEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SensitiveEncryptor")
            .field("key_id", &self.key_id)
            .field("key", &self.key)
            .finish()
    }
}
