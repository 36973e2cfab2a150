//! Answers as WeChat Pay writes them: error bodies, `Request-ID`, and the signature headers on
//! every one of them.

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use wechatpay_card_models::{ErrorDetail, ErrorResponse};
use wechatpay_signing::WechatPaySigner;
use wechatpay_signing::header::{self as wx, PROBE_SIGNATURE_PREFIX};

use crate::faults::SignatureFault;

/// `Content-Type` of every answer.
pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// Where a request's fault was found, as `ErrorDetail.location` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Body,
    Query,
    Path,
    Header,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Location::Body => "body",
            Location::Query => "query",
            Location::Path => "path",
            Location::Header => "header",
        }
    }
}

/// An error answer: status, `code`, `message` and the optional `detail`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// Boxed: an `ApiError` travels in every `Result` of the checks.
    pub(crate) detail: Option<Box<ErrorDetail>>,
    /// Seconds for a `Retry-After` header (only with the opt-in
    /// [`SandboxBuilder::retry_after`](crate::SandboxBuilder::retry_after)).
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
            retry_after: None,
        }
    }

    /// 400 `PARAM_ERROR` naming the field (`value` only when it is not sensitive).
    pub(crate) fn param(
        location: Location,
        field: Option<String>,
        value: Option<serde_json::Value>,
        issue: impl Into<String>,
    ) -> Self {
        let issue = issue.into();
        let message = match &field {
            Some(field) if !field.is_empty() => format!("{field}: {issue}"),
            _ => issue.clone(),
        };
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "PARAM_ERROR",
            message,
            detail: Some(Box::new({
                let mut detail = ErrorDetail::new()
                    .with_issue(issue)
                    .with_location(location.as_str());
                detail.field = field.filter(|f| !f.is_empty());
                detail.value = value;
                detail
            })),
            retry_after: None,
        }
    }

    /// 401 `SIGN_ERROR`.
    pub(crate) fn sign(issue: impl Into<String>) -> Self {
        let issue = issue.into();
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "SIGN_ERROR",
            message: format!("签名错误 (signature verification failed): {issue}"),
            detail: Some(Box::new(
                ErrorDetail::new()
                    .with_field("Authorization")
                    .with_issue(issue)
                    .with_location(Location::Header.as_str()),
            )),
            retry_after: None,
        }
    }

    /// 400 `INVALID_REQUEST` for a header that breaks the APIv3 rules (the page assigns header
    /// problems to INVALID_REQUEST, "HTTP 请求不符合微信支付 APIv3 接口规则"), naming the header in
    /// `detail` (`location` header). `message` is given whole.
    pub(crate) fn header(
        field: &str,
        value: Option<serde_json::Value>,
        issue: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_REQUEST",
            message: message.into(),
            detail: Some(Box::new({
                let mut detail = ErrorDetail::new()
                    .with_field(field)
                    .with_issue(issue)
                    .with_location(Location::Header.as_str());
                detail.value = value;
                detail
            })),
            retry_after: None,
        }
    }

    /// 400 `INVALID_REQUEST`.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// 404 `NOT_FOUND`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// 405 `INVALID_REQUEST`: the path is the endpoint's, the method is not.
    pub(crate) fn method_not_allowed(method: &str, allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "INVALID_REQUEST",
            format!(
                "HTTP 请求不符合微信支付 APIv3 接口规则: this path takes {allowed}, not {method}"
            ),
        )
    }

    /// 429 `RATELIMIT_EXCEEDED`: an injected fault, or the merchant's token bucket is empty.
    pub(crate) fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATELIMIT_EXCEEDED",
            "请求频率超过限制 (rate limit exceeded), retry later",
        )
    }

    /// The same error, answered with `Retry-After: secs`.
    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 429 `RATELIMIT_EXCEEDED`: the memory of nonces within the window is full.
    pub(crate) fn too_many_nonces(capacity: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATELIMIT_EXCEEDED",
            format!(
                "请求频率超过限制 (rate limit exceeded): the sandbox remembers the nonces of at \
                 most {capacity} requests within the 300 s window, retry later"
            ),
        )
    }

    /// 429 `RATELIMIT_EXCEEDED`: the requests-per-second limit keeps `capacity` token buckets,
    /// none of them full, and the request needs a new one.
    pub(crate) fn too_many_buckets(capacity: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATELIMIT_EXCEEDED",
            format!(
                "请求频率超过限制 (rate limit exceeded): the sandbox keeps at most {capacity} \
                 rate-limit buckets (merchants × endpoints), none is full, retry later"
            ),
        )
    }

    /// 500 `SYSTEM_ERROR`.
    pub(crate) fn system(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", message)
    }

    /// The `ErrorResponse` body.
    pub(crate) fn body(&self) -> Vec<u8> {
        let mut body = ErrorResponse::new(self.code, self.message.clone());
        body.detail = self.detail.as_deref().cloned();
        // Serializing strings and JSON values cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// `Request-ID`s: 128 random bits from the operating system's generator (`getrandom`),
/// 32 uppercase hex digits. Unpredictable, so an id says nothing of the requests before it,
/// and unique in practice (a collision is a 2^-64 event after 2^32 ids).
pub(crate) struct RequestIds;

impl RequestIds {
    pub(crate) fn next(&self) -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // The system generator does not fail once the process runs; should it, an id is
            // still needed: fastrand's generator, seeded per thread from the OS.
            bytes = fastrand::u128(..).to_be_bytes();
        }
        let mut id = String::with_capacity(32);
        for byte in bytes {
            id.push_str(&format!("{byte:02X}"));
        }
        id
    }
}

/// An answer signed as WeChat Pay signs: `TIMESTAMP\nNONCE\nBODY\n` over the exact body sent,
/// the five `Wechatpay-*` headers, `Request-ID`. A signing failure (the backend refusing) is
/// answered 500 unsigned, as there is no signature to give.
pub(crate) fn signed(
    signer: &WechatPaySigner,
    status: StatusCode,
    body: Vec<u8>,
    request_id: &str,
    fault: SignatureFault,
) -> Response {
    let mut builder = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, JSON)
        .header(wx::REQUEST_ID, request_id);
    match signer.sign_response(&body) {
        Ok(mut signature) => {
            match fault {
                SignatureFault::None => {}
                SignatureFault::Tampered => signature.signature = tamper(&signature.signature),
                SignatureFault::Probe => {
                    signature.signature =
                        format!("{PROBE_SIGNATURE_PREFIX}{}", signature.signature);
                }
            }
            for (name, value) in signature.headers() {
                builder = builder.header(name, value);
            }
        }
        Err(error) => {
            tracing::error!(%request_id, %error, "cannot sign the answer");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::system("the answer could not be signed").body(),
                request_id,
            );
        }
    }
    // Every header value above is ASCII this module or the signing crate made; should one ever
    // be refused, the answer is a 500 rather than a half-built one.
    builder.body(Body::from(body)).unwrap_or_else(|_| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::system("the answer could not be built").body(),
            "",
        )
    })
}

/// An unsigned answer (the test hook, or when signing failed); no `Request-ID` if `request_id`
/// is empty.
pub(crate) fn plain(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    if !request_id.is_empty()
        && let Ok(id) = HeaderValue::from_str(request_id)
    {
        headers.insert(HeaderName::from_static("request-id"), id);
    }
    response
}

/// A signature that is still base64 of the right length but does not verify: its first
/// character changed.
fn tamper(signature: &str) -> String {
    let mut chars = signature.chars();
    let first = match chars.next() {
        Some('A') => 'B',
        Some(_) => 'A',
        None => 'A',
    };
    std::iter::once(first).chain(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_random_not_counted() {
        let ids: Vec<String> = (0..64).map(|_| RequestIds.next()).collect();
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
            );
        }
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        // A counter shares its first half between consecutive ids, and they differ by one;
        // random ids share no prefix of 8 digits (a 2^-32 chance per pair).
        for pair in ids.windows(2) {
            assert_ne!(pair[0][..8], pair[1][..8], "{pair:?}");
            let (a, b) = (
                u128::from_str_radix(&pair[0], 16).unwrap(),
                u128::from_str_radix(&pair[1], 16).unwrap(),
            );
            assert_ne!(b.wrapping_sub(a), 1, "{pair:?}");
        }
    }

    #[test]
    fn tampering_changes_the_signature_only_in_its_first_character() {
        assert_eq!(tamper("Abc="), "Bbc=");
        assert_eq!(tamper("xbc="), "Abc=");
    }

    #[test]
    fn param_errors_name_the_field() {
        let e = ApiError::param(
            Location::Body,
            Some("level".into()),
            Some(serde_json::json!("x")),
            "too long",
        );
        let body: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(body["code"], "PARAM_ERROR");
        assert_eq!(body["message"], "level: too long");
        assert_eq!(body["detail"]["field"], "level");
        assert_eq!(body["detail"]["value"], "x");
        assert_eq!(body["detail"]["location"], "body");
    }
}
