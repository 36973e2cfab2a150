//! The client and its pipeline: validate, encrypt, serialize; then per attempt sign, send,
//! read (bounded); then verify, parse.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{Instrument, field};
use wechatpay_card_models::runtime::{LenientDeserialize, SensitiveFields, StringFields};
use wechatpay_card_models::{Correction, Endpoint, EndpointRequest, ErrorResponse};
use wechatpay_signing::{MerchantSigner, ResponseHeaders, ResponseVerifier, WechatPayKeySet};

use crate::error::{
    ApiError, Error, Repr, SignatureCause, SignatureError, TransportErrorKind, chain,
};
use crate::escape::escaped;
use crate::failover::{Host, HostOutcome, HostSelector};
use crate::rate_limit::RateLimiter;
use crate::retry::RetryPolicy;
use crate::{ClientBuilder, url};

#[doc(hidden)]
pub mod fuzzing;

/// An async client for WeChat Pay's member-card endpoint.
///
/// Cheap to clone (an `Arc` inside) and safe to share across tasks: clones share one
/// connection pool and one failover state. See the [crate documentation](crate) for what a
/// call does, step by step.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

/// A base URL as configured (scheme, host and port, no trailing slash: what errors and
/// [`Verified::base_url`] name), and parsed once (each request's URL is its target joined to it).
pub(crate) struct BaseUrl {
    pub(crate) text: String,
    pub(crate) url: reqwest::Url,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) signer: MerchantSigner,
    pub(crate) keys: WechatPayKeySet,
    pub(crate) verifier: ResponseVerifier,
    pub(crate) hosts: HostSelector,
    pub(crate) base: BaseUrl,
    pub(crate) backup: Option<BaseUrl>,
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Duration,
    pub(crate) call_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) rate_limiter: Option<RateLimiter>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("mchid", &inner.signer.mchid())
            .field("merchant_serial", &inner.signer.serial())
            .field("wechatpay_keys", &inner.keys.ids())
            .field("base_url", &inner.base.text)
            .field("backup_base_url", &inner.backup.as_ref().map(|b| &b.text))
            .field("retry", &inner.retry)
            .finish_non_exhaustive()
    }
}

/// A request after the steps that happen once per call (validation, encryption,
/// serialization), ready to be signed and sent by [`Client::send`].
///
/// Its body holds ciphertexts only: the plaintexts were encrypted and zeroized.
pub struct Prepared<E: Endpoint> {
    target: String,
    body: Bytes,
    wechatpay_serial: String,
    encrypted_fields: Vec<String>,
    /// The request's values of [`Endpoint::BOUND_FIELDS`]: the answer must carry the same.
    bound: Vec<(&'static str, String)>,
    endpoint: PhantomData<fn() -> E>,
}

impl<E: Endpoint> Prepared<E> {
    /// The HTTP method.
    pub fn method(&self) -> &'static str {
        E::METHOD
    }

    /// The request-target: the path and query exactly as sent and signed.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The body bytes exactly as sent and signed.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The id of the WeChat Pay key the sensitive fields were encrypted with: the
    /// `Wechatpay-Serial` header.
    pub fn wechatpay_serial(&self) -> &str {
        &self.wechatpay_serial
    }

    /// The paths of the fields that were encrypted, e.g. `phone_number`.
    pub fn encrypted_fields(&self) -> &[String] {
        &self.encrypted_fields
    }

    /// The fields that name the resource, with the values this request gives them
    /// (`user_card_code`, `card_id`, `brand_id`, `openid` for an update): the answer must name
    /// the same, or it is refused like an answer that failed verification.
    pub fn bound_fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.bound
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
    }
}

impl<E: Endpoint> std::fmt::Debug for Prepared<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("method", &E::METHOD)
            .field("target", &self.target)
            .field("body_len", &self.body.len())
            .field("wechatpay_serial", &self.wechatpay_serial)
            .field("encrypted_fields", &self.encrypted_fields)
            .finish()
    }
}

/// A verified, parsed answer, with what the call learned on the way.
///
/// The answer itself is [`Verified::value`] (borrowed) or [`Verified::into_inner`] (owned);
/// `Verified` does not dereference to it, so that its own methods (`status`, `request_id`…)
/// never shadow, or are shadowed by, the answer's fields and methods.
#[derive(Clone, Debug)]
pub struct Verified<T> {
    value: T,
    corrections: Vec<Correction>,
    status: u16,
    request_id: Option<String>,
    signed_by: String,
    attempts: u32,
    base_url: String,
}

impl<T> Verified<T> {
    /// The parsed answer.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The parsed answer, by value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The fields of the answer that were missing or unusable, filled with neutral values or
    /// left absent (empty when the answer was as documented). The answer was verified, so the
    /// call did what it did; these only say the answer was not quite the documented shape.
    /// Each is also logged as a warning.
    pub fn corrections(&self) -> &[Correction] {
        &self.corrections
    }

    /// The `Request-ID` header.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The id of the WeChat Pay key whose signature was verified (`Wechatpay-Serial`).
    pub fn signed_by(&self) -> &str {
        &self.signed_by
    }

    /// How many attempts the call made.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The base URL that answered (the primary or the backup host).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// An answer as read off the wire.
struct RawResponse {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client from the `WECHATPAY_*` environment variables (see [`mod@crate::env`]).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the missing or invalid variable.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env().build()
    }

    /// A client from PEM files, as WeChat Pay's own samples are configured: the merchant id,
    /// the merchant API certificate's serial, the merchant private key file
    /// (`apiclient_key.pem`), the WeChat Pay public key's id and file (`pub_key.pem`). Other
    /// settings are the defaults; use [`Client::builder`] to change them.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wechatpay_card_client::Error> {
    /// let client = wechatpay_card_client::Client::from_pem_files(
    ///     "1900000001",
    ///     "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    ///     "/etc/wechatpay/apiclient_key.pem",
    ///     "PUB_KEY_ID_0119000000012026112600000000000001",
    ///     "/etc/wechatpay/pub_key.pem",
    /// )?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the file or setting at fault.
    pub fn from_pem_files(
        mchid: &str,
        merchant_serial: &str,
        private_key_file: impl AsRef<std::path::Path>,
        wechatpay_public_key_id: &str,
        wechatpay_public_key_file: impl AsRef<std::path::Path>,
    ) -> Result<Self, Error> {
        ClientBuilder::new()
            .mchid(mchid)
            .merchant_serial(merchant_serial)
            .private_key_file(private_key_file)
            .wechatpay_public_key_file(wechatpay_public_key_id, wechatpay_public_key_file)
            .build()
    }

    /// Calls any endpoint of the generated models: [`Client::prepare`], then [`Client::send`].
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn execute<R: EndpointRequest>(
        &self,
        request: R,
    ) -> Result<Verified<<R::Endpoint as Endpoint>::Response>, Error> {
        let prepared = self.prepare(request)?;
        self.send(&prepared).await
    }

    /// The steps done once per call: validation (an invalid request is an error naming every
    /// violation, and nothing is sent), encryption of the sensitive fields with WeChat Pay's
    /// key, serialization of the body (once: those bytes are signed and sent).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) or [`ErrorKind::Encryption`](crate::ErrorKind::Encryption).
    pub fn prepare<R: EndpointRequest>(
        &self,
        mut request: R,
    ) -> Result<Prepared<R::Endpoint>, Error> {
        request.validate().map_err(Error::validation)?;
        let target = url::request_target(&request);
        let bound = R::Endpoint::BOUND_FIELDS
            .iter()
            .filter_map(|&name| Some((name, request.bound_value(name)?.to_string())))
            .collect();
        let encryptor = self.inner.keys.encryptor().map_err(|source| {
            Error::new(Repr::Encryption {
                field: "(no WeChat Pay key to encrypt with)".into(),
                source,
            })
        })?;
        let mut encrypted_fields = Vec::new();
        request
            .body_mut()
            .try_for_each_sensitive_mut(|path, value| {
                let encrypted = encryptor.encrypt(value.expose()).map_err(|source| {
                    Error::new(Repr::Encryption {
                        field: path.to_string(),
                        source,
                    })
                })?;
                value.replace(encrypted.ciphertext);
                encrypted_fields.push(path.to_string());
                Ok::<(), Error>(())
            })?;
        // A body-less request (a GET) sends no body at all and signs the empty string.
        let body = if R::Endpoint::HAS_BODY {
            serde_json::to_vec(request.body()).map_err(|e| {
                Error::internal("the request body does not serialize", Some(Box::new(e)))
            })?
        } else {
            Vec::new()
        };
        Ok(Prepared {
            target,
            body: Bytes::from(body),
            wechatpay_serial: encryptor.key_id().to_string(),
            encrypted_fields,
            bound,
            endpoint: PhantomData,
        })
    }

    /// The steps done per attempt, and the retries: sign (a fresh timestamp and nonce each
    /// time), send to the primary or backup host, read the answer (bounded), then for a 2xx
    /// answer verify its signature over the raw bytes and parse it; an error answer becomes
    /// [`ErrorKind::Api`](crate::ErrorKind::Api).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn send<E: Endpoint>(
        &self,
        prepared: &Prepared<E>,
    ) -> Result<Verified<E::Response>, Error> {
        let span = tracing::info_span!(
            "wechatpay_call",
            endpoint = E::NAME,
            method = E::METHOD,
            path = %prepared.target,
            attempts = field::Empty,
            status = field::Empty,
            request_id = field::Empty,
            latency_ms = field::Empty,
        );
        let started = Instant::now();
        let result = self
            .send_with_retries(prepared, started)
            .instrument(span.clone())
            .await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(v) => {
                span.record("attempts", v.attempts);
                span.record("status", v.status);
                if let Some(id) = &v.request_id {
                    record_request_id(&span, id);
                }
            }
            Err(e) => {
                if let Some(status) = e.status() {
                    span.record("status", status);
                }
                if let Some(id) = e.request_id() {
                    record_request_id(&span, id);
                }
                span.in_scope(|| tracing::debug!(error = %chain(e), "call failed"));
            }
        }
        result
    }

    async fn send_with_retries<E: Endpoint>(
        &self,
        prepared: &Prepared<E>,
        started: Instant,
    ) -> Result<Verified<E::Response>, Error> {
        let inner = &self.inner;
        let deadline = started + inner.call_timeout;
        let max_attempts = inner.retry.attempts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(limiter) = &inner.rate_limiter {
                // Waiting for the rate is part of the call: it counts against its deadline.
                if tokio::time::timeout_at(deadline.into(), limiter.acquire())
                    .await
                    .is_err()
                {
                    return Err(Error::new(Repr::Timeout {
                        method: E::METHOD,
                        attempts: attempt - 1,
                        elapsed: started.elapsed(),
                        last: None,
                    }));
                }
            }
            let now = Instant::now();
            let host = inner.hosts.pick(now);
            let base = match (host, &inner.backup) {
                (Host::Backup, Some(backup)) => backup,
                _ => &inner.base,
            };
            let base_url = base.text.as_str();
            let budget = inner
                .attempt_timeout
                .min(deadline.saturating_duration_since(now));
            let span = tracing::debug_span!(
                "wechatpay_attempt",
                attempt,
                host = base_url,
                status = field::Empty,
                request_id = field::Empty,
                latency_ms = field::Empty,
            );
            let attempt_started = Instant::now();
            let outcome = tokio::time::timeout(budget, self.attempt(base, prepared))
                .instrument(span.clone())
                .await;
            span.record("latency_ms", attempt_started.elapsed().as_millis() as u64);

            let (error, health) = match outcome {
                Err(_elapsed) => (
                    Error::new(Repr::Timeout {
                        method: E::METHOD,
                        attempts: attempt,
                        elapsed: started.elapsed(),
                        last: None,
                    }),
                    HostOutcome::Failed,
                ),
                Ok(Err(error)) => {
                    let health = match error.transport_kind() {
                        Some(TransportErrorKind::ResponseTooLarge) => HostOutcome::Healthy,
                        _ => HostOutcome::Failed,
                    };
                    (with_attempts(error, attempt), health)
                }
                Ok(Ok(raw)) => {
                    span.record("status", raw.status);
                    if let Some(id) = raw.header("Request-ID") {
                        record_request_id(&span, id);
                    }
                    let health = if raw.status >= 500 {
                        HostOutcome::Failed
                    } else {
                        HostOutcome::Healthy
                    };
                    self.report_host(host, health);
                    if let Some(limiter) = &inner.rate_limiter {
                        match raw.status {
                            429 => limiter.on_throttle(retry_after(&raw)),
                            200..=299 => limiter.on_success(),
                            _ => {}
                        }
                    }
                    if (200..300).contains(&raw.status) {
                        return self.verify_and_parse(
                            raw,
                            E::METHOD,
                            &prepared.bound,
                            attempt,
                            base_url,
                        );
                    }
                    let error = api_error(&raw);
                    if !error.is_retryable() || attempt >= max_attempts {
                        return Err(error);
                    }
                    self.wait_before_retry(E::METHOD, error, attempt, started, deadline)
                        .await?;
                    continue;
                }
            };
            self.report_host(host, health);
            if !error.is_retryable() || attempt >= max_attempts {
                return Err(error);
            }
            self.wait_before_retry(E::METHOD, error, attempt, started, deadline)
                .await?;
        }
    }

    fn report_host(&self, host: Host, outcome: HostOutcome) {
        match self.inner.hosts.report(host, outcome, Instant::now()) {
            Some(Host::Backup) => tracing::warn!(
                backup = self.inner.backup.as_ref().map(|b| b.text.as_str()),
                "the primary host keeps failing: requests move to the backup host"
            ),
            Some(Host::Primary) => {
                tracing::warn!(primary = %self.inner.base.text, "the primary host answers again: requests move back")
            }
            None => {}
        }
    }

    /// Sleeps before the next attempt, or gives up with the error when the wait would pass the
    /// call's deadline.
    async fn wait_before_retry(
        &self,
        method: &'static str,
        error: Error,
        attempt: u32,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), Error> {
        let wait = self.inner.retry.backoff(attempt);
        if Instant::now() + wait >= deadline {
            // An attempt that timed out is itself a timeout: the call's timeout takes its
            // place rather than wrapping it ("timed out …; last failure: timed out …").
            let last = match error.into_repr() {
                Repr::Timeout { last, .. } => last,
                other => Some(Error::new(other)),
            };
            return Err(Error::new(Repr::Timeout {
                method,
                attempts: attempt,
                elapsed: started.elapsed(),
                last,
            }));
        }
        tracing::info!(attempt, wait_ms = wait.as_millis() as u64, error = %chain(&error), "attempt failed; retrying");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// One attempt: sign, send, read the answer with a bound.
    async fn attempt<E: Endpoint>(
        &self,
        base: &BaseUrl,
        prepared: &Prepared<E>,
    ) -> Result<RawResponse, Error> {
        let inner = &self.inner;
        let base_url = base.text.as_str();
        let authorization = inner
            .signer
            .authorization(E::METHOD, &prepared.target, &prepared.body)
            .map_err(|e| Error::internal("could not sign the request", Some(Box::new(e))))?;
        let method = http::Method::from_bytes(E::METHOD.as_bytes()).map_err(|e| {
            Error::internal(
                format!("{} is not an HTTP method", E::METHOD),
                Some(Box::new(e)),
            )
        })?;
        // The target is path-absolute and the base has no path: the join is the base's scheme,
        // host and port, then the target, without parsing the host again for every request.
        let url = base.url.join(&prepared.target).map_err(|e| {
            Error::internal("the request-target does not make a URL", Some(Box::new(e)))
        })?;
        let mut builder = inner
            .http
            .request(method, url)
            .header(http::header::AUTHORIZATION, authorization)
            .header(http::header::ACCEPT, "application/json");
        if E::HAS_BODY {
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(prepared.body.clone());
        }
        if E::REQUIRES_WECHATPAY_SERIAL {
            builder = builder.header("Wechatpay-Serial", prepared.wechatpay_serial.as_str());
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| transport_error(e, E::METHOD, base_url))?;
        let status = response.status().as_u16();
        let limit = inner.max_response_bytes;
        let too_large = || {
            Error::new(Repr::Transport {
                method: E::METHOD,
                kind: TransportErrorKind::ResponseTooLarge,
                url: base_url.to_string(),
                attempts: 0,
                detail: Some(format!("the answer is larger than the {limit}-byte limit")),
                source: None,
            })
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        // An answer usually arrives as one chunk: it is kept as it is, not copied.
        let mut body = Bytes::new();
        let mut joined: Option<Vec<u8>> = None;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(e, E::METHOD, base_url))?
        {
            let so_far = joined.as_ref().map_or(body.len(), Vec::len);
            if so_far + chunk.len() > limit {
                return Err(too_large());
            }
            match &mut joined {
                Some(all) => all.extend_from_slice(&chunk),
                None if body.is_empty() => body = chunk,
                None => joined = Some([&body[..], &chunk[..]].concat()),
            }
        }
        Ok(RawResponse {
            status,
            headers: std::mem::take(response.headers_mut()),
            body: joined.map_or(body, Bytes::from),
        })
    }

    /// Verifies the signature over the raw bytes, reads the answer leniently, and checks that
    /// it names the resource the request named.
    fn verify_and_parse<T: LenientDeserialize + StringFields>(
        &self,
        raw: RawResponse,
        method: &'static str,
        bound: &[(&'static str, String)],
        attempts: u32,
        base_url: &str,
    ) -> Result<Verified<T>, Error> {
        let request_id = raw.header("Request-ID").map(str::to_string);
        let headers = ResponseHeaders::from_lookup(|name| raw.header(name));
        let refuse = |cause| {
            Error::new(Repr::Signature(SignatureError {
                method,
                status: raw.status,
                request_id: request_id.clone(),
                cause,
            }))
        };
        if let Err(source) = self.inner.verifier.verify(&headers, &raw.body) {
            return Err(refuse(SignatureCause::Verify(source)));
        }
        let signed_by = raw
            .header("Wechatpay-Serial")
            .unwrap_or_default()
            .to_string();
        let read = T::from_json_lenient(&raw.body).map_err(|e| {
            Error::new(Repr::InvalidResponse {
                method,
                status: raw.status,
                request_id: request_id.clone(),
                reason: e.to_string(),
            })
        })?;
        // A signature proves WeChat Pay sent these bytes, not that they answer this request: a
        // verified answer replayed within the timestamp window, or one for another card, must
        // not pass for this card's.
        for (field, sent) in bound {
            let answered = read.value.string_field(field);
            if answered != Some(sent.as_str()) {
                return Err(refuse(SignatureCause::Mismatch {
                    field: (*field).to_string(),
                    sent: sent.clone(),
                    answered: answered.map(str::to_string),
                }));
            }
        }
        if !read.corrections.is_empty() {
            let fields: Vec<String> = read
                .corrections
                .iter()
                .map(|c| escaped(&c.to_string()))
                .collect();
            tracing::warn!(
                request_id = request_id.as_deref().map(escaped),
                corrected = %fields.join("; "),
                "the verified answer is not quite the documented shape; read it anyway"
            );
        }
        Ok(Verified {
            value: read.value,
            corrections: read.corrections,
            status: raw.status,
            request_id,
            signed_by,
            attempts,
            base_url: base_url.to_string(),
        })
    }

    /// Decrypts, in place, the sensitive fields of an answer (e.g. a [`UserCard`](crate::models::UserCard)'s
    /// `phone_number`) with the merchant API private key. Never done implicitly: plaintext
    /// appears only where asked for.
    ///
    /// # Errors
    /// An error of kind [`ErrorKind::Decryption`](crate::ErrorKind::Decryption) naming (in
    /// [`Error::field`]) the first field that does not decrypt (the fields before it
    /// are decrypted, the rest are left as they were).
    pub fn decrypt<T: SensitiveFields>(&self, value: &mut T) -> Result<(), Error> {
        value.try_for_each_sensitive_mut(|path, field| {
            let plaintext = self
                .inner
                .signer
                .decrypt(field.expose())
                .map_err(|source| {
                    Error::new(Repr::Decryption {
                        field: path.to_string(),
                        source,
                    })
                })?;
            field.replace(plaintext.as_str());
            Ok(())
        })
    }

    /// The WeChat Pay keys this client encrypts with and verifies against; add a platform
    /// certificate or a new public key to it at runtime (key rotation) and every clone sees it.
    pub fn wechatpay_keys(&self) -> &WechatPayKeySet {
        &self.inner.keys
    }

    /// The merchant id.
    pub fn mchid(&self) -> &str {
        self.inner.signer.mchid()
    }

    /// The primary base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base.text
    }

    /// The backup base URL, if failover is on.
    pub fn backup_base_url(&self) -> Option<&str> {
        self.inner.backup.as_ref().map(|b| b.text.as_str())
    }
}

/// Records the answer's request id on `span`, escaped (it came from the network). Nothing is
/// escaped when no subscriber wants the span (the command's default `warn` filter, say): the
/// escaped copy would be thrown away.
fn record_request_id(span: &tracing::Span, id: &str) {
    if !span.is_disabled() {
        span.record("request_id", escaped(id));
    }
}

/// A `Retry-After` of whole seconds (WeChat Pay does not document one; honoured if it comes).
/// An HTTP date is not read: the limiter's own back-off applies then.
fn retry_after(raw: &RawResponse) -> Option<Duration> {
    let value = raw.header("Retry-After")?.trim();
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().map(Duration::from_secs)
}

fn with_attempts(error: Error, attempt: u32) -> Error {
    match error.into_repr() {
        Repr::Transport {
            method,
            kind,
            url,
            detail,
            source,
            ..
        } => Error::new(Repr::Transport {
            method,
            kind,
            url,
            attempts: attempt,
            detail,
            source,
        }),
        other => Error::new(other),
    }
}

fn api_error(raw: &RawResponse) -> Error {
    let request_id = raw.header("Request-ID").map(str::to_string);
    let (code, message, detail) = match serde_json::from_slice::<ErrorResponse>(&raw.body) {
        Ok(body) => (body.code, body.message, body.detail),
        Err(_) => {
            let text = String::from_utf8_lossy(&raw.body);
            let snippet: String = text.chars().take(200).collect();
            (
                String::new(),
                format!("(not a WeChat Pay error body) {snippet}"),
                None,
            )
        }
    };
    Error::new(Repr::Api(ApiError {
        status: raw.status,
        code,
        message,
        detail,
        request_id,
    }))
}

fn transport_error(e: reqwest::Error, method: &'static str, base_url: &str) -> Error {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Io
    };
    // Kept whole as the source (its causes say what happened), but without its URL: the
    // error names the base URL itself, and the path may name a card.
    Error::new(Repr::Transport {
        method,
        kind,
        url: base_url.to_string(),
        attempts: 0,
        detail: None,
        source: Some(e.without_url()),
    })
}
