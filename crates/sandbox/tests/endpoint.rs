//! The endpoint over real HTTP: each answer WeChat Pay gives, and when.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;
use wechatpay_card_models::Timestamp;
use wechatpay_card_models::runtime::SensitiveFields;
use wechatpay_signing::{AuthorizationHeader, MerchantSigner, PrivateKey};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The page's example request body, sensitive fields encrypted for the sandbox.
fn page_example_body(client: &Client) -> String {
    json!({
        "brand_id": BRAND,
        "openid": OPENID,
        "card_color": "#FFFF00",
        "card_picture_url": "https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7Imvtsn7sYGNcEj33YzVvJF88ECQ19LXId8ZL2Q/0",
        "phone_number": client.encrypt("13900139000"),
        "level": "钻石会员",
        "valid_date_information": {
            "type": "PERMANENT",
            "available_begin_time": "2020-05-20T13:29:35.120+08:00",
            "available_end_time": "2020-05-20T13:29:35.120+08:00",
            "available_day_after_receive": 30
        },
        "user_information": {
            "common_field_list": [{"name": "USER_FORM_FLAG_BIRTHDAY", "value": client.encrypt("2000-01-01")}],
            "custom_field_list": [{"name": "喜欢的运动", "user_chosen_values": [client.encrypt("篮球"), client.encrypt("足球")]}]
        },
        "attach": "自定义数据说明"
    })
    .to_string()
}

#[tokio::test]
async fn the_pages_example_request_is_applied_and_answered_with_the_card() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let before_ms = i64::try_from(unix_now()).unwrap() * 1000;
    let answer = client.patch(&card_url(), &page_example_body(&client)).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );

    let card: wechatpay_card_models::UserCard = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(card.user_card_code, CODE);
    assert_eq!(card.card_id, CARD_ID);
    assert_eq!(card.brand_id, BRAND);
    assert_eq!(card.level.as_deref(), Some("钻石会员"));
    // modify_time: now, +08:00, milliseconds.
    let modify = card.modify_time.as_str();
    assert!(modify.ends_with("+08:00") && modify.len() == 29, "{modify}");
    let millis = Timestamp::parse(modify).unwrap().unix_millis().unwrap();
    assert!(
        (before_ms - 1000..before_ms + 60_000).contains(&millis),
        "{modify}"
    );
    assert_eq!(card.create_time.as_str(), "2020-05-20T13:29:35.120+08:00");

    // Sensitive fields are encrypted for the merchant.
    let mut plaintexts = Vec::new();
    card.for_each_sensitive(|path, value| {
        plaintexts.push((path.to_string(), client.decrypt(value.expose()).to_string()));
    });
    assert_eq!(
        plaintexts,
        [
            ("phone_number".to_owned(), "13900139000".to_owned()),
            (
                "user_information.common_field_list[0].value".to_owned(),
                "2000-01-01".to_owned()
            ),
            (
                "user_information.custom_field_list[0].user_chosen_values[0]".to_owned(),
                "篮球".to_owned()
            ),
            (
                "user_information.custom_field_list[0].user_chosen_values[1]".to_owned(),
                "足球".to_owned()
            ),
        ]
    );

    // Stored in plaintext.
    let stored = sandbox.card(CARD_ID, CODE).unwrap();
    assert_eq!(
        stored.phone_number.as_ref().map(|p| p.expose()),
        Some("13900139000")
    );
    assert_eq!(stored.modify_time, card.modify_time);
    assert_eq!(counters(&sandbox.stats()), (1, 1, 0, 0));
}

#[tokio::test]
async fn only_the_fields_sent_change() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let before = sandbox.card(CARD_ID, CODE).unwrap();
    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "金卡",
        "user_information": {"custom_field_list": [{"name": "喜欢的颜色"}]}})
    .to_string();
    let answer = client.patch(&card_url(), &body).await;
    assert_eq!(answer.status, 200);
    let after = sandbox.card(CARD_ID, CODE).unwrap();
    assert_eq!(after.level.as_deref(), Some("金卡"));
    assert_eq!(after.card_color, before.card_color);
    assert_eq!(after.phone_number, before.phone_number);
    assert_eq!(after.attach, before.attach);
    assert_eq!(after.valid_date_information, before.valid_date_information);
    let (info, info_before) = (
        after.user_information.unwrap(),
        before.user_information.unwrap(),
    );
    assert_eq!(info.common_field_list, info_before.common_field_list);
    assert_eq!(info.custom_field_list.len(), 1);
    assert_eq!(info.custom_field_list[0].name, "喜欢的颜色");
    assert!(info.custom_field_list[0].user_chosen_values.is_empty());

    // valid_date_information is replaced as a whole.
    let body = json!({"brand_id": BRAND, "openid": OPENID,
        "valid_date_information": {"type": "FIX_TERM", "available_day_after_receive": 7}})
    .to_string();
    assert_eq!(client.patch(&card_url(), &body).await.status, 200);
    let valid = sandbox.card(CARD_ID, CODE).unwrap().valid_date_information;
    assert_eq!(valid.available_begin_time, None);
    assert_eq!(valid.available_day_after_receive, Some(7));
}

#[tokio::test]
async fn the_request_target_is_verified_exactly_as_received() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "银卡"}).to_string();
    // `-` percent-encoded: the same card_id once decoded, another request-target on the wire.
    let encoded = url(CODE, "pbLatjvWOibDc5%2DTBnbUk1pD12o0");

    // Signed over the decoded form, sent encoded: the signature does not verify.
    let mut headers = client.headers("PATCH", &card_url(), body.as_bytes());
    headers[0].1 = client
        .signer
        .authorization("PATCH", &card_url(), body.as_bytes())
        .unwrap();
    let answer = client.send("PATCH", &encoded, body.clone(), &headers).await;
    assert_eq!((answer.status, answer.code().as_str()), (401, "SIGN_ERROR"));

    // Signed over exactly what is sent: accepted, and the card_id decoded.
    let headers = client.headers("PATCH", &encoded, body.as_bytes());
    let answer = client.send("PATCH", &encoded, body, &headers).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        sandbox.card(CARD_ID, CODE).unwrap().level.as_deref(),
        Some("银卡")
    );
}

#[tokio::test]
async fn a_signature_made_without_the_signing_crate_is_accepted() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use base64::Engine as _;

    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let creds = sandbox.credentials();
    let key =
        RsaKeyPair::from_pkcs8(&pem_der(creds.merchant_private_key_pem.as_ref().unwrap())).unwrap();
    let body = json!({"brand_id": BRAND, "openid": OPENID, "attach": "手写签名"}).to_string();
    let (timestamp, nonce) = (unix_now().to_string(), "593BEC0C930BF1AFEB40B4A08C8FB242");
    let message = format!("PATCH\n{}\n{timestamp}\n{nonce}\n{body}\n", card_url());
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .unwrap();
    let signature = base64::engine::general_purpose::STANDARD.encode(signature);
    // Another field order than the signing crate writes, as some official SDKs do.
    let authorization = format!(
        "WECHATPAY2-SHA256-RSA2048 serial_no=\"{}\",signature=\"{signature}\",mchid=\"{}\",timestamp=\"{timestamp}\",nonce_str=\"{nonce}\"",
        creds.merchant_serial, creds.mchid
    );
    let mut headers = client.headers("PATCH", &card_url(), body.as_bytes());
    headers[0].1 = authorization;
    let answer = client.send("PATCH", &card_url(), body, &headers).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
}

#[tokio::test]
async fn sign_errors() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let url = card_url();
    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "金卡"}).to_string();
    let good = client.headers("PATCH", &url, body.as_bytes());
    let other_key = PrivateKey::generate().unwrap();
    let with_authorization = |value: String| {
        let mut headers = good.clone();
        headers[0].1 = value;
        headers
    };
    let signer = |mchid: &str, serial: &str, key: PrivateKey| {
        MerchantSigner::new(mchid, serial, key).unwrap()
    };
    let merchant_key =
        || PrivateKey::from_pem(client.creds.merchant_private_key_pem.as_ref().unwrap()).unwrap();
    let now = unix_now();
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("missing", good[1..].to_vec()),
        (
            "malformed",
            with_authorization("WECHATPAY2-SHA256-RSA2048 mchid=".into()),
        ),
        (
            "another scheme",
            with_authorization(good[0].1.replacen("WECHATPAY2-SHA256-RSA2048", "Bearer", 1)),
        ),
        (
            "another mchid",
            with_authorization(
                signer("1900000002", MERCHANT_SERIAL, merchant_key())
                    .authorization("PATCH", &url, body.as_bytes())
                    .unwrap(),
            ),
        ),
        (
            "another serial",
            with_authorization(
                signer(MCHID, "ABCDEF", merchant_key())
                    .authorization("PATCH", &url, body.as_bytes())
                    .unwrap(),
            ),
        ),
        (
            "another key",
            with_authorization(
                signer(MCHID, MERCHANT_SERIAL, other_key)
                    .authorization("PATCH", &url, body.as_bytes())
                    .unwrap(),
            ),
        ),
        (
            "301 s old",
            with_authorization(
                client
                    .signer
                    .authorization_at("PATCH", &url, body.as_bytes(), now - 301, "n1")
                    .unwrap(),
            ),
        ),
        // 305, not 301: the sandbox reads its clock a moment later than `now`, and a second
        // ticking in between brought `now + 301` back within the window (a flaky case).
        (
            "305 s ahead",
            with_authorization(
                client
                    .signer
                    .authorization_at("PATCH", &url, body.as_bytes(), now + 305, "n2")
                    .unwrap(),
            ),
        ),
        (
            "another body",
            with_authorization(client.signer.authorization("PATCH", &url, b"{}").unwrap()),
        ),
        (
            "another method",
            with_authorization(
                client
                    .signer
                    .authorization("POST", &url, body.as_bytes())
                    .unwrap(),
            ),
        ),
        (
            "another URL",
            with_authorization(
                client
                    .signer
                    .authorization(
                        "PATCH",
                        &url.replace("card_id", "card_id="),
                        body.as_bytes(),
                    )
                    .unwrap(),
            ),
        ),
    ];
    for (what, headers) in cases {
        let answer = client.send("PATCH", &url, body.clone(), &headers).await;
        assert_eq!(answer.status, 401, "{what}");
        assert_eq!(answer.code(), "SIGN_ERROR", "{what}");
        assert_eq!(
            answer.detail(),
            ("Authorization".into(), "header".into()),
            "{what}"
        );
    }
    // Within the window: accepted.
    let headers = with_authorization(
        client
            .signer
            .authorization_at("PATCH", &url, body.as_bytes(), now - 250, "n3")
            .unwrap(),
    );
    assert_eq!(client.send("PATCH", &url, body, &headers).await.status, 200);
    assert_eq!(sandbox.stats().updates_applied, 1);
}

/// Sends `body` (signed) with the default headers changed by `edit`; expects a PARAM_ERROR
/// naming `field` in `location`.
async fn expect_param_error(
    client: &Client,
    url: &str,
    body: &str,
    edit: impl FnOnce(&mut Vec<(String, String)>),
    field: &str,
    location: &str,
) -> serde_json::Value {
    expect_error(client, url, body, edit, "PARAM_ERROR", field, location).await
}

/// Sends `body` (signed) with the default headers changed by `edit`; expects an
/// INVALID_REQUEST naming the header `field` (the page assigns header problems to it).
async fn expect_header_error(
    client: &Client,
    url: &str,
    body: &str,
    edit: impl FnOnce(&mut Vec<(String, String)>),
    field: &str,
) -> serde_json::Value {
    expect_error(client, url, body, edit, "INVALID_REQUEST", field, "header").await
}

/// Sends `body` (signed) with the default headers changed by `edit`; expects a 400 with this
/// `code` naming `field` in `location`.
async fn expect_error(
    client: &Client,
    url: &str,
    body: &str,
    edit: impl FnOnce(&mut Vec<(String, String)>),
    code: &str,
    field: &str,
    location: &str,
) -> serde_json::Value {
    let mut headers = client.headers("PATCH", url, body.as_bytes());
    edit(&mut headers);
    let answer = client.send("PATCH", url, body.to_owned(), &headers).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (400, code),
        "{body}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.detail(),
        (field.to_owned(), location.to_owned()),
        "{body}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()
}

#[tokio::test]
async fn param_errors_in_the_body() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let url = card_url();
    let cases = [
        (json!({"brand_id": BRAND}), "openid"),
        (
            json!({"brand_id": BRAND, "openid": OPENID, "level": "一二三四五六七八九十一"}),
            "level",
        ),
        (
            json!({"brand_id": BRAND, "openid": OPENID, "card_color": "#FFFF0"}),
            "card_color",
        ),
        (
            json!({"brand_id": BRAND, "openid": OPENID, "card_picture_url": "wxpaylogo.qpic.cn/x"}),
            "card_picture_url",
        ),
        (
            json!({"brand_id": BRAND, "openid": OPENID, "card_id": CARD_ID}),
            "card_id",
        ),
        (
            json!({"brand_id": BRAND, "openid": OPENID, "attach": "表情🙂"}),
            "attach",
        ),
        (
            json!({"brand_id": BRAND, "openid": OPENID, "valid_date_information": {"type": "PERMANENT", "available_begin_time": "2020-05-20 13:29:35"}}),
            "valid_date_information.available_begin_time",
        ),
        (
            json!({"brand_id": BRAND, "openid": OPENID, "user_information": {"common_field_list": [{"name": "USER_FORM_FLAG_AGE", "value": "x"}]}}),
            "user_information.common_field_list[0].name",
        ),
        (json!({"brand_id": "", "openid": OPENID}), "brand_id"),
    ];
    for (body, field) in cases {
        expect_param_error(&client, &url, &body.to_string(), |_| {}, field, "body").await;
    }
    // Not JSON, not UTF-8: no field.
    for body in ["", "{", "[]", "null"] {
        let answer = {
            let headers = client.headers("PATCH", &url, body.as_bytes());
            client.send("PATCH", &url, body, &headers).await
        };
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (400, "PARAM_ERROR"),
            "{body:?}"
        );
        assert_eq!(answer.detail().1, "body");
    }
    let bytes = b"{\"brand_id\":\"1004\",\"openid\":\"\xff\"}".to_vec();
    let headers = client.headers("PATCH", &url, &bytes);
    let answer = client.send("PATCH", &url, bytes, &headers).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (400, "PARAM_ERROR")
    );
    assert!(answer.json()["message"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(sandbox.stats().updates_applied, 0);
    assert_eq!(sandbox.card(CARD_ID, CODE).unwrap(), common_default_card());
}

fn common_default_card() -> wechatpay_card_models::UserCard {
    wechatpay_sandbox::default_cards().remove(0)
}

#[tokio::test]
async fn param_errors_in_path_query_and_headers() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "金卡"}).to_string();
    let long = "1".repeat(33);
    for (url, field, location) in [
        (url(&long, CARD_ID), "user_card_code", "path"),
        (url("478%20515", CARD_ID), "user_card_code", "path"),
        (url(CODE, &long), "card_id", "query"),
        (url(CODE, ""), "card_id", "query"),
        (
            format!("/v3/brand/partner/card-member/user-cards/{CODE}"),
            "card_id",
            "query",
        ),
        (
            format!("{}&card_id={CARD_ID}", card_url()),
            "card_id",
            "query",
        ),
        (format!("{}&brand_id=1004", card_url()), "brand_id", "query"),
    ] {
        expect_param_error(&client, &url, &body, |_| {}, field, location).await;
    }

    let url = card_url();
    let set = |name: &'static str, value: &'static str| {
        move |headers: &mut Vec<(String, String)>| {
            headers.retain(|(n, _)| n != name);
            if !value.is_empty() {
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
    };
    // Header problems are INVALID_REQUEST ("HTTP 请求不符合微信支付 APIv3 接口规则"), as the page
    // assigns them; a missing Accept or User-Agent with WeChat Pay's own message.
    // (reqwest sends `Accept: */*` when it is not set: a missing Accept is a unit test.)
    for (name, value) in [("User-Agent", ""), ("User-Agent", " ")] {
        let error = expect_header_error(&client, &url, &body, set(name, value), name).await;
        assert_eq!(
            error["message"], "Http头缺少Accept或User-Agent",
            "{name}: {value:?}"
        );
    }
    for (name, value) in [
        ("Accept", ""),
        ("Accept", "text/html"),
        ("Accept", "*/*"),
        ("Content-Type", ""),
        ("Content-Type", "text/plain"),
        ("Content-Type", "application/json; charset=gbk"),
        ("Wechatpay-Serial", ""),
    ] {
        expect_header_error(&client, &url, &body, set(name, value), name).await;
    }
    assert_eq!(sandbox.stats().updates_applied, 0);

    // What is fine: charset=utf-8, a list of media ranges in Accept.
    let mut headers = client.headers("PATCH", &url, body.as_bytes());
    set("Content-Type", "application/json; charset=utf-8")(&mut headers);
    set("Accept", "application/json, text/plain, */*")(&mut headers);
    assert_eq!(client.send("PATCH", &url, body, &headers).await.status, 200);
}

#[tokio::test]
async fn encrypted_fields_must_decrypt_with_the_key_wechatpay_serial_names() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let url = card_url();
    // Encrypted for another key.
    let other = PrivateKey::generate().unwrap();
    let foreign = other.public_key().encrypt(b"13800138000").unwrap();
    let body = json!({"brand_id": BRAND, "openid": OPENID, "phone_number": foreign}).to_string();
    let error = expect_param_error(&client, &url, &body, |_| {}, "phone_number", "body").await;
    assert!(
        error["detail"].get("value").is_none(),
        "sensitive: no value"
    );

    // Not base64, and in a list.
    let body =
        json!({"brand_id": BRAND, "openid": OPENID, "user_information": {"custom_field_list": [
        {"name": "a", "user_chosen_values": [client.encrypt("x"), "13800138000"]}]}})
        .to_string();
    let error = expect_param_error(
        &client,
        &url,
        &body,
        |_| {},
        "user_information.custom_field_list[0].user_chosen_values[1]",
        "body",
    )
    .await;
    assert!(!error.to_string().contains("13800138000"));

    // A plaintext outside the BMP, once decrypted.
    let body =
        json!({"brand_id": BRAND, "openid": OPENID, "user_information": {"common_field_list": [
        {"name": "USER_FORM_FLAG_NAME", "value": client.encrypt("张三🙂")}]}})
        .to_string();
    expect_param_error(
        &client,
        &url,
        &body,
        |_| {},
        "user_information.common_field_list[0].value",
        "body",
    )
    .await;

    // Wechatpay-Serial naming another key while encrypted fields are present.
    let body =
        json!({"brand_id": BRAND, "openid": OPENID, "phone_number": client.encrypt("13800138000")})
            .to_string();
    let wrong_serial = |h: &mut Vec<(String, String)>| {
        h[3].1 = "PUB_KEY_ID_0119000000012026112600000000000002".into()
    };
    expect_header_error(&client, &url, &body, wrong_serial, "Wechatpay-Serial").await;
    assert_eq!(sandbox.stats().updates_applied, 0);

    // ... and without encrypted fields it does not matter which key it names.
    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "金卡"}).to_string();
    let mut headers = client.headers("PATCH", &url, body.as_bytes());
    wrong_serial(&mut headers);
    assert_eq!(client.send("PATCH", &url, body, &headers).await.status, 200);
}

#[tokio::test]
async fn template_of_another_brand_unknown_cards_and_other_users() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    // The page's response example's brand_id: the template is seeded under 1004.
    let body = json!({"brand_id": "1001622624", "openid": OPENID, "level": "金卡"}).to_string();
    let answer = client.patch(&card_url(), &body).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (400, "INVALID_REQUEST")
    );
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("会员卡模版ID不属于该品牌")
    );

    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "金卡"}).to_string();
    for url in [
        url("478515832666", CARD_ID),
        url(CODE, "pbLatjvWOibDc5-TBnbUk1pD12o1"),
    ] {
        let answer = client.patch(&url, &body).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (404, "NOT_FOUND"),
            "{url}"
        );
    }
    let body =
        json!({"brand_id": BRAND, "openid": "obLatjnx9gnqzS4myYGmLZ7LgLBB", "level": "金卡"})
            .to_string();
    let answer = client.patch(&card_url(), &body).await;
    assert_eq!((answer.status, answer.code().as_str()), (404, "NOT_FOUND"));
    assert_eq!(sandbox.stats().updates_applied, 0);
}

#[tokio::test]
async fn other_paths_and_methods_get_signed_errors() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    // The card's path takes GET (one card) and PATCH (update).
    let answer = client.send("DELETE", &card_url(), "", &[]).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (405, "INVALID_REQUEST")
    );
    assert_eq!(answer.header("Allow"), Some("GET, PATCH"));
    for path in [
        "/",
        "/v3/brand/partner/card-member/user-cards/",
        "/v3/brand/partner/card-member/user-cards/a/b",
    ] {
        let answer = client.send("PATCH", path, "", &[]).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (404, "NOT_FOUND"),
            "{path}"
        );
    }
    assert_eq!(sandbox.stats().requests, 4);
}

#[tokio::test]
async fn concurrent_updates_of_one_card_lose_nothing() {
    let sandbox = start().await;
    let client = std::sync::Arc::new(Client::new(&sandbox));
    // Eight updates, each of another field, many times over and all at once: a
    // read-modify-write that is not atomic would bring an old value back.
    let rounds = 4;
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..rounds {
        let updates = [
            json!({"card_color": format!("#00000{round}")}),
            json!({"level": format!("等级{round}")}),
            json!({"attach": format!("attach {round}")}),
            json!({"card_picture_url": format!("https://wxpaylogo.qpic.cn/{round}")}),
            json!({"phone_number": client.encrypt(&format!("1380013800{round}"))}),
            json!({"valid_date_information": {"type": "FIX_TERM", "available_day_after_receive": round}}),
            json!({"user_information": {"common_field_list": [{"name": "USER_FORM_FLAG_CITY", "value": client.encrypt(&format!("城市{round}"))}]}}),
            json!({"user_information": {"custom_field_list": [{"name": format!("字段{round}")}]}}),
        ];
        for mut update in updates {
            update["brand_id"] = json!(BRAND);
            update["openid"] = json!(OPENID);
            let client = client.clone();
            tasks.spawn(async move { client.patch(&card_url(), &update.to_string()).await.status });
        }
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(sandbox.stats().updates_applied, 8 * rounds);
    let card = sandbox.card(CARD_ID, CODE).unwrap();
    // Every field holds a value of one of the rounds: none went back to the seeded one.
    assert!(card.card_color.unwrap().starts_with("#00000"));
    assert!(card.level.unwrap().starts_with("等级"));
    assert!(card.attach.unwrap().starts_with("attach "));
    assert!(
        card.card_picture_url
            .unwrap()
            .starts_with("https://wxpaylogo.qpic.cn/")
    );
    assert!(
        card.phone_number
            .unwrap()
            .expose()
            .starts_with("1380013800")
    );
    assert!(
        card.valid_date_information
            .available_day_after_receive
            .is_some()
    );
    let info = card.user_information.unwrap();
    assert!(info.common_field_list[0].value.expose().starts_with("城市"));
    assert!(info.custom_field_list[0].name.starts_with("字段"));
}

#[tokio::test]
async fn the_test_hook_lists_the_cards_in_plaintext_and_is_not_counted() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let response = http()
        .get(format!("{}/_sandbox/user-cards", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cards: Vec<wechatpay_card_models::UserCard> =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(cards, sandbox.cards());
    assert_eq!(
        cards[0].phone_number.as_ref().unwrap().expose(),
        "13800138000"
    );
    let stats = http()
        .get(format!("{}/_sandbox/stats", sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut stats: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    let object = stats.as_object_mut().unwrap();
    assert!(object.remove("uptime_ms").unwrap().is_u64());
    assert!(
        object
            .remove("started_at")
            .unwrap()
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    assert_eq!(
        stats,
        json!({"requests": 0, "updates_applied": 0, "reads_answered": 0, "faults_injected": 0,
               "rate_limited": 0, "by_status": {}})
    );
    assert_eq!(counters(&sandbox.stats()), (0, 0, 0, 0));
    assert!(sandbox.stats().by_status.is_empty());
    drop(client);
}

#[tokio::test]
async fn request_ids_are_unique_across_many_answers() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    // `send` checks every Request-ID against all seen in this binary.
    for _ in 0..50 {
        client.send("PATCH", "/nowhere", "", &[]).await;
    }
}

#[tokio::test]
async fn a_replayed_request_is_refused_and_applied_once() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let url = card_url();
    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "金卡"}).to_string();
    let headers = client.headers("PATCH", &url, body.as_bytes());
    let first = client.send("PATCH", &url, body.clone(), &headers).await;
    assert_eq!(first.status, 200);

    // The same request again, byte for byte, within the window: a replay.
    let again = client.send("PATCH", &url, body, &headers).await;
    assert_eq!((again.status, again.code().as_str()), (401, "SIGN_ERROR"));
    assert_eq!(again.detail(), ("Authorization".into(), "header".into()));
    assert!(
        again.json()["message"]
            .as_str()
            .unwrap()
            .contains("replayed"),
        "{}",
        again.json()
    );
    // The same nonce, signed anew over another body and timestamp: a replay too.
    let nonce = AuthorizationHeader::parse(&headers[0].1)
        .unwrap()
        .nonce()
        .to_owned();
    let other = json!({"brand_id": BRAND, "openid": OPENID, "level": "银卡"}).to_string();
    let mut reused = client.headers("PATCH", &url, other.as_bytes());
    reused[0].1 = client
        .signer
        .authorization_at("PATCH", &url, other.as_bytes(), unix_now() - 10, &nonce)
        .unwrap();
    let answer = client.send("PATCH", &url, other.clone(), &reused).await;
    assert_eq!((answer.status, answer.code().as_str()), (401, "SIGN_ERROR"));
    assert_eq!(sandbox.stats().updates_applied, 1);
    assert_eq!(
        sandbox.card(CARD_ID, CODE).unwrap().level.as_deref(),
        Some("金卡")
    );

    // A forgery (a signature that does not verify) does not spend its nonce.
    let mut forged = client.headers("PATCH", &url, other.as_bytes());
    forged[0].1 = client
        .signer
        .authorization_at("PATCH", &url, b"{}", unix_now(), "fresh-nonce-1")
        .unwrap();
    let answer = client.send("PATCH", &url, other.clone(), &forged).await;
    assert_eq!(answer.status, 401);
    let mut good = client.headers("PATCH", &url, other.as_bytes());
    good[0].1 = client
        .signer
        .authorization_at("PATCH", &url, other.as_bytes(), unix_now(), "fresh-nonce-1")
        .unwrap();
    assert_eq!(client.send("PATCH", &url, other, &good).await.status, 200);
    assert_eq!(sandbox.stats().updates_applied, 2);
}

#[tokio::test]
async fn past_the_nonce_capacity_new_requests_get_429_until_the_window_frees_room() {
    let sandbox = builder().nonce_capacity(2).start().await.unwrap();
    let client = Client::new(&sandbox);
    let url = card_url();
    let body = json!({"brand_id": BRAND, "openid": OPENID, "level": "金卡"}).to_string();
    let start = unix_now();
    // One request near the old end of the window (remembered until start + 4 s), one now.
    let mut old = client.headers("PATCH", &url, body.as_bytes());
    old[0].1 = client
        .signer
        .authorization_at("PATCH", &url, body.as_bytes(), start - 296, "old-nonce")
        .unwrap();
    assert_eq!(
        client.send("PATCH", &url, body.clone(), &old).await.status,
        200
    );
    assert_eq!(client.patch(&url, &body).await.status, 200);

    // Full: a new request is refused, signed, rather than a nonce forgotten.
    let full = client.patch(&url, &body).await;
    assert_eq!(
        (full.status, full.code().as_str()),
        (429, "RATELIMIT_EXCEEDED")
    );
    assert!(full.json()["message"].as_str().unwrap().contains("nonces"));
    assert_eq!(sandbox.stats().updates_applied, 2);
    // ... and a replay is still a replay.
    let replay = client.send("PATCH", &url, body.clone(), &old).await;
    assert_eq!(replay.status, 401);

    // Once the old request's timestamp has left the window, there is room again.
    while unix_now() < start + 5 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(client.patch(&url, &body).await.status, 200);
    assert_eq!(sandbox.stats().updates_applied, 3);
}

#[tokio::test]
async fn a_key_given_twice_is_refused_not_read_one_way() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let url = card_url();
    // One signed body that reads as brand 9999 to a first-wins parser, 1004 to a last-wins one.
    let body =
        format!(r#"{{"brand_id":"9999","openid":"{OPENID}","level":"金卡","brand_id":"{BRAND}"}}"#);
    let error = expect_param_error(&client, &url, &body, |_| {}, "brand_id", "body").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("more than once")
    );
    // Deeper, and once escaped.
    for (body, field) in [
        (
            format!(
                r#"{{"brand_id":"{BRAND}","openid":"{OPENID}","valid_date_information":{{"type":"PERMANENT","type":"FIX_TERM","available_day_after_receive":7}}}}"#
            ),
            "valid_date_information.type",
        ),
        (
            format!(
                r#"{{"brand_id":"{BRAND}","openid":"{OPENID}","level":"金卡","le\u0076el":"银卡"}}"#
            ),
            "level",
        ),
    ] {
        expect_param_error(&client, &url, &body, |_| {}, field, "body").await;
    }
    assert_eq!(sandbox.stats().updates_applied, 0);
    assert_eq!(sandbox.card(CARD_ID, CODE).unwrap(), common_default_card());
}
