//! Names and fixed values of the HTTP headers the protocol uses (this crate has no HTTP types:
//! these are for the caller's HTTP library).

/// `Authorization`: the merchant's request signature.
pub const AUTHORIZATION: &str = "Authorization";
/// `Wechatpay-Timestamp`: Unix seconds of a response signature.
pub const TIMESTAMP: &str = "Wechatpay-Timestamp";
/// `Wechatpay-Nonce`: the nonce of a response signature.
pub const NONCE: &str = "Wechatpay-Nonce";
/// `Wechatpay-Signature`: a response signature, base64.
pub const SIGNATURE: &str = "Wechatpay-Signature";
/// `Wechatpay-Serial`: on a response, the id of the key that signed it; on a request, the id
/// of the key its sensitive fields were encrypted with.
pub const SERIAL: &str = "Wechatpay-Serial";
/// `Wechatpay-Signature-Type`: the response signature's scheme.
pub const SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
/// `Request-ID`: WeChat Pay's id of a request, for diagnosis.
pub const REQUEST_ID: &str = "Request-ID";

/// The signature scheme: the `Authorization` scheme and the `Wechatpay-Signature-Type` value.
pub const SIGNATURE_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// The start of WeChat Pay's deliberate probe signatures, which must fail verification.
pub const PROBE_SIGNATURE_PREFIX: &str = "WECHATPAY/SIGNTEST/";
