//! [`AuthorizationHeader`]: WeChat Pay's side of a request signature (parsing and verifying
//! the merchant's `Authorization` header).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::clock::{Skew, check_window, parse_unix_seconds, unix_now};
use crate::error::{AuthorizationError, echo};
use crate::header::SIGNATURE_SCHEME;
use crate::keys::PublicKey;
use crate::message::request_message;
use crate::verifier::DEFAULT_WINDOW;

const MCHID: &str = "mchid";
const NONCE_STR: &str = "nonce_str";
const TIMESTAMP: &str = "timestamp";
const SERIAL_NO: &str = "serial_no";
const SIGNATURE: &str = "signature";
/// The scheme's five fields, in the order the header is written.
const FIELDS: [&str; 5] = [MCHID, NONCE_STR, TIMESTAMP, SERIAL_NO, SIGNATURE];

/// A parsed `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",…` header.
///
/// Parsing accepts the five fields in any order with optional spaces around `=` and `,`; it
/// refuses another scheme and any missing, repeated, unknown or unquoted field, and never
/// panics. Which merchant and certificate the `mchid` and `serial_no` must name is the
/// caller's business: check them with the accessors, then [`verify`](Self::verify) with
/// that merchant's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    mchid: String,
    nonce: String,
    timestamp: u64,
    timestamp_text: String,
    serial: String,
    signature: String,
}

impl AuthorizationHeader {
    /// Parses an `Authorization` header value.
    ///
    /// # Errors
    /// An [`AuthorizationError`] naming the problem: [`Empty`](AuthorizationError::Empty),
    /// [`UnsupportedScheme`](AuthorizationError::UnsupportedScheme),
    /// [`Malformed`](AuthorizationError::Malformed),
    /// [`UnknownField`](AuthorizationError::UnknownField),
    /// [`DuplicateField`](AuthorizationError::DuplicateField),
    /// [`UnquotedField`](AuthorizationError::UnquotedField),
    /// [`MissingField`](AuthorizationError::MissingField) or
    /// [`InvalidField`](AuthorizationError::InvalidField).
    pub fn parse(value: &str) -> Result<Self, AuthorizationError> {
        let values = parse_fields(value)?;
        let [mchid, nonce, timestamp, serial, signature] = values.map(|v| v.unwrap_or_default());
        for (field, value) in FIELDS
            .iter()
            .zip([mchid, nonce, timestamp, serial, signature])
        {
            check_value(field, value)?;
        }
        let seconds = parse_unix_seconds(timestamp).ok_or(AuthorizationError::InvalidField {
            field: TIMESTAMP,
            reason: "expected Unix seconds (digits only)",
        })?;
        Ok(Self {
            mchid: mchid.to_owned(),
            nonce: nonce.to_owned(),
            timestamp: seconds,
            timestamp_text: timestamp.to_owned(),
            serial: serial.to_owned(),
            signature: signature.to_owned(),
        })
    }

    /// `mchid`: the merchant id.
    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    /// `nonce_str`.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// `timestamp`, Unix seconds.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// `serial_no`: the serial number of the merchant certificate whose key signed.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// `signature`, base64 as received.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// Verifies the signature against the current time and the [`DEFAULT_WINDOW`] of 300 s.
    ///
    /// # Errors
    /// As [`AuthorizationHeader::verify_at`].
    pub fn verify(
        &self,
        merchant_key: &PublicKey,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> Result<(), AuthorizationError> {
        self.verify_at(merchant_key, method, url, body, unix_now(), DEFAULT_WINDOW)
    }

    /// Verifies the signature with the merchant's public key over the request as received:
    /// `method`, `url` (path and query exactly as on the wire) and the raw `body`, with the
    /// timestamp at most `window` from `now` (Unix seconds).
    ///
    /// # Errors
    /// [`AuthorizationError::StaleTimestamp`], [`AuthorizationError::FutureTimestamp`],
    /// [`AuthorizationError::SignatureNotBase64`] or [`AuthorizationError::BadSignature`].
    pub fn verify_at(
        &self,
        merchant_key: &PublicKey,
        method: &str,
        url: &str,
        body: &[u8],
        now: u64,
        window: Duration,
    ) -> Result<(), AuthorizationError> {
        let (timestamp, window_secs) = (self.timestamp, window.as_secs());
        match check_window(timestamp, now, window) {
            Ok(()) => {}
            Err(Skew::Stale) => {
                return Err(AuthorizationError::StaleTimestamp {
                    timestamp,
                    now,
                    window_secs,
                });
            }
            Err(Skew::Future) => {
                return Err(AuthorizationError::FutureTimestamp {
                    timestamp,
                    now,
                    window_secs,
                });
            }
        }
        let signature = BASE64
            .decode(&self.signature)
            .map_err(|_| AuthorizationError::SignatureNotBase64)?;
        let message = request_message(method, url, &self.timestamp_text, &self.nonce, body);
        if merchant_key.verify(&message, &signature) {
            Ok(())
        } else {
            Err(AuthorizationError::BadSignature)
        }
    }
}

impl FromStr for AuthorizationHeader {
    type Err = AuthorizationError;

    fn from_str(value: &str) -> Result<Self, AuthorizationError> {
        Self::parse(value)
    }
}

/// The header value in the canonical field order.
impl fmt::Display for AuthorizationHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SIGNATURE_SCHEME} mchid=\"{}\",nonce_str=\"{}\",timestamp=\"{}\",serial_no=\"{}\",signature=\"{}\"",
            self.mchid, self.nonce, self.timestamp_text, self.serial, self.signature
        )
    }
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// RFC 9110 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn skip_spaces(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).copied().is_some_and(is_space) {
        pos += 1;
    }
    pos
}

/// The five fields' values, in [`FIELDS`] order, after the scheme has been checked.
fn parse_fields(value: &str) -> Result<[Option<&str>; 5], AuthorizationError> {
    let bytes = value.as_bytes();
    let mut pos = skip_spaces(bytes, 0);
    if pos == bytes.len() {
        return Err(AuthorizationError::Empty);
    }
    let scheme_end = bytes[pos..]
        .iter()
        .position(|&b| is_space(b))
        .map_or(bytes.len(), |n| pos + n);
    let scheme = &value[pos..scheme_end];
    if scheme != SIGNATURE_SCHEME {
        return Err(AuthorizationError::UnsupportedScheme(echo(scheme)));
    }
    pos = skip_spaces(bytes, scheme_end);

    let mut fields: [Option<&str>; 5] = [None; 5];
    if pos == bytes.len() {
        return missing(&fields).map(|()| fields);
    }
    loop {
        let name_start = pos;
        while bytes.get(pos).copied().is_some_and(is_token) {
            pos += 1;
        }
        if pos == name_start {
            return Err(malformed(pos, "expected a field name"));
        }
        let name = &value[name_start..pos];
        let index = FIELDS
            .iter()
            .position(|field| *field == name)
            .ok_or_else(|| AuthorizationError::UnknownField(echo(name)))?;
        let field = FIELDS[index];

        pos = skip_spaces(bytes, pos);
        if bytes.get(pos) != Some(&b'=') {
            return Err(malformed(pos, "expected '=' after the field name"));
        }
        pos = skip_spaces(bytes, pos + 1);
        if bytes.get(pos) != Some(&b'"') {
            return Err(AuthorizationError::UnquotedField(field));
        }
        let value_start = pos + 1;
        let value_len = bytes[value_start..]
            .iter()
            .position(|&b| b == b'"')
            .ok_or_else(|| malformed(pos, "unterminated quoted value"))?;
        if fields[index].is_some() {
            return Err(AuthorizationError::DuplicateField(field));
        }
        fields[index] = Some(&value[value_start..value_start + value_len]);

        pos = skip_spaces(bytes, value_start + value_len + 1);
        match bytes.get(pos) {
            None => break,
            Some(b',') => pos = skip_spaces(bytes, pos + 1),
            Some(_) => return Err(malformed(pos, "expected ',' between fields")),
        }
        if pos == bytes.len() {
            return Err(malformed(pos, "expected a field after ','"));
        }
    }
    missing(&fields).map(|()| fields)
}

fn missing(fields: &[Option<&str>; 5]) -> Result<(), AuthorizationError> {
    match fields.iter().position(Option::is_none) {
        Some(index) => Err(AuthorizationError::MissingField(FIELDS[index])),
        None => Ok(()),
    }
}

fn check_value(field: &'static str, value: &str) -> Result<(), AuthorizationError> {
    if value.is_empty() {
        return Err(AuthorizationError::InvalidField {
            field,
            reason: "empty",
        });
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthorizationError::InvalidField {
            field,
            reason: "expected printable ASCII without spaces",
        });
    }
    Ok(())
}

fn malformed(position: usize, reason: &'static str) -> AuthorizationError {
    AuthorizationError::Malformed { position, reason }
}
