//! The two implementations behind the public types (RSA, and AES-256-GCM for notifications),
//! each behind one small trait.
//!
//! Both receive keys already checked and normalised by the pure-Rust format layer (PKCS#8 DER for
//! private keys, SPKI DER for public keys), so they only do arithmetic. The module depends on
//! nothing else in the crate: the benchmarks compile it on its own to measure each backend.

#[cfg(feature = "aws-lc")]
pub(crate) mod aws_lc;
// With both features the public API uses aws-lc; rust-crypto is still compiled, for the
// cross-backend tests and the benchmarks.
#[cfg(feature = "rust-crypto")]
#[cfg_attr(all(feature = "aws-lc", not(test)), allow(dead_code))]
pub(crate) mod rust_crypto;

use zeroize::Zeroizing;

/// What went wrong inside a backend, without detail: RSA errors must not become an oracle
/// (which padding check failed, say), and the public error says what the caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackendError;

/// One implementation: PKCS#1 v1.5 SHA-256 signatures, OAEP (SHA-1, MGF1-SHA-1) encryption,
/// RSA-2048 key generation, AES-256-GCM and the OS random generator.
pub(crate) trait Backend {
    /// Name used in benchmarks and docs: `aws-lc` or `rust-crypto`.
    const NAME: &'static str;
    /// A private key ready to sign and decrypt.
    type PrivateKey: Send + Sync + 'static;
    /// A public key ready to verify and encrypt, parsed once.
    type PublicKey: Send + Sync + 'static;

    /// Loads a PKCS#8 (v1) DER RSA private key.
    fn private_key_from_pkcs8(pkcs8_der: &[u8]) -> Result<Self::PrivateKey, BackendError>;
    /// Loads an SPKI DER RSA public key.
    fn public_key_from_spki(spki_der: &[u8]) -> Result<Self::PublicKey, BackendError>;
    /// Generates an RSA-2048 private key (e = 65537), returned as PKCS#8 DER.
    fn generate_rsa2048_pkcs8() -> Result<Zeroizing<Vec<u8>>, BackendError>;
    /// Exports a private key as PKCS#8 DER.
    fn private_key_to_pkcs8(key: &Self::PrivateKey) -> Result<Zeroizing<Vec<u8>>, BackendError>;
    /// SHA256withRSA (RSASSA-PKCS1-v1_5): deterministic.
    fn sign_sha256(key: &Self::PrivateKey, message: &[u8]) -> Result<Vec<u8>, BackendError>;
    /// Checks a SHA256withRSA signature.
    fn verify_sha256(key: &Self::PublicKey, message: &[u8], signature: &[u8]) -> bool;
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1, empty label.
    fn encrypt_oaep_sha1(key: &Self::PublicKey, plaintext: &[u8]) -> Result<Vec<u8>, BackendError>;
    /// The inverse of [`Backend::encrypt_oaep_sha1`].
    fn decrypt_oaep_sha1(
        key: &Self::PrivateKey,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError>;
    /// AES-256-GCM with a 96-bit nonce and a 128-bit tag: the encrypted bytes followed by the tag.
    fn aes256_gcm_seal(
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError>;
    /// The inverse of [`Backend::aes256_gcm_seal`]: fails, without detail, unless the tag
    /// authenticates the ciphertext and `aad` under `key` and `nonce`.
    fn aes256_gcm_open(
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError>;
    /// Fills `buf` from the operating system's random generator.
    fn fill_random(buf: &mut [u8]) -> Result<(), BackendError>;
}

/// The backend the public API uses: aws-lc whenever it is compiled in.
#[cfg(feature = "aws-lc")]
pub(crate) type Selected = aws_lc::AwsLc;
/// The backend the public API uses: aws-lc whenever it is compiled in.
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
pub(crate) type Selected = rust_crypto::RustCrypto;

/// Without a backend the crate stops at the `compile_error!` in lib.rs; this stand-in only keeps
/// that message from being buried under unresolved names.
#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
pub(crate) type Selected = NoBackend;

/// See [`Selected`].
#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
pub(crate) struct NoBackend;

#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
impl Backend for NoBackend {
    const NAME: &'static str = "none";
    type PrivateKey = ();
    type PublicKey = ();

    fn private_key_from_pkcs8(_: &[u8]) -> Result<(), BackendError> {
        Err(BackendError)
    }
    fn public_key_from_spki(_: &[u8]) -> Result<(), BackendError> {
        Err(BackendError)
    }
    fn generate_rsa2048_pkcs8() -> Result<Zeroizing<Vec<u8>>, BackendError> {
        Err(BackendError)
    }
    fn private_key_to_pkcs8(_: &()) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        Err(BackendError)
    }
    fn sign_sha256(_: &(), _: &[u8]) -> Result<Vec<u8>, BackendError> {
        Err(BackendError)
    }
    fn verify_sha256(_: &(), _: &[u8], _: &[u8]) -> bool {
        false
    }
    fn encrypt_oaep_sha1(_: &(), _: &[u8]) -> Result<Vec<u8>, BackendError> {
        Err(BackendError)
    }
    fn decrypt_oaep_sha1(_: &(), _: &[u8]) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        Err(BackendError)
    }
    fn aes256_gcm_seal(
        _: &[u8; 32],
        _: &[u8; 12],
        _: &[u8],
        _: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        Err(BackendError)
    }
    fn aes256_gcm_open(
        _: &[u8; 32],
        _: &[u8; 12],
        _: &[u8],
        _: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        Err(BackendError)
    }
    fn fill_random(_: &mut [u8]) -> Result<(), BackendError> {
        Err(BackendError)
    }
}

/// The selected backend's private key.
pub(crate) type SelectedPrivateKey = <Selected as Backend>::PrivateKey;
/// The selected backend's public key.
pub(crate) type SelectedPublicKey = <Selected as Backend>::PublicKey;
