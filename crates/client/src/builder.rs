//! Building a [`Client`]: credentials, hosts, timeouts, retries; every check at build time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wechatpay_card_models::{Endpoint, UpdateUserCard};
use wechatpay_signing::{
    MerchantCertificate, MerchantSigner, PlatformCertificate, PrivateKey, ResponseVerifier,
    WechatPayKeySet, WechatPayPublicKey,
};
use zeroize::Zeroizing;

use crate::client::{BaseUrl, Client, Inner};
use crate::error::ConfigError;
use crate::failover::{FailoverPolicy, HostSelector};
use crate::rate_limit::RateLimiter;
use crate::retry::RetryPolicy;

/// WeChat Pay's primary host: the nearest access point.
pub const DEFAULT_BASE_URL: &str = UpdateUserCard::HOSTS.primary;
/// WeChat Pay's backup host: an access point in another region.
pub const DEFAULT_BACKUP_BASE_URL: &str = UpdateUserCard::HOSTS.backup;
/// The largest answer body read, 1 MiB (a user card is about 2 KiB); a larger or endless
/// answer is an error, not a memory spike.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;
/// WeChat Pay closes idle connections after about 8 s; the pool drops them a little sooner, so
/// that no request goes out on a connection the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(7);

/// The environment variables [`ClientBuilder::from_env`] reads (the CLI's flags have the same
/// names). Key and certificate variables hold a PEM file's path, or the PEM text itself.
pub mod env {
    /// The service provider's merchant id.
    pub const MCHID: &str = "WECHATPAY_MCHID";
    /// The merchant API certificate's serial number (hex).
    pub const MERCHANT_SERIAL: &str = "WECHATPAY_MERCHANT_SERIAL";
    /// The merchant API certificate (PEM): the serial is read from it when none is given.
    pub const MERCHANT_CERT: &str = "WECHATPAY_MERCHANT_CERT";
    /// The merchant API private key (PEM, PKCS#8 or PKCS#1).
    pub const PRIVATE_KEY: &str = "WECHATPAY_PRIVATE_KEY";
    /// The WeChat Pay public key's id, `PUB_KEY_ID_…`.
    pub const PUBLIC_KEY_ID: &str = "WECHATPAY_PUBLIC_KEY_ID";
    /// The WeChat Pay public key (PEM).
    pub const PUBLIC_KEY: &str = "WECHATPAY_PUBLIC_KEY";
    /// WeChat Pay platform certificates (PEM files, comma-separated).
    pub const PLATFORM_CERT: &str = "WECHATPAY_PLATFORM_CERT";
    /// The base URL (default the primary host).
    pub const BASE_URL: &str = "WECHATPAY_BASE_URL";
    /// The backup base URL (default the backup host; `none` disables failover).
    pub const BACKUP_BASE_URL: &str = "WECHATPAY_BACKUP_BASE_URL";
    /// The APIv3 key (32 characters), which decrypts notifications
    /// ([`NotificationReceiver`](crate::NotificationReceiver)); not read by the builder.
    pub const APIV3_KEY: &str = "WECHATPAY_APIV3_KEY";
}

/// The largest key or certificate file read, 256 KiB (a key is about 2 KiB, a chain of
/// certificates a few): a larger file (or `/dev/zero`) is an error, not a memory spike.
pub const MAX_PEM_BYTES: u64 = 256 * 1024;

/// Where a key or certificate comes from.
#[derive(Clone)]
enum Pem {
    Text(Zeroizing<String>),
    File(PathBuf),
}

impl Pem {
    /// A setting's value: PEM text if it looks like one, else a path. Containers often pass a
    /// PEM with its line breaks written as `\n`: those are turned back into line breaks.
    fn from_setting(value: String) -> Self {
        if value.trim_start().starts_with("-----BEGIN") {
            let value = Zeroizing::new(value);
            if !value.contains('\n') && value.contains("\\n") {
                return Pem::Text(Zeroizing::new(value.replace("\\n", "\n")));
            }
            Pem::Text(value)
        } else {
            Pem::File(PathBuf::from(value))
        }
    }

    fn read(&self, what: &str) -> Result<Zeroizing<String>, ConfigError> {
        match self {
            Pem::Text(text) => Ok(text.clone()),
            Pem::File(path) => read_bounded(path).map_err(|source| ConfigError::File {
                what: what.to_string(),
                path: shown_path(path),
                source,
            }),
        }
    }
}

/// Reads at most [`MAX_PEM_BYTES`] of a file as UTF-8 text.
fn read_bounded(path: &Path) -> std::io::Result<Zeroizing<String>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_PEM_BYTES} bytes: not a PEM key or certificate"),
        ));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text: not a PEM key or certificate",
        )),
    }
}

/// A path as an error message may show it. A setting that was meant as key material but is
/// not PEM text (base64 without its armour, a PEM whose first line was lost) is taken for a
/// path: it must not be printed back. Paths are short, on one line, and never hold a PEM
/// boundary; anything else is not shown.
fn shown_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plausible = text.chars().count() <= 200
        && !text.contains("-----")
        && !text.chars().any(|c| c.is_control())
        && !looks_like_base64_blob(&text);
    if plausible {
        format!("{text:?}")
    } else {
        "(the value, not shown: it is neither PEM text nor a path to a file)".to_string()
    }
}

/// Text made of 48 or more base64 characters (`/` aside, which paths share with base64): key
/// material, not a path. A real path has a `.`, `_`, `-` or space somewhere, or is short.
fn looks_like_base64_blob(text: &str) -> bool {
    let significant = text.trim().bytes().filter(|&b| b != b'/');
    let mut count = 0usize;
    for b in significant {
        if !(b.is_ascii_alphanumeric() || b == b'+' || b == b'=') {
            return false;
        }
        count += 1;
    }
    count >= 48
}

/// Where the backup host comes from.
#[derive(Clone, Debug)]
enum Backup {
    /// WeChat Pay's backup host when the base URL is WeChat Pay's primary host; none otherwise
    /// (a test host must never fail over to production).
    Default,
    /// Failover disabled.
    Disabled,
    /// This base URL.
    Url(String),
}

/// Builds a [`Client`].
///
/// Required: the merchant id, the merchant API private key, the merchant serial (or the
/// merchant API certificate it is read from), and WeChat Pay's key: its public key with its id
/// and/or platform certificates (both during a migration). Everything is checked by
/// [`ClientBuilder::build`]: a misconfiguration is an error there, naming the setting, never
/// at the first request.
///
/// ```no_run
/// use std::time::Duration;
/// use wechatpay_card_client::{Client, RetryPolicy};
///
/// # fn main() -> Result<(), wechatpay_card_client::Error> {
/// let client = Client::builder()
///     .mchid("1900000001")
///     .merchant_serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
///     .private_key_file("/etc/wechatpay/apiclient_key.pem")
///     .wechatpay_public_key_file("PUB_KEY_ID_0119000000012026112600000000000001", "/etc/wechatpay/pub_key.pem")
///     .call_timeout(Duration::from_secs(20))
///     .retry_policy(RetryPolicy::default().max_attempts(5))
///     .build()?;
/// // Or, from WECHATPAY_* variables (paths or PEM text):
/// let client = Client::from_env()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    mchid: Option<String>,
    merchant_serial: Option<String>,
    merchant_certificate: Option<Pem>,
    private_key: Option<Pem>,
    private_key_loaded: Option<PrivateKey>,
    wechatpay_public_key: Option<(String, Pem)>,
    platform_certificates: Vec<Pem>,
    base_url: String,
    backup_base_url: Backup,
    attempt_timeout: Duration,
    call_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    failover: FailoverPolicy,
    user_agent: String,
    max_response_bytes: usize,
    verify_window: Duration,
    rate_limiter: Option<RateLimiter>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            mchid: None,
            merchant_serial: None,
            merchant_certificate: None,
            private_key: None,
            private_key_loaded: None,
            wechatpay_public_key: None,
            platform_certificates: Vec::new(),
            base_url: DEFAULT_BASE_URL.to_string(),
            backup_base_url: Backup::Default,
            attempt_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            failover: FailoverPolicy::default(),
            user_agent: concat!("wechatpay-card-client/", env!("CARGO_PKG_VERSION")).to_string(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            verify_window: wechatpay_signing::DEFAULT_WINDOW,
            rate_limiter: None,
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("mchid", &self.mchid)
            .field("merchant_serial", &self.merchant_serial)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "wechatpay_public_key_id",
                &self.wechatpay_public_key.as_ref().map(|(id, _)| id),
            )
            .field("platform_certificates", &self.platform_certificates.len())
            .field("base_url", &self.base_url)
            .field("backup_base_url", &self.backup_base_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the defaults: primary and backup hosts, 10 s per attempt, 30 s per call,
    /// [`RetryPolicy::default`], [`FailoverPolicy::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from the `WECHATPAY_*` variables of [`mod@env`]; unset variables leave the
    /// setting to the builder's other calls (or to the error [`ClientBuilder::build`] reports).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`ClientBuilder::from_env`], with the variables looked up by `get` (a map, a
    /// config file, a secret store).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use wechatpay_card_client::{ClientBuilder, env};
    ///
    /// let vars = HashMap::from([(env::MCHID, "1900000001"), (env::BACKUP_BASE_URL, "none")]);
    /// let builder = ClientBuilder::from_vars(|name| vars.get(name).map(|v| v.to_string()));
    /// let err = builder.build().unwrap_err(); // no key given
    /// assert_eq!(err.kind(), wechatpay_card_client::ErrorKind::Config);
    /// // What is missing is the source: the configuration error, naming every variable.
    /// let missing = err.as_config().unwrap().to_string();
    /// assert!(missing.contains("WECHATPAY_PRIVATE_KEY"));
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name| get(name).filter(|v| !v.trim().is_empty());
        let mut b = Self::new();
        b.mchid = var(env::MCHID);
        b.merchant_serial = var(env::MERCHANT_SERIAL);
        b.merchant_certificate = var(env::MERCHANT_CERT).map(Pem::from_setting);
        b.private_key = var(env::PRIVATE_KEY).map(Pem::from_setting);
        if let Some(key) = var(env::PUBLIC_KEY) {
            let id = var(env::PUBLIC_KEY_ID).unwrap_or_default();
            b.wechatpay_public_key = Some((id, Pem::from_setting(key)));
        }
        if let Some(certs) = var(env::PLATFORM_CERT) {
            b.platform_certificates = if certs.trim_start().starts_with("-----BEGIN") {
                vec![Pem::Text(Zeroizing::new(certs))]
            } else {
                certs
                    .split(',')
                    .map(|p| Pem::File(PathBuf::from(p.trim())))
                    .collect()
            };
        }
        if let Some(url) = var(env::BASE_URL) {
            b.base_url = url;
        }
        if let Some(url) = var(env::BACKUP_BASE_URL) {
            b.backup_base_url = if url.trim().eq_ignore_ascii_case("none") {
                Backup::Disabled
            } else {
                Backup::Url(url)
            };
        }
        b
    }

    /// The service provider's merchant id (商户号).
    #[must_use]
    pub fn mchid(mut self, mchid: impl Into<String>) -> Self {
        self.mchid = Some(mchid.into());
        self
    }

    /// The merchant API certificate's serial number (hex). Not needed when the certificate is
    /// given; if both are, they must agree.
    #[must_use]
    pub fn merchant_serial(mut self, serial: impl Into<String>) -> Self {
        self.merchant_serial = Some(serial.into());
        self
    }

    /// The merchant API certificate (PEM text), from which the serial is read.
    #[must_use]
    pub fn merchant_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.merchant_certificate = Some(Pem::Text(Zeroizing::new(pem.into())));
        self
    }

    /// The merchant API certificate, from a PEM file.
    #[must_use]
    pub fn merchant_certificate_file(mut self, path: impl AsRef<Path>) -> Self {
        self.merchant_certificate = Some(Pem::File(path.as_ref().to_path_buf()));
        self
    }

    /// The merchant API private key (PEM text, PKCS#8 or PKCS#1).
    #[must_use]
    pub fn private_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.private_key = Some(Pem::Text(Zeroizing::new(pem.into())));
        self.private_key_loaded = None;
        self
    }

    /// The merchant API private key, from a PEM file (`apiclient_key.pem`).
    #[must_use]
    pub fn private_key_file(mut self, path: impl AsRef<Path>) -> Self {
        self.private_key = Some(Pem::File(path.as_ref().to_path_buf()));
        self.private_key_loaded = None;
        self
    }

    /// The merchant API private key, already loaded.
    #[must_use]
    pub fn private_key(mut self, key: PrivateKey) -> Self {
        self.private_key_loaded = Some(key);
        self.private_key = None;
        self
    }

    /// The WeChat Pay public key (PEM text) and its id (`PUB_KEY_ID_…`): it encrypts the
    /// sensitive fields and verifies the answers that name it.
    #[must_use]
    pub fn wechatpay_public_key_pem(
        mut self,
        id: impl Into<String>,
        pem: impl Into<String>,
    ) -> Self {
        self.wechatpay_public_key = Some((id.into(), Pem::Text(Zeroizing::new(pem.into()))));
        self
    }

    /// The WeChat Pay public key and its id, from a PEM file.
    #[must_use]
    pub fn wechatpay_public_key_file(
        mut self,
        id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Self {
        self.wechatpay_public_key = Some((id.into(), Pem::File(path.as_ref().to_path_buf())));
        self
    }

    /// A WeChat Pay platform certificate (PEM text); may be called more than once. With no
    /// public key, the newest valid certificate encrypts; answers are verified with the one
    /// they name.
    #[must_use]
    pub fn platform_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.platform_certificates
            .push(Pem::Text(Zeroizing::new(pem.into())));
        self
    }

    /// A WeChat Pay platform certificate, from a PEM file.
    #[must_use]
    pub fn platform_certificate_file(mut self, path: impl AsRef<Path>) -> Self {
        self.platform_certificates
            .push(Pem::File(path.as_ref().to_path_buf()));
        self
    }

    /// Where requests go (default [`DEFAULT_BASE_URL`]); `http://` is accepted for a sandbox.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The backup host requests move to while the primary keeps failing.
    ///
    /// When not given, the backup is [`DEFAULT_BACKUP_BASE_URL`] if the base URL is
    /// [`DEFAULT_BASE_URL`], and there is no failover otherwise: a client pointed at a test
    /// host never fails over to production.
    #[must_use]
    pub fn backup_base_url(mut self, url: impl Into<String>) -> Self {
        self.backup_base_url = Backup::Url(url.into());
        self
    }

    /// No backup host: every attempt goes to the base URL.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wechatpay_card_client::Error> {
    /// let client = wechatpay_card_client::ClientBuilder::from_env()
    ///     .disable_failover()
    ///     .build()?;
    /// assert_eq!(client.backup_base_url(), None);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn disable_failover(mut self) -> Self {
        self.backup_base_url = Backup::Disabled;
        self
    }

    /// The longest one attempt may take, answer included (default 10 s). A server that stalls
    /// mid-answer hits it.
    #[must_use]
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The longest a call may take, retries and waits included (default 30 s).
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The longest a connection may take to establish (default 5 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How calls retry (default [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// When requests move to the backup host and back (default [`FailoverPolicy::default`]).
    #[must_use]
    pub fn failover_policy(mut self, policy: FailoverPolicy) -> Self {
        self.failover = policy;
        self
    }

    /// The `User-Agent` header (default `wechatpay-card-client/VERSION`).
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The largest answer body read (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    #[must_use]
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// How far an answer's `Wechatpay-Timestamp` may be from local time (default 300 s).
    #[must_use]
    pub fn verify_window(mut self, window: Duration) -> Self {
        self.verify_window = window;
        self
    }

    /// A client-side rate limit shared by every call of this client and its clones (default:
    /// none). Each attempt waits for a token; a 2xx answer tells an adaptive limiter the rate
    /// holds, a 429 makes it slow down (and honours a `Retry-After`). Give the same limiter to
    /// several clients to share one budget, e.g. one per service-provider merchant id, which is
    /// how WeChat Pay counts (5 requests/s on the user-card pages:
    /// [`Endpoint::RATE_LIMIT`](wechatpay_card_models::Endpoint::RATE_LIMIT)).
    ///
    /// ```
    /// use wechatpay_card_client::{ClientBuilder, RateLimiter};
    /// use wechatpay_card_client::models::{Endpoint, GetUserCard};
    ///
    /// let start = GetUserCard::RATE_LIMIT.map_or(5.0, |limit| f64::from(limit.per_second));
    /// let builder = ClientBuilder::new().rate_limiter(RateLimiter::adaptive(start).unwrap());
    /// ```
    #[must_use]
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Checks everything and builds the client.
    ///
    /// # Errors
    /// An error of kind [`crate::ErrorKind::Config`] naming the missing or invalid setting.
    pub fn build(self) -> Result<Client, crate::Error> {
        self.build_inner().map_err(crate::Error::config)
    }

    fn build_inner(self) -> Result<Client, ConfigError> {
        self.check_complete()?;
        let mchid = self.mchid.clone().unwrap_or_default();
        if !mchid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid {
                what: "the merchant id (mchid, WECHATPAY_MCHID)".into(),
                reason: "must be digits, e.g. 1900000001".into(),
            });
        }
        let key = match (self.private_key_loaded.clone(), &self.private_key) {
            (Some(key), _) => key,
            (None, Some(pem)) => {
                let what = "the merchant private key (WECHATPAY_PRIVATE_KEY)";
                let text = pem.read(what)?;
                PrivateKey::from_pem(&text).map_err(|source| ConfigError::Key {
                    what: what.into(),
                    source,
                })?
            }
            (None, None) => unreachable_setting("the merchant private key")?,
        };
        let certificate = match &self.merchant_certificate {
            Some(pem) => {
                let what = "the merchant API certificate (WECHATPAY_MERCHANT_CERT)";
                let text = pem.read(what)?;
                Some(
                    MerchantCertificate::from_pem(&text).map_err(|source| ConfigError::Key {
                        what: what.into(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let signer = match (&self.merchant_serial, &certificate) {
            (Some(serial), Some(cert)) if !serial.eq_ignore_ascii_case(cert.serial()) => {
                return Err(ConfigError::Invalid {
                    what: "the merchant serial".into(),
                    reason: format!(
                        "{serial} is not the serial of the merchant certificate given ({})",
                        cert.serial()
                    ),
                });
            }
            (_, Some(cert)) => MerchantSigner::from_certificate(mchid, cert, key),
            (Some(serial), None) => MerchantSigner::new(mchid, serial, key),
            (None, None) => unreachable_setting("the merchant serial")?,
        }
        .map_err(|source| ConfigError::Key {
            what: "the merchant signer".into(),
            source,
        })?;

        let keys = WechatPayKeySet::new();
        if let Some((id, pem)) = &self.wechatpay_public_key {
            let what = "the WeChat Pay public key (WECHATPAY_PUBLIC_KEY)";
            let text = pem.read(what)?;
            let key = WechatPayPublicKey::from_pem(id.clone(), &text).map_err(|source| {
                ConfigError::Key {
                    what: what.into(),
                    source,
                }
            })?;
            keys.set_public_key(key);
        }
        for pem in &self.platform_certificates {
            let what = "a WeChat Pay platform certificate (WECHATPAY_PLATFORM_CERT)";
            let text = pem.read(what)?;
            let cert = PlatformCertificate::from_pem(&text).map_err(|source| ConfigError::Key {
                what: what.into(),
                source,
            })?;
            keys.add_certificate(cert);
        }
        // Sensitive fields need a key to encrypt with: fail now rather than at the first call.
        keys.encryptor().map_err(|e| ConfigError::Invalid {
            what: "WeChat Pay's keys".into(),
            reason: e.to_string(),
        })?;

        const BASE: &str = "the base URL (WECHATPAY_BASE_URL)";
        const BACKUP: &str = "the backup base URL (WECHATPAY_BACKUP_BASE_URL)";
        let base = BaseUrl::new(BASE, &self.base_url)?;
        let backup = match &self.backup_base_url {
            Backup::Url(url) => Some(BaseUrl::new(BACKUP, url)?),
            Backup::Default if base.text == DEFAULT_BASE_URL => {
                Some(BaseUrl::new(BACKUP, DEFAULT_BACKUP_BASE_URL)?)
            }
            Backup::Default | Backup::Disabled => None,
        };
        for (what, d) in [
            ("the attempt timeout", self.attempt_timeout),
            ("the call timeout", self.call_timeout),
            ("the connect timeout", self.connect_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::Invalid {
                    what: what.into(),
                    reason: "must not be zero".into(),
                });
            }
        }

        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .user_agent(self.user_agent.clone())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            // A PATCH must not be replayed to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ConfigError::Http)?;

        let verifier = ResponseVerifier::new(keys.clone()).with_window(self.verify_window);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                signer,
                keys,
                verifier,
                hosts: HostSelector::new(self.failover, backup.is_some()),
                base,
                backup,
                retry: self.retry,
                attempt_timeout: self.attempt_timeout,
                call_timeout: self.call_timeout,
                max_response_bytes: self.max_response_bytes,
                rate_limiter: self.rate_limiter,
            }),
        })
    }
}

/// The TLS configuration given to this client's reqwest: rustls with the crypto provider of the
/// crate's features (aws-lc-rs with `aws-lc`, ring with `rust-crypto` alone), never a process-wide
/// default (none is installed or read); server certificates checked against the platform's roots.
fn tls_config() -> Result<rustls::ClientConfig, ConfigError> {
    #[cfg(feature = "aws-lc")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    let provider = rustls::crypto::ring::default_provider();
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(ConfigError::Tls)?
        .with_no_client_auth();
    // reqwest is built without HTTP/2: offer HTTP/1.1 only, as reqwest's own TLS setup does.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl ClientBuilder {
    /// Every required setting that is missing, named at once (a user fixing their
    /// configuration should not discover the settings one run at a time).
    fn check_complete(&self) -> Result<(), ConfigError> {
        let mut missing = Vec::new();
        if self.mchid.as_deref().is_none_or(str::is_empty) {
            missing.push("the merchant id (mchid; WECHATPAY_MCHID)");
        }
        if self.private_key.is_none() && self.private_key_loaded.is_none() {
            missing.push("the merchant API private key (WECHATPAY_PRIVATE_KEY)");
        }
        if self.merchant_serial.is_none() && self.merchant_certificate.is_none() {
            missing.push(
                "the merchant serial, or the merchant API certificate it is read from \
                 (WECHATPAY_MERCHANT_SERIAL or WECHATPAY_MERCHANT_CERT)",
            );
        }
        match &self.wechatpay_public_key {
            Some((id, _)) if id.is_empty() => missing.push(
                "the WeChat Pay public key id (PUB_KEY_ID_…) for the public key given \
                 (WECHATPAY_PUBLIC_KEY_ID)",
            ),
            None if self.platform_certificates.is_empty() => missing.push(
                "WeChat Pay's key: its public key and id (WECHATPAY_PUBLIC_KEY and \
                 WECHATPAY_PUBLIC_KEY_ID), or a platform certificate (WECHATPAY_PLATFORM_CERT)",
            ),
            _ => {}
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Missing { settings: missing })
        }
    }
}

/// A setting [`ClientBuilder::check_complete`] has already found present.
fn unreachable_setting<T>(what: &'static str) -> Result<T, ConfigError> {
    Err(ConfigError::Missing {
        settings: vec![what],
    })
}

/// A base URL: `http(s)://host[:port]`, no path, query or fragment; the trailing `/` dropped.
fn check_url(what: &str, url: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        what: what.to_string(),
        reason: format!("{url:?} {reason}"),
    };
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| invalid("must start with https:// (or http:// for a sandbox)"))?;
    if rest.is_empty() {
        return Err(invalid("has no host"));
    }
    if rest.contains(['/', '?', '#', ' ']) {
        return Err(invalid("must be just scheme, host and port"));
    }
    Ok(trimmed.to_string())
}

impl BaseUrl {
    /// `url` checked by [`check_url`], then parsed (its host a valid host name, say).
    fn new(what: &str, url: &str) -> Result<Self, ConfigError> {
        let text = check_url(what, url)?;
        let url = reqwest::Url::parse(&text).map_err(|e| ConfigError::Invalid {
            what: what.to_string(),
            reason: format!("{text:?} is not a URL: {e}"),
        })?;
        Ok(Self { text, url })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_scheme_host_and_port() {
        assert_eq!(
            check_url("u", "https://api.mch.weixin.qq.com/").unwrap(),
            "https://api.mch.weixin.qq.com"
        );
        assert_eq!(
            check_url("u", "http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "api.mch.weixin.qq.com",
            "ftp://x",
            "https://",
            "https://x/v3",
            "https://x?y",
        ] {
            assert!(check_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_base_url_whose_host_is_not_a_host_is_refused_when_built() {
        for bad in [
            "http://[::1",
            "https://exa mple.com",
            "https://a:99999",
            "https://%00",
        ] {
            // check_url lets some through (no '/', '?'...); the parse at build refuses them all,
            // rather than the first request failing.
            let error = BaseUrl::new("the base URL", bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            let text = error.to_string();
            assert!(text.contains("the base URL"), "{text}");
        }
        let base = BaseUrl::new("u", "http://127.0.0.1:8080/").unwrap();
        assert_eq!(base.text, "http://127.0.0.1:8080");
        assert_eq!(base.url.as_str(), "http://127.0.0.1:8080/");
        assert!(BaseUrl::new("u", "https://api.mch.weixin.qq.com").is_ok());
    }
}
