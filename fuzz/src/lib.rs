//! What the fuzz targets share: the test keys of the signing crate's fixtures, and a reader of
//! HTTP messages written as text (so that seeds are readable and the fuzzer mutates a head and
//! a body, not a socket).

use std::time::{SystemTime, UNIX_EPOCH};

/// The merchant's private key (PKCS#8 PEM), from the signing crate's fixtures.
pub const MERCHANT_KEY_PEM: &str =
    include_str!("../../crates/signing/tests/fixtures/merchant_key.pkcs8.pem");
/// The merchant's public key (SPKI PEM).
pub const MERCHANT_PUB_PEM: &str =
    include_str!("../../crates/signing/tests/fixtures/merchant_pub.pem");
/// The merchant certificate (its serial is [`MERCHANT_SERIAL`]).
pub const MERCHANT_CERT_PEM: &str =
    include_str!("../../crates/signing/tests/fixtures/merchant_cert.pem");
/// The merchant certificate's serial number.
pub const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
/// The merchant id.
pub const MCHID: &str = "1900000001";
/// WeChat Pay's private key (public-key mode).
pub const WECHATPAY_KEY_PEM: &str =
    include_str!("../../crates/signing/tests/fixtures/wechatpay_key.pem");
/// WeChat Pay's public key.
pub const WECHATPAY_PUB_PEM: &str =
    include_str!("../../crates/signing/tests/fixtures/wechatpay_pub.pem");
/// The id of WeChat Pay's public key.
pub const WECHATPAY_KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An HTTP message as text: a start line, header lines `Name: value`, an empty line, the body
/// (everything after it, bytes as they are). Lines end with `\n` or `\r\n`.
pub struct Message<'a> {
    /// The start line's words (at most 3: `METHOD TARGET VERSION`, or `STATUS`).
    pub start: Vec<&'a [u8]>,
    /// The headers, in order.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// The body.
    pub body: &'a [u8],
}

/// Splits `data` as a [`Message`].
pub fn split_message(data: &[u8]) -> Message<'_> {
    let (head, body) = match find(data, b"\n\n")
        .map(|i| (i, 2))
        .or_else(|| find(data, b"\r\n\r\n").map(|i| (i, 4)))
    {
        Some((i, n)) => (&data[..i], &data[i + n..]),
        None => (data, &data[data.len()..]),
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines
        .next()
        .unwrap_or_default()
        .splitn(3, |&b| b == b' ')
        .collect();
    let headers = lines
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some((&line[..colon], line[colon + 1..].trim_ascii()))
        })
        .collect();
    Message {
        start,
        headers,
        body,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The headers of a message that `http` accepts (the others are dropped, as an HTTP parser
/// would refuse them before the application sees them).
pub fn header_map(headers: &[(&[u8], &[u8])]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}
