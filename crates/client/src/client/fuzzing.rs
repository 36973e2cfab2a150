//! Hooks for the fuzz targets in `fuzz/`: not part of the API, and may change at any time.

use bytes::Bytes;
use wechatpay_card_models::Endpoint;

use super::{Client, Prepared, RawResponse, Verified, api_error, retry_after};
use crate::Error;

/// What the client makes of one answer read off the wire for `prepared`, as on a call's first
/// attempt: a 2xx answer is verified (signature over the raw bytes, timestamp), read leniently
/// and bound to the request; any other becomes [`ErrorKind::Api`](crate::ErrorKind::Api) from its error body. A
/// `Retry-After` header is read as for the rate limiter.
///
/// # Errors
/// As [`Client::send`], less the transport's.
pub fn answer<E: Endpoint>(
    client: &Client,
    prepared: &Prepared<E>,
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
) -> Result<Verified<E::Response>, Error> {
    let raw = RawResponse {
        status,
        headers,
        body,
    };
    let _ = retry_after(&raw);
    if (200..300).contains(&raw.status) {
        client.verify_and_parse(raw, E::METHOD, &prepared.bound, 1, client.base_url())
    } else {
        Err(api_error(&raw))
    }
}
