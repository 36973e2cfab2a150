//! The names of the `WECHATPAY_*` settings a client reads (the same names as the client crate's
//! `env` module, repeated here so that the sandbox does not depend on the client), and what
//! [`Sandbox::setting`](crate::Sandbox::setting) answers for each.

/// The service provider's merchant id.
pub const MCHID: &str = "WECHATPAY_MCHID";
/// The merchant API certificate's serial number (hex).
pub const MERCHANT_SERIAL: &str = "WECHATPAY_MERCHANT_SERIAL";
/// The merchant API private key (PEM text, or a file's path).
pub const PRIVATE_KEY: &str = "WECHATPAY_PRIVATE_KEY";
/// The WeChat Pay public key's id, `PUB_KEY_ID_…` (public-key mode).
pub const PUBLIC_KEY_ID: &str = "WECHATPAY_PUBLIC_KEY_ID";
/// The WeChat Pay public key (PEM text, or a file's path; public-key mode).
pub const PUBLIC_KEY: &str = "WECHATPAY_PUBLIC_KEY";
/// The WeChat Pay platform certificate (PEM text, or files' paths; certificate mode).
pub const PLATFORM_CERT: &str = "WECHATPAY_PLATFORM_CERT";
/// The base URL requests are sent to.
pub const BASE_URL: &str = "WECHATPAY_BASE_URL";
/// The backup base URL; `none` disables failover.
pub const BACKUP_BASE_URL: &str = "WECHATPAY_BACKUP_BASE_URL";

/// The APIv3 key (32 bytes) notifications' resources are encrypted with.
pub const APIV3_KEY: &str = "WECHATPAY_APIV3_KEY";

/// Every name above, in the order an env file lists them.
pub const ALL: [&str; 9] = [
    MCHID,
    MERCHANT_SERIAL,
    PRIVATE_KEY,
    PUBLIC_KEY_ID,
    PUBLIC_KEY,
    PLATFORM_CERT,
    BASE_URL,
    BACKUP_BASE_URL,
    APIV3_KEY,
];
