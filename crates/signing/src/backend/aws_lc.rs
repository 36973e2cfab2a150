//! The aws-lc-rs backend: AWS-LC's C and assembly, the speed of OpenSSL.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use zeroize::Zeroizing;

use super::{Backend, BackendError};

/// aws-lc-rs.
pub(crate) struct AwsLc;

/// The key twice, as aws-lc-rs wants one object to sign and another to decrypt. Both live in C
/// memory that AWS-LC cleanses when it frees them.
pub(crate) struct AwsLcPrivateKey {
    signing: RsaKeyPair,
    decrypting: OaepPrivateDecryptingKey,
}

/// Parsed once: re-parsing the DER on every verification costs about 13%.
pub(crate) struct AwsLcPublicKey {
    verifying: ParsedPublicKey,
    encrypting: OaepPublicEncryptingKey,
}

impl Backend for AwsLc {
    const NAME: &'static str = "aws-lc";
    type PrivateKey = AwsLcPrivateKey;
    type PublicKey = AwsLcPublicKey;

    fn private_key_from_pkcs8(pkcs8_der: &[u8]) -> Result<AwsLcPrivateKey, BackendError> {
        let signing = RsaKeyPair::from_pkcs8(pkcs8_der).map_err(|_| BackendError)?;
        let decrypting = PrivateDecryptingKey::from_pkcs8(pkcs8_der)
            .ok()
            .and_then(|key| OaepPrivateDecryptingKey::new(key).ok())
            .ok_or(BackendError)?;
        Ok(AwsLcPrivateKey {
            signing,
            decrypting,
        })
    }

    fn public_key_from_spki(spki_der: &[u8]) -> Result<AwsLcPublicKey, BackendError> {
        let verifying = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki_der)
            .map_err(|_| BackendError)?;
        let encrypting = PublicEncryptingKey::from_der(spki_der)
            .ok()
            .and_then(|key| OaepPublicEncryptingKey::new(key).ok())
            .ok_or(BackendError)?;
        Ok(AwsLcPublicKey {
            verifying,
            encrypting,
        })
    }

    fn generate_rsa2048_pkcs8() -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| BackendError)?;
        pkcs8_of(&key)
    }

    fn private_key_to_pkcs8(key: &AwsLcPrivateKey) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        pkcs8_of(&key.signing)
    }

    fn sign_sha256(key: &AwsLcPrivateKey, message: &[u8]) -> Result<Vec<u8>, BackendError> {
        let mut signature = vec![0; key.signing.public_modulus_len()];
        // aws-lc-rs ignores the generator (PKCS#1 v1.5 needs none; AWS-LC blinds internally).
        key.signing
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| BackendError)?;
        Ok(signature)
    }

    fn verify_sha256(key: &AwsLcPublicKey, message: &[u8], signature: &[u8]) -> bool {
        key.verifying.verify_sig(message, signature).is_ok()
    }

    fn encrypt_oaep_sha1(key: &AwsLcPublicKey, plaintext: &[u8]) -> Result<Vec<u8>, BackendError> {
        let mut ciphertext = vec![0; key.encrypting.ciphertext_size()];
        let len = key
            .encrypting
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut ciphertext, None)
            .map_err(|_| BackendError)?
            .len();
        ciphertext.truncate(len);
        Ok(ciphertext)
    }

    fn decrypt_oaep_sha1(
        key: &AwsLcPrivateKey,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let mut plaintext = Zeroizing::new(vec![0; key.decrypting.min_output_size()]);
        let len = key
            .decrypting
            .decrypt(&OAEP_SHA1_MGF1SHA1, ciphertext, &mut plaintext, None)
            .map_err(|_| BackendError)?
            .len();
        plaintext.truncate(len);
        Ok(plaintext)
    }

    fn aes256_gcm_seal(
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        let key = aes256_gcm_key(key)?;
        // Zeroizing until sealed: on failure the buffer still holds the plaintext.
        let mut in_out =
            Zeroizing::new(Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len()));
        in_out.extend_from_slice(plaintext);
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut *in_out,
        )
        .map_err(|_| BackendError)?;
        Ok(std::mem::take(&mut *in_out))
    }

    fn aes256_gcm_open(
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let key = aes256_gcm_key(key)?;
        let mut in_out = Zeroizing::new(sealed.to_vec());
        let len = key
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| BackendError)?
            .len();
        // The tag stays in the spare capacity, which Zeroizing clears too.
        in_out.truncate(len);
        Ok(in_out)
    }

    fn fill_random(buf: &mut [u8]) -> Result<(), BackendError> {
        aws_lc_rs::rand::fill(buf).map_err(|_| BackendError)
    }
}

/// An AES-256-GCM key in AWS-LC's memory, which it cleanses when the key is dropped.
fn aes256_gcm_key(key: &[u8; 32]) -> Result<LessSafeKey, BackendError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| BackendError)
}

/// PKCS#8 v1 DER of a key pair (aws-lc-rs zeroizes its own buffer on drop).
fn pkcs8_of(key: &RsaKeyPair) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let der = key.as_der().map_err(|_| BackendError)?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}
