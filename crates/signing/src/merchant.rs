//! [`MerchantSigner`]: the merchant's request signatures and decryption of response fields.

use std::fmt;

use zeroize::Zeroizing;

use crate::certificate::MerchantCertificate;
use crate::clock::unix_now;
use crate::error::{CryptoError, KeyError};
use crate::header::SIGNATURE_SCHEME;
use crate::ids;
use crate::keys::{PrivateKey, PublicKey};
use crate::message::request_message;
use crate::nonce::{check_nonce, new_nonce};

/// The merchant's identity and API private key: signs requests (the `Authorization` header)
/// and decrypts the sensitive fields of responses. Cloning shares the key.
#[derive(Clone)]
pub struct MerchantSigner {
    mchid: String,
    serial: String,
    key: PrivateKey,
}

impl MerchantSigner {
    /// A signer for merchant `mchid` whose API certificate has serial number `serial` (hex,
    /// stored in uppercase).
    ///
    /// # Errors
    /// [`KeyError::InvalidIdentifier`] unless `mchid` is 1 to 32 letters and digits and
    /// `serial` 1 to 64 hex digits.
    pub fn new(mchid: impl Into<String>, serial: &str, key: PrivateKey) -> Result<Self, KeyError> {
        let mchid = mchid.into();
        ids::check_mchid(&mchid)?;
        let serial = ids::normalize_serial(serial)?;
        Ok(Self { mchid, serial, key })
    }

    /// A signer whose serial number is read from the merchant API certificate, after checking
    /// that `key` is the certificate's private key.
    ///
    /// # Errors
    /// [`KeyError::CertificateKeyMismatch`], or as [`MerchantSigner::new`].
    pub fn from_certificate(
        mchid: impl Into<String>,
        certificate: &MerchantCertificate,
        key: PrivateKey,
    ) -> Result<Self, KeyError> {
        if key.public_key() != certificate.public_key() {
            return Err(KeyError::CertificateKeyMismatch {
                serial: certificate.serial().to_owned(),
            });
        }
        Self::new(mchid, certificate.serial(), key)
    }

    /// The merchant id.
    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    /// The merchant API certificate's serial number (uppercase hex).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The public half of the merchant key.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The `Authorization` header value for a request, with the current time and a fresh
    /// 32-character nonce from the OS random generator.
    ///
    /// `url` is the path and query exactly as sent (percent-encoding included, no host);
    /// `body` the exact bytes sent (empty for a GET).
    ///
    /// # Errors
    /// [`CryptoError::Random`] or [`CryptoError::Signing`] if the backend fails.
    pub fn authorization(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> Result<String, CryptoError> {
        self.authorization_at(method, url, body, unix_now(), &new_nonce()?)
    }

    /// [`MerchantSigner::authorization`] with a given timestamp (Unix seconds) and nonce.
    ///
    /// # Errors
    /// [`CryptoError::InvalidNonce`] unless `nonce` is 1 to 64 printable ASCII characters
    /// without `"` or `\`; [`CryptoError::Signing`] if the backend fails.
    pub fn authorization_at(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
        timestamp: u64,
        nonce: &str,
    ) -> Result<String, CryptoError> {
        check_nonce(nonce)?;
        let timestamp = timestamp.to_string();
        let signature = self
            .key
            .sign_base64(&request_message(method, url, &timestamp, nonce, body))?;
        Ok(format!(
            "{SIGNATURE_SCHEME} mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{}\",signature=\"{signature}\"",
            self.mchid, self.serial
        ))
    }

    /// Decrypts a sensitive response field encrypted for the merchant.
    ///
    /// # Errors
    /// As [`PrivateKey::decrypt`].
    pub fn decrypt(&self, ciphertext_base64: &str) -> Result<Zeroizing<String>, CryptoError> {
        self.key.decrypt(ciphertext_base64)
    }
}

impl fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantSigner")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .field(
                "key",
                &format_args!("<redacted RSA-{} private key>", self.key.bits()),
            )
            .finish()
    }
}
