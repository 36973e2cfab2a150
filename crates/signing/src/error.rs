//! The crate's errors, one enum per job: loading keys, cryptographic operations, verifying a
//! response, parsing and verifying an `Authorization` header.
//!
//! None of them carries key material or a plaintext sensitive value. Values copied from an
//! untrusted peer (a serial number, a field name) are shortened to [`ECHO_LIMIT`] characters.

use std::fmt;

use thiserror::Error;

/// The longest text copied from untrusted input into an error.
pub(crate) const ECHO_LIMIT: usize = 64;

/// Copies at most [`ECHO_LIMIT`] characters of untrusted text for an error message.
pub(crate) fn echo(text: &str) -> String {
    let mut chars = text.chars();
    let mut short: String = chars.by_ref().take(ECHO_LIMIT).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

/// A key, certificate or identifier could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The input has no PEM block (`-----BEGIN …-----` … `-----END …-----`), or it is damaged.
    #[error("expected {expected} in PEM form, but the input is not a valid PEM document")]
    NotPem {
        /// What the caller asked for, e.g. "an RSA private key".
        expected: &'static str,
    },
    /// A PEM block of another kind, e.g. a certificate where a private key was expected.
    #[error("expected {expected}, found a PEM block labelled \"{found}\"")]
    UnexpectedPem {
        /// What the caller asked for.
        expected: &'static str,
        /// The PEM label that was found (shortened).
        found: String,
    },
    /// A password-protected PKCS#8 key.
    #[error(
        "encrypted private keys are not supported: decrypt it first \
         (openssl pkey -in encrypted.pem -out key.pem)"
    )]
    EncryptedPrivateKey,
    /// The DER inside the PEM block does not have the expected structure.
    #[error("malformed {expected}: {detail}")]
    Malformed {
        /// What the caller asked for.
        expected: &'static str,
        /// What the ASN.1 parser said (positions and tags, never content).
        detail: String,
    },
    /// A key of another algorithm, e.g. an EC key.
    #[error("expected {expected}, found {found} key")]
    NotRsa {
        /// What the caller asked for.
        expected: &'static str,
        /// The algorithm that was found, e.g. "an EC (id-ecPublicKey)".
        found: String,
    },
    /// An RSA key below 2048 bits (or above 8192).
    #[error("RSA key of {bits} bits: expected 2048 to 8192 bits")]
    UnsupportedKeySize {
        /// The key's modulus size.
        bits: usize,
    },
    /// The cryptographic backend refused a key that parsed (e.g. inconsistent RSA parameters).
    #[error("the RSA backend rejected {expected}: the key is inconsistent or unsupported")]
    Rejected {
        /// What the caller asked for.
        expected: &'static str,
    },
    /// A platform certificate past its `notAfter` date.
    #[error("platform certificate {serial} expired at {}", UnixTime(*not_after))]
    CertificateExpired {
        /// The certificate's serial number (uppercase hex).
        serial: String,
        /// Its `notAfter`, Unix seconds.
        not_after: u64,
    },
    /// A platform certificate before its `notBefore` date.
    #[error("platform certificate {serial} is not valid before {}", UnixTime(*not_before))]
    CertificateNotYetValid {
        /// The certificate's serial number (uppercase hex).
        serial: String,
        /// Its `notBefore`, Unix seconds.
        not_before: u64,
    },
    /// The merchant private key is not the one in the merchant certificate.
    #[error("the private key does not match the public key of certificate {serial}")]
    CertificateKeyMismatch {
        /// The certificate's serial number.
        serial: String,
    },
    /// An APIv3 key that is not 32 bytes long.
    #[error(
        "the APIv3 key is {len} bytes long: expected exactly 32 (the 32 characters set in the \
         merchant platform; spaces and line ends count)"
    )]
    ApiV3KeyLength {
        /// The length that was given, in bytes.
        len: usize,
    },
    /// A merchant id, serial number or key id that cannot be right.
    #[error("invalid {what}: {reason}")]
    InvalidIdentifier {
        /// Which identifier: "merchant id", "certificate serial number", "WeChat Pay public key id".
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A signing, encryption, decryption or key-generation operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// RSAES-OAEP-SHA1 carries at most (key bytes − 42) bytes: 214 for RSA-2048.
    #[error(
        "plaintext of {len} bytes is longer than the {max} bytes RSA-OAEP-SHA1 can encrypt with this key"
    )]
    PlaintextTooLong {
        /// The plaintext's length in bytes.
        len: usize,
        /// The limit for the key.
        max: usize,
    },
    /// The ciphertext is not standard base64 (with padding).
    #[error("ciphertext is not valid base64")]
    CiphertextNotBase64,
    /// OAEP decryption failed: another key, or a damaged ciphertext. No more detail, on purpose.
    #[error("ciphertext could not be decrypted: encrypted for another key, or damaged")]
    DecryptionFailed,
    /// The decrypted bytes are not UTF-8 text.
    #[error("decrypted value is not UTF-8 text")]
    PlaintextNotUtf8,
    /// The key set has no WeChat Pay public key and no currently valid platform certificate.
    #[error(
        "no WeChat Pay key to encrypt with: add the WeChat Pay public key or a valid platform certificate"
    )]
    NoEncryptionKey,
    /// A nonce given to an `_at` method that cannot go in a header.
    #[error("invalid nonce: expected 1 to 64 printable ASCII characters without '\"' or '\\\\'")]
    InvalidNonce,
    /// The operating system's random generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
    /// The backend failed to sign.
    #[error("RSA signing failed")]
    Signing,
    /// The backend failed to encrypt.
    #[error("RSA-OAEP encryption failed")]
    Encryption,
    /// The backend failed to generate or export a key.
    #[error("RSA key generation or export failed")]
    KeyGeneration,
    /// A notification resource's `ciphertext` (base64) or a plaintext to encrypt is over the
    /// size this crate accepts ([`MAX_RESOURCE_CIPHERTEXT_LEN`](crate::MAX_RESOURCE_CIPHERTEXT_LEN)).
    #[error("notification resource {what} of {len} bytes is over the {max}-byte limit")]
    ResourceTooLarge {
        /// "ciphertext (base64)" or "plaintext".
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A notification resource's `nonce` is not 12 bytes.
    #[error("notification resource nonce is {len} bytes long: AEAD_AES_256_GCM needs exactly 12")]
    ResourceNonceLength {
        /// The nonce's length in bytes.
        len: usize,
    },
    /// A notification resource's decoded `ciphertext` is shorter than the GCM tag.
    #[error(
        "notification resource ciphertext of {len} bytes is shorter than the 16-byte AES-GCM tag it must end with"
    )]
    CiphertextTooShort {
        /// The decoded length in bytes.
        len: usize,
    },
    /// AES-256-GCM authentication failed: the resource was encrypted with another APIv3 key, or
    /// its ciphertext, nonce or `associated_data` was changed. No more detail, on purpose.
    #[error(
        "notification resource failed AES-256-GCM authentication: another APIv3 key, or a \
         changed ciphertext, nonce or associated_data"
    )]
    AuthenticationFailed,
    /// The backend failed to encrypt a notification resource.
    #[error("AES-256-GCM encryption failed")]
    ResourceEncryption,
}

/// A response (or callback) failed verification: its body must not be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// One of the four signature headers is absent (or empty).
    #[error("response header {0} is missing")]
    MissingHeader(&'static str),
    /// WeChat Pay's deliberate probe: a signature starting with `WECHATPAY/SIGNTEST/`.
    ///
    /// The response is unverified, yet the request it answers may have been applied. On a
    /// notification, it is a failed verification like any other: answer with an error status.
    #[error(
        "Wechatpay-Signature is a WeChat Pay probe signature (WECHATPAY/SIGNTEST/): the response \
         or notification is unverified (for a response, the request may nevertheless have been \
         applied)"
    )]
    ProbeSignature,
    /// `Wechatpay-Timestamp` is not Unix seconds.
    #[error("Wechatpay-Timestamp is not a Unix time in seconds")]
    MalformedTimestamp,
    /// `Wechatpay-Timestamp` is older than the window allows (a replay, or a slow clock).
    #[error(
        "Wechatpay-Timestamp {timestamp} is {} s before local time {now}, more than the {window_secs} s allowed",
        now.saturating_sub(*timestamp)
    )]
    StaleTimestamp {
        /// The header's value.
        timestamp: u64,
        /// Local time, Unix seconds.
        now: u64,
        /// The allowed distance.
        window_secs: u64,
    },
    /// `Wechatpay-Timestamp` is further in the future than the window allows.
    #[error(
        "Wechatpay-Timestamp {timestamp} is {} s after local time {now}, more than the {window_secs} s allowed",
        timestamp.saturating_sub(*now)
    )]
    FutureTimestamp {
        /// The header's value.
        timestamp: u64,
        /// Local time, Unix seconds.
        now: u64,
        /// The allowed distance.
        window_secs: u64,
    },
    /// `Wechatpay-Signature-Type` names another scheme.
    #[error("Wechatpay-Signature-Type \"{0}\" is not WECHATPAY2-SHA256-RSA2048")]
    UnsupportedSignatureType(String),
    /// No key in the key set has the id in `Wechatpay-Serial`.
    #[error(
        "Wechatpay-Serial \"{serial}\" names no known WeChat Pay public key or platform certificate"
    )]
    UnknownSerial {
        /// The header's value (shortened).
        serial: String,
    },
    /// The key named by `Wechatpay-Serial` is a platform certificate outside its validity period.
    #[error("platform certificate {serial} is outside its validity period")]
    CertificateNotValid {
        /// The certificate's serial number.
        serial: String,
    },
    /// `Wechatpay-Signature` is not standard base64.
    #[error("Wechatpay-Signature is not valid base64")]
    SignatureNotBase64,
    /// The signature does not verify over `TIMESTAMP\nNONCE\nBODY\n` with the named key.
    #[error("response signature does not verify with key {serial}")]
    BadSignature {
        /// The key id used.
        serial: String,
    },
}

/// An `Authorization` header could not be parsed, or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The header is empty.
    #[error("the Authorization header is empty")]
    Empty,
    /// The scheme is not `WECHATPAY2-SHA256-RSA2048`.
    #[error("Authorization scheme \"{0}\" is not WECHATPAY2-SHA256-RSA2048")]
    UnsupportedScheme(String),
    /// The parameters do not follow `name="value",name="value"`.
    #[error("malformed Authorization parameters at byte {position}: {reason}")]
    Malformed {
        /// Byte offset in the header value.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A parameter other than the five of the scheme.
    #[error(
        "unknown Authorization field \"{0}\": expected mchid, nonce_str, timestamp, serial_no, signature"
    )]
    UnknownField(String),
    /// The same parameter twice.
    #[error("Authorization field {0} appears more than once")]
    DuplicateField(&'static str),
    /// A parameter whose value is not in double quotes.
    #[error("Authorization field {0} is not double-quoted")]
    UnquotedField(&'static str),
    /// One of the five parameters is absent.
    #[error("Authorization field {0} is missing")]
    MissingField(&'static str),
    /// A parameter whose value cannot be right.
    #[error("Authorization field {field} is invalid: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request's timestamp is older than the window allows.
    #[error(
        "request timestamp {timestamp} is {} s before local time {now}, more than the {window_secs} s allowed",
        now.saturating_sub(*timestamp)
    )]
    StaleTimestamp {
        /// The header's timestamp.
        timestamp: u64,
        /// Local time, Unix seconds.
        now: u64,
        /// The allowed distance.
        window_secs: u64,
    },
    /// The request's timestamp is further in the future than the window allows.
    #[error(
        "request timestamp {timestamp} is {} s after local time {now}, more than the {window_secs} s allowed",
        timestamp.saturating_sub(*now)
    )]
    FutureTimestamp {
        /// The header's timestamp.
        timestamp: u64,
        /// Local time, Unix seconds.
        now: u64,
        /// The allowed distance.
        window_secs: u64,
    },
    /// The `signature` field is not standard base64.
    #[error("Authorization signature is not valid base64")]
    SignatureNotBase64,
    /// The signature does not verify over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`.
    #[error("request signature does not verify with the merchant's public key")]
    BadSignature,
}

/// Unix seconds shown as an RFC 3339 UTC date when representable.
struct UnixTime(u64);

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match der::DateTime::from_unix_duration(std::time::Duration::from_secs(self.0)) {
            Ok(date) => write!(f, "{date}"),
            Err(_) => write!(f, "Unix time {}", self.0),
        }
    }
}
