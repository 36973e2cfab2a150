//! What the client's tests against the sandbox share.

use std::time::Duration;

use wechatpay_card_client::{Client, ClientBuilder, RetryPolicy};
use wechatpay_sandbox::Sandbox;

/// A client builder for `sandbox`: its test merchant's credentials, its WeChat Pay public key,
/// its URL and no backup host. Each test adds its retries, limiter, timeouts.
pub(crate) fn sandbox_client(sandbox: &Sandbox) -> ClientBuilder {
    let c = sandbox.credentials();
    Client::builder()
        .mchid(&c.mchid)
        .merchant_serial(&c.merchant_serial)
        .private_key_pem(
            c.merchant_private_key_pem
                .as_ref()
                .expect("the sandbox's test credentials hold the merchant key")
                .as_str(),
        )
        .wechatpay_public_key_pem(&c.wechatpay_key_id, &c.wechatpay_public_key_pem)
        .base_url(sandbox.base_url())
        .disable_failover()
}

/// `attempts` attempts, with backoffs of `initial` up to `max`.
pub(crate) fn retries(attempts: u32, initial_ms: u64, max_ms: u64) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(initial_ms))
        .max_backoff(Duration::from_millis(max_ms))
}
