//! The settings every subcommand that talks to WeChat Pay shares: flags, each with its
//! environment variable (a flag wins over its variable).

use std::path::PathBuf;
use std::time::Duration;

use wechatpay_card_client::{Client, ClientBuilder, RetryPolicy, env};

use crate::exit::Failure;

/// How to reach WeChat Pay, and as whom.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection (each flag can be given by its environment variable)")]
pub(crate) struct ConnectionArgs {
    /// The service provider's merchant id (商户号).
    #[arg(long, env = env::MCHID, value_name = "MCHID", hide_env_values = true)]
    mchid: Option<String>,

    /// The merchant API certificate's serial number (hex); read from --merchant-cert when not given.
    #[arg(long, env = env::MERCHANT_SERIAL, value_name = "HEX", hide_env_values = true)]
    merchant_serial: Option<String>,

    /// The merchant API certificate, a PEM file (apiclient_cert.pem).
    #[arg(long, env = env::MERCHANT_CERT, value_name = "PEM", hide_env_values = true)]
    merchant_cert: Option<PathBuf>,

    /// The merchant API private key, a PEM file (apiclient_key.pem; PKCS#8 or PKCS#1).
    #[arg(long, env = env::PRIVATE_KEY, value_name = "PEM", hide_env_values = true)]
    private_key: Option<PathBuf>,

    /// The WeChat Pay public key's id (PUB_KEY_ID_…).
    #[arg(long, env = env::PUBLIC_KEY_ID, value_name = "ID", hide_env_values = true)]
    wechatpay_public_key_id: Option<String>,

    /// The WeChat Pay public key, a PEM file (pub_key.pem).
    #[arg(long, env = env::PUBLIC_KEY, value_name = "PEM", hide_env_values = true)]
    wechatpay_public_key: Option<PathBuf>,

    /// A WeChat Pay platform certificate, a PEM file; repeat the flag (or separate with commas)
    /// for several. With a public key too, answers signed by either verify.
    #[arg(long, env = env::PLATFORM_CERT, value_name = "PEM", value_delimiter = ',', hide_env_values = true)]
    platform_cert: Vec<PathBuf>,

    /// Where requests go.
    #[arg(long, env = env::BASE_URL, value_name = "URL", default_value = wechatpay_card_client::DEFAULT_BASE_URL)]
    base_url: String,

    /// The backup host requests move to while the primary keeps failing; `none` disables failover.
    #[arg(long, env = env::BACKUP_BASE_URL, value_name = "URL|none", default_value = wechatpay_card_client::DEFAULT_BACKUP_BASE_URL)]
    backup_base_url: String,

    /// Attempts per request, the first included: connection errors, timeouts, 429 and 5xx are retried.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,

    /// The longest one request may take, retries included, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    timeout: f64,
}

impl ConnectionArgs {
    /// The client these settings describe. Exit 2 naming what is missing or wrong.
    pub(crate) fn client(&self) -> Result<Client, Failure> {
        let missing =
            |what: &str, flags: &str| Failure::usage(format!("missing {what}: give {flags}"));
        if self.mchid.is_none() {
            return Err(missing("the merchant id", "--mchid or set WECHATPAY_MCHID"));
        }
        if self.private_key.is_none() {
            return Err(missing(
                "the merchant API private key",
                "--private-key or set WECHATPAY_PRIVATE_KEY",
            ));
        }
        if self.merchant_serial.is_none() && self.merchant_cert.is_none() {
            return Err(missing(
                "the merchant serial",
                "--merchant-serial (WECHATPAY_MERCHANT_SERIAL) or --merchant-cert (WECHATPAY_MERCHANT_CERT)",
            ));
        }
        match (&self.wechatpay_public_key, &self.wechatpay_public_key_id) {
            (Some(_), None) => {
                return Err(missing(
                    "the WeChat Pay public key id for --wechatpay-public-key",
                    "--wechatpay-public-key-id or set WECHATPAY_PUBLIC_KEY_ID",
                ));
            }
            (None, _) if self.platform_cert.is_empty() => {
                return Err(missing(
                    "WeChat Pay's key",
                    "--wechatpay-public-key with --wechatpay-public-key-id (WECHATPAY_PUBLIC_KEY, \
                     WECHATPAY_PUBLIC_KEY_ID), or --platform-cert (WECHATPAY_PLATFORM_CERT)",
                ));
            }
            _ => {}
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(Failure::usage(
                "--timeout must be a positive number of seconds",
            ));
        }

        let mut builder = ClientBuilder::new()
            .base_url(&self.base_url)
            .backup_base_url(
                (!self.backup_base_url.eq_ignore_ascii_case("none"))
                    .then(|| self.backup_base_url.clone()),
            );
        if let Some(mchid) = &self.mchid {
            builder = builder.mchid(mchid);
        }
        if let Some(serial) = &self.merchant_serial {
            builder = builder.merchant_serial(serial);
        }
        if let Some(cert) = &self.merchant_cert {
            builder = builder.merchant_certificate_file(cert);
        }
        if let Some(key) = &self.private_key {
            builder = builder.private_key_file(key);
        }
        if let (Some(key), Some(id)) = (&self.wechatpay_public_key, &self.wechatpay_public_key_id) {
            builder = builder.wechatpay_public_key_file(id, key);
        }
        for cert in &self.platform_cert {
            builder = builder.platform_certificate_file(cert);
        }
        builder
            .retry_policy(RetryPolicy::default().max_attempts(self.max_attempts))
            .call_timeout(Duration::from_secs_f64(self.timeout))
            .user_agent(concat!("wechatpay-card/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::usage(e.to_string()))
    }
}
