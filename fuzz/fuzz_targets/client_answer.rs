//! The client's answer handling: a status, headers and body (written as text, see
//! `split_message`) through signature verification, lenient parsing of the endpoint's answer
//! type, binding to the request, and the error bodies of non-2xx answers; then the error's
//! text, as a caller prints it.
//!
//! The first byte picks the endpoint (low 3 bits) and whether the body is signed with the test
//! WeChat Pay key now (bit 3), so that most inputs reach past the signature to the parser.
#![no_main]

use std::sync::LazyLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wechatpay_card_client::Client;
use wechatpay_card_client::models::EndpointRequest;
use wechatpay_card_client::models::{
    ConfirmUserCardBody, ConfirmUserCardRequest, GetUserCardRequest, ImportUserCardByOpenidBody,
    ImportUserCardByOpenidRequest, ImportUserCardByPhoneBody, ImportUserCardByPhoneRequest,
    InvalidateUserCardBody, InvalidateUserCardRequest, ListUserCardsRequest, UpdateUserCardBody,
    UpdateUserCardRequest, from_json_strict,
};
use wechatpay_card_fuzz as common;
use wechatpay_signing::{PrivateKey, WechatPaySigner};

struct Fixture {
    client: Client,
    signer: WechatPaySigner,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let client = Client::builder()
        .mchid(common::MCHID)
        .merchant_serial(common::MERCHANT_SERIAL)
        .private_key_pem(common::MERCHANT_KEY_PEM)
        .wechatpay_public_key_pem(common::WECHATPAY_KEY_ID, common::WECHATPAY_PUB_PEM)
        .base_url("http://127.0.0.1:9")
        .disable_failover()
        .build()
        .expect("a client");
    let key = PrivateKey::from_pem(common::WECHATPAY_KEY_PEM).expect("WeChat Pay's key");
    let signer = WechatPaySigner::new(common::WECHATPAY_KEY_ID, key).expect("a signer");
    Fixture { client, signer }
});

const CODE: &str = "478515832665";
const CARD: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
const BRAND: &str = "1004";
const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";

fn run<R: EndpointRequest>(request: R, status: u16, headers: http::HeaderMap, body: Bytes) {
    let f = &*FIXTURE;
    let Ok(prepared) = f.client.prepare(request) else {
        panic!("the fixed request does not prepare");
    };
    match wechatpay_card_client::fuzzing::answer(&f.client, &prepared, status, headers, body) {
        Ok(verified) => {
            let _ = verified
                .corrections()
                .iter()
                .map(ToString::to_string)
                .count();
        }
        Err(error) => {
            let _ = error.to_string();
            let _ = format!("{error:?}");
            let _ = (
                error.kind(),
                error.is_retryable(),
                error.may_have_been_applied(),
                error.status(),
                error.code(),
                error.message(),
                error.request_id(),
                error.mismatched_field(),
            );
            // The causes, as a caller printing the chain walks them.
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                let _ = cause.to_string();
                source = cause.source();
            }
        }
    }
}

fn body_of<
    T: serde::de::DeserializeOwned
        + wechatpay_card_client::models::runtime::LenientDeserialize
        + wechatpay_card_client::models::Validate
        + wechatpay_card_client::models::runtime::StrictFields,
>(
    json: &str,
) -> T {
    from_json_strict(json.as_bytes()).unwrap_or_else(|e| panic!("the fixed body: {e}"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let message = common::split_message(rest);
    let status = message
        .start
        .first()
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(200);
    let mut headers = common::header_map(&message.headers);
    if flags & 8 != 0 {
        let now = common::unix_now();
        let Ok(signature) =
            FIXTURE
                .signer
                .sign_response_at(message.body, now, "fuzz0nce0000000000000000000000000")
        else {
            return;
        };
        for (name, value) in signature.headers() {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
    }
    let body = Bytes::copy_from_slice(message.body);
    match flags & 7 {
        0 => run(
            GetUserCardRequest::builder().user_card_code(CODE).brand_id(BRAND).card_id(CARD).openid(OPENID).build().expect("a get request"),
            status,
            headers,
            body,
        ),
        1 => run(
            ListUserCardsRequest::builder()
                .brand_id(BRAND)
                .openid(OPENID)
                .offset(0)
                .limit(10)
                .build()
                .expect("a list request"),
            status,
            headers,
            body,
        ),
        2 => run(
            UpdateUserCardRequest::new(
                CODE,
                CARD,
                body_of::<UpdateUserCardBody>(r#"{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","level":"gold"}"#),
            ),
            status,
            headers,
            body,
        ),
        3 => run(
            InvalidateUserCardRequest::builder()
                .user_card_code(CODE)
                .brand_id(BRAND)
                .card_id(CARD)
                .body(body_of::<InvalidateUserCardBody>(r#"{"openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA"}"#))
                .build()
                .expect("an invalidate request"),
            status,
            headers,
            body,
        ),
        4 => run(
            ImportUserCardByOpenidRequest::builder()
                .body(body_of::<ImportUserCardByOpenidBody>(
                    r#"{"brand_id":"1004","card_id":"pbLatjvWOibDc5-TBnbUk1pD12o0","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","user_card_code":"478515832665"}"#,
                ))
                .build()
                .expect("an import request"),
            status,
            headers,
            body,
        ),
        5 => run(
            ImportUserCardByPhoneRequest::builder()
                .body(body_of::<ImportUserCardByPhoneBody>(
                    r#"{"brand_id":"1004","card_id":"pbLatjvWOibDc5-TBnbUk1pD12o0","phone_number":"13800138000","user_card_code":"478515832665"}"#,
                ))
                .build()
                .expect("an import request"),
            status,
            headers,
            body,
        ),
        _ => run(
            ConfirmUserCardRequest::builder()
                .user_card_code(CODE)
                .card_id(CARD)
                .body(body_of::<ConfirmUserCardBody>(r#"{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","user_card_confirm_state":"CREATE_CARD_SUCCESS"}"#))
                .build()
                .expect("a confirm request"),
            status,
            headers,
            body,
        ),
    }
});
