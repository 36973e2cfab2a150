//! An async client for the WeChat Pay APIv3 user-card endpoints of the card-member API, for
//! service providers (普通服务商), all under `/v3/brand/partner/card-member/`:
//!
//! | method | endpoint | official page |
//! |---|---|---|
//! | [`Client::get_user_card`] | `GET user-cards/{user_card_code}` 查询用户会员卡信息 | <https://pay.weixin.qq.com/doc/v3/partner/4015336980> |
//! | [`Client::list_user_cards`] | `GET user-cards` 查询用户在品牌下所有会员卡 (a paging stream) | <https://pay.weixin.qq.com/doc/v3/partner/4015336984> |
//! | [`Client::update_user_card`] | `PATCH user-cards/{user_card_code}` 修改用户会员卡信息 | <https://pay.weixin.qq.com/doc/v3/partner/4015336985> |
//! | [`Client::invalidate_user_card`] | `POST user-cards/{user_card_code}/invalidate` 作废用户会员卡 | <https://pay.weixin.qq.com/doc/v3/partner/4015336983> |
//! | [`Client::import_user_card_by_openid`] | `POST user-cards/import-by-openid` 根据OPENID导入用户会员卡 | <https://pay.weixin.qq.com/doc/v3/partner/4015336981> |
//! | [`Client::import_user_card_by_phone`] | `POST user-cards/import-by-phone` 根据手机号导入用户会员卡 | <https://pay.weixin.qq.com/doc/v3/partner/4015336982> |
//! | [`Client::confirm_user_card`] | `POST user-cards/{user_card_code}/confirm` 同步会员开通结果 | <https://pay.weixin.qq.com/doc/v3/partner/4015336979> |
//!
//! Each is a thin method over the generic [`Client::execute`], which calls any endpoint of the
//! generated models. A GET sends no body and no `Content-Type` and signs the empty body.
//!
//! ```no_run
//! use wechatpay_card_client::Client;
//! use wechatpay_card_client::models::{UpdateUserCardBody, UpdateUserCardRequest};
//!
//! # async fn run() -> Result<(), wechatpay_card_client::Error> {
//! // WECHATPAY_MCHID, WECHATPAY_MERCHANT_SERIAL, WECHATPAY_PRIVATE_KEY, WECHATPAY_PUBLIC_KEY_ID,
//! // WECHATPAY_PUBLIC_KEY (see `env`); or `Client::builder()`.
//! let client = Client::from_env()?;
//! let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
//!     .with_level("钻石会员")
//!     .with_phone_number("13800138000"); // plaintext: encrypted by the client
//! let request = UpdateUserCardRequest::new("478515832665", "pbLatjvWOibDc5-TBnbUk1pD12o0", body);
//! let mut card = client.update_user_card(request).await?;
//! client.decrypt(&mut card)?; // only if you need the plaintext back
//! println!("{} is now {:?}", card.user_card_code, card.level);
//! # Ok(()) }
//! ```
//!
//! # One call, step by step
//!
//! 1. **Validate** the request against every limit of the schema (characters, not bytes;
//!    Basic Multilingual Plane only; `#RRGGBB`; RFC 3339; enums; the path and query
//!    parameters). A violation is [`ErrorKind::Validation`], listing each with its field path, and
//!    nothing is sent.
//! 2. **Encrypt** the sensitive fields (those the schema marks) with WeChat Pay's key (RSAES-OAEP,
//!    SHA-1), the public key if one is configured, else the newest valid platform certificate;
//!    its id becomes `Wechatpay-Serial`.
//! 3. **Serialize** the body once. Those bytes, and the path and query percent-encoded once,
//!    are what is signed and what is sent.
//! 4. Per attempt: **sign** (`WECHATPAY2-SHA256-RSA2048`, a fresh timestamp and nonce), **send**
//!    over one pooled connection set (idle connections dropped after 7 s, before WeChat Pay's
//!    8 s), **read** the answer up to [`DEFAULT_MAX_RESPONSE_BYTES`], all within the attempt's
//!    timeout.
//! 5. A 2xx answer is **verified** over its raw bytes (key chosen by `Wechatpay-Serial`, a
//!    5-minute window) before anything is parsed: an unverified body is never returned
//!    ([`ErrorKind::Signature`]). Other answers become [`ErrorKind::Api`] with status, code, message,
//!    detail and Request-ID.
//! 6. The answer is **bound** to the request: the fields that name the resource on both sides
//!    ([`models::Endpoint::BOUND_FIELDS`]: `user_card_code`, `card_id`, `brand_id`, `openid` for
//!    an update) must carry the request's values, or the answer is refused like one that failed
//!    verification ([`ErrorKind::Signature`], [`SignatureError::mismatched_field`]). A signature
//!    proves WeChat Pay sent the bytes, not that they answer this request: this check is what
//!    makes an answer replayed within the 5-minute window, or one about another card, harmless.
//! 7. **Parse** leniently (Smithy's client error correction): unknown fields are ignored,
//!    unknown enum values kept as `Unknown`, and a field the page calls required that is missing
//!    or unusable is filled with a neutral value, listed in [`Verified::corrections`] and logged
//!    as a warning, never turned into an error: the answer verified, so the update was applied.
//!    Sensitive fields of the answer stay encrypted until [`Client::decrypt`].
//!
//! # Retries, failover, and when a request reaches WeChat Pay twice
//!
//! Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff and
//! full jitter ([`RetryPolicy`]), within the per-call deadline; other 4xx answers and
//! verification failures are not. After consecutive failures of the primary host (connection
//! errors, timeouts, 5xx) attempts move to the backup host, and one attempt every probe
//! interval tries the primary again until it answers ([`FailoverPolicy`]).
//!
//! A retried request can reach WeChat Pay twice, and be applied twice, when an attempt fails
//! **after** the request was sent: the connection drops or the attempt times out before the
//! answer arrives (the update may be stored, its answer lost), or a 5xx answer comes from a
//! server that applied it anyway. For an update that is safe: a PATCH sets absolute values (a
//! level, a colour, a phone number), so applying it twice leaves the card as applying it once. A
//! read (GET) changes nothing. An import, an invalidation or a confirmation is not repeatable:
//! when its first attempt landed and its answer was lost, the retry is refused (400
//! `INVALID_REQUEST` for an import or a second invalidation, 404 `NOT_FOUND` for a second
//! confirmation); read the card ([`Client::get_user_card`]) to learn which happened, as the
//! command's `bulk` does. A connection that was never established
//! ([`TransportErrorKind::Connect`]) sent nothing. [`Error::may_have_been_applied`] says which
//! case an error is.
//!
//! A 2xx answer that fails verification, including WeChat Pay's deliberate probe signatures
//! (`WECHATPAY/SIGNTEST/…`) and a verified answer about another card, is not retried: the request
//! may have been applied, so read the card back before retrying blindly.
//!
//! # Errors
//!
//! Every call fails with one type, [`Error`]: opaque (one pointer wide, `Send + Sync`), read
//! through [`Error::kind`] (an [`ErrorKind`], `#[non_exhaustive]`: match it with a `_` arm) and
//! accessors: [`Error::status`], [`Error::code`] (WeChat Pay's error code),
//! [`Error::message`], [`Error::request_id`] (for WeChat Pay's support),
//! [`Error::is_retryable`] (the client already retried), [`Error::may_have_been_applied`] (read
//! the card back before trying again), [`Error::is_timeout`], and the detail of each kind
//! ([`Error::as_api`], [`Error::as_signature`], [`Error::as_validation`], [`Error::field`],
//! [`Error::transport_kind`], …).
//!
//! ```no_run
//! use wechatpay_card_client::{Client, Error, ErrorKind};
//! use wechatpay_card_client::models::GetUserCardRequest;
//!
//! # async fn run(client: Client, request: GetUserCardRequest) -> Result<(), Error> {
//! match client.get_user_card(request).await {
//!     Ok(card) => println!("{:?}", card.user_card_state),
//!     Err(err) => match err.kind() {
//!         ErrorKind::Api if err.code() == Some("NOT_FOUND") => println!("no such card"),
//!         ErrorKind::Validation => eprintln!("fix the request: {}", err.as_validation().unwrap()),
//!         _ if err.is_retryable() => eprintln!("try again later ({err})"),
//!         _ => return Err(err),
//!     },
//! }
//! # Ok(()) }
//! ```
//!
//! `Display` says what failed at its own level; the cause is [`std::error::Error::source`]
//! (reqwest's error for a transport failure, the violations of an invalid request, the
//! configuration error, …), so print the chain to show everything, each part once:
//!
//! ```
//! fn report(error: &dyn std::error::Error) -> String {
//!     let mut text = error.to_string();
//!     let mut source = error.source();
//!     while let Some(cause) = source {
//!         text = format!("{text}: {cause}");
//!         source = cause.source();
//!     }
//!     text
//! }
//! let err = wechatpay_card_client::Client::builder().build().unwrap_err();
//! assert!(report(&err).starts_with("invalid client configuration: missing "));
//! ```
//!
//! Code that handles errors is tested against the `wechatpay-sandbox` crate's server and its
//! faults (error answers, bad and probe signatures, lost answers, delays): an `Error` cannot be
//! built outside this crate.
//!
//! # Text from the network
//!
//! Every string a server chose (an error's code, message and detail, a Request-ID, a body that
//! is not JSON) is shown by `Display`, `Debug` and the logs with its control characters escaped
//! ([`Untrusted`]): printing an error never lets a server drive a terminal or forge a log line.
//! The accessors ([`ApiError::message`], …) return the text as received.
//!
//! # Observability
//!
//! Each call is a `tracing` span `wechatpay_call` (endpoint, method, path, attempts, status,
//! request_id, latency_ms) and each attempt a `wechatpay_attempt` span (attempt, host, status,
//! request_id, latency_ms); retries are logged at `info`, failover moves and failed calls at
//! `warn`. No key, Authorization header or plaintext sensitive value is ever logged, and the
//! `Debug` of every type here leaves them out.
//!
//! # Cryptographic backend
//!
//! The `aws-lc` feature (default) signs at OpenSSL's speed and is rustls's TLS provider (C and
//! assembly; cmake on some targets). `rust-crypto` (with `default-features = false`) signs with
//! pure-Rust RustCrypto (see `wechatpay-signing`) and uses rustls's ring provider for TLS: no
//! aws-lc, no cmake, but ring has C and assembly. The TLS configuration is this client's own: no
//! process-wide rustls `CryptoProvider` is installed or read.

mod builder;
mod client;
mod endpoints;
mod error;
mod escape;
mod failover;
pub mod notify;
pub mod rate_limit;
mod retry;
mod url;

pub use builder::{
    ClientBuilder, DEFAULT_BACKUP_BASE_URL, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES,
    MAX_PEM_BYTES, env,
};
#[doc(hidden)]
pub use client::fuzzing;
pub use client::{Client, Prepared, Verified};
pub use endpoints::MAX_PAGE_SIZE;
pub use error::{ApiError, ConfigError, Error, ErrorKind, SignatureError, TransportErrorKind};
pub use escape::Untrusted;
pub use failover::FailoverPolicy;
pub use notify::{
    Acknowledgement, CardEvent, NotificationError, NotificationErrorKind, NotificationReceiver,
};
pub use rate_limit::{InvalidRate, RateLimiter};
pub use retry::RetryPolicy;

/// The request and response types (the `wechatpay-card-models` crate).
pub use wechatpay_card_models as models;
/// The keys and signatures (the `wechatpay-signing` crate).
pub use wechatpay_signing as signing;
