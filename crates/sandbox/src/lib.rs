//! A local WeChat Pay for the user-card endpoints, faithful to the protocol: the server this project's
//! client, command and demo are tested against.
//!
//! WeChat Pay APIv3 has no test environment. A [`Sandbox`] is a real HTTP server on loopback
//! that serves the user-card endpoints of the schema (get, list, update, invalidate, the two
//! imports, confirm, all under `/v3/brand/partner/card-member/`) as WeChat Pay does: it verifies the merchant's request signature (over the request-target
//! exactly as received) and its timestamp, refuses a replayed nonce, checks the headers (a
//! `User-Agent` among them, as WeChat Pay requires), parameters and body against the
//! endpoint's JSON Schema, decrypts the sensitive fields with its WeChat Pay key, applies the
//! update to the cards it keeps in memory, encrypts the answer's sensitive fields for the
//! merchant and signs every answer, errors included. It can inject faults ([`Faults`]: 500s,
//! 429s, latency, dropped connections, updates applied whose answer is lost, tampered and
//! probe signatures) so that clients can prove their retries and their verification.
//!
//! ```
//! use wechatpay_sandbox::Sandbox;
//! use wechatpay_signing::{
//!     MerchantSigner, PrivateKey, ResponseHeaders, ResponseVerifier, WechatPayKeySet,
//!     WechatPayPublicKey,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Keys are generated; the credentials say what a client needs.
//! let sandbox = Sandbox::builder().start().await?;
//! let creds = sandbox.credentials();
//! let key_pem = creds.merchant_private_key_pem.as_ref().ok_or("generated")?;
//! let signer = MerchantSigner::new(&creds.mchid, &creds.merchant_serial, PrivateKey::from_pem(key_pem)?)?;
//!
//! // The page's example card is there by default: sign and send an update of it.
//! let url = "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";
//! let body = r#"{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","level":"金卡"}"#;
//! let response = reqwest::Client::new()
//!     .patch(format!("{}{url}", sandbox.base_url()))
//!     .header("Authorization", signer.authorization("PATCH", url, body.as_bytes())?)
//!     .header("Accept", "application/json")
//!     .header("Content-Type", "application/json")
//!     .header("User-Agent", "my-app/1.0") // WeChat Pay refuses a request without one
//!     .header("Wechatpay-Serial", &creds.wechatpay_key_id)
//!     .body(body)
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 200);
//!
//! // Every answer is signed by the sandbox's WeChat Pay key.
//! let headers = response.headers().clone();
//! let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
//! let answer = response.bytes().await?;
//! let keys = WechatPayKeySet::new().with_public_key(WechatPayPublicKey::from_pem(
//!     &creds.wechatpay_key_id,
//!     &creds.wechatpay_public_key_pem,
//! )?);
//! ResponseVerifier::new(keys).verify(&ResponseHeaders::from_lookup(header), &answer)?;
//!
//! let card = sandbox.card("pbLatjvWOibDc5-TBnbUk1pD12o0", "478515832665").ok_or("seeded")?;
//! assert_eq!(card.level.as_deref(), Some("金卡"));
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The crate's README lists every answer and when it is given, the limits (64 KiB bodies,
//! 64 KiB request heads, 8 s to receive a request, 1024 connections), the faults, the test
//! hook (`GET /_sandbox/user-cards`) and performance figures.
//!
//! Users can be simulated ([`Sandbox::user_opens_card`], [`Sandbox::user_deletes_card`], or
//! `POST /_sandbox/users/open-card` and `…/delete-card`): with a notify URL
//! ([`SandboxBuilder::notify_url`]) the sandbox then delivers the signed, encrypted card event
//! notification as WeChat Pay does, retrying until a 2xx, and records every attempt
//! ([`Sandbox::deliveries`]). The `wechatpay-card sandbox`
//! command runs one from a shell.

mod answer;
mod body_check;
mod credentials;
mod endpoint;
pub mod env;
mod error;
mod faults;
#[doc(hidden)]
pub mod fuzzing;
mod handlers;
mod nonces;
mod notify;
mod params;
mod rate;
mod server;
mod store;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wechatpay_card_models::UserCard;
use zeroize::Zeroizing;

pub use credentials::{Credentials, DEFAULT_MCHID};
pub use endpoint::{MAX_BODY_BYTES, READ_TIMEOUT};
pub use error::SandboxError;
pub use faults::Faults;
pub use nonces::NONCE_CAPACITY;
pub use notify::{
    DEFAULT_NOTIFY_INTERVAL, DEFAULT_NOTIFY_RETRIES, DELIVERY_TIMEOUT, Delivery, EVENT_CREATE,
    EVENT_DELETE, MAX_DELIVERY_RECORDS, UserEvent,
};
pub use rate::{MAX_RATE_BUCKETS, MAX_RPS};
pub use server::{LISTEN_BACKLOG, MAX_CONNECTIONS, MAX_HEAD_BYTES};
pub use store::default_cards;

use credentials::KeyOptions;
use server::{Counters, Shared};
use store::CardStore;

/// The counters of a running sandbox, since it started: [`Sandbox::stats`], and `GET
/// /_sandbox/stats` as JSON. The test hooks (`/_sandbox/…`) are counted nowhere.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Every HTTP request that reached the server: any path, rejected ones included; not the
    /// test hook. (A request the HTTP layer refuses before routing, e.g. a head over
    /// [`MAX_HEAD_BYTES`], is not counted.)
    pub requests: u64,
    /// Changes stored by any endpoint (updates, invalidations, imports, confirmations),
    /// including those whose answer was then dropped.
    pub updates_applied: u64,
    /// Queries answered 200 (`GET` one card, `GET` the list).
    pub reads_answered: u64,
    /// Faults that took effect (a request meeting two, e.g. a 500 with a tampered signature,
    /// counts two). The requests-per-second limit is not a fault: see `rate_limited`.
    pub faults_injected: u64,
    /// Requests answered 429 `RATELIMIT_EXCEEDED` by the requests-per-second limit
    /// ([`Faults::rps_limit`]), as opposed to the random 429s of
    /// [`Faults::rate_limit_rate`] (counted in `faults_injected`).
    pub rate_limited: u64,
    /// The answers given, by HTTP status code: every answer to a path outside `/_sandbox/`
    /// (the endpoints' answers, errors, and the 404s and 405s of unknown paths and methods).
    /// Not counted: a connection closed without an answer (a dropped-connection fault, a body
    /// not received in time), and what the HTTP layer answers before routing (431, 400 on
    /// unparseable HTTP). In JSON the codes are strings: `{"200": 5, "429": 7}`.
    pub by_status: BTreeMap<u16, u64>,
    /// When the sandbox started: RFC 3339, +08:00, with milliseconds.
    pub started_at: String,
    /// Milliseconds since the sandbox started.
    pub uptime_ms: u64,
}

/// A running sandbox. It stops when dropped (connections are cut) or, gracefully, with
/// [`Sandbox::shutdown`].
///
/// Its state sits behind locks shared with the server, so queries are cheap and may be made at
/// any time, from any thread.
pub struct Sandbox {
    shared: Arc<Shared>,
    credentials: Credentials,
    local_addr: SocketAddr,
    base_url: String,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A builder: every option has a default, so `Sandbox::builder().start().await` runs one on
    /// a free loopback port with generated keys and the page's example card.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: prefix it to the request-target.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The identities and keys it runs with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The stored cards, sensitive values in plaintext, sorted by `card_id` then
    /// `user_card_code`.
    pub fn cards(&self) -> Vec<UserCard> {
        self.shared.store.all()
    }

    /// One stored card, sensitive values in plaintext.
    pub fn card(&self, card_id: &str, user_card_code: &str) -> Option<UserCard> {
        self.shared.store.get(card_id, user_card_code)
    }

    /// The value of a `WECHATPAY_*` setting (see [`mod@env`]) that points a client at this sandbox
    /// (and, `WECHATPAY_APIV3_KEY`, the APIv3 key its notifications are encrypted with),
    /// so that `ClientBuilder::from_vars(|name| sandbox.setting(name))` configures one in one
    /// call: the merchant id and serial; the merchant private key as PEM text when the sandbox
    /// generated it (`None` when it was given only the public key); in public-key mode the key
    /// id and the public key as PEM text, in certificate mode the platform certificate as PEM
    /// text (the other mode's names are `None`); the base URL; and `none` as the backup base
    /// URL (a sandbox has no backup host unless you start one). Any other name is `None`.
    pub fn setting(&self, name: &str) -> Option<String> {
        let creds = &self.credentials;
        let certificate = creds.platform_certificate_pem.as_ref();
        match name {
            env::MCHID => Some(creds.mchid.clone()),
            env::MERCHANT_SERIAL => Some(creds.merchant_serial.clone()),
            env::PRIVATE_KEY => creds
                .merchant_private_key_pem
                .as_ref()
                .map(|pem| pem.as_str().to_owned()),
            env::PUBLIC_KEY_ID if certificate.is_none() => Some(creds.wechatpay_key_id.clone()),
            env::PUBLIC_KEY if certificate.is_none() => {
                Some(creds.wechatpay_public_key_pem.clone())
            }
            env::PLATFORM_CERT => certificate.cloned(),
            env::BASE_URL => Some(self.base_url.clone()),
            env::BACKUP_BASE_URL => Some("none".to_owned()),
            env::APIV3_KEY => Some(self.shared.notifier.key_text().to_owned()),
            _ => None,
        }
    }

    /// A user opens a card, as through the card-opening component: a new card of template
    /// `card_id` (whose brand it takes), `UNACTIVATED` (awaiting the merchant's confirmation,
    /// `POST user-cards/{code}/confirm`), NORMAL, valid PERMANENT, picked up, created and
    /// modified now. Returns the card (sensitive values in plaintext: none yet).
    ///
    /// # Errors
    /// [`SandboxError::Cards`] naming the cause: an unknown template, a user who already has an
    /// EFFECTIVE or an UNACTIVATED card of the template, a code taken under the template, or an
    /// empty code or openid.
    pub fn open_card(
        &self,
        card_id: &str,
        user_card_code: &str,
        openid: &str,
    ) -> Result<UserCard, SandboxError> {
        if user_card_code.is_empty() || openid.is_empty() {
            return Err(SandboxError::Cards(
                "user_card_code and openid must not be empty".to_owned(),
            ));
        }
        let store = &self.shared.store;
        let brand = store
            .template_brand(card_id)
            .ok_or_else(|| SandboxError::Cards(format!("no card template {card_id:?}")))?;
        let card = store::new_card(
            &brand,
            card_id,
            user_card_code,
            openid,
            wechatpay_card_models::UserCardState::Unactivated,
            handlers::now(),
        );
        store.insert(card).map_err(|refusal| {
            SandboxError::Cards(handlers::refused(refusal, card_id, user_card_code, &brand).message)
        })
    }

    /// A user opens a card and the sandbox notifies the merchant, as `POST
    /// /_sandbox/users/open-card` does: the card is stored as [`Sandbox::open_card`] stores it
    /// (UNACTIVATED, awaiting `POST user-cards/{code}/confirm`), with the code given or, when
    /// `None`, 12 random digits; then, when the sandbox has a notify URL, a
    /// `MEMBERCARDSP.USER_CARD.CREATE` notification is delivered in the background (see
    /// [`SandboxBuilder::notify_url`]). `brand_id`, when given, must be the template's.
    ///
    /// # Errors
    /// [`SandboxError::Cards`] naming the cause, as [`Sandbox::open_card`], or another brand.
    pub fn user_opens_card(
        &self,
        brand_id: Option<&str>,
        card_id: &str,
        user_card_code: Option<&str>,
        openid: &str,
    ) -> Result<UserEvent, SandboxError> {
        notify::open_card(&self.shared, brand_id, card_id, user_card_code, openid)
            .map_err(|e| SandboxError::Cards(e.message))
    }

    /// A user deletes a card, as `POST /_sandbox/users/delete-card` does: the card is removed
    /// from the store, whatever its state (the code can then be used again), and, when the
    /// sandbox has a notify URL, a `MEMBERCARDSP.USER_CARD.DELETE` notification carrying the
    /// card as it was is delivered in the background.
    ///
    /// # Errors
    /// [`SandboxError::Cards`]: no such template, or no such card under it.
    pub fn user_deletes_card(
        &self,
        card_id: &str,
        user_card_code: &str,
    ) -> Result<UserEvent, SandboxError> {
        notify::delete_card(&self.shared, card_id, user_card_code)
            .map_err(|e| SandboxError::Cards(e.message))
    }

    /// Every notification delivery attempt so far (the last [`MAX_DELIVERY_RECORDS`]), in the
    /// order they ended: what `GET /_sandbox/notifications` lists.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.notifier.deliveries()
    }

    /// The notify URL notifications are delivered to, if any.
    pub fn notify_url(&self) -> Option<&str> {
        self.shared.notifier.url()
    }

    /// The counters so far (see [`Stats`]; `GET /_sandbox/stats` answers the same as JSON).
    ///
    /// ```
    /// use wechatpay_sandbox::Sandbox;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = Sandbox::builder().start().await?;
    /// let http = reqwest::Client::builder().no_proxy().build()?;
    /// // A request without a signature: answered 401 SIGN_ERROR, and counted.
    /// let url = format!("{}/v3/brand/partner/card-member/user-cards", sandbox.base_url());
    /// let status = http.get(&url).send().await?.status();
    /// assert_eq!(status, 401);
    ///
    /// let stats = sandbox.stats();
    /// assert_eq!(stats.requests, 1);
    /// assert_eq!(stats.by_status.get(&401), Some(&1));
    /// assert_eq!(stats.by_status.get(&200), None);
    /// assert_eq!(stats.rate_limited, 0);
    ///
    /// // The test hook answers the same counters as JSON, and is not counted itself.
    /// let hook = format!("{}/_sandbox/stats", sandbox.base_url());
    /// let json: serde_json::Value = serde_json::from_str(&http.get(&hook).send().await?.text().await?)?;
    /// assert_eq!(json["by_status"]["401"], 1);
    /// assert_eq!(json["requests"], 1);
    /// sandbox.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Replaces the faults in force (e.g. to make the host fail, then recover). The sequence
    /// restarts from the new seed, and every token bucket of the requests-per-second limit is
    /// full again. Rates outside 0.0..=1.0 are clamped (NaN is 0.0); an `rps_limit` above
    /// [`MAX_RPS`] (infinity included) is `MAX_RPS`, and one that is NaN, 0 or below removes the
    /// limit.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.shared.faults.get()
    }

    /// Stops accepting connections, lets the requests in flight finish (5 s at most), then
    /// returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Binds a listener whose accept queue holds [`LISTEN_BACKLOG`] connections: beyond
/// [`MAX_CONNECTIONS`] served at once, connections wait there, fully established, rather than
/// have their handshake dropped by the kernel.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How a [`Sandbox`] is set up. Everything is checked by [`SandboxBuilder::start`].
#[derive(Debug)]
pub struct SandboxBuilder {
    listen: SocketAddr,
    keys: KeyOptionsDebug,
    cards: Option<Vec<UserCard>>,
    cards_file: Option<PathBuf>,
    templates: Vec<(String, String)>,
    faults: Faults,
    read_timeout: Duration,
    nonce_capacity: usize,
    notify_url: Option<String>,
    notify_interval: Duration,
    notify_retries: u32,
    apiv3_key: ApiV3KeyText,
    retry_after: bool,
}

/// The APIv3 key given, with a `Debug` that shows no key.
#[derive(Default)]
struct ApiV3KeyText(Option<Zeroizing<String>>);

impl std::fmt::Debug for ApiV3KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "<given>"
        } else {
            "<generated>"
        })
    }
}

/// [`KeyOptions`] with a `Debug` that shows no key.
#[derive(Default)]
struct KeyOptionsDebug(KeyOptions);

impl std::fmt::Debug for KeyOptionsDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyOptions")
            .field("mchid", &self.0.mchid)
            .field("merchant_serial", &self.0.merchant_serial)
            .finish_non_exhaustive()
    }
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            keys: KeyOptionsDebug::default(),
            cards: None,
            cards_file: None,
            templates: Vec::new(),
            faults: Faults::default(),
            read_timeout: READ_TIMEOUT,
            nonce_capacity: NONCE_CAPACITY,
            notify_url: None,
            notify_interval: DEFAULT_NOTIFY_INTERVAL,
            notify_retries: DEFAULT_NOTIFY_RETRIES,
            apiv3_key: ApiV3KeyText::default(),
            retry_after: false,
        }
    }
}

impl SandboxBuilder {
    /// The address to listen on; default `127.0.0.1:0` (a free port).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Reuses keys, e.g. another sandbox's (a backup host): the same merchant and WeChat Pay
    /// keys and ids. The other options given override their part of these.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.keys.0.base = Some(credentials);
        self
    }

    /// The merchant id requests must be signed for; default [`DEFAULT_MCHID`].
    #[must_use]
    pub fn mchid(mut self, mchid: impl Into<String>) -> Self {
        self.keys.0.mchid = Some(mchid.into());
        self
    }

    /// The merchant certificate serial number requests must name (hex); default random.
    #[must_use]
    pub fn merchant_serial(mut self, serial: impl Into<String>) -> Self {
        self.keys.0.merchant_serial = Some(serial.into());
        self
    }

    /// The merchant's public key (SPKI or PKCS#1 PEM, or a certificate): requests are verified
    /// with it and answers encrypted for it. The sandbox then has no merchant private key
    /// ([`Credentials::merchant_private_key_pem`] is `None`).
    #[must_use]
    pub fn merchant_public_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.keys.0.merchant_public_key_pem = Some(pem.into());
        self
    }

    /// WeChat Pay's private key (PKCS#8 or PKCS#1 PEM), in public-key mode; default generated.
    #[must_use]
    pub fn wechatpay_private_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.keys.0.wechatpay_private_key_pem = Some(Zeroizing::new(pem.into()));
        self
    }

    /// The id of WeChat Pay's public key, `PUB_KEY_ID_…`; default random.
    #[must_use]
    pub fn wechatpay_public_key_id(mut self, id: impl Into<String>) -> Self {
        self.keys.0.wechatpay_public_key_id = Some(id.into());
        self
    }

    /// Platform-certificate mode: WeChat Pay's key is this certificate's (its private key given
    /// beside it), and its serial number is `Wechatpay-Serial`. The certificate must be valid
    /// now.
    #[must_use]
    pub fn platform_certificate(
        mut self,
        cert_pem: impl Into<String>,
        key_pem: impl Into<String>,
    ) -> Self {
        self.keys.0.platform_certificate = Some((cert_pem.into(), Zeroizing::new(key_pem.into())));
        self
    }

    /// The cards to serve (sensitive values in plaintext), instead of the page's example card.
    /// A card's `card_id` and `brand_id` define its template.
    #[must_use]
    pub fn cards(mut self, cards: Vec<UserCard>) -> Self {
        self.cards = Some(cards);
        self
    }

    /// A JSON file holding an array of cards to serve, as [`SandboxBuilder::cards`].
    #[must_use]
    pub fn cards_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cards_file = Some(path.into());
        self
    }

    /// Declares a card template (`card_id` of brand `brand_id`) beyond those the cards define,
    /// so that cards can be imported into it; may be called more than once. A template given
    /// twice with two brands, or contradicting a card's, is refused at start.
    #[must_use]
    pub fn template(mut self, card_id: impl Into<String>, brand_id: impl Into<String>) -> Self {
        self.templates.push((card_id.into(), brand_id.into()));
        self
    }

    /// The faults to inject from the start; default none.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// How long a request's head may take to arrive, and then its body, before the connection
    /// is closed without an answer; default [`READ_TIMEOUT`] (8 s). Also how long an idle
    /// keep-alive connection is kept.
    #[must_use]
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How many request nonces are remembered at most (each for as long as its request's
    /// timestamp is within the 300 s window, to refuse replays); default [`NONCE_CAPACITY`].
    /// When that many are remembered, new requests are answered 429 `RATELIMIT_EXCEEDED` until
    /// the oldest leave the window: a replay is never accepted.
    #[must_use]
    pub fn nonce_capacity(mut self, capacity: usize) -> Self {
        self.nonce_capacity = capacity;
        self
    }

    /// Where card event notifications are POSTed (`http(s)://host[:port]/path`, no user name,
    /// password or fragment); default none: users can still open and delete cards, and nothing
    /// is sent. Deliveries go to this URL only (no proxy, redirects not followed); tests should
    /// point it at a receiver on loopback.
    ///
    /// Each notification is retried until the URL answers 2xx: every
    /// [`SandboxBuilder::notify_interval`], [`SandboxBuilder::notify_retries`] times at most,
    /// each attempt given [`DELIVERY_TIMEOUT`] (5 s). Every attempt is recorded
    /// ([`Sandbox::deliveries`]). Deliveries stop when the sandbox stops.
    #[must_use]
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// The pause between two delivery attempts of a notification; default
    /// [`DEFAULT_NOTIFY_INTERVAL`] (60 s, as WeChat Pay).
    #[must_use]
    pub fn notify_interval(mut self, interval: Duration) -> Self {
        self.notify_interval = interval;
        self
    }

    /// How many times a notification is retried after a failed first attempt; default
    /// [`DEFAULT_NOTIFY_RETRIES`] (11, as WeChat Pay). 0: one attempt only.
    #[must_use]
    pub fn notify_retries(mut self, retries: u32) -> Self {
        self.notify_retries = retries;
        self
    }

    /// Whether the 429s of the requests-per-second limit ([`Faults::rps_limit`]) carry a
    /// `Retry-After` header: the whole seconds until the merchant's bucket holds a token again
    /// (rounded up, 1 to 86,400). Default `false`: WeChat Pay documents no `Retry-After`, so by
    /// default the sandbox sends none. The random 429s of [`Faults::rate_limit_rate`] and the
    /// nonce memory's never carry one.
    #[must_use]
    pub fn retry_after(mut self, on: bool) -> Self {
        self.retry_after = on;
        self
    }

    /// The APIv3 key notifications' resources are encrypted with: 32 bytes, as set in the
    /// merchant platform; default 32 random letters and digits.
    /// [`Sandbox::setting`]`("WECHATPAY_APIV3_KEY")` gives it. Never logged.
    #[must_use]
    pub fn apiv3_key(mut self, key: impl Into<String>) -> Self {
        self.apiv3_key = ApiV3KeyText(Some(Zeroizing::new(key.into())));
        self
    }

    /// Checks the configuration, generates the keys not given, binds and starts serving.
    ///
    /// # Errors
    /// A [`SandboxError`] naming the misconfiguration, or [`SandboxError::Bind`].
    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        self.faults.check()?;
        if self.read_timeout.is_zero() {
            return Err(SandboxError::Config(
                "the read timeout must be longer than zero".to_owned(),
            ));
        }
        if self.nonce_capacity == 0 {
            return Err(SandboxError::Config(
                "the nonce capacity must be at least 1".to_owned(),
            ));
        }
        let cards = match (self.cards, self.cards_file) {
            (Some(_), Some(path)) => {
                return Err(SandboxError::Config(format!(
                    "both cards and a cards file ({}) are given: give one",
                    path.display()
                )));
            }
            (Some(cards), None) => cards,
            (None, Some(path)) => store::read_cards_file(&path)?,
            (None, None) => default_cards(),
        };
        if self.notify_interval.is_zero() {
            return Err(SandboxError::Config(
                "the notify interval must be longer than zero".to_owned(),
            ));
        }
        let (stop, stop_rx) = watch::channel(false);
        let notifier = notify::Notifier::new(
            self.notify_url.as_deref(),
            self.notify_interval,
            self.notify_retries,
            self.apiv3_key.0,
            stop_rx.clone(),
        )?;
        let (credentials, keys) = self.keys.0.resolve()?;
        let store = CardStore::new(cards, self.templates, keys.merchant_key.max_plaintext_len())?;
        let shared = Arc::new(Shared {
            keys,
            store,
            faults: faults::FaultInjector::new(self.faults),
            counters: Counters::new(),
            endpoints: params::Endpoints::from_schema()?,
            request_ids: answer::RequestIds,
            nonces: nonces::NonceMemory::new(self.nonce_capacity),
            read_timeout: self.read_timeout,
            notifier,
            retry_after: self.retry_after,
        });
        let listener = bind(self.listen).map_err(|source| SandboxError::Bind {
            addr: self.listen,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: self.listen,
            source,
        })?;
        let server = tokio::spawn(server::serve(listener, shared.clone(), stop_rx));
        Ok(Sandbox {
            shared,
            credentials,
            local_addr,
            base_url: format!("http://{local_addr}"),
            stop,
            server: Some(server),
        })
    }
}
