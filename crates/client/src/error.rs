//! The client's one error type, and what each kind means for the update.

use std::fmt;
use std::time::Duration;

use wechatpay_card_models::{ErrorDetail, ValidationError};
use wechatpay_signing::{CryptoError, KeyError, VerifyError};

use crate::escape::Untrusted;

/// Everything [`crate::Client`] can fail with.
///
/// Each variant says where the call failed, and so whether the update can have been applied:
///
/// | variant | sent? | applied? |
/// |---|---|---|
/// | [`Error::Validation`], [`Error::Encryption`], [`Error::Config`] | no | no |
/// | [`Error::Api`] | yes | no for 4xx; unknown for 5xx (WeChat Pay says retry) |
/// | [`Error::Signature`], [`Error::InvalidResponse`] | yes | **maybe** (never for a GET): read the card back |
/// | [`Error::Transport`], [`Error::Timeout`] | maybe | maybe, unless [`Error::may_have_been_applied`] says no |
///
/// `Display` is written for a person (code, message, Request-ID); neither `Display` nor `Debug`
/// ever holds a key, an Authorization header or a plaintext sensitive value, and every text
/// that came from the network (code, message, detail, Request-ID, a non-JSON body, a parser's
/// complaint about the answer) is shown with its control characters escaped ([`Untrusted`]),
/// so that printing an error never lets a server drive the terminal or forge a log line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request breaks the schema's limits: every violation, each with its field path.
    /// Nothing was sent.
    #[error("invalid request, nothing sent: {0}")]
    Validation(#[from] ValidationError),

    /// A sensitive field could not be encrypted (e.g. longer than the 214 bytes RSA-2048 OAEP
    /// allows). Nothing was sent.
    #[error("could not encrypt `{field}`, nothing sent: {source}")]
    Encryption {
        /// The field's path, e.g. `phone_number`.
        field: String,
        /// Why.
        source: CryptoError,
    },

    /// WeChat Pay answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),

    /// A 2xx answer failed verification (including WeChat Pay's deliberate probe signatures).
    /// Its body was neither parsed nor returned. **The update may have been applied**: re-read
    /// the card before retrying blindly.
    #[error(transparent)]
    Signature(Box<SignatureError>),

    /// A verified 2xx answer whose body is not JSON, or not an object at all (a missing or odd
    /// field is not this: it is read and listed in [`crate::Verified::corrections`]). The
    /// request may have been applied (unless it was a read).
    #[error(
        "WeChat Pay answered {status} but the body is not a valid response ({}){}; {}",
        Untrusted(reason),
        request_id_suffix(request_id.as_deref()),
        consequence(method)
    )]
    InvalidResponse {
        /// The HTTP method of the request (`GET` changes nothing).
        method: &'static str,
        /// The status.
        status: u16,
        /// The Request-ID header.
        request_id: Option<String>,
        /// What did not parse.
        reason: String,
    },

    /// The answer could not be received: connection refused or reset, TLS failure, a
    /// connection closed mid-answer, an answer larger than the limit. Retried while retryable.
    #[error("{}", transport_message(.attempts, .kind, .url, .message))]
    Transport {
        /// The HTTP method of the request (`GET` changes nothing).
        method: &'static str,
        /// What failed.
        kind: TransportErrorKind,
        /// The base URL the last attempt went to (the primary or the backup host).
        url: String,
        /// Attempts made, this one included.
        attempts: u32,
        /// What the transport said (no headers, no body).
        message: String,
    },

    /// The call's deadline (or every attempt's) passed.
    #[error("timed out after {elapsed:?} and {attempts} attempt(s){}", last_message(last.as_deref()))]
    Timeout {
        /// The HTTP method of the request (`GET` changes nothing).
        method: &'static str,
        /// Attempts made.
        attempts: u32,
        /// Time spent in the call.
        elapsed: Duration,
        /// The last retryable failure before the deadline, if any.
        last: Option<Box<Error>>,
    },

    /// A response field could not be decrypted with the merchant key.
    #[error("could not decrypt `{field}`: {source}")]
    Decryption {
        /// The field's path.
        field: String,
        /// Why.
        source: CryptoError,
    },

    /// The client is misconfigured (reported by [`crate::ClientBuilder::build`]).
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),

    /// A failure inside the client that should not happen: the OS random number generator
    /// failing while signing, a body that does not serialize. Nothing was sent.
    #[error("internal error, nothing sent: {0}")]
    Internal(String),
}

/// What an unknown outcome means for a request: a read changed nothing; anything else may
/// have been applied.
pub(crate) fn consequence(method: &str) -> &'static str {
    if changes_nothing(method) {
        "nothing was changed (a read): it is safe to try again"
    } else {
        "the request may have been applied: read the card back before retrying blindly"
    }
}

/// Whether a request with this method changes nothing on the server.
fn changes_nothing(method: &str) -> bool {
    method.eq_ignore_ascii_case("GET")
}

fn request_id_suffix(request_id: Option<&str>) -> String {
    request_id
        .map(|id| format!(" [Request-ID: {}]", Untrusted(id)))
        .unwrap_or_default()
}

fn transport_message(
    attempts: &u32,
    kind: &TransportErrorKind,
    url: &str,
    message: &str,
) -> String {
    format!(
        "{kind} at {} after {attempts} attempt(s): {}",
        Untrusted(url),
        Untrusted(message)
    )
}

fn last_message(last: Option<&Error>) -> String {
    last.map(|e| format!("; last failure: {e}"))
        .unwrap_or_default()
}

impl Error {
    /// Whether trying again later can succeed: 429, 5xx, transport failures and timeouts.
    /// The client already retried these as its [`crate::RetryPolicy`] allows.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.is_retryable(),
            Error::Transport { kind, .. } => kind.is_retryable(),
            Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Whether the request can have reached WeChat Pay and been applied although the call
    /// failed. `false` means it certainly was not (nothing was sent, a 4xx answer, a
    /// connection never established), or that it was a read, which changes nothing.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Transport { method, .. }
            | Error::Timeout { method, .. }
            | Error::InvalidResponse { method, .. }
                if changes_nothing(method) =>
            {
                false
            }
            Error::Signature(e) if changes_nothing(e.method) => false,
            Error::Validation(_)
            | Error::Encryption { .. }
            | Error::Config(_)
            | Error::Internal(_) => false,
            Error::Decryption { .. } => true,
            Error::Api(e) => e.status >= 500,
            Error::Signature(_) | Error::InvalidResponse { .. } => true,
            Error::Transport { kind, .. } => *kind != TransportErrorKind::Connect,
            Error::Timeout { .. } => true,
        }
    }

    /// Whether this is a timeout (of the call, or of its attempts).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Signature(e) => Some(e.status),
            Error::InvalidResponse { status, .. } => Some(*status),
            Error::Timeout {
                last: Some(last), ..
            } => last.status(),
            _ => None,
        }
    }

    /// The `Request-ID` WeChat Pay gave the answer, for its support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Signature(e) => e.request_id.as_deref(),
            Error::InvalidResponse { request_id, .. } => request_id.as_deref(),
            Error::Timeout {
                last: Some(last), ..
            } => last.request_id(),
            _ => None,
        }
    }

    /// The API error, for an error answer.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The verification failure, for an answer that failed verification.
    pub fn as_signature(&self) -> Option<&SignatureError> {
        match self {
            Error::Signature(e) => Some(e),
            _ => None,
        }
    }

    /// The violations, for an invalid request.
    pub fn as_validation(&self) -> Option<&ValidationError> {
        match self {
            Error::Validation(e) => Some(e),
            _ => None,
        }
    }
}

/// An error answer from WeChat Pay: its status and the `code`, `message` and `detail` of its
/// body. Error answers are not signature-checked (as in every official SDK).
#[derive(Clone, PartialEq)]
pub struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) detail: Option<ErrorDetail>,
    pub(crate) request_id: Option<String>,
}

impl ApiError {
    /// The HTTP status, e.g. 400.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The error code, e.g. `PARAM_ERROR` (empty if the body was not WeChat Pay's error JSON).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message WeChat Pay gave.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field, value and issue at fault, when WeChat Pay said.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        self.detail.as_ref()
    }

    /// The `Request-ID` header.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// 429 and 5xx are worth retrying; the other answers are not.
    pub fn is_retryable(&self) -> bool {
        self.status == 429 || self.status >= 500
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WeChat Pay answered {} {}: {}",
            self.status,
            Untrusted(&self.code),
            Untrusted(&self.message)
        )?;
        if let Some(detail) = &self.detail {
            let mut parts = Vec::new();
            if let Some(field) = &detail.field {
                parts.push(format!("field {}", Untrusted(field)));
            }
            if let Some(issue) = &detail.issue {
                parts.push(Untrusted(issue).to_string());
            }
            if let Some(location) = &detail.location {
                parts.push(format!("in {}", Untrusted(location)));
            }
            if !parts.is_empty() {
                write!(f, " ({})", parts.join(", "))?;
            }
        }
        f.write_str(&request_id_suffix(self.request_id.as_deref()))
    }
}

impl fmt::Debug for ApiError {
    // `detail.value` may echo a value that was sent; leave it out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn untrusted(text: Option<&str>) -> Option<Untrusted<'_>> {
            text.map(Untrusted)
        }
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("code", &Untrusted(&self.code))
            .field("message", &Untrusted(&self.message))
            .field(
                "detail_field",
                &untrusted(self.detail.as_ref().and_then(|d| d.field.as_deref())),
            )
            .field(
                "detail_issue",
                &untrusted(self.detail.as_ref().and_then(|d| d.issue.as_deref())),
            )
            .field("request_id", &untrusted(self.request_id.as_deref()))
            .finish()
    }
}

impl std::error::Error for ApiError {}

/// A 2xx answer that was not accepted: its signature failed verification, or it verified but
/// names another resource than the request (another card: a replayed or misrouted answer). The
/// update may have been applied.
///
/// The second check is what makes a replayed answer harmless: WeChat Pay's signature covers
/// the body and a timestamp, so an answer recorded earlier verifies for five minutes, but it
/// names the card it was about, and the client compares that with the card it asked about.
#[derive(Debug)]
pub struct SignatureError {
    pub(crate) method: &'static str,
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
    pub(crate) cause: SignatureCause,
}

/// Why a 2xx answer was not accepted.
#[derive(Debug)]
pub(crate) enum SignatureCause {
    /// The signature did not verify.
    Verify(VerifyError),
    /// The signature verified, but a field naming the resource differs from the request's.
    Mismatch {
        field: String,
        sent: String,
        answered: Option<String>,
    },
}

impl SignatureError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `Request-ID` header.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Why verification failed, when it was the signature that failed.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match &self.cause {
            SignatureCause::Verify(e) => Some(e),
            SignatureCause::Mismatch { .. } => None,
        }
    }

    /// The field that named another resource than the request (e.g. `user_card_code`), when
    /// the signature verified but the answer was not for this request.
    pub fn mismatched_field(&self) -> Option<&str> {
        match &self.cause {
            SignatureCause::Mismatch { field, .. } => Some(field),
            SignatureCause::Verify(_) => None,
        }
    }

    /// Whether this was one of WeChat Pay's deliberate probe signatures
    /// (`WECHATPAY/SIGNTEST/…`), sent to check that clients verify.
    pub fn is_probe(&self) -> bool {
        matches!(
            self.cause,
            SignatureCause::Verify(VerifyError::ProbeSignature)
        )
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            SignatureCause::Verify(e) => write!(
                f,
                "WeChat Pay's {} answer failed verification ({})",
                self.status,
                Untrusted(&e.to_string())
            )?,
            SignatureCause::Mismatch {
                field,
                sent,
                answered,
            } => write!(
                f,
                "WeChat Pay's {} answer verified but is not for this request: its {field} is {} \
                 where the request's is {} (a replayed or misrouted answer)",
                self.status,
                answered.as_deref().map_or_else(
                    || "absent".to_string(),
                    |a| format!("{:?}", Untrusted(a).to_string())
                ),
                format_args!("{:?}", Untrusted(sent).to_string()),
            )?,
        }
        write!(
            f,
            "{}; {}",
            request_id_suffix(self.request_id.as_deref()),
            consequence(self.method)
        )
    }
}

impl std::error::Error for SignatureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            SignatureCause::Verify(e) => Some(e),
            SignatureCause::Mismatch { .. } => None,
        }
    }
}

/// What kind of transport failure an [`Error::Transport`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (refused, unreachable, DNS, TLS handshake): nothing was sent.
    Connect,
    /// The connection failed after the request started (reset, closed mid-answer).
    Io,
    /// The answer was larger than the client's limit.
    ResponseTooLarge,
}

impl TransportErrorKind {
    /// Whether another attempt can succeed.
    pub fn is_retryable(self) -> bool {
        !matches!(self, TransportErrorKind::ResponseTooLarge)
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "could not connect to WeChat Pay",
            TransportErrorKind::Io => "the connection to WeChat Pay failed",
            TransportErrorKind::ResponseTooLarge => "WeChat Pay's answer was too large",
        })
    }
}

/// A misconfiguration, found when the client is built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Required settings were not given: every one of them, each with its variable.
    #[error("missing {}", settings.join("; "))]
    Missing {
        /// What is missing, e.g. "the merchant id (mchid; WECHATPAY_MCHID)".
        settings: Vec<&'static str>,
    },
    /// A setting has an invalid value.
    #[error("{what} is invalid: {reason}")]
    Invalid {
        /// Which setting.
        what: String,
        /// Why.
        reason: String,
    },
    /// A key or certificate could not be loaded.
    #[error("{what}: {source}")]
    Key {
        /// Which key, e.g. "the merchant private key (WECHATPAY_PRIVATE_KEY)".
        what: String,
        /// Why (never with key material).
        source: KeyError,
    },
    /// A file could not be read.
    #[error("{what}: cannot read {path}: {source}")]
    File {
        /// Which setting.
        what: String,
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
}
