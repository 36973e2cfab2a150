//! The sandbox's request handling over arbitrary bytes: a request written as text (see
//! `split_message`) through routing, `Authorization` parsing and signature verification, the
//! headers, path and query parameters, and the body check. Most inputs stop at the signature;
//! `sandbox_signed` reaches past it.
#![no_main]

use std::sync::LazyLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wechatpay_card_fuzz as common;
use wechatpay_sandbox::Sandbox;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    sandbox: Sandbox,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let sandbox = runtime
        .block_on(
            Sandbox::builder()
                .mchid(common::MCHID)
                .merchant_serial(common::MERCHANT_SERIAL)
                .merchant_public_key_pem(common::MERCHANT_PUB_PEM)
                .wechatpay_private_key_pem(common::WECHATPAY_KEY_PEM)
                .wechatpay_public_key_id(common::WECHATPAY_KEY_ID)
                .nonce_capacity(4096)
                .start(),
        )
        .expect("the sandbox starts");
    Fixture { runtime, sandbox }
});

fuzz_target!(|data: &[u8]| {
    let message = common::split_message(data);
    let (Some(method), Some(target)) = (message.start.first(), message.start.get(1)) else {
        return;
    };
    let mut request = http::Request::builder().method(*method).uri(*target);
    if let Some(headers) = request.headers_mut() {
        *headers = common::header_map(&message.headers);
    }
    let Ok(request) = request.body(Bytes::copy_from_slice(message.body)) else {
        return;
    };
    let fixture = &*FIXTURE;
    let (status, _headers, _body) = fixture.runtime.block_on(wechatpay_sandbox::fuzzing::handle(
        &fixture.sandbox,
        request,
    ));
    assert!(status.as_u16() >= 200, "the sandbox answered {status}");
});
