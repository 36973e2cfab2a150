//! The client's `Error` as a program sees it: an opaque value read through `kind()` and its
//! accessors, whose `Display` says what failed at its own level and whose `source()` chain
//! holds the causes (reqwest's error for a transport failure), each said once.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::error::Error as _;

use wechatpay_card_client::models::{UpdateUserCardBody, UpdateUserCardRequest};
use wechatpay_card_client::signing::VerifyError;
use wechatpay_card_client::{
    Client, ClientBuilder, Error, ErrorKind, RetryPolicy, TransportErrorKind,
};
use wechatpay_sandbox::{Faults, Sandbox};

mod common;
use common::{retries, sandbox_client};

const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
const CODE: &str = "478515832665";
const BRAND: &str = "1004";
const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";
const MERCHANT_KEY: &str = include_str!("../../signing/tests/fixtures/merchant_key.pkcs8.pem");
const WECHATPAY_PUB: &str = include_str!("../../signing/tests/fixtures/wechatpay_pub.pem");

// One pointer wide, and usable across threads and in `Box<dyn Error + Send + Sync>`.
const _: () = assert!(std::mem::size_of::<Error>() == std::mem::size_of::<usize>());
const _: fn() = || {
    fn is_send_sync_static<T: Send + Sync + 'static>() {}
    is_send_sync_static::<Error>();
    is_send_sync_static::<ErrorKind>();
};

#[test]
fn an_error_is_one_pointer_wide() {
    assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    assert_eq!(
        std::mem::size_of::<Result<(), Error>>(),
        std::mem::size_of::<usize>()
    );
}

/// The error and its sources, one level per element, as a program walking the chain sees them.
fn levels(error: &Error) -> Vec<String> {
    let mut levels = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        levels.push(cause.to_string());
        source = cause.source();
    }
    levels
}

/// Asserts that no level of the chain repeats the text of a level below it.
fn assert_said_once(error: &Error) {
    let levels = levels(error);
    let printed = levels.join(": ");
    for (i, level) in levels.iter().enumerate() {
        for below in levels.iter().skip(i + 1).filter(|b| !b.is_empty()) {
            assert!(
                !level.contains(below.as_str()),
                "level {i} repeats its source {below:?}: {printed}"
            );
        }
    }
}

async fn sandbox(faults: Faults) -> Sandbox {
    Sandbox::builder().faults(faults).start().await.unwrap()
}

fn client(sandbox: &Sandbox, attempts: u32) -> Client {
    sandbox_client(sandbox)
        .retry_policy(retries(attempts, 5, 20))
        .build()
        .unwrap()
}

fn update(code: &str) -> UpdateUserCardRequest {
    UpdateUserCardRequest::new(
        code,
        CARD_ID,
        UpdateUserCardBody::new(BRAND, OPENID).with_level("金卡"),
    )
}

#[tokio::test]
async fn an_error_answer_reads_through_its_accessors() {
    // 404: not retryable, certainly not applied.
    let sandbox = sandbox(Faults::default()).await;
    let err = client(&sandbox, 3)
        .update_user_card(update("000000000000"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some("NOT_FOUND"));
    assert!(err.message().is_some_and(|m| !m.is_empty()), "{err:?}");
    let request_id = err.request_id().unwrap();
    assert!(!request_id.is_empty());
    assert!(!err.is_retryable() && !err.may_have_been_applied() && !err.is_timeout());
    assert_eq!(err.as_api().unwrap().code(), "NOT_FOUND");
    assert!(err.to_string().contains("NOT_FOUND") && err.to_string().contains(request_id));
    assert!(
        err.source().is_none(),
        "an error answer has no cause below it"
    );
    // The kind is what a program matches on.
    let handled = match err.kind() {
        ErrorKind::Api if err.code() == Some("NOT_FOUND") => "no such card",
        ErrorKind::Api => "another error answer",
        _ => "something else",
    };
    assert_eq!(handled, "no such card");

    // 500 SYSTEM_ERROR: retryable, and an update may have been applied.
    let failing = sandbox_with_failures().await;
    let err = client(&failing, 1)
        .update_user_card(update(CODE))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status(), err.code()),
        (ErrorKind::Api, Some(500), Some("SYSTEM_ERROR")),
        "{err}"
    );
    assert!(err.request_id().is_some());
    assert!(err.is_retryable() && err.may_have_been_applied());
}

async fn sandbox_with_failures() -> Sandbox {
    sandbox(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    })
    .await
}

#[tokio::test]
async fn an_unverified_answer_keeps_the_verify_error_as_its_source() {
    let sandbox = sandbox(Faults {
        tamper_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let err = client(&sandbox, 3)
        .update_user_card(update(CODE))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature, "{err}");
    assert_eq!(err.status(), Some(200));
    assert!(err.request_id().is_some() && err.code().is_none());
    assert_eq!(err.method(), Some("PATCH"));
    assert!(err.may_have_been_applied() && !err.is_retryable());
    let verify = err.source().unwrap().downcast_ref::<VerifyError>();
    assert!(verify.is_some(), "{err:?}");
    assert_said_once(&err);
}

#[tokio::test]
async fn a_transport_error_keeps_reqwest_s_error_as_its_source() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}");
    let err = Client::builder()
        .mchid("1900000001")
        .merchant_serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .private_key_pem(MERCHANT_KEY)
        .wechatpay_public_key_pem("PUB_KEY_ID_01", WECHATPAY_PUB)
        .base_url(&url)
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .build()
        .unwrap()
        .update_user_card(update(CODE))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_transport() && err.is_retryable() && !err.may_have_been_applied());
    assert_eq!(err.transport_kind(), Some(TransportErrorKind::Connect));
    assert_eq!(
        (err.url(), err.attempts(), err.method()),
        (Some(url.as_str()), Some(1), Some("PATCH"))
    );
    assert_eq!(
        (err.status(), err.code(), err.request_id()),
        (None, None, None)
    );

    let reqwest = err
        .source()
        .and_then(|s| s.downcast_ref::<reqwest::Error>())
        .unwrap_or_else(|| panic!("the source is reqwest's error: {err:?}"));
    assert!(reqwest.is_connect());
    // The path (which names the card) is left out: the error names the base URL itself.
    assert_eq!(reqwest.url(), None);
    assert!(!format!("{err:?}").contains(CODE), "{err:?}");
    assert!(!levels(&err).join(": ").contains(CODE));

    // Printed as a chain, every cause appears once.
    let levels = levels(&err);
    assert!(levels.len() >= 2, "{levels:?}");
    assert_said_once(&err);
    let printed = levels.join(": ");
    for level in &levels {
        assert_eq!(printed.matches(level.as_str()).count(), 1, "{printed}");
    }
}

#[test]
fn a_configuration_error_is_said_once_with_its_cause_below_it() {
    let err = ClientBuilder::new()
        .mchid("1900000001")
        .merchant_serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .private_key_file("/nonexistent/apiclient_key.pem")
        .wechatpay_public_key_pem("PUB_KEY_ID_01", WECHATPAY_PUB)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.as_config().is_some());
    let io = err
        .source()
        .and_then(|s| s.source())
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("the system's error is in the chain: {err:?}"));
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_said_once(&err);
    assert!(
        levels(&err)
            .join(": ")
            .contains("/nonexistent/apiclient_key.pem")
    );
}

#[test]
fn error_kinds_are_plain_values() {
    use std::collections::HashSet;
    let kinds: HashSet<ErrorKind> = [ErrorKind::Api, ErrorKind::Api, ErrorKind::Timeout]
        .into_iter()
        .collect();
    assert_eq!(kinds.len(), 2);
    assert_eq!(ErrorKind::Config.to_string(), "invalid configuration");
}
