//! The client against hand-written servers that misbehave in ways a real server can: stalling
//! mid-answer, answering without end, answering errors that are not WeChat Pay's JSON.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wechatpay_card_client::models::{UpdateUserCardBody, UpdateUserCardRequest};
use wechatpay_card_client::{Client, ErrorKind, RetryPolicy, TransportErrorKind};

const MERCHANT_KEY: &str = include_str!("../../signing/tests/fixtures/merchant_key.pkcs8.pem");
const WECHATPAY_PUB: &str = include_str!("../../signing/tests/fixtures/wechatpay_pub.pem");

const SYSTEM_ERROR: &str = r#"{"code":"SYSTEM_ERROR","message":"try again"}"#;

fn client(base_url: &str, attempts: u32) -> Client {
    Client::builder()
        .mchid("1900000001")
        .merchant_serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .private_key_pem(MERCHANT_KEY)
        .wechatpay_public_key_pem(
            "PUB_KEY_ID_0119000000012026112600000000000001",
            WECHATPAY_PUB,
        )
        .base_url(base_url)
        .disable_failover()
        .attempt_timeout(Duration::from_millis(300))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(attempts)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

fn request() -> UpdateUserCardRequest {
    UpdateUserCardRequest::new(
        "478515832665",
        "pbLatjvWOibDc5-TBnbUk1pD12o0",
        UpdateUserCardBody::new("1004", "o1").with_phone_number("13800138000"),
    )
}

/// Reads one HTTP/1.1 request (head and Content-Length body); returns the head.
async fn read_request(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            return head;
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// An HTTP/1.1 answer with the right Content-Length.
fn answer(status: &str, headers: &str, body: &str) -> &'static [u8] {
    let text = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    Box::leak(text.into_bytes().into_boxed_slice())
}

/// A server that answers every connection with `answer`, recording each request's head.
async fn serve(answer: &'static [u8], stall: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            tokio::spawn(async move {
                loop {
                    let head = read_request(&mut stream).await;
                    if head.is_empty() {
                        return;
                    }
                    seen.lock().unwrap().push(head);
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                    if stall {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                }
            });
        }
    });
    (url, heads)
}

#[tokio::test]
async fn every_attempt_is_signed_anew() {
    let (url, heads) = serve(
        answer(
            "500 Internal Server Error",
            "Request-ID: r-1\r\n",
            SYSTEM_ERROR,
        ),
        false,
    )
    .await;
    let err = client(&url, 3)
        .update_user_card(request())
        .await
        .unwrap_err();
    assert_eq!(err.as_api().unwrap().code(), "SYSTEM_ERROR");
    assert_eq!(err.request_id(), Some("r-1"));
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 3);
    let nonces: std::collections::BTreeSet<String> = heads
        .iter()
        .map(|h| {
            let auth = h
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap();
            auth.split("nonce_str=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(nonces.len(), 3, "a fresh nonce each attempt");
    for head in heads.iter() {
        let lower = head.to_ascii_lowercase();
        assert!(head.starts_with("PATCH /v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0 HTTP/1.1"));
        assert!(lower.contains("accept: application/json"));
        assert!(lower.contains("content-type: application/json"));
        assert!(lower.contains("wechatpay-serial: pub_key_id_0119000000012026112600000000000001"));
        assert!(lower.contains("user-agent: wechatpay-card-client/"));
    }
}

#[tokio::test]
async fn a_server_stalling_mid_answer_hits_the_attempt_timeout() {
    let (url, heads) = serve(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"user_card",
        true,
    )
    .await;
    let started = std::time::Instant::now();
    let err = client(&url, 2)
        .update_user_card(request())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(heads.lock().unwrap().len(), 2, "a timeout is retried");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_answer_larger_than_the_limit_is_an_error_not_a_memory_spike() {
    // Announced as 64 MiB: refused from the header alone.
    let (url, _) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n", true).await;
    let err = client(&url, 3)
        .update_user_card(request())
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.transport_kind(), err.attempts()),
        (
            ErrorKind::Transport,
            Some(TransportErrorKind::ResponseTooLarge),
            Some(1)
        ),
        "{err}"
    );

    // Chunked without end: refused once the limit is passed.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_request(&mut stream).await;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let err = client(&url, 1)
        .update_user_card(request())
        .await
        .unwrap_err();
    assert_eq!(
        err.transport_kind(),
        Some(TransportErrorKind::ResponseTooLarge),
        "{err}"
    );
}

#[tokio::test]
async fn an_unverifiable_2xx_is_never_returned() {
    let (url, _) = serve(answer("200 OK", "Request-ID: r-2\r\n", "{}"), false).await;
    let err = client(&url, 3)
        .update_user_card(request())
        .await
        .unwrap_err();
    let signature = err.as_signature().unwrap();
    assert_eq!(signature.request_id(), Some("r-2"));
    assert!(matches!(
        signature.verify_error(),
        Some(wechatpay_card_client::signing::VerifyError::MissingHeader(
            _
        ))
    ));
}

#[tokio::test]
async fn an_error_answer_that_is_not_json_still_reads_well() {
    let (url, _) = serve(
        answer(
            "502 Bad Gateway",
            "Content-Type: text/html\r\n",
            "<html>bad gateway</html>",
        ),
        false,
    )
    .await;
    let err = client(&url, 1)
        .update_user_card(request())
        .await
        .unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.status(), 502);
    assert!(api.message().contains("bad gateway"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_that_sent_nothing() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = client(&format!("http://{addr}"), 2)
        .update_user_card(request())
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.transport_kind(), err.attempts()),
        (
            ErrorKind::Transport,
            Some(TransportErrorKind::Connect),
            Some(2)
        ),
        "{err}"
    );
    assert!(err.is_transport() && err.is_retryable());
    assert_eq!(err.url(), Some(format!("http://{addr}").as_str()));
    assert!(!err.may_have_been_applied());
    assert!(
        err.to_string().contains(&format!("http://{addr}")),
        "the error names the URL it tried: {err}"
    );
}

/// A logging subscriber writing into a buffer the test reads.
fn capture_logs() -> (tracing::subscriber::DefaultGuard, Arc<Mutex<Vec<u8>>>) {
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE),
    );
    (tracing::subscriber::set_default(subscriber), buffer.0)
}

#[tokio::test]
async fn text_from_a_hostile_server_never_reaches_a_terminal_raw() {
    let (_guard, logs) = capture_logs();
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\rforged\u{202e}";
    let body = serde_json::json!({
        "code": "PARAM_\u{1b}[2J",
        "message": hostile,
        "detail": {"field": "level\r", "issue": "\u{1b}]0;x\u{7}"},
    })
    .to_string();
    let (url, _) = serve(
        answer("400 Bad Request", "Request-ID: r\t1\r\n", &body),
        false,
    )
    .await;
    let err = client(&url, 1)
        .update_user_card(request())
        .await
        .unwrap_err();
    // The raw text is kept for a program to inspect ...
    assert!(err.as_api().unwrap().message().contains('\u{1b}'));
    // ... but whatever prints it gets it escaped.
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("PARAM_"), "the failure is logged: {logs}");
    for (what, text) in [
        ("Display", err.to_string()),
        ("Debug", format!("{err:?}")),
        ("logs", logs),
    ] {
        assert!(
            !text.contains(['\u{1b}', '\u{7}', '\r', '\u{202e}']),
            "{what} holds a raw control character: {text:?}"
        );
    }
    assert!(err.to_string().contains(r"\u{1b}]0;pwned"), "{err}");

    // A body that is not JSON at all.
    let (url, _) = serve(answer("502 Bad Gateway", "", "\u{1b}[2Jgateway\r\n"), false).await;
    let err = client(&url, 1)
        .update_user_card(request())
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(['\u{1b}', '\r']), "{err:?}");
}

#[tokio::test]
async fn a_timeout_is_reported_once_not_nested_in_itself() {
    // A server that reads requests and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                read_request(&mut stream).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
        }
    });
    let client = Client::builder()
        .mchid("1900000001")
        .merchant_serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .private_key_pem(MERCHANT_KEY)
        .wechatpay_public_key_pem("PUB_KEY_ID_01", WECHATPAY_PUB)
        .base_url(&url)
        .attempt_timeout(Duration::from_millis(100))
        .call_timeout(Duration::from_millis(250))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(10)
                .initial_backoff(Duration::from_millis(200))
                .max_backoff(Duration::from_millis(200)),
        )
        .build()
        .unwrap();
    let err = client.update_user_card(request()).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.to_string().matches("timed out").count(), 1, "{err}");
}

#[test]
fn the_request_line_is_the_signed_target_for_any_valid_parameters() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (url, heads) = runtime.block_on(serve(
        answer(
            "404 Not Found",
            "",
            r#"{"code":"NOT_FOUND","message":"no"}"#,
        ),
        false,
    ));
    let client = runtime.block_on(async { client(&url, 1) });
    let send = |code: &str, card_id: &str| -> Result<Option<(String, String)>, TestCaseError> {
        let request =
            UpdateUserCardRequest::new(code, card_id, UpdateUserCardBody::new("1004", "o1"));
        let Ok(prepared) = client.prepare(request) else {
            return Ok(None); // invalid parameters: refused before anything is sent
        };
        heads.lock().unwrap().clear();
        let _ = runtime.block_on(client.send(&prepared));
        let head = heads.lock().unwrap().first().cloned().unwrap_or_default();
        let line = head.lines().next().unwrap_or_default().to_string();
        Ok(Some((
            line,
            format!("PATCH {} HTTP/1.1", prepared.target()),
        )))
    };

    // Dot segments would be removed by the URL parser: another path than the one signed.
    for code in [".", ".."] {
        assert_eq!(
            send(code, "card").unwrap(),
            None,
            "{code:?} must be refused"
        );
    }
    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    runner
        .run(&("[!-~]{1,32}", "\\PC{1,32}"), |(code, card_id)| {
            if let Some((received, signed)) = send(&code, &card_id)? {
                prop_assert_eq!(received, signed);
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn nothing_secret_in_logs_or_debug() {
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let (url, _) = serve(
        answer(
            "500 Internal Server Error",
            "Request-ID: r-3\r\n",
            SYSTEM_ERROR,
        ),
        false,
    )
    .await;
    let client = client(&url, 2);
    let err = client.update_user_card(request()).await.unwrap_err();
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("wechatpay_call") && logs.contains("r-3"),
        "the call is logged: {logs}"
    );
    let debug = format!("{client:?} {err:?} {:?}", request());
    for text in [&logs, &debug] {
        for secret in [
            "13800138000",
            "WECHATPAY2-SHA256-RSA2048",
            "signature=",
            "PRIVATE KEY",
            MERCHANT_KEY.lines().nth(1).unwrap(),
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

/// The signature headers of an answer carrying `body`, signed now with the WeChat Pay key the
/// client trusts, each ending with CRLF.
fn signature_headers(body: &str) -> String {
    use wechatpay_card_client::signing::{PrivateKey, WechatPaySigner};
    let key = PrivateKey::from_pem(include_str!(
        "../../signing/tests/fixtures/wechatpay_key.pem"
    ))
    .unwrap();
    let signer =
        WechatPaySigner::new("PUB_KEY_ID_0119000000012026112600000000000001", key).unwrap();
    let signature = signer.sign_response(body.as_bytes()).unwrap();
    signature
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect()
}

/// A 200 answer carrying `card`, signed now with the WeChat Pay key the client trusts.
fn signed_card(card: &serde_json::Value) -> &'static [u8] {
    let body = card.to_string();
    let headers = signature_headers(&body);
    answer(
        "200 OK",
        &format!("{headers}Request-ID: r-1\r\nContent-Type: application/json\r\n"),
        &body,
    )
}

#[tokio::test]
async fn an_answer_in_several_chunks_is_read_whole() {
    // The signature covers the whole body: an answer that arrives in pieces verifies only if
    // every piece is kept, in order.
    let body = card().to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\n{}Request-ID: r-1\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        signature_headers(&body)
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_request(&mut stream).await;
        stream.write_all(head.as_bytes()).await.unwrap();
        let third = body.len() / 3;
        for piece in [&body[..third], &body[third..2 * third], &body[2 * third..]] {
            let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
            stream.write_all(chunk.as_bytes()).await.unwrap();
            stream.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        stream.write_all(b"0\r\n\r\n").await.unwrap();
        stream.flush().await.unwrap();
        // Held open until the client has read the end.
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let verified = client(&url, 1).execute(request()).await.unwrap();
    assert_eq!(verified.request_id(), Some("r-1"));
    assert_eq!(verified.value().openid, "o1");
    assert!(verified.corrections().is_empty());
}

/// The card `request()` asks about, as an answer would carry it.
fn card() -> serde_json::Value {
    serde_json::json!({
        "user_card_code": "478515832665",
        "card_id": "pbLatjvWOibDc5-TBnbUk1pD12o0",
        "openid": "o1",
        "brand_id": "1004",
        "card_type": "NORMAL",
        "valid_date_information": {"type": "PERMANENT"},
        "pickup_time": "2020-05-20T13:29:35.120+08:00",
        "user_card_state": "EFFECTIVE",
        "create_time": "2020-05-20T13:29:35.120+08:00",
        "modify_time": "2020-05-20T13:29:35.120+08:00"
    })
}

#[tokio::test]
async fn a_verified_answer_for_another_card_is_refused() {
    // The answer is genuine (WeChat Pay's signature verifies) but it is about another card,
    // another template, another brand or another user: a replayed or misrouted answer.
    let (url, _) = serve(signed_card(&card()), false).await;
    client(&url, 1).update_user_card(request()).await.unwrap();
    for (field, other) in [
        ("user_card_code", "999"),
        ("card_id", "pOther"),
        ("brand_id", "9999"),
        ("openid", "o2"),
    ] {
        let mut replayed = card();
        replayed[field] = other.into();
        let (url, heads) = serve(signed_card(&replayed), false).await;
        let err = client(&url, 3)
            .update_user_card(request())
            .await
            .unwrap_err();
        let signature = err
            .as_signature()
            .unwrap_or_else(|| panic!("{field}: {err}"));
        assert_eq!(signature.mismatched_field(), Some(field), "{err}");
        assert!(err.may_have_been_applied());
        assert!(!err.is_retryable());
        assert_eq!(heads.lock().unwrap().len(), 1, "not retried");
        assert!(err.to_string().contains(other), "{err}");
    }
    // An answer without the field at all is no better.
    let mut anonymous = card();
    anonymous.as_object_mut().unwrap().remove("user_card_code");
    let (url, _) = serve(signed_card(&anonymous), false).await;
    let err = client(&url, 1)
        .update_user_card(request())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_signature().and_then(|s| s.mismatched_field()),
        Some("user_card_code"),
        "{err}"
    );
}

#[tokio::test]
async fn a_verified_answer_missing_documented_fields_is_returned_with_corrections() {
    let (_guard, logs) = capture_logs();
    let mut partial = card();
    let object = partial.as_object_mut().unwrap();
    object.remove("valid_date_information");
    object.insert("pickup_time".into(), 5.into());
    object.insert("new_field_of_a_newer_server".into(), true.into());
    let (url, _) = serve(signed_card(&partial), false).await;
    let verified = client(&url, 1).execute(request()).await.unwrap();
    let corrected: Vec<String> = verified
        .corrections()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        corrected,
        [
            "valid_date_information: missing",
            "pickup_time: expected a string, found a number"
        ]
    );
    assert_eq!(verified.value().user_card_code, "478515832665");
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("WARN") && logs.contains("valid_date_information"),
        "{logs}"
    );
    // The documented shape needs no correction.
    let (url, _) = serve(signed_card(&card()), false).await;
    let verified = client(&url, 1).execute(request()).await.unwrap();
    assert!(verified.corrections().is_empty());
}

#[tokio::test]
async fn a_list_holding_another_users_card_is_refused() {
    use futures_util::StreamExt as _;
    use wechatpay_card_client::models::ListUserCardsRequest;

    let list = serde_json::json!({"data": [card()], "total_count": 1, "offset": 0, "limit": 20});
    let request = || {
        ListUserCardsRequest::builder()
            .brand_id("1004")
            .openid("o1")
            .offset(0)
            .limit(20)
            .build()
            .unwrap()
    };
    let (url, _) = serve(signed_card(&list), false).await;
    let cards: Vec<_> = client(&url, 1).list_user_cards(request()).collect().await;
    assert_eq!(cards.len(), 1);
    assert!(cards[0].is_ok());

    let mut other = card();
    other["openid"] = "o2".into();
    let list =
        serde_json::json!({"data": [card(), other], "total_count": 2, "offset": 0, "limit": 20});
    let (url, _) = serve(signed_card(&list), false).await;
    let cards: Vec<_> = client(&url, 1).list_user_cards(request()).collect().await;
    assert_eq!(cards.len(), 1, "the stream ends with the error");
    let err = cards[0].as_ref().unwrap_err();
    assert_eq!(
        err.as_signature().and_then(|s| s.mismatched_field()),
        Some("data[1].openid"),
        "{err}"
    );
    assert!(!err.may_have_been_applied(), "a read changes nothing");
}

#[tokio::test]
async fn a_rate_limiter_on_the_builder_honours_retry_after() {
    use wechatpay_card_client::RateLimiter;

    let (url, heads) = serve(
        answer(
            "429 Too Many Requests",
            "Retry-After: 1\r\n",
            r#"{"code":"RATELIMIT_EXCEEDED","message":"slow down"}"#,
        ),
        false,
    )
    .await;
    let limiter = RateLimiter::fixed(1000.0).unwrap();
    let client = Client::builder()
        .mchid("1900000001")
        .merchant_serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .private_key_pem(MERCHANT_KEY)
        .wechatpay_public_key_pem("PUB_KEY_ID_01", WECHATPAY_PUB)
        .base_url(&url)
        .rate_limiter(limiter.clone())
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.update_user_card(request()).await.unwrap_err();
    assert_eq!(err.status(), Some(429), "{err}");
    assert_eq!(heads.lock().unwrap().len(), 2);
    // The second attempt waited for the Retry-After second, not the 2 ms back-off.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}
