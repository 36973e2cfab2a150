//! The client's one error type, and what each kind means for the update.

use std::fmt;
use std::time::Duration;

use wechatpay_card_models::{ErrorDetail, ValidationError};
use wechatpay_signing::{CryptoError, KeyError, VerifyError};

use crate::escape::Untrusted;

/// Everything [`crate::Client`] can fail with: an opaque error to inspect through its
/// [`kind`](Error::kind) and accessors.
///
/// The [`ErrorKind`] says where the call failed, and so whether the update can have been
/// applied:
///
/// | kind | sent? | applied? |
/// |---|---|---|
/// | [`ErrorKind::Validation`], [`ErrorKind::Encryption`], [`ErrorKind::Config`], [`ErrorKind::Internal`] | no | no |
/// | [`ErrorKind::Api`] | yes | no for 4xx; unknown for 5xx (WeChat Pay says retry) |
/// | [`ErrorKind::Signature`], [`ErrorKind::InvalidResponse`] | yes | **maybe** (never for a GET): read the card back |
/// | [`ErrorKind::Transport`], [`ErrorKind::Timeout`] | maybe | maybe, unless [`Error::may_have_been_applied`] says no |
/// | [`ErrorKind::Decryption`] | yes | yes (the answer verified; only reading it back failed) |
///
/// ```no_run
/// use wechatpay_card_client::{Client, Error, ErrorKind};
/// use wechatpay_card_client::models::UpdateUserCardRequest;
///
/// async fn update(client: &Client, request: UpdateUserCardRequest) -> Result<(), Error> {
///     match client.update_user_card(request).await {
///         Ok(card) => println!("{} updated", card.user_card_code),
///         Err(err) => match err.kind() {
///             ErrorKind::Api if err.code() == Some("NOT_FOUND") => println!("no such card"),
///             ErrorKind::Api if err.is_retryable() => println!("try again later: {err}"),
///             _ if err.may_have_been_applied() => println!("read the card back: {err}"),
///             _ => return Err(err),
///         },
///     }
///     Ok(())
/// }
/// ```
///
/// # Display and sources
///
/// `Display` says what failed at this level only (code, message, Request-ID, the URL tried…);
/// the cause, when there is one, is [`std::error::Error::source`]: reqwest's error for a
/// transport failure, the [`ValidationError`] listing the violations, the [`CryptoError`] of a
/// field that did not encrypt or decrypt, the [`ConfigError`], the [`VerifyError`] of an answer
/// whose signature failed, the last failure before a timeout. Walk the chain to print it all
/// (`error: a: b: c`); no level repeats the one below it.
///
/// Neither `Display` nor `Debug` ever holds a key, an Authorization header or a plaintext
/// sensitive value, and every text that came from the network (code, message, detail,
/// Request-ID, a non-JSON body, a parser's complaint about the answer) is shown with its control
/// characters escaped ([`Untrusted`]), so that printing an error never lets a server drive the
/// terminal or forge a log line. The sources' own texts (reqwest's, the system's) are theirs:
/// escape them when you print the chain (the `wechatpay-card` command prints each level
/// through [`Untrusted`]).
///
/// # Testing code that handles errors
///
/// An `Error` cannot be built outside this crate. To exercise your error handling, point a
/// client at the `wechatpay-sandbox` crate's server and turn on its faults (error answers with
/// a chosen status and code, bad signatures, probe signatures, lost answers, delays): the client
/// then returns the very errors WeChat Pay's would give.
pub struct Error(Box<Repr>);

/// What an [`Error`] is: where the call failed. More kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request breaks the schema's limits; [`Error::as_validation`] lists every violation,
    /// each with its field path. Nothing was sent.
    Validation,
    /// A sensitive field could not be encrypted (e.g. longer than the 214 bytes RSA-2048 OAEP
    /// allows); [`Error::field`] names it. Nothing was sent.
    Encryption,
    /// WeChat Pay answered with an error status: [`Error::status`], [`Error::code`],
    /// [`Error::message`], [`Error::request_id`], and [`Error::as_api`] for the detail.
    Api,
    /// A 2xx answer failed verification (including WeChat Pay's deliberate probe signatures), or
    /// verified but names another resource than the request ([`Error::as_signature`]). Its body
    /// was not returned. **The update may have been applied**: re-read the card before retrying
    /// blindly.
    Signature,
    /// A verified 2xx answer whose body is not JSON, or not an object at all (a missing or odd
    /// field is not this: it is read and listed in [`crate::Verified::corrections`]). The
    /// request may have been applied (unless it was a read).
    InvalidResponse,
    /// The answer could not be received: connection refused or reset, TLS failure, a
    /// connection closed mid-answer, an answer larger than the limit
    /// ([`Error::transport_kind`]). Retried while retryable.
    Transport,
    /// The call's deadline (or every attempt's) passed.
    Timeout,
    /// A response field could not be decrypted with the merchant key; [`Error::field`] names it.
    Decryption,
    /// The client is misconfigured (reported by [`crate::ClientBuilder::build`]);
    /// [`Error::as_config`] says how.
    Config,
    /// A failure inside the client that should not happen: the OS random number generator
    /// failing while signing, a body that does not serialize. Nothing was sent.
    Internal,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Validation => "invalid request",
            ErrorKind::Encryption => "encryption failed",
            ErrorKind::Api => "error answer",
            ErrorKind::Signature => "unverified answer",
            ErrorKind::InvalidResponse => "invalid response",
            ErrorKind::Transport => "transport failure",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Decryption => "decryption failed",
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Internal => "internal error",
        })
    }
}

/// What an [`Error`] holds.
#[derive(Debug)]
pub(crate) enum Repr {
    Validation(ValidationError),
    Encryption {
        field: String,
        source: CryptoError,
    },
    Api(ApiError),
    Signature(SignatureError),
    InvalidResponse {
        method: &'static str,
        status: u16,
        request_id: Option<String>,
        /// What did not parse (the parser's text, shown escaped).
        reason: String,
    },
    Transport {
        method: &'static str,
        kind: TransportErrorKind,
        /// The base URL the last attempt went to (the primary or the backup host).
        url: String,
        attempts: u32,
        /// The client's own account, when it found the failure itself (a too-large answer).
        detail: Option<String>,
        /// reqwest's error (without its URL: the path may name a card), when reqwest failed.
        source: Option<reqwest::Error>,
    },
    Timeout {
        method: &'static str,
        attempts: u32,
        elapsed: Duration,
        /// The last retryable failure before the deadline, if any.
        last: Option<Error>,
    },
    Decryption {
        field: String,
        source: CryptoError,
    },
    Config(ConfigError),
    Internal {
        message: String,
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
}

impl Error {
    /// Wraps what happened (the only way to make an `Error`).
    pub(crate) fn new(repr: Repr) -> Self {
        Error(Box::new(repr))
    }

    pub(crate) fn repr(&self) -> &Repr {
        &self.0
    }

    pub(crate) fn into_repr(self) -> Repr {
        *self.0
    }

    pub(crate) fn validation(error: ValidationError) -> Self {
        Self::new(Repr::Validation(error))
    }

    pub(crate) fn config(error: ConfigError) -> Self {
        Self::new(Repr::Config(error))
    }

    pub(crate) fn internal(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(Repr::Internal {
            message: message.into(),
            source,
        })
    }

    /// Where the call failed; see [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self.repr() {
            Repr::Validation(_) => ErrorKind::Validation,
            Repr::Encryption { .. } => ErrorKind::Encryption,
            Repr::Api(_) => ErrorKind::Api,
            Repr::Signature(_) => ErrorKind::Signature,
            Repr::InvalidResponse { .. } => ErrorKind::InvalidResponse,
            Repr::Transport { .. } => ErrorKind::Transport,
            Repr::Timeout { .. } => ErrorKind::Timeout,
            Repr::Decryption { .. } => ErrorKind::Decryption,
            Repr::Config(_) => ErrorKind::Config,
            Repr::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// Whether trying again later can succeed: 429, 5xx, transport failures (other than a
    /// too-large answer) and timeouts. The client already retried these as its
    /// [`crate::RetryPolicy`] allows.
    pub fn is_retryable(&self) -> bool {
        match self.repr() {
            Repr::Api(e) => e.is_retryable(),
            Repr::Transport { kind, .. } => kind.is_retryable(),
            Repr::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Whether the request can have reached WeChat Pay and been applied although the call
    /// failed. `false` means it certainly was not (nothing was sent, a 4xx answer, a
    /// connection never established), or that it was a read, which changes nothing.
    pub fn may_have_been_applied(&self) -> bool {
        if self.method().is_some_and(changes_nothing) {
            return false;
        }
        match self.repr() {
            Repr::Validation(_)
            | Repr::Encryption { .. }
            | Repr::Config(_)
            | Repr::Internal { .. } => false,
            Repr::Decryption { .. } => true,
            Repr::Api(e) => e.status >= 500,
            Repr::Signature(_) | Repr::InvalidResponse { .. } => true,
            Repr::Transport { kind, .. } => *kind != TransportErrorKind::Connect,
            Repr::Timeout { .. } => true,
        }
    }

    /// Whether this is a timeout (of the call, or of its attempts).
    pub fn is_timeout(&self) -> bool {
        matches!(self.repr(), Repr::Timeout { .. })
    }

    /// Whether the answer could not be received ([`ErrorKind::Transport`]).
    pub fn is_transport(&self) -> bool {
        matches!(self.repr(), Repr::Transport { .. })
    }

    /// The HTTP status of the answer, when there was one (for a timeout: of the last failed
    /// attempt's answer).
    pub fn status(&self) -> Option<u16> {
        match self.repr() {
            Repr::Api(e) => Some(e.status),
            Repr::Signature(e) => Some(e.status),
            Repr::InvalidResponse { status, .. } => Some(*status),
            Repr::Timeout {
                last: Some(last), ..
            } => last.status(),
            _ => None,
        }
    }

    /// WeChat Pay's error code (e.g. `PARAM_ERROR`, `NOT_FOUND`), for an error answer whose
    /// body gave one. As received: escape it before printing it raw ([`Untrusted`]).
    pub fn code(&self) -> Option<&str> {
        match self.repr() {
            Repr::Api(e) if !e.code.is_empty() => Some(&e.code),
            Repr::Timeout {
                last: Some(last), ..
            } => last.code(),
            _ => None,
        }
    }

    /// WeChat Pay's error message, for an error answer (for a body that was not WeChat Pay's
    /// error JSON, the start of it). As received: escape it before printing it raw.
    pub fn message(&self) -> Option<&str> {
        match self.repr() {
            Repr::Api(e) => Some(&e.message),
            Repr::Timeout {
                last: Some(last), ..
            } => last.message(),
            _ => None,
        }
    }

    /// The `Request-ID` WeChat Pay gave the answer, for its support. As received: escape it
    /// before printing it raw.
    pub fn request_id(&self) -> Option<&str> {
        match self.repr() {
            Repr::Api(e) => e.request_id.as_deref(),
            Repr::Signature(e) => e.request_id.as_deref(),
            Repr::InvalidResponse { request_id, .. } => request_id.as_deref(),
            Repr::Timeout {
                last: Some(last), ..
            } => last.request_id(),
            _ => None,
        }
    }

    /// The HTTP method of the request, when it was sent or tried (`GET` changes nothing).
    pub fn method(&self) -> Option<&'static str> {
        match self.repr() {
            Repr::Signature(e) => Some(e.method),
            Repr::InvalidResponse { method, .. }
            | Repr::Transport { method, .. }
            | Repr::Timeout { method, .. } => Some(method),
            _ => None,
        }
    }

    /// The base URL the last attempt went to (the primary or the backup host), for a
    /// transport failure (for a timeout: of the last failed attempt).
    pub fn url(&self) -> Option<&str> {
        match self.repr() {
            Repr::Transport { url, .. } => Some(url),
            Repr::Timeout {
                last: Some(last), ..
            } => last.url(),
            _ => None,
        }
    }

    /// How many attempts the call made, for a transport failure or a timeout.
    pub fn attempts(&self) -> Option<u32> {
        match self.repr() {
            Repr::Transport { attempts, .. } | Repr::Timeout { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// The time spent in the call, for a timeout.
    pub fn elapsed(&self) -> Option<Duration> {
        match self.repr() {
            Repr::Timeout { elapsed, .. } => Some(*elapsed),
            _ => None,
        }
    }

    /// What kind of transport failure this is, for [`ErrorKind::Transport`].
    pub fn transport_kind(&self) -> Option<TransportErrorKind> {
        match self.repr() {
            Repr::Transport { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The path of the field that did not encrypt or decrypt (e.g. `phone_number`).
    pub fn field(&self) -> Option<&str> {
        match self.repr() {
            Repr::Encryption { field, .. } | Repr::Decryption { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The field that named another resource than the request (e.g. `user_card_code`), when
    /// an answer verified but was not for this request.
    pub fn mismatched_field(&self) -> Option<&str> {
        self.as_signature()?.mismatched_field()
    }

    /// The error answer, for [`ErrorKind::Api`]: its detail (field, issue, location).
    pub fn as_api(&self) -> Option<&ApiError> {
        match self.repr() {
            Repr::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The verification failure, for [`ErrorKind::Signature`].
    pub fn as_signature(&self) -> Option<&SignatureError> {
        match self.repr() {
            Repr::Signature(e) => Some(e),
            _ => None,
        }
    }

    /// The violations, for [`ErrorKind::Validation`].
    pub fn as_validation(&self) -> Option<&ValidationError> {
        match self.repr() {
            Repr::Validation(e) => Some(e),
            _ => None,
        }
    }

    /// The misconfiguration, for [`ErrorKind::Config`].
    pub fn as_config(&self) -> Option<&ConfigError> {
        match self.repr() {
            Repr::Config(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr() {
            Repr::Validation(_) => f.write_str("invalid request, nothing sent"),
            Repr::Encryption { field, .. } => {
                write!(f, "could not encrypt `{field}`, nothing sent")
            }
            Repr::Api(e) => fmt::Display::fmt(e, f),
            Repr::Signature(e) => fmt::Display::fmt(e, f),
            Repr::InvalidResponse {
                method,
                status,
                request_id,
                reason,
            } => write!(
                f,
                "WeChat Pay answered {status} but the body is not a valid response ({}){}; {}",
                Untrusted(reason),
                request_id_suffix(request_id.as_deref()),
                consequence(method)
            ),
            Repr::Transport {
                kind,
                url,
                attempts,
                detail,
                ..
            } => {
                write!(
                    f,
                    "{kind} at {} after {attempts} attempt(s)",
                    Untrusted(url)
                )?;
                match detail {
                    Some(detail) => write!(f, ": {}", Untrusted(detail)),
                    None => Ok(()),
                }
            }
            Repr::Timeout {
                attempts, elapsed, ..
            } => write!(f, "timed out after {elapsed:?} and {attempts} attempt(s)"),
            Repr::Decryption { field, .. } => write!(f, "could not decrypt `{field}`"),
            Repr::Config(_) => f.write_str("invalid client configuration"),
            Repr::Internal { message, .. } => {
                write!(f, "internal error, nothing sent: {message}")
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.repr(), f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.repr() {
            Repr::Validation(e) => Some(e),
            Repr::Encryption { source, .. } | Repr::Decryption { source, .. } => Some(source),
            Repr::Api(_) | Repr::InvalidResponse { .. } => None,
            // The same text as the `SignatureError`, so its source rather than itself.
            Repr::Signature(e) => std::error::Error::source(e),
            Repr::Transport { source, .. } => source
                .as_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            Repr::Timeout { last, .. } => last
                .as_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            Repr::Config(e) => Some(e),
            Repr::Internal { source, .. } => source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
        }
    }
}

/// An error and its sources on one line (`a: b: c`), each level escaped: for the logs.
pub(crate) fn chain(error: &Error) -> String {
    let mut text = Untrusted(&error.to_string()).to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&Untrusted(&cause.to_string()).to_string());
        source = cause.source();
    }
    text
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
            // Why is the source (`VerifyError`), not repeated here.
            SignatureCause::Verify(_) => {
                write!(f, "WeChat Pay's {} answer failed verification", self.status)?
            }
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

/// What kind of transport failure an [`ErrorKind::Transport`] error is ([`Error::transport_kind`]).
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
    /// A key or certificate could not be loaded (why is the source).
    #[error("{what}")]
    Key {
        /// Which key, e.g. "the merchant private key (WECHATPAY_PRIVATE_KEY)".
        what: String,
        /// Why (never with key material).
        source: KeyError,
    },
    /// A file could not be read (why is the source).
    #[error("{what}: cannot read {path}")]
    File {
        /// Which setting.
        what: String,
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client could not be built (why is the source).
    #[error("the HTTP client could not be built")]
    Http(#[source] reqwest::Error),

    /// The TLS configuration could not be built (no usable protocol version in the crypto
    /// provider, or the platform's certificate verifier could not be set up).
    #[error("the TLS configuration could not be built")]
    Tls(#[source] rustls::Error),
}
