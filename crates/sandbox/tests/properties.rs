//! Property tests: hostile headers and bodies, over real HTTP, never panic a handler. Each one
//! gets a signed, documented answer, and the server keeps serving.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use wechatpay_sandbox::Sandbox;

/// One sandbox and client for all cases, on a runtime of their own.
fn fixture() -> &'static (tokio::runtime::Runtime, Sandbox, Client) {
    static FIXTURE: OnceLock<(tokio::runtime::Runtime, Sandbox, Client)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = runtime.block_on(start());
        let client = Client::new(&sandbox);
        (runtime, sandbox, client)
    })
}

/// The documented answers of the endpoint (no fault is on).
fn documented(status: u16, code: &str) -> bool {
    matches!(
        (status, code),
        (200, "")
            | (400, "PARAM_ERROR" | "INVALID_REQUEST")
            | (401, "SIGN_ERROR")
            | (404, "NOT_FOUND")
            | (405, "INVALID_REQUEST")
    )
}

/// Sends and checks: a signed answer with a documented status and code.
fn exchange(method: &str, url: &str, body: Vec<u8>, headers: Vec<(String, String)>) -> u16 {
    let (runtime, _, client) = fixture();
    runtime.block_on(async {
        let answer = client.send(method, url, body, &headers).await;
        let code = if answer.status == 200 {
            String::new()
        } else {
            answer.code()
        };
        assert!(
            documented(answer.status, &code),
            "{} {code}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        answer.status
    })
}

/// Printable header text (reqwest refuses control characters in a header value).
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,200}",
        "WECHATPAY2-SHA256-RSA2048 [ -~]{0,300}",
        r#"WECHATPAY2-SHA256-RSA2048 (mchid|nonce_str|timestamp|serial_no|signature)="[ -!#-~]{0,40}"(,(mchid|nonce_str|timestamp|serial_no|signature|x)="[ -!#-~]{0,40}"){0,6}"#,
    ]
}

/// JSON-ish bodies: fragments of the real body's fields and values, or anything.
fn body_text() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just("\"1004\"".to_owned()),
        Just("\"obLatjnx9gnqzS4myYGmLZ7LgLBA\"".to_owned()),
        "\"[^\"\\\\]{0,40}\"",
        "-?[0-9]{1,20}(\\.[0-9]{1,5})?",
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just(r#"{"type":"PERMANENT"}"#.to_owned()),
        Just(r#"{"common_field_list":[{"name":"USER_FORM_FLAG_SEX","value":"x"}]}"#.to_owned()),
    ];
    let key = prop_oneof![
        Just("brand_id"),
        Just("openid"),
        Just("card_color"),
        Just("card_picture_url"),
        Just("phone_number"),
        Just("level"),
        Just("valid_date_information"),
        Just("user_information"),
        Just("attach"),
        Just("user_card_code"),
    ];
    prop_oneof![
        proptest::collection::vec((key, value), 0..8).prop_map(|pairs| {
            let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", fields.join(",")).into_bytes()
        }),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_headers_get_documented_signed_answers(
        authorization in header_text(),
        accept in header_text(),
        content_type in header_text(),
        serial in header_text(),
        body in body_text(),
    ) {
        let mut headers = vec![
            ("Authorization".to_owned(), authorization),
            ("Accept".to_owned(), accept),
            ("Content-Type".to_owned(), content_type),
            ("Wechatpay-Serial".to_owned(), serial),
        ];
        headers.retain(|(_, v)| !v.trim().is_empty());
        let status = exchange("PATCH", &card_url(), body, headers);
        prop_assert_eq!(status, 401);
    }

    #[test]
    fn hostile_signed_bodies_get_documented_signed_answers(body in body_text()) {
        let (_, _, client) = fixture();
        let headers = client.headers("PATCH", &card_url(), &body);
        let status = exchange("PATCH", &card_url(), body, headers);
        prop_assert!(matches!(status, 200 | 400 | 404), "{}", status);
    }

    #[test]
    fn hostile_paths_and_queries_get_documented_signed_answers(
        code in "[!-~]{0,40}",
        query in "[ -~]{0,60}",
        good_headers in any::<bool>(),
    ) {
        let (_, _, client) = fixture();
        // Keep it a request-target reqwest sends as given.
        let code: String = code.chars().filter(|c| !"#?/%\\\"<>^`{|}".contains(*c)).collect();
        let query: String = query.chars().filter(|c| !"# \"<>\\^`{|}%".contains(*c)).collect();
        let url = format!("/v3/brand/partner/card-member/user-cards/{code}?{query}");
        let body = br#"{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA"}"#.to_vec();
        let headers = if good_headers { client.headers("PATCH", &url, &body) } else { Vec::new() };
        exchange("PATCH", &url, body, headers);
    }
}

#[test]
fn the_server_still_serves_after_the_properties() {
    let (runtime, _, client) = fixture();
    let body = r#"{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","level":"金卡"}"#;
    let answer = runtime.block_on(client.patch(&card_url(), body));
    assert_eq!(answer.status, 200);
}
