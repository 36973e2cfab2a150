//! The RustCrypto backend: `rsa` 0.10 with `sha2` and `sha1`, pure Rust.
//!
//! About nine times slower than aws-lc to sign, and `rsa` is still listed under
//! RUSTSEC-2023-0071 (the Marvin timing attack on RSA decryption); see the crate docs.
//! Blinding stays on: `rsa`'s default `getrandom` feature supplies the OS generator to
//! `PrivateKey::sign` and `PrivateKey::oaep_decrypt`.

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use rsa::{Pkcs1v15Sign, PrivateKey, PublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{Backend, BackendError};

/// RustCrypto `rsa`.
pub(crate) struct RustCrypto;

/// `rsa::PrivateKey` zeroizes itself on drop.
pub(crate) struct RustCryptoPrivateKey(PrivateKey);

/// Parsed once, at load.
pub(crate) struct RustCryptoPublicKey(PublicKey);

impl Backend for RustCrypto {
    const NAME: &'static str = "rust-crypto";
    type PrivateKey = RustCryptoPrivateKey;
    type PublicKey = RustCryptoPublicKey;

    fn private_key_from_pkcs8(pkcs8_der: &[u8]) -> Result<RustCryptoPrivateKey, BackendError> {
        PrivateKey::from_pkcs8_der(pkcs8_der)
            .map(RustCryptoPrivateKey)
            .map_err(|_| BackendError)
    }

    fn public_key_from_spki(spki_der: &[u8]) -> Result<RustCryptoPublicKey, BackendError> {
        PublicKey::from_public_key_der(spki_der)
            .map(RustCryptoPublicKey)
            .map_err(|_| BackendError)
    }

    fn generate_rsa2048_pkcs8() -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let key = PrivateKey::new(&mut getrandom::SysRng, 2048).map_err(|_| BackendError)?;
        Self::private_key_to_pkcs8(&RustCryptoPrivateKey(key))
    }

    fn private_key_to_pkcs8(
        key: &RustCryptoPrivateKey,
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        // SecretDocument zeroizes its own buffer on drop.
        let der = key.0.to_pkcs8_der().map_err(|_| BackendError)?;
        Ok(Zeroizing::new(der.as_bytes().to_vec()))
    }

    fn sign_sha256(key: &RustCryptoPrivateKey, message: &[u8]) -> Result<Vec<u8>, BackendError> {
        let digest = Sha256::digest(message);
        key.0
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            .map_err(|_| BackendError)
    }

    fn verify_sha256(key: &RustCryptoPublicKey, message: &[u8], signature: &[u8]) -> bool {
        let digest = Sha256::digest(message);
        key.0
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            .is_ok()
    }

    fn encrypt_oaep_sha1(
        key: &RustCryptoPublicKey,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        key.0
            .oaep_encrypt::<Sha1>(plaintext)
            .map_err(|_| BackendError)
    }

    fn decrypt_oaep_sha1(
        key: &RustCryptoPrivateKey,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        key.0
            .oaep_decrypt::<Sha1>(ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| BackendError)
    }

    fn aes256_gcm_seal(
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        // aes-gcm's `zeroize` feature clears the expanded key when the cipher is dropped.
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| BackendError)?;
        cipher
            .encrypt(
                &Nonce::from(*nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| BackendError)
    }

    fn aes256_gcm_open(
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| BackendError)?;
        // In place, so that the plaintext only ever lives in a buffer zeroized on drop.
        let mut buffer = Zeroizing::new(sealed.to_vec());
        cipher
            .decrypt_in_place(&Nonce::from(*nonce), aad, &mut *buffer)
            .map_err(|_| BackendError)?;
        Ok(buffer)
    }

    fn fill_random(buf: &mut [u8]) -> Result<(), BackendError> {
        getrandom::fill(buf).map_err(|_| BackendError)
    }
}
