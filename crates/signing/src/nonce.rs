//! Nonces: 32 alphanumerics from the OS random generator (12 for a notification resource).

use crate::backend::{Backend, Selected};
use crate::error::CryptoError;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of a generated nonce, as the official SDKs use.
pub(crate) const NONCE_LEN: usize = 32;

/// A fresh nonce of [`NONCE_LEN`] characters from `[0-9A-Za-z]`, uniformly distributed.
pub(crate) fn new_nonce() -> Result<String, CryptoError> {
    alphanumeric::<NONCE_LEN>()
}

/// `LEN` random characters from `[0-9A-Za-z]`, uniformly distributed.
pub(crate) fn alphanumeric<const LEN: usize>() -> Result<String, CryptoError> {
    let mut nonce = String::with_capacity(LEN);
    let mut bytes = [0u8; 64];
    while nonce.len() < LEN {
        Selected::fill_random(&mut bytes).map_err(|_| CryptoError::Random)?;
        // 248 = 4 × 62: rejecting bytes above it keeps every character equally likely.
        for &b in bytes.iter().filter(|&&b| b < 248) {
            if nonce.len() == LEN {
                break;
            }
            nonce.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    Ok(nonce)
}

/// A caller-given nonce: 1 to 64 printable ASCII characters, none of `"` and `\`.
pub(crate) fn check_nonce(nonce: &str) -> Result<(), CryptoError> {
    let valid = !nonce.is_empty()
        && nonce.len() <= 64
        && nonce
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if valid {
        Ok(())
    } else {
        Err(CryptoError::InvalidNonce)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nonces_are_32_alphanumerics_and_differ() {
        let a = new_nonce().unwrap();
        let b = new_nonce().unwrap();
        assert_eq!(a.len(), NONCE_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        let short = alphanumeric::<12>().unwrap();
        assert_eq!(short.len(), 12);
        assert!(short.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn given_nonces_are_checked() {
        assert!(check_nonce("593BEC0C930BF1AFEB40B4A08C8FB242").is_ok());
        assert!(check_nonce("").is_err());
        assert!(check_nonce("a\"b").is_err());
        assert!(check_nonce("a b").is_err());
    }
}
