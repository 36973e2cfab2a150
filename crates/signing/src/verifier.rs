//! [`ResponseVerifier`]: checks WeChat Pay's signature on a response or a callback.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::clock::{Skew, check_window, parse_unix_seconds, unix_now};
use crate::error::{VerifyError, echo};
use crate::header::{self, PROBE_SIGNATURE_PREFIX, SIGNATURE_SCHEME};
use crate::key_set::{Lookup, WechatPayKeySet};
use crate::message::response_message;

/// How far a `Wechatpay-Timestamp` may be from local time: 5 minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// The signature headers of a response, borrowed from whatever HTTP library holds them.
///
/// ```
/// use wechatpay_signing::{ResponseHeaders, header};
///
/// let received = [(header::TIMESTAMP, "1554209980"), (header::NONCE, "c5ac7061")];
/// let headers = ResponseHeaders::from_lookup(|name| {
///     received.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
/// });
/// assert_eq!(headers.timestamp, Some("1554209980"));
/// assert_eq!(headers.signature, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseHeaders<'a> {
    /// `Wechatpay-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `Wechatpay-Nonce`.
    pub nonce: Option<&'a str>,
    /// `Wechatpay-Signature`.
    pub signature: Option<&'a str>,
    /// `Wechatpay-Serial`.
    pub serial: Option<&'a str>,
    /// `Wechatpay-Signature-Type`: checked when present, not required.
    pub signature_type: Option<&'a str>,
}

impl<'a> ResponseHeaders<'a> {
    /// Reads the five headers through `get`, called with each header's name (see
    /// [`header`]); with `http::HeaderMap` that is
    /// `|name| map.get(name).and_then(|v| v.to_str().ok())`.
    pub fn from_lookup(mut get: impl FnMut(&'static str) -> Option<&'a str>) -> Self {
        Self {
            timestamp: get(header::TIMESTAMP),
            nonce: get(header::NONCE),
            signature: get(header::SIGNATURE),
            serial: get(header::SERIAL),
            signature_type: get(header::SIGNATURE_TYPE),
        }
    }
}

/// Verifies responses (and callbacks, signed the same way) with the keys of a
/// [`WechatPayKeySet`], chosen by `Wechatpay-Serial`.
///
/// The signed message is `TIMESTAMP\nNONCE\nBODY\n` over the body bytes exactly as received:
/// verify before parsing, never a re-serialization. Which responses to verify is the caller's
/// decision (WeChat Pay's SDKs verify 2xx answers only). Cloning shares the key set.
#[derive(Debug, Clone)]
pub struct ResponseVerifier {
    keys: WechatPayKeySet,
    window: Duration,
}

impl ResponseVerifier {
    /// A verifier with the [`DEFAULT_WINDOW`] of 300 s.
    pub fn new(keys: WechatPayKeySet) -> Self {
        Self {
            keys,
            window: DEFAULT_WINDOW,
        }
    }

    /// Sets how far `Wechatpay-Timestamp` may be from local time (whole seconds).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The allowed distance from local time.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The key set (a handle: updating it updates this verifier).
    pub fn keys(&self) -> &WechatPayKeySet {
        &self.keys
    }

    /// Verifies a response against the current time.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the body must not be trusted; see
    /// [`ResponseVerifier::verify_at`].
    pub fn verify(&self, headers: &ResponseHeaders<'_>, body: &[u8]) -> Result<(), VerifyError> {
        self.verify_at(headers, body, unix_now())
    }

    /// Verifies a response as if the local time were `now` (Unix seconds).
    ///
    /// The checks, in order: the four headers are present ([`VerifyError::MissingHeader`]);
    /// the signature type, when given, is `WECHATPAY2-SHA256-RSA2048`; the signature is not
    /// WeChat Pay's probe ([`VerifyError::ProbeSignature`]); the timestamp is Unix seconds within
    /// the window; the serial names a known, valid key ([`VerifyError::UnknownSerial`]); the
    /// signature is base64 and verifies.
    ///
    /// # Errors
    /// The first check that fails, as a [`VerifyError`].
    pub fn verify_at(
        &self,
        headers: &ResponseHeaders<'_>,
        body: &[u8],
        now: u64,
    ) -> Result<(), VerifyError> {
        let timestamp = required(headers.timestamp, header::TIMESTAMP)?;
        let nonce = required(headers.nonce, header::NONCE)?;
        let signature = required(headers.signature, header::SIGNATURE)?;
        let serial = required(headers.serial, header::SERIAL)?;
        if let Some(kind) = headers.signature_type.map(str::trim)
            && kind != SIGNATURE_SCHEME
        {
            return Err(VerifyError::UnsupportedSignatureType(echo(kind)));
        }
        if signature.starts_with(PROBE_SIGNATURE_PREFIX) {
            return Err(VerifyError::ProbeSignature);
        }

        let seconds = parse_unix_seconds(timestamp).ok_or(VerifyError::MalformedTimestamp)?;
        let window_secs = self.window.as_secs();
        match check_window(seconds, now, self.window) {
            Ok(()) => {}
            Err(Skew::Stale) => {
                return Err(VerifyError::StaleTimestamp {
                    timestamp: seconds,
                    now,
                    window_secs,
                });
            }
            Err(Skew::Future) => {
                return Err(VerifyError::FutureTimestamp {
                    timestamp: seconds,
                    now,
                    window_secs,
                });
            }
        }

        let key = match self.keys.lookup(serial, Some(now)) {
            Lookup::Found(key) => key,
            Lookup::NotValid => {
                return Err(VerifyError::CertificateNotValid {
                    serial: echo(serial),
                });
            }
            Lookup::Unknown => {
                return Err(VerifyError::UnknownSerial {
                    serial: echo(serial),
                });
            }
        };
        let signature = BASE64
            .decode(signature)
            .map_err(|_| VerifyError::SignatureNotBase64)?;
        // The message uses the timestamp text as received, not a re-formatted number.
        if key.verify(&response_message(timestamp, nonce, body), &signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature {
                serial: echo(serial),
            })
        }
    }
}

/// A header's value with surrounding whitespace removed; absent or blank is missing.
fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, VerifyError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(VerifyError::MissingHeader(name))
}
