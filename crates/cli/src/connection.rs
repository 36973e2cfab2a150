//! The settings every subcommand that talks to WeChat Pay shares: flags, each with its
//! environment variable (a flag wins over its variable).

use std::time::Duration;

use wechatpay_card_client::{Client, ClientBuilder, RetryPolicy, env};

use crate::exit::Failure;

/// How to reach WeChat Pay, and as whom.
///
/// The flags are read by the library's own settings reader ([`ClientBuilder::from_vars`]): a
/// flag stands for its `WECHATPAY_*` variable, and a key or certificate setting is PEM text or
/// a file's path, whichever it is given as, in the command exactly as in a program using the
/// library.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection (a flag wins over its WECHATPAY_* variable)")]
pub(crate) struct ConnectionArgs {
    /// The service provider's merchant id (商户号) [variable: WECHATPAY_MCHID].
    #[arg(long, value_name = "MCHID")]
    mchid: Option<String>,

    /// The merchant API certificate's serial number (hex); read from --merchant-cert when not
    /// given [variable: WECHATPAY_MERCHANT_SERIAL].
    #[arg(long, value_name = "HEX")]
    merchant_serial: Option<String>,

    /// The merchant API certificate (apiclient_cert.pem), a PEM file or PEM text
    /// [variable: WECHATPAY_MERCHANT_CERT].
    #[arg(long, value_name = "PEM")]
    merchant_cert: Option<String>,

    /// The merchant API private key (apiclient_key.pem; PKCS#8 or PKCS#1), a PEM file or PEM
    /// text [variable: WECHATPAY_PRIVATE_KEY].
    #[arg(long, value_name = "PEM")]
    private_key: Option<String>,

    /// The WeChat Pay public key's id, PUB_KEY_ID_… [variable: WECHATPAY_PUBLIC_KEY_ID].
    #[arg(long, value_name = "ID")]
    wechatpay_public_key_id: Option<String>,

    /// The WeChat Pay public key (pub_key.pem), a PEM file or PEM text
    /// [variable: WECHATPAY_PUBLIC_KEY].
    #[arg(long, value_name = "PEM")]
    wechatpay_public_key: Option<String>,

    /// WeChat Pay platform certificates, PEM files separated by commas, or PEM text. With a
    /// public key too, answers signed by either verify [variable: WECHATPAY_PLATFORM_CERT].
    #[arg(long, value_name = "PEM")]
    platform_cert: Option<String>,

    /// Where requests go; default WeChat Pay's primary host, api.mch.weixin.qq.com [variable: WECHATPAY_BASE_URL].
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,

    /// The backup host requests move to while the primary keeps failing; `none` disables
    /// failover. Default: WeChat Pay's backup host when the base URL is WeChat Pay's, none for
    /// any other base URL [variable: WECHATPAY_BACKUP_BASE_URL].
    #[arg(long, value_name = "URL|none")]
    backup_base_url: Option<String>,

    /// Attempts per request, the first included: connection errors, timeouts, 429 and 5xx are retried.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,

    /// The longest one request may take, retries included, in seconds (at most a day).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    timeout: Duration,
}

/// The longest `--timeout` accepted: a day.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// A positive number of seconds, at most [`MAX_TIMEOUT`]; anything else (NaN, infinities, 0,
/// 1e20) is a usage error, never a panic.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err("must be a positive number of seconds".into());
    }
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if d.is_zero() => Err("must be at least a nanosecond".into()),
        Ok(d) if d <= MAX_TIMEOUT => Ok(d),
        _ => Err(format!("must be at most {} seconds", MAX_TIMEOUT.as_secs())),
    }
}

/// Each setting's flag, beside the variable the library names.
const FLAGS: [(&str, &str); 9] = [
    (env::MCHID, "--mchid"),
    (env::MERCHANT_SERIAL, "--merchant-serial"),
    (env::MERCHANT_CERT, "--merchant-cert"),
    (env::PRIVATE_KEY, "--private-key"),
    (env::PUBLIC_KEY_ID, "--wechatpay-public-key-id"),
    (env::PUBLIC_KEY, "--wechatpay-public-key"),
    (env::PLATFORM_CERT, "--platform-cert"),
    (env::BASE_URL, "--base-url"),
    (env::BACKUP_BASE_URL, "--backup-base-url"),
];

/// A configuration error as the command shows it: each `WECHATPAY_X` the library names becomes
/// `--x or WECHATPAY_X`. Longer names first, so that WECHATPAY_PUBLIC_KEY_ID is not taken for
/// WECHATPAY_PUBLIC_KEY.
fn with_flags(message: &str) -> String {
    let mut names: Vec<_> = FLAGS.iter().collect();
    names.sort_by_key(|(variable, _)| std::cmp::Reverse(variable.len()));
    let mut out = String::with_capacity(message.len() + 64);
    let mut rest = message;
    'scan: while let Some(at) = rest.find("WECHATPAY_") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        for (variable, flag) in &names {
            if let Some(after) = rest.strip_prefix(variable) {
                out.push_str(&format!("{flag} or {variable}"));
                rest = after;
                continue 'scan;
            }
        }
        out.push_str("WECHATPAY_");
        rest = &rest["WECHATPAY_".len()..];
    }
    out.push_str(rest);
    out
}

impl ConnectionArgs {
    /// The value of a setting: its flag, else its variable.
    fn setting(&self, name: &str) -> Option<String> {
        let flag = match name {
            env::MCHID => &self.mchid,
            env::MERCHANT_SERIAL => &self.merchant_serial,
            env::MERCHANT_CERT => &self.merchant_cert,
            env::PRIVATE_KEY => &self.private_key,
            env::PUBLIC_KEY_ID => &self.wechatpay_public_key_id,
            env::PUBLIC_KEY => &self.wechatpay_public_key,
            env::PLATFORM_CERT => &self.platform_cert,
            env::BASE_URL => &self.base_url,
            env::BACKUP_BASE_URL => &self.backup_base_url,
            _ => &None,
        };
        flag.clone().or_else(|| std::env::var(name).ok())
    }

    /// The client these settings describe. Exit 2 naming every missing setting, or what is
    /// wrong; never a key's text.
    pub(crate) fn client(&self) -> Result<Client, Failure> {
        self.build(self.builder())
    }

    /// Builds `builder` (made by [`Self::builder`], then completed), naming the flags in its
    /// errors.
    pub(crate) fn build(&self, builder: ClientBuilder) -> Result<Client, Failure> {
        builder
            .build()
            .map_err(|e| Failure::usage(with_flags(&crate::exit::with_sources(&e))))
    }

    /// The builder these settings describe, before it checks them.
    pub(crate) fn builder(&self) -> ClientBuilder {
        ClientBuilder::from_vars(|name| self.setting(name))
            .retry_policy(RetryPolicy::default().max_attempts(self.max_attempts))
            .call_timeout(self.timeout)
            .user_agent(concat!("wechatpay-card/", env!("CARGO_PKG_VERSION")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_name_flags_and_variables() {
        assert_eq!(
            with_flags("missing the id (WECHATPAY_PUBLIC_KEY_ID); the key (WECHATPAY_PUBLIC_KEY)"),
            "missing the id (--wechatpay-public-key-id or WECHATPAY_PUBLIC_KEY_ID); \
             the key (--wechatpay-public-key or WECHATPAY_PUBLIC_KEY)"
        );
        assert_eq!(with_flags("WECHATPAY_OTHER x"), "WECHATPAY_OTHER x");
    }

    #[test]
    fn timeouts_are_bounded_and_never_panic() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("86400"), Ok(MAX_TIMEOUT));
        for bad in [
            "0", "-1", "nan", "NaN", "inf", "-inf", "1e20", "1.8e19", "1e-20", "86401", "", "x",
            "1e309",
        ] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
