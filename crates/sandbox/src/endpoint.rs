//! The shared plumbing of every endpoint, in WeChat Pay's order: routing, faults, the
//! signature, the merchant's rate limit, the headers of the method, the parameters (from the schema), the body (schema,
//! decryption); then the endpoint's own handler ([`crate::handlers`]), and the signed answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
#[cfg(test)]
use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt as _;
use wechatpay_card_models::Validate;
use wechatpay_card_models::runtime::{LenientDeserialize, SensitiveFields, StrictFields};
use wechatpay_signing::header::SERIAL;
use wechatpay_signing::{AuthorizationHeader, DEFAULT_WINDOW};

use crate::answer::{self, ApiError, Location};
use crate::faults::{Draw, SignatureFault};
use crate::nonces::NonceRefusal;
use crate::params::{EndpointSpec, NoRoute, Params};
use crate::rate::{MAX_RATE_BUCKETS, RateRefusal};
use crate::server::{ConnectionKiller, Shared};

/// The largest request body read: 64 KiB. A larger one is answered 400 `PARAM_ERROR`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long, by default, a request's head may take to arrive, and then its body: past it the
/// connection is closed without an answer
/// ([`SandboxBuilder::read_timeout`](crate::SandboxBuilder::read_timeout)). The head's limit is
/// also how long an idle keep-alive connection is kept: 8 s, as WeChat Pay's servers keep them.
pub const READ_TIMEOUT: Duration = Duration::from_secs(8);
/// The offset of the times the sandbox writes (`modify_time`): China Standard Time, +08:00.
pub(crate) const CHINA_OFFSET_MINUTES: i32 = 8 * 60;

pub(crate) use crate::params::echo;

/// Every request under the API: routed to its endpoint by the schema's templates.
pub(crate) async fn api(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let request_id = shared.request_ids.next();
    let spec = match shared
        .endpoints
        .route(request.method().as_str(), request.uri().path())
    {
        Ok(spec) => spec,
        Err(NoRoute::NotFound) => {
            let error = ApiError::not_found(format!(
                "no such API: {} {}",
                echo(request.method().as_str()),
                echo(request.uri().path())
            ));
            return answer_error(&shared, &request_id, &error, SignatureFault::None);
        }
        Err(NoRoute::MethodNotAllowed(allow)) => {
            let error = ApiError::method_not_allowed(&echo(request.method().as_str()), &allow);
            let mut response = answer_error(&shared, &request_id, &error, SignatureFault::None);
            if let Ok(allow) = http::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(http::header::ALLOW, allow);
            }
            return response;
        }
    };
    let killer = request.extensions().get::<ConnectionKiller>().cloned();
    let draw = shared.faults.draw();
    if !draw.latency.is_zero() {
        tokio::time::sleep(draw.latency).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_body(&parts.headers, body, shared.read_timeout).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge(issue)) => {
            let error = ApiError::param(Location::Body, None, None, issue);
            return answer_error(&shared, &request_id, &error, draw.signature);
        }
        Err(BodyError::Unreadable) => {
            // Too slow, or the client went away mid-body: nobody to answer.
            tracing::debug!(%request_id, "request body not received in time: closing");
            return close_connection(killer).await;
        }
    };

    if let Some(error) = injected_error(&draw) {
        count_fault(&shared);
        tracing::debug!(%request_id, code = error.code, "fault: injected error");
        return answer_error(&shared, &request_id, &error, draw.signature);
    }
    if draw.drop {
        count_fault(&shared);
        tracing::debug!(%request_id, "fault: connection dropped, request not applied");
        return close_connection(killer).await;
    }

    let call = Call {
        shared: &shared,
        spec,
        parts: &parts,
        body: &bytes,
        params: Params::default(),
    };
    match process(call) {
        Ok(Done { body, changed }) => {
            let counter = if changed {
                &shared.counters.updates_applied
            } else {
                &shared.counters.reads_answered
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if draw.applied_drop {
                count_fault(&shared);
                tracing::debug!(%request_id, endpoint = %spec.name, "fault: applied, connection dropped");
                return close_connection(killer).await;
            }
            tracing::debug!(%request_id, endpoint = %spec.name, "answered");
            signed(&shared, StatusCode::OK, body, &request_id, draw.signature)
        }
        Err(error) => {
            tracing::debug!(%request_id, status = %error.status, code = error.code, "refused");
            answer_error(&shared, &request_id, &error, draw.signature)
        }
    }
}

/// A request on its way through the checks.
pub(crate) struct Call<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) spec: &'a EndpointSpec,
    pub(crate) parts: &'a Parts,
    pub(crate) body: &'a [u8],
    /// Filled once the parameters are checked.
    pub(crate) params: Params,
}

/// A request answered 200.
pub(crate) struct Done {
    /// The answer's body (sensitive fields encrypted for the merchant).
    pub(crate) body: Vec<u8>,
    /// Whether the store changed (else a query).
    pub(crate) changed: bool,
}

impl Call<'_> {
    /// The body, checked against its schema, with its sensitive fields decrypted (and checked
    /// again); and its JSON, as received.
    pub(crate) fn body<B>(&self) -> Result<(B, serde_json::Value), ApiError>
    where
        B: serde::de::DeserializeOwned
            + LenientDeserialize
            + Validate
            + StrictFields
            + SensitiveFields,
    {
        let Some(checker) = &self.spec.body else {
            return Err(ApiError::system(format!(
                "{} has no request body in the schema",
                self.spec.name
            )));
        };
        let (mut body, value) = checker.check::<B>(self.body)?;
        decrypt_fields(self.shared, &self.parts.headers, &mut body)?;
        checker.check_plaintext(&body)?;
        Ok((body, value))
    }
}

/// The checks in WeChat Pay's order, then the endpoint's handler.
fn process(mut call: Call<'_>) -> Result<Done, ApiError> {
    let mchid = authenticate(call.shared, call.parts, call.body)?;
    // Only a verified request spends a token: nobody else can exhaust a merchant's limit.
    if let Err(refusal) = call.shared.faults.admit(&mchid, &call.spec.name) {
        call.shared
            .counters
            .rate_limited
            .fetch_add(1, Ordering::Relaxed);
        let (error, retry_after_secs) = match refusal {
            RateRefusal::Empty { retry_after_secs } => (ApiError::rate_limited(), retry_after_secs),
            RateRefusal::TooManyBuckets => (ApiError::too_many_buckets(MAX_RATE_BUCKETS), 1),
        };
        return Err(if call.shared.retry_after {
            error.with_retry_after(retry_after_secs)
        } else {
            error
        });
    }
    check_headers(&call.parts.headers)?;
    check_method_rules(call.spec, &call.parts.headers, call.body)?;
    call.params = call
        .spec
        .params(call.parts.uri.path(), call.parts.uri.query())?;
    crate::handlers::handle(&call)
}

/// The rules of the method and endpoint: a body-less endpoint (a GET) has no body and no
/// `Content-Type`, one with a body has `Content-Type: application/json`; `Wechatpay-Serial` is
/// there where the endpoint requires it. Each breach is a 400 `INVALID_REQUEST`.
fn check_method_rules(
    spec: &EndpointSpec,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    if spec.body.is_none() {
        if headers.contains_key(CONTENT_TYPE) {
            return Err(header_error(
                "Content-Type",
                &format!("must not be sent: a {} has no body", spec.method),
            ));
        }
        if !body.is_empty() {
            return Err(ApiError::invalid_request(format!(
                "HTTP 请求不符合微信支付 APIv3 接口规则: a {} carries no body ({} bytes sent)",
                spec.method,
                body.len()
            )));
        }
    } else {
        check_content_type(headers)?;
    }
    if spec.requires_serial && !headers.contains_key(SERIAL) {
        return Err(header_error(
            SERIAL,
            "is required: the id of the WeChat Pay key sensitive fields are encrypted with",
        ));
    }
    Ok(())
}

fn count_fault(shared: &Shared) {
    shared
        .counters
        .faults_injected
        .fetch_add(1, Ordering::Relaxed);
}

fn injected_error(draw: &Draw) -> Option<ApiError> {
    if draw.rate_limited {
        Some(ApiError::rate_limited())
    } else if draw.fail {
        Some(ApiError::system(
            "系统异常,请稍后重试 (system error, injected): retry later",
        ))
    } else {
        None
    }
}

fn signed(
    shared: &Shared,
    status: StatusCode,
    body: Vec<u8>,
    request_id: &str,
    fault: SignatureFault,
) -> Response {
    if fault != SignatureFault::None {
        count_fault(shared);
    }
    answer::signed(&shared.keys.wechatpay, status, body, request_id, fault)
}

fn answer_error(
    shared: &Shared,
    request_id: &str,
    error: &ApiError,
    fault: SignatureFault,
) -> Response {
    let mut response = signed(shared, error.status, error.body(), request_id, fault);
    if let Some(secs) = error.retry_after {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    response
}

/// Closes the connection without an answer: the connection's task drops the socket as soon as
/// it is told, and this handler never finishes, so no byte of an answer is written.
async fn close_connection(killer: Option<ConnectionKiller>) -> Response {
    match killer {
        Some(killer) => {
            killer.kill();
            std::future::pending().await
        }
        // Served by something else than the sandbox's own connections (a router test).
        None => answer::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::system("the connection would have been closed here").body(),
            "",
        ),
    }
}

enum BodyError {
    TooLarge(String),
    Unreadable,
}

async fn read_body(headers: &HeaderMap, body: Body, timeout: Duration) -> Result<Bytes, BodyError> {
    let too_large = |size: &str| {
        BodyError::TooLarge(format!(
            "the body is {size} bytes: at most {MAX_BODY_BYTES} bytes are accepted"
        ))
    };
    if let Some(length) = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > MAX_BODY_BYTES as u64
    {
        return Err(too_large(&length.to_string()));
    }
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            Err(too_large(&format!("more than {MAX_BODY_BYTES}")))
        }
        Ok(Err(_)) | Err(_) => Err(BodyError::Unreadable),
    }
}

pub(crate) fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The request-target as received: origin-form (`/path?query`, percent-encoding included, as
/// hyper keeps it) or, when the request line carried an absolute URL
/// (`PATCH http://host/v3/…?… HTTP/1.1`), that URL (the scheme in lower case).
fn request_target(uri: &http::Uri) -> String {
    if uri.scheme().is_some() {
        return uri.to_string();
    }
    uri.path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str())
        .to_owned()
}

/// The merchant's signature: one `Authorization` header of the scheme, for this merchant and
/// certificate, within 5 minutes, verifying over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` with
/// the request-target exactly as received, and a nonce not seen within the window (a replay).
/// Returns the verified merchant id.
fn authenticate(shared: &Shared, parts: &Parts, body: &[u8]) -> Result<String, ApiError> {
    let keys = &shared.keys;
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let value = values
        .next()
        .ok_or_else(|| ApiError::sign("the Authorization header is missing"))?;
    if values.next().is_some() {
        return Err(ApiError::sign("more than one Authorization header"));
    }
    let text = value
        .to_str()
        .map_err(|_| ApiError::sign("the Authorization header is not visible ASCII"))?;
    let header = AuthorizationHeader::parse(text).map_err(|e| ApiError::sign(e.to_string()))?;
    if header.mchid() != keys.mchid {
        return Err(ApiError::sign(format!(
            "mchid \"{}\" is not the merchant this sandbox serves",
            echo(header.mchid())
        )));
    }
    if !header.serial().eq_ignore_ascii_case(&keys.merchant_serial) {
        return Err(ApiError::sign(format!(
            "serial_no \"{}\" is not the merchant API certificate's serial number",
            echo(header.serial())
        )));
    }
    let now = unix_seconds();
    let url = request_target(&parts.uri);
    header
        .verify_at(
            &keys.merchant_key,
            parts.method.as_str(),
            &url,
            body,
            now,
            DEFAULT_WINDOW,
        )
        .map_err(|e| ApiError::sign(e.to_string()))?;
    // Only a verified request spends its nonce: a forger cannot block a merchant's next one.
    shared
        .nonces
        .admit(
            header.nonce(),
            header.timestamp(),
            DEFAULT_WINDOW.as_secs(),
            now,
        )
        .map_err(|refusal| match refusal {
            NonceRefusal::Replayed => ApiError::sign(format!(
                "nonce_str \"{}\" was already used within the {} s window: a replayed request",
                echo(header.nonce()),
                DEFAULT_WINDOW.as_secs()
            )),
            NonceRefusal::Full => ApiError::too_many_nonces(shared.nonces.capacity()),
        })?;
    Ok(header.mchid().to_owned())
}

/// A header that breaks the APIv3 rules: 400 `INVALID_REQUEST` naming it.
fn header_error(name: &str, issue: &str) -> ApiError {
    ApiError::header(name, None, issue, format!("{name}: {issue}"))
}

/// `User-Agent` and `Accept` must be there (WeChat Pay: "Http头缺少Accept或User-Agent"), and
/// then `Accept` must accept `application/json`. Each problem is a 400 `INVALID_REQUEST`, as the
/// page assigns header problems.
fn check_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    for name in [USER_AGENT, ACCEPT] {
        let present = headers
            .get_all(&name)
            .iter()
            .any(|value| !value.as_bytes().trim_ascii().is_empty());
        if !present {
            let name = if name == USER_AGENT {
                "User-Agent"
            } else {
                "Accept"
            };
            return Err(ApiError::header(
                name,
                None,
                "is required",
                "Http头缺少Accept或User-Agent",
            ));
        }
    }
    let accepts_json = headers.get_all(ACCEPT).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|range| media_type(range).eq_ignore_ascii_case("application/json"))
        })
    });
    if !accepts_json {
        return Err(header_error(
            "Accept",
            "must be application/json (请设置为application/json)",
        ));
    }
    Ok(())
}

/// `Content-Type` must be `application/json` (`charset=utf-8` allowed): a 400 `INVALID_REQUEST`.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut types = headers.get_all(CONTENT_TYPE).iter();
    let content_type = match (types.next(), types.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    };
    let good = content_type.is_some_and(|ct| {
        media_type(ct).eq_ignore_ascii_case("application/json")
            && ct.split(';').skip(1).all(|param| {
                let mut kv = param.splitn(2, '=');
                let name = kv.next().unwrap_or_default().trim();
                let value = kv.next().unwrap_or_default().trim().trim_matches('"');
                !name.eq_ignore_ascii_case("charset")
                    || value.eq_ignore_ascii_case("utf-8")
                    || value.eq_ignore_ascii_case("utf8")
            })
    });
    if !good {
        return Err(header_error(
            "Content-Type",
            "must be application/json (charset=utf-8 allowed) (请设置为application/json)",
        ));
    }
    Ok(())
}

fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// Decrypts the sensitive fields with WeChat Pay's key, which `Wechatpay-Serial` must name.
fn decrypt_fields<B: SensitiveFields>(
    shared: &Shared,
    headers: &HeaderMap,
    body: &mut B,
) -> Result<(), ApiError> {
    let key_id = shared.keys.wechatpay.key_id();
    let serial = headers
        .get(SERIAL)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if !body.has_sensitive() {
        return Ok(());
    }
    let Some(serial) = serial else {
        return Err(header_error(
            SERIAL,
            &format!(
                "is required: the id of the WeChat Pay key sensitive fields are encrypted with \
                 ({key_id})"
            ),
        ));
    };
    if serial.trim() != key_id {
        let issue = format!(
            "does not name the WeChat Pay key ({key_id}); the sensitive fields must be encrypted \
             with it"
        );
        return Err(ApiError::header(
            SERIAL,
            Some(serde_json::json!(echo(serial))),
            &issue,
            format!("{SERIAL}: {issue}"),
        ));
    }
    let max = shared.keys.merchant_key.max_plaintext_len();
    body.try_for_each_sensitive_mut(|path, value| {
        let field = Some(path.as_str().to_owned());
        let plaintext = shared.keys.wechatpay.decrypt(value.expose()).map_err(|e| {
            ApiError::param(
                Location::Body,
                field.clone(),
                None,
                format!("cannot be decrypted with the WeChat Pay key {key_id}: {e}"),
            )
        })?;
        if plaintext.len() > max {
            return Err(ApiError::param(
                Location::Body,
                field,
                None,
                format!(
                    "decrypts to {} bytes, more than the {max} the answer can encrypt for the \
                     merchant",
                    plaintext.len()
                ),
            ));
        }
        value.replace(plaintext.as_str());
        Ok(())
    })
}

/// The answer's body: the card (or list) with its sensitive fields encrypted for the merchant.
pub(crate) fn encrypt_for_merchant<T: SensitiveFields + serde::Serialize>(
    shared: &Shared,
    mut card: T,
) -> Result<Vec<u8>, ApiError> {
    let key = &shared.keys.merchant_key;
    card.try_for_each_sensitive_mut(|_, value| {
        let ciphertext = key.encrypt(value.expose().as_bytes()).map_err(|e| {
            ApiError::system(format!("cannot encrypt the answer for the merchant: {e}"))
        })?;
        value.replace(ciphertext);
        Ok(())
    })?;
    serde_json::to_vec(&card).map_err(|e| ApiError::system(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        let check = |accept: Option<&str>, content_type: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(USER_AGENT, "test".parse().unwrap());
            if let Some(a) = accept {
                headers.insert(ACCEPT, a.parse().unwrap());
            }
            if let Some(c) = content_type {
                headers.insert(CONTENT_TYPE, c.parse().unwrap());
            }
            check_headers(&headers)
                .and_then(|()| check_content_type(&headers))
                .err()
                .and_then(|e| e.detail)
                .and_then(|d| d.field)
        };
        let json = Some("application/json");
        assert_eq!(check(json, json), None);
        assert_eq!(
            check(
                Some("text/html, application/json;q=0.9"),
                Some("application/json; charset=UTF-8")
            ),
            None
        );
        assert_eq!(check(None, json).as_deref(), Some("Accept"));
        assert_eq!(check(Some("*/*"), json).as_deref(), Some("Accept"));
        assert_eq!(check(json, None).as_deref(), Some("Content-Type"));
        assert_eq!(
            check(json, Some("text/plain")).as_deref(),
            Some("Content-Type")
        );
        assert_eq!(
            check(json, Some("application/json; charset=gbk")).as_deref(),
            Some("Content-Type")
        );
    }

    #[test]
    fn a_missing_user_agent_or_accept_is_an_invalid_request() {
        let json = HeaderValue::from_static("application/json");
        let agent = HeaderValue::from_static("curl/8.5");
        for (accept, user_agent, field) in [
            (None, Some(&agent), "Accept"),
            (Some(&json), None, "User-Agent"),
            (None, None, "User-Agent"),
            (
                Some(&json),
                Some(&HeaderValue::from_static("")),
                "User-Agent",
            ),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, json.clone());
            if let Some(a) = accept {
                headers.insert(ACCEPT, a.clone());
            }
            if let Some(u) = user_agent {
                headers.insert(USER_AGENT, u.clone());
            }
            let error = check_headers(&headers).unwrap_err();
            assert_eq!(
                (error.status, error.code, error.message.as_str()),
                (
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    "Http头缺少Accept或User-Agent"
                )
            );
            let detail = error.detail.unwrap();
            assert_eq!(detail.field.as_deref(), Some(field));
            assert_eq!(detail.location.as_deref(), Some("header"));
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, json.clone());
        headers.insert(ACCEPT, json);
        headers.insert(USER_AGENT, agent);
        assert!(check_headers(&headers).is_ok());
    }
}
