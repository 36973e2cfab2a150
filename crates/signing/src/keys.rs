//! RSA keys: [`PrivateKey`] and [`PublicKey`], loaded once and then shared cheaply.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::{Zeroize, Zeroizing};

use crate::backend::{Backend, Selected, SelectedPrivateKey, SelectedPublicKey};
use crate::error::{CryptoError, KeyError};
use crate::formats::{self, PrivateKeyDer, PublicKeyDer};
use crate::pem;

/// OAEP with SHA-1 takes 2 × 20 + 2 bytes of the modulus for its padding.
const OAEP_SHA1_OVERHEAD: usize = 42;

/// An RSA private key (2048 to 8192 bits): the merchant API key, or WeChat Pay's in a test
/// server. Cloning shares the key.
///
/// The key material lives only inside the backend (aws-lc frees and cleanses it in C; `rsa`
/// zeroizes it on drop); the PEM and DER buffers used to load it are zeroized. `Debug` shows
/// the size, never the key.
#[derive(Clone)]
pub struct PrivateKey {
    inner: Arc<PrivateKeyInner>,
}

struct PrivateKeyInner {
    key: SelectedPrivateKey,
    public: PublicKey,
}

impl PrivateKey {
    /// Loads a private key from PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`, as WeChat Pay's
    /// certificate tool writes `apiclient_key.pem`) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`KeyError`] when the text is not PEM, holds something else (a certificate, an EC or
    /// encrypted key), is malformed, or the key is under 2048 bits.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::private_key_from_pem(pem)?)
    }

    /// Loads a private key from PKCS#8 DER.
    ///
    /// # Errors
    /// As [`PrivateKey::from_pem`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::private_key_from_pkcs8(der)?)
    }

    /// Loads a private key from PKCS#1 `RSAPrivateKey` DER.
    ///
    /// # Errors
    /// As [`PrivateKey::from_pem`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::private_key_from_pkcs1(der)?)
    }

    /// Generates a new RSA-2048 key (public exponent 65537) from the OS random generator.
    ///
    /// # Errors
    /// [`CryptoError::KeyGeneration`] if the backend fails.
    pub fn generate() -> Result<Self, CryptoError> {
        let pkcs8 = Selected::generate_rsa2048_pkcs8().map_err(|_| CryptoError::KeyGeneration)?;
        Self::from_pkcs8_der(&pkcs8).map_err(|_| CryptoError::KeyGeneration)
    }

    fn from_der_parts(der: PrivateKeyDer) -> Result<Self, KeyError> {
        let expected = formats::EXPECTED_PRIVATE_KEY;
        let key = Selected::private_key_from_pkcs8(&der.pkcs8)
            .map_err(|_| KeyError::Rejected { expected })?;
        let public = PublicKey::from_der_parts(der.public)?;
        Ok(Self {
            inner: Arc::new(PrivateKeyInner { key, public }),
        })
    }

    /// Exports the key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), in a buffer zeroized on drop.
    ///
    /// # Errors
    /// [`CryptoError::KeyGeneration`] if the backend cannot export it.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CryptoError> {
        let der = Selected::private_key_to_pkcs8(&self.inner.key)
            .map_err(|_| CryptoError::KeyGeneration)?;
        pem::encode("PRIVATE KEY", &der)
            .map(Zeroizing::new)
            .ok_or(CryptoError::KeyGeneration)
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.inner.public
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.inner.public.bits()
    }

    /// Decrypts a base64 RSAES-OAEP (SHA-1, MGF1-SHA-1) ciphertext into text.
    ///
    /// # Errors
    /// [`CryptoError::CiphertextNotBase64`], [`CryptoError::DecryptionFailed`] (another key or a
    /// damaged ciphertext) or [`CryptoError::PlaintextNotUtf8`].
    pub fn decrypt(&self, ciphertext_base64: &str) -> Result<Zeroizing<String>, CryptoError> {
        let ciphertext = BASE64
            .decode(ciphertext_base64)
            .map_err(|_| CryptoError::CiphertextNotBase64)?;
        let mut plaintext = Selected::decrypt_oaep_sha1(&self.inner.key, &ciphertext)
            .map_err(|_| CryptoError::DecryptionFailed)?;
        match String::from_utf8(std::mem::take(&mut *plaintext)) {
            Ok(text) => Ok(Zeroizing::new(text)),
            Err(error) => {
                error.into_bytes().zeroize();
                Err(CryptoError::PlaintextNotUtf8)
            }
        }
    }

    /// SHA256withRSA over `message`, base64.
    pub(crate) fn sign_base64(&self, message: &[u8]) -> Result<String, CryptoError> {
        let signature =
            Selected::sign_sha256(&self.inner.key, message).map_err(|_| CryptoError::Signing)?;
        Ok(BASE64.encode(signature))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(<redacted RSA-{} private key>)", self.bits())
    }
}

/// An RSA public key (2048 to 8192 bits), parsed once at load. Cloning shares it.
#[derive(Clone)]
pub struct PublicKey {
    inner: Arc<PublicKeyInner>,
}

struct PublicKeyInner {
    key: SelectedPublicKey,
    der: PublicKeyDer,
}

impl PublicKey {
    /// Loads a public key from PEM: SPKI (`-----BEGIN PUBLIC KEY-----`, the form of WeChat Pay's
    /// public key), PKCS#1 (`-----BEGIN RSA PUBLIC KEY-----`) or the key of a certificate
    /// (`-----BEGIN CERTIFICATE-----`, not checked for validity).
    ///
    /// # Errors
    /// [`KeyError`] when the text is not PEM, holds something else, is malformed, is not RSA or
    /// is under 2048 bits.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::public_key_from_pem(pem)?)
    }

    /// Loads a public key from SPKI DER.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::public_key_from_spki(der)?)
    }

    /// Loads a public key from PKCS#1 `RSAPublicKey` DER.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::public_key_from_pkcs1(der)?)
    }

    pub(crate) fn from_der_parts(der: PublicKeyDer) -> Result<Self, KeyError> {
        let expected = formats::EXPECTED_PUBLIC_KEY;
        let key = Selected::public_key_from_spki(&der.spki)
            .map_err(|_| KeyError::Rejected { expected })?;
        Ok(Self {
            inner: Arc::new(PublicKeyInner { key, der }),
        })
    }

    /// The key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_spki_pem(&self) -> String {
        // Encoding a DER buffer of at most a few kilobytes under a fixed label cannot fail.
        pem::encode("PUBLIC KEY", &self.inner.der.spki).unwrap_or_default()
    }

    /// The key as SPKI DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.inner.der.spki
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.inner.der.bits
    }

    /// The longest plaintext RSAES-OAEP-SHA1 can encrypt with this key: 214 bytes for RSA-2048.
    pub fn max_plaintext_len(&self) -> usize {
        self.bits().div_ceil(8).saturating_sub(OAEP_SHA1_OVERHEAD)
    }

    /// Encrypts `plaintext` with RSAES-OAEP (SHA-1, MGF1-SHA-1, random padding), base64.
    ///
    /// # Errors
    /// [`CryptoError::PlaintextTooLong`] over [`PublicKey::max_plaintext_len`] bytes;
    /// [`CryptoError::Encryption`] if the backend fails.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, CryptoError> {
        let max = self.max_plaintext_len();
        if plaintext.len() > max {
            return Err(CryptoError::PlaintextTooLong {
                len: plaintext.len(),
                max,
            });
        }
        let ciphertext = Selected::encrypt_oaep_sha1(&self.inner.key, plaintext)
            .map_err(|_| CryptoError::Encryption)?;
        Ok(BASE64.encode(ciphertext))
    }

    /// Checks a SHA256withRSA signature (raw bytes) over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Selected::verify_sha256(&self.inner.key, message, signature)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.inner.der == other.inner.der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(RSA-{})", self.bits())
    }
}
