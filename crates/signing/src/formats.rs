//! Key and certificate formats, parsed in pure Rust whatever the backend: PKCS#8, PKCS#1, SPKI
//! and X.509. Everything leaves here checked (RSA, 2048 to 8192 bits, two primes) and in one
//! canonical form per kind, so the backends only ever see PKCS#8 v1 and SPKI DER.

use der::asn1::{AnyRef, BitStringRef, OctetStringRef};
use der::{Decode, Encode};
use pkcs8::PrivateKeyInfoRef;
use spki::{AlgorithmIdentifierRef, ObjectIdentifier, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::pem;

/// What a private-key loader expects, for error messages.
pub(crate) const EXPECTED_PRIVATE_KEY: &str =
    "an RSA private key (PEM \"PRIVATE KEY\" or \"RSA PRIVATE KEY\")";
/// What a public-key loader expects, for error messages.
pub(crate) const EXPECTED_PUBLIC_KEY: &str =
    "an RSA public key (PEM \"PUBLIC KEY\", \"RSA PUBLIC KEY\" or \"CERTIFICATE\")";
/// What a certificate loader expects, for error messages.
pub(crate) const EXPECTED_CERTIFICATE: &str =
    "an X.509 certificate with an RSA key (PEM \"CERTIFICATE\")";

/// The smallest RSA modulus accepted: the scheme is WECHATPAY2-SHA256-RSA2048.
pub(crate) const MIN_BITS: usize = 2048;
/// The largest RSA modulus accepted (aws-lc-rs's and rsa's limit).
pub(crate) const MAX_BITS: usize = 8192;

/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// An RSA private key as canonical PKCS#8 v1 DER, with its public half.
pub(crate) struct PrivateKeyDer {
    pub(crate) pkcs8: Zeroizing<Vec<u8>>,
    pub(crate) public: PublicKeyDer,
}

/// An RSA public key as canonical SPKI DER.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PublicKeyDer {
    pub(crate) spki: Vec<u8>,
    pub(crate) bits: usize,
}

/// What this crate needs from an X.509 certificate.
pub(crate) struct CertificateDer {
    /// The serial number, uppercase hex without leading zero bytes (as `openssl x509 -serial`).
    pub(crate) serial: String,
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    pub(crate) public_key: PublicKeyDer,
}

/// A private key from PEM: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
pub(crate) fn private_key_from_pem(text: &str) -> Result<PrivateKeyDer, KeyError> {
    let block = pem::decode_first(text, EXPECTED_PRIVATE_KEY)?;
    match block.label.as_str() {
        "PRIVATE KEY" => private_key_from_pkcs8(&block.der),
        "RSA PRIVATE KEY" => private_key_from_pkcs1(&block.der),
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::EncryptedPrivateKey),
        "EC PRIVATE KEY" => Err(not_rsa(EXPECTED_PRIVATE_KEY, "an EC (SEC1)")),
        "DSA PRIVATE KEY" => Err(not_rsa(EXPECTED_PRIVATE_KEY, "a DSA")),
        _ => Err(unexpected_pem(EXPECTED_PRIVATE_KEY, block.label)),
    }
}

/// A private key from PKCS#8 DER.
pub(crate) fn private_key_from_pkcs8(der: &[u8]) -> Result<PrivateKeyDer, KeyError> {
    let info = PrivateKeyInfoRef::from_der(der).map_err(malformed(EXPECTED_PRIVATE_KEY))?;
    check_rsa(EXPECTED_PRIVATE_KEY, &info.algorithm)?;
    private_key_from_pkcs1(info.private_key.as_bytes())
}

/// A private key from PKCS#1 `RSAPrivateKey` DER.
pub(crate) fn private_key_from_pkcs1(der: &[u8]) -> Result<PrivateKeyDer, KeyError> {
    let key = pkcs1::RsaPrivateKeyRef::from_der(der).map_err(malformed(EXPECTED_PRIVATE_KEY))?;
    if key.other_prime_infos.is_some() {
        return Err(KeyError::Malformed {
            expected: EXPECTED_PRIVATE_KEY,
            detail: "multi-prime RSA keys are not supported".to_owned(),
        });
    }
    let public = rsa_public_key_to_spki(EXPECTED_PRIVATE_KEY, key.public_key())?;

    let private_key = OctetStringRef::new(der).map_err(malformed(EXPECTED_PRIVATE_KEY))?;
    let info = PrivateKeyInfoRef {
        algorithm: rsa_algorithm(),
        private_key,
        public_key: None,
    };
    // `to_der` sizes its buffer exactly first, so no copy of the key is left behind.
    let pkcs8 = Zeroizing::new(info.to_der().map_err(malformed(EXPECTED_PRIVATE_KEY))?);
    Ok(PrivateKeyDer { pkcs8, public })
}

/// A public key from PEM: SPKI (`PUBLIC KEY`), PKCS#1 (`RSA PUBLIC KEY`) or a certificate's.
pub(crate) fn public_key_from_pem(text: &str) -> Result<PublicKeyDer, KeyError> {
    let block = pem::decode_first(text, EXPECTED_PUBLIC_KEY)?;
    match block.label.as_str() {
        "PUBLIC KEY" => public_key_from_spki(&block.der),
        "RSA PUBLIC KEY" => public_key_from_pkcs1(&block.der),
        "CERTIFICATE" => Ok(certificate_from_der(&block.der)?.public_key),
        _ => Err(unexpected_pem(EXPECTED_PUBLIC_KEY, block.label)),
    }
}

/// A public key from SPKI DER.
pub(crate) fn public_key_from_spki(der: &[u8]) -> Result<PublicKeyDer, KeyError> {
    spki_to_public_key(EXPECTED_PUBLIC_KEY, der)
}

/// A public key from PKCS#1 `RSAPublicKey` DER.
pub(crate) fn public_key_from_pkcs1(der: &[u8]) -> Result<PublicKeyDer, KeyError> {
    let key = pkcs1::RsaPublicKeyRef::from_der(der).map_err(malformed(EXPECTED_PUBLIC_KEY))?;
    rsa_public_key_to_spki(EXPECTED_PUBLIC_KEY, key)
}

/// A certificate from PEM (`CERTIFICATE`); the first one when the text holds a chain.
pub(crate) fn certificate_from_pem(text: &str) -> Result<CertificateDer, KeyError> {
    let block = pem::decode_first(text, EXPECTED_CERTIFICATE)?;
    if block.label != "CERTIFICATE" {
        return Err(unexpected_pem(EXPECTED_CERTIFICATE, block.label));
    }
    certificate_from_der(&block.der)
}

/// A certificate from DER.
pub(crate) fn certificate_from_der(der: &[u8]) -> Result<CertificateDer, KeyError> {
    let certificate =
        x509_cert::Certificate::from_der(der).map_err(malformed(EXPECTED_CERTIFICATE))?;
    let tbs = certificate.tbs_certificate();
    // DER keeps a leading 00 byte on a serial whose first byte has its high bit set; WeChat Pay
    // and openssl print the number without it.
    let serial_bytes = tbs.serial_number().as_bytes();
    let significant = serial_bytes
        .iter()
        .position(|&b| b != 0)
        .map_or(&[][..], |i| &serial_bytes[i..]);
    let serial = hex_upper(significant);
    let validity = tbs.validity();
    let spki = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(malformed(EXPECTED_CERTIFICATE))?;
    Ok(CertificateDer {
        serial,
        not_before: validity.not_before.to_unix_duration().as_secs(),
        not_after: validity.not_after.to_unix_duration().as_secs(),
        public_key: spki_to_public_key(EXPECTED_CERTIFICATE, &spki)?,
    })
}

fn spki_to_public_key(expected: &'static str, der: &[u8]) -> Result<PublicKeyDer, KeyError> {
    let info = SubjectPublicKeyInfoRef::from_der(der).map_err(malformed(expected))?;
    check_rsa(expected, &info.algorithm)?;
    let bytes = info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| KeyError::Malformed {
            expected,
            detail: "the public key BIT STRING has unused bits".to_owned(),
        })?;
    let key = pkcs1::RsaPublicKeyRef::from_der(bytes).map_err(malformed(expected))?;
    rsa_public_key_to_spki(expected, key)
}

/// Checks the size and re-encodes as SPKI with `rsaEncryption` and NULL parameters.
fn rsa_public_key_to_spki(
    expected: &'static str,
    key: pkcs1::RsaPublicKeyRef<'_>,
) -> Result<PublicKeyDer, KeyError> {
    let bits = bit_length(key.modulus.as_bytes());
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(KeyError::UnsupportedKeySize { bits });
    }
    let pkcs1 = key.to_der().map_err(malformed(expected))?;
    let info = SubjectPublicKeyInfoRef {
        algorithm: rsa_algorithm(),
        subject_public_key: BitStringRef::from_bytes(&pkcs1).map_err(malformed(expected))?,
    };
    let spki = info.to_der().map_err(malformed(expected))?;
    Ok(PublicKeyDer { spki, bits })
}

fn rsa_algorithm() -> AlgorithmIdentifierRef<'static> {
    AlgorithmIdentifierRef {
        oid: RSA_ENCRYPTION,
        parameters: Some(AnyRef::NULL),
    }
}

fn check_rsa(
    expected: &'static str,
    algorithm: &AlgorithmIdentifierRef<'_>,
) -> Result<(), KeyError> {
    if algorithm.oid == RSA_ENCRYPTION {
        Ok(())
    } else {
        Err(not_rsa(expected, &algorithm_name(algorithm.oid)))
    }
}

/// A person's name for the algorithms one is likely to be handed by mistake.
fn algorithm_name(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "an EC (id-ecPublicKey)",
        "1.2.156.10197.1.301" => "an SM2",
        "1.3.101.112" => "an Ed25519",
        "1.3.101.113" => "an Ed448",
        "1.3.101.110" => "an X25519",
        "1.2.840.113549.1.1.10" => "an RSASSA-PSS (not rsaEncryption)",
        "1.2.840.10040.4.1" => "a DSA",
        other => return format!("an unknown (algorithm OID {other})"),
    };
    name.to_owned()
}

/// Bits in a big-endian unsigned integer (leading zero bytes allowed).
fn bit_length(bytes: &[u8]) -> usize {
    let significant = bytes
        .iter()
        .position(|&b| b != 0)
        .map_or(&[][..], |i| &bytes[i..]);
    match significant.first() {
        None => 0,
        Some(&first) => (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

/// Uppercase hex, as WeChat Pay and `openssl x509 -serial` print serial numbers.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    if hex.is_empty() {
        hex.push('0');
    }
    hex
}

/// The parser's message is not used: some of its messages quote a byte of the input, and the
/// input may be a private key. Only the position is kept.
fn malformed(expected: &'static str) -> impl Fn(der::Error) -> KeyError {
    move |error| KeyError::Malformed {
        expected,
        detail: match error.position() {
            Some(position) => format!("invalid ASN.1 DER at byte {position}"),
            None => "invalid ASN.1 DER".to_owned(),
        },
    }
}

fn not_rsa(expected: &'static str, found: &str) -> KeyError {
    KeyError::NotRsa {
        expected,
        found: found.to_owned(),
    }
}

fn unexpected_pem(expected: &'static str, found: String) -> KeyError {
    KeyError::UnexpectedPem { expected, found }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_ignores_leading_zero_bytes() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01]), 1);
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
    }

    #[test]
    fn hex_is_uppercase() {
        assert_eq!(hex_upper(&[0x8f, 0x0a]), "8F0A");
    }
}
