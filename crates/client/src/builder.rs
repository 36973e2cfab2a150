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

use crate::client::{Client, Inner};
use crate::error::ConfigError;
use crate::failover::{FailoverPolicy, HostSelector};
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
}

/// Where a key or certificate comes from.
#[derive(Clone)]
enum Pem {
    Text(Zeroizing<String>),
    File(PathBuf),
}

impl Pem {
    /// An environment value: PEM text if it looks like one, else a path.
    fn from_env_value(value: String) -> Self {
        if value.trim_start().starts_with("-----BEGIN") {
            Pem::Text(Zeroizing::new(value))
        } else {
            Pem::File(PathBuf::from(value))
        }
    }

    fn read(&self, what: &str) -> Result<Zeroizing<String>, ConfigError> {
        match self {
            Pem::Text(text) => Ok(text.clone()),
            Pem::File(path) => {
                std::fs::read_to_string(path)
                    .map(Zeroizing::new)
                    .map_err(|source| ConfigError::File {
                        what: what.to_string(),
                        path: path.display().to_string(),
                        source,
                    })
            }
        }
    }
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
    backup_base_url: Option<String>,
    attempt_timeout: Duration,
    call_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    failover: FailoverPolicy,
    user_agent: String,
    max_response_bytes: usize,
    verify_window: Duration,
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
            backup_base_url: Some(DEFAULT_BACKUP_BASE_URL.to_string()),
            attempt_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            failover: FailoverPolicy::default(),
            user_agent: concat!("wechatpay-card-client/", env!("CARGO_PKG_VERSION")).to_string(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            verify_window: wechatpay_signing::DEFAULT_WINDOW,
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
    /// assert!(err.to_string().contains("WECHATPAY_PRIVATE_KEY"));
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name| get(name).filter(|v| !v.trim().is_empty());
        let mut b = Self::new();
        b.mchid = var(env::MCHID);
        b.merchant_serial = var(env::MERCHANT_SERIAL);
        b.merchant_certificate = var(env::MERCHANT_CERT).map(Pem::from_env_value);
        b.private_key = var(env::PRIVATE_KEY).map(Pem::from_env_value);
        if let Some(key) = var(env::PUBLIC_KEY) {
            let id = var(env::PUBLIC_KEY_ID).unwrap_or_default();
            b.wechatpay_public_key = Some((id, Pem::from_env_value(key)));
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
            b.backup_base_url = if url.eq_ignore_ascii_case("none") {
                None
            } else {
                Some(url)
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

    /// The backup host for failover (default [`DEFAULT_BACKUP_BASE_URL`]); `None` disables
    /// failover.
    #[must_use]
    pub fn backup_base_url(mut self, url: Option<String>) -> Self {
        self.backup_base_url = url;
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

    /// Checks everything and builds the client.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the missing or invalid setting.
    pub fn build(self) -> Result<Client, crate::Error> {
        Ok(self.build_inner()?)
    }

    fn build_inner(self) -> Result<Client, ConfigError> {
        let missing = |what, env| ConfigError::Missing {
            what,
            hint: Some(env),
        };
        let mchid = self
            .mchid
            .ok_or(missing("the merchant id (mchid)", "set WECHATPAY_MCHID"))?;
        if mchid.is_empty() || !mchid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid {
                what: "the merchant id (mchid)".into(),
                reason: "must be digits, e.g. 1900000001".into(),
            });
        }
        let key = match (self.private_key_loaded, self.private_key) {
            (Some(key), _) => key,
            (None, Some(pem)) => {
                let what = "the merchant private key (WECHATPAY_PRIVATE_KEY)";
                let text = pem.read(what)?;
                PrivateKey::from_pem(&text).map_err(|source| ConfigError::Key {
                    what: what.into(),
                    source,
                })?
            }
            (None, None) => {
                return Err(missing(
                    "the merchant API private key",
                    "set WECHATPAY_PRIVATE_KEY",
                ));
            }
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
            (None, None) => {
                return Err(missing(
                    "the merchant serial (or the merchant API certificate it is read from)",
                    "set WECHATPAY_MERCHANT_SERIAL or WECHATPAY_MERCHANT_CERT",
                ));
            }
        }
        .map_err(|source| ConfigError::Key {
            what: "the merchant signer".into(),
            source,
        })?;

        let keys = WechatPayKeySet::new();
        if let Some((id, pem)) = &self.wechatpay_public_key {
            let what = "the WeChat Pay public key (WECHATPAY_PUBLIC_KEY)";
            if id.is_empty() {
                return Err(missing(
                    "the WeChat Pay public key id (PUB_KEY_ID_…) for the public key given",
                    "set WECHATPAY_PUBLIC_KEY_ID",
                ));
            }
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
        if keys.is_empty() {
            return Err(missing(
                "WeChat Pay's key: its public key and id, or a platform certificate",
                "set WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID, or WECHATPAY_PLATFORM_CERT",
            ));
        }
        // Sensitive fields need a key to encrypt with: fail now rather than at the first call.
        keys.encryptor().map_err(|e| ConfigError::Invalid {
            what: "WeChat Pay's keys".into(),
            reason: e.to_string(),
        })?;

        let base_url = check_url("the base URL (WECHATPAY_BASE_URL)", &self.base_url)?;
        let backup_base_url = match &self.backup_base_url {
            Some(url) => Some(check_url(
                "the backup base URL (WECHATPAY_BACKUP_BASE_URL)",
                url,
            )?),
            None => None,
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
            .user_agent(self.user_agent.clone())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            // A PATCH must not be replayed to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;

        let verifier = ResponseVerifier::new(keys.clone()).with_window(self.verify_window);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                signer,
                keys,
                verifier,
                hosts: HostSelector::new(self.failover, backup_base_url.is_some()),
                base_url,
                backup_base_url,
                retry: self.retry,
                attempt_timeout: self.attempt_timeout,
                call_timeout: self.call_timeout,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
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
}
