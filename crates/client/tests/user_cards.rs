//! The user-card family end to end: the client's one method per endpoint against the sandbox,
//! and the wire format of a body-less GET against a raw server.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt as _;
use wechatpay_card_client::models::{
    ConfirmUserCardBody, ConfirmUserCardRequest, GetUserCardRequest, ImportUserCardByOpenidBody,
    ImportUserCardByOpenidRequest, ImportUserCardByPhoneBody, ImportUserCardByPhoneRequest,
    InvalidateUserCardBody, InvalidateUserCardRequest, ListUserCardsRequest, UpdateUserCardBody,
    UpdateUserCardRequest, UserCardConfirmState, UserCardState,
};
use wechatpay_card_client::{Client, ClientBuilder, ErrorKind, RetryPolicy};
use wechatpay_sandbox::Sandbox;

const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
const BRAND: &str = "1004";

fn client(sandbox: &Sandbox) -> Client {
    ClientBuilder::from_vars(|name| sandbox.setting(name))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .initial_backoff(Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

fn get(code: &str, openid: &str) -> GetUserCardRequest {
    GetUserCardRequest::builder()
        .user_card_code(code)
        .card_id(CARD_ID)
        .brand_id(BRAND)
        .openid(openid)
        .build()
        .unwrap()
}

fn import(code: &str, openid: &str) -> ImportUserCardByOpenidRequest {
    ImportUserCardByOpenidRequest::builder()
        .body(
            ImportUserCardByOpenidBody::builder()
                .brand_id(BRAND)
                .card_id(CARD_ID)
                .openid(openid)
                .user_card_code(code)
                .build()
                .unwrap()
                .with_level("银卡")
                .with_phone_number("13800138000"),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_members_life_cycle() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = client(&sandbox);

    // Import by phone: the card is active at once, the phone number stored decrypted.
    let by_phone = ImportUserCardByPhoneRequest::builder()
        .body(
            ImportUserCardByPhoneBody::builder()
                .brand_id(BRAND)
                .card_id(CARD_ID)
                .phone_number("13912345678")
                .user_card_code("P0001")
                .build()
                .unwrap()
                .with_level("金卡"),
        )
        .build()
        .unwrap();
    let mut card = client.import_user_card_by_phone(by_phone).await.unwrap();
    assert_eq!(card.user_card_state, UserCardState::Effective);
    client.decrypt(&mut card).unwrap();
    assert_eq!(card.phone_number.as_ref().unwrap().expose(), "13912345678");
    let openid = card.openid.clone();

    // Get, update, get again.
    let read = client.get_user_card(get("P0001", &openid)).await.unwrap();
    assert_eq!(read.level.as_deref(), Some("金卡"));
    let update = UpdateUserCardRequest::new(
        "P0001",
        CARD_ID,
        UpdateUserCardBody::new(BRAND, &openid).with_level("钻石会员"),
    );
    client.update_user_card(update).await.unwrap();
    let read = client.get_user_card(get("P0001", &openid)).await.unwrap();
    assert_eq!(read.level.as_deref(), Some("钻石会员"));

    // Import by openid; importing the same code again is refused.
    client
        .import_user_card_by_openid(import("O0001", "oUser2"))
        .await
        .unwrap();
    let again = client
        .import_user_card_by_openid(import("O0001", "oUser2"))
        .await
        .unwrap_err();
    assert_eq!(again.as_api().unwrap().code(), "INVALID_REQUEST", "{again}");

    // Invalidate: irreversible; a second one is refused, and so is an update.
    let invalidate = || {
        InvalidateUserCardRequest::builder()
            .user_card_code("O0001")
            .card_id(CARD_ID)
            .brand_id(BRAND)
            .body(InvalidateUserCardBody::new("oUser2").with_invalid_reason("会员注销"))
            .build()
            .unwrap()
    };
    let card = client.invalidate_user_card(invalidate()).await.unwrap();
    assert_eq!(card.user_card_state, UserCardState::Invalid);
    assert_eq!(card.invalid_reason.as_deref(), Some("会员注销"));
    let err = client.invalidate_user_card(invalidate()).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().status(), 400, "{err}");

    // A card a user opened awaits confirmation; confirming makes it effective, once.
    sandbox.open_card(CARD_ID, "C0001", "oUser3").unwrap();
    let confirm = || {
        ConfirmUserCardRequest::builder()
            .user_card_code("C0001")
            .card_id(CARD_ID)
            .body(
                ConfirmUserCardBody::builder()
                    .brand_id(BRAND)
                    .openid("oUser3")
                    .user_card_confirm_state(UserCardConfirmState::CreateCardSuccess)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let card = client.confirm_user_card(confirm()).await.unwrap();
    assert_eq!(card.user_card_state, UserCardState::Effective);
    let err = client.confirm_user_card(confirm()).await.unwrap_err();
    assert_eq!(err.as_api().unwrap().code(), "NOT_FOUND", "{err}");

    // A read of a card that does not exist: an API error, and nothing was changed.
    let err = client
        .get_user_card(get("NOPE", &openid))
        .await
        .unwrap_err();
    assert_eq!(err.as_api().unwrap().status(), 404);
    assert!(!err.may_have_been_applied());
}

#[tokio::test]
async fn list_pages_through_every_card_of_a_user() {
    // The sandbox allows one effective card per user and template: 45 templates of one brand.
    let mut builder = Sandbox::builder();
    for i in 0..45 {
        builder = builder.template(format!("tpl{i:02}"), BRAND);
    }
    let sandbox = builder.start().await.unwrap();
    let client = client(&sandbox);
    for i in 0..45 {
        let request = ImportUserCardByOpenidRequest::builder()
            .body(
                ImportUserCardByOpenidBody::builder()
                    .brand_id(BRAND)
                    .card_id(format!("tpl{i:02}"))
                    .openid("oMany")
                    .user_card_code(format!("M{i:03}"))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        client.import_user_card_by_openid(request).await.unwrap();
    }
    let before = sandbox.stats();
    let request = ListUserCardsRequest::builder()
        .brand_id(BRAND)
        .openid("oMany")
        .offset(0)
        .limit(1)
        .build()
        .unwrap();
    let cards: Vec<_> = client
        .list_user_cards(request)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(cards.len(), 45);
    let mut codes: Vec<_> = cards.iter().map(|c| c.user_card_code.clone()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 45, "each card once");
    // Pages of 20: 20 + 20 + 5, whatever limit the request gave.
    assert_eq!(sandbox.stats().reads_answered - before.reads_answered, 3);
}

#[tokio::test]
async fn a_get_sends_no_body_no_content_type_and_signs_the_empty_body() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use wechatpay_card_client::signing::{AuthorizationHeader, PublicKey};

    let sandbox = Sandbox::builder().start().await.unwrap();
    // A raw server in the sandbox's place records the request as it arrives.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 65536];
        let mut n = 0;
        while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            n += stream.read(&mut buf[n..]).await.unwrap();
        }
        // Anything after the head would be a body: wait briefly for one.
        let more =
            tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf[n..])).await;
        if let Ok(Ok(extra)) = more {
            n += extra;
        }
        let body = r#"{"code":"NOT_FOUND","message":"no"}"#;
        let _ = stream
            .write_all(
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
        String::from_utf8(buf[..n].to_vec()).unwrap()
    });
    let client = ClientBuilder::from_vars(|name| sandbox.setting(name))
        .base_url(url)
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .build()
        .unwrap();
    let err = client
        .get_user_card(get("478515832665", "o1"))
        .await
        .unwrap_err();
    assert!(!err.may_have_been_applied(), "{err}");
    let received = server.await.unwrap();
    let (head, body) = received.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "", "a GET has no body");
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let target = "/v3/brand/partner/card-member/user-cards/478515832665?brand_id=1004&card_id=pbLatjvWOibDc5-TBnbUk1pD12o0&openid=o1";
    assert_eq!(request_line, format!("GET {target} HTTP/1.1"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("content-type"), None);
    assert_eq!(header("content-length"), None);
    assert_eq!(header("wechatpay-serial"), None);
    // The signature is over GET, the target and the empty body, with the merchant's key.
    let authorization = header("authorization").unwrap();
    let parsed = AuthorizationHeader::parse(&authorization).unwrap();
    let key = PublicKey::from_pem(&sandbox.credentials().merchant_public_key_pem).unwrap();
    parsed.verify(&key, "GET", target, b"").unwrap();
    assert!(parsed.verify(&key, "GET", target, b"{}").is_err());
}

#[tokio::test]
async fn a_failed_read_says_nothing_was_changed() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = ClientBuilder::from_vars(|name| sandbox.setting(name))
        .base_url(format!("http://{addr}"))
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .build()
        .unwrap();
    let err = client
        .get_user_card(get("478515832665", "o1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(!err.may_have_been_applied());
}
