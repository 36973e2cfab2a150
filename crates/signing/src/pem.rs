//! PEM armour: finding one block in a text and decoding it, and encoding DER back to PEM.

use zeroize::Zeroizing;

use crate::error::{KeyError, echo};

/// A decoded PEM block. The DER is kept in a buffer that is zeroized on drop: it may be a key.
pub(crate) struct PemBlock {
    /// The label between `-----BEGIN ` and `-----`, e.g. `PRIVATE KEY`.
    pub(crate) label: String,
    /// The decoded content.
    pub(crate) der: Zeroizing<Vec<u8>>,
}

const BEGIN: &str = "-----BEGIN ";
const DASHES: &str = "-----";

/// Decodes the first PEM block of `text`. Text before and after the block (comments, a chain's
/// further certificates) is ignored. `expected` names what the caller wants, for the error.
pub(crate) fn decode_first(text: &str, expected: &'static str) -> Result<PemBlock, KeyError> {
    let not_pem = || KeyError::NotPem { expected };
    let start = text.find(BEGIN).ok_or_else(not_pem)?;
    let block = &text[start..];
    let label_len = block[BEGIN.len()..].find(DASHES).ok_or_else(not_pem)?;
    let label = &block[BEGIN.len()..BEGIN.len() + label_len];
    if label.contains(['\n', '\r']) {
        return Err(not_pem());
    }
    let end_marker = format!("-----END {label}-----");
    let end = block.find(&end_marker).ok_or_else(not_pem)? + end_marker.len();
    let block = &block[..end];

    // Legacy OpenSSL encryption of a PKCS#1 key puts headers inside the block.
    if block.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(KeyError::EncryptedPrivateKey);
    }

    // Base64 never decodes to more bytes than its text: one allocation, zeroized on drop.
    let mut der = Zeroizing::new(vec![0u8; block.len()]);
    let len = match der::pem::decode(block.as_bytes(), &mut der) {
        Ok((_, decoded)) => decoded.len(),
        Err(_) => return Err(not_pem()),
    };
    der.truncate(len);
    Ok(PemBlock {
        label: echo(label),
        der,
    })
}

/// Encodes DER as PEM with `\n` line endings; the caller wraps it in `Zeroizing` when secret.
pub(crate) fn encode(label: &'static str, der: &[u8]) -> Option<String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).ok()
}
