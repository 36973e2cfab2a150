//! `wechatpay-card demo`: the life cycle of one member (import by phone, get, update, list,
//! invalidate), through the real client, against a sandbox started in this process. No
//! configuration, nothing leaves the machine.

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use wechatpay_card_client::models::runtime::SensitiveFields;
use wechatpay_card_client::models::{
    CommonFieldFlag, ConfirmUserCardBody, ConfirmUserCardRequest, DateInfo, DateType, Endpoint,
    EndpointRequest, GetUserCardRequest, ImportUserCardByPhoneBody, ImportUserCardByPhoneRequest,
    InvalidateUserCardBody, InvalidateUserCardRequest, ListUserCardsRequest, Timestamp,
    UpdateUserCardBody, UpdateUserCardRequest, UserCardConfirmState, UserInfo, UserInfoCommonField,
    UserInfoCustomField,
};
use wechatpay_card_client::notify::{CardEvent, NotificationReceiver, answer};
use wechatpay_card_client::signing::{ApiV3Key, MerchantSigner, PrivateKey};
use wechatpay_card_client::{Client, ClientBuilder, RetryPolicy};
use wechatpay_sandbox::Sandbox;

use crate::exit::Failure;
use crate::plumbing::{self, other};

/// Run the life cycle of one member against a local sandbox, showing each step.
///
/// Starts a WeChat Pay sandbox in this process (keys generated for the run), then imports a
/// member by phone number, reads the card, updates it with the official page's example, lists
/// the member's cards and invalidates the card, with the same client the other commands use,
/// printing what is sent and what comes back at each step (sensitive values masked). Needs no
/// configuration.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {}

pub(crate) async fn run(_args: DemoArgs) -> ExitCode {
    plumbing::finish(demo().await)
}

/// The card template and brand of the page's example, which the sandbox serves.
const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
const BRAND_ID: &str = "1004";
/// The new member's card code.
const CODE: &str = "DEMO20260001";

/// The update of the page's Java sample for the member `openid`, its sensitive values in
/// plaintext (made up: the page only shows ciphertexts).
fn page_example(openid: &str) -> Result<UpdateUserCardRequest, Failure> {
    let time = |text: &str| Timestamp::parse(text).map_err(|e| Failure::usage(e.to_string()));
    let body = UpdateUserCardBody::new(BRAND_ID, openid)
        .with_card_color("#FFFF00")
        .with_card_picture_url(
            "https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7Imvtsn7sYGNcEj33YzVvJF88ECQ19LXId8ZL2Q/0",
        )
        .with_phone_number("13800138000")
        .with_level("钻石会员")
        .with_valid_date_information(
            DateInfo::new(DateType::Permanent)
                .with_available_begin_time(time("2020-05-20T13:29:35.120+08:00")?)
                .with_available_end_time(time("2020-05-20T13:29:35.120+08:00")?)
                .with_available_day_after_receive(30),
        )
        .with_user_information(
            UserInfo::new()
                .with_common_field_list(vec![UserInfoCommonField::new(
                    CommonFieldFlag::UserFormFlagBirthday,
                    "1990-01-01",
                )])
                .with_custom_field_list(vec![
                    UserInfoCustomField::new("喜欢的运动").with_user_chosen_values(vec!["游泳".into()]),
                ]),
        )
        .with_attach("自定义数据说明");
    Ok(UpdateUserCardRequest::new(CODE, CARD_ID, body))
}

/// `abcd…wxyz (N characters)`
fn shorten(text: &str) -> String {
    let n = text.chars().count();
    if n <= 16 {
        return text.to_string();
    }
    let head: String = text.chars().take(8).collect();
    let tail: String = text.chars().skip(n - 8).collect();
    format!("{head}…{tail} ({n} characters)")
}

/// `138****8000`: enough to recognize a value, not to read it.
fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    match chars.len() {
        0..=2 => "*".repeat(chars.len()),
        n if n <= 6 => format!("{}{}", chars[0], "*".repeat(n - 1)),
        n => format!(
            "{}{}{}",
            chars[..3].iter().collect::<String>(),
            "*".repeat(n - 7),
            chars[n - 4..].iter().collect::<String>()
        ),
    }
}

async fn demo() -> Result<(), Failure> {
    println!(
        "wechatpay-card demo: the life cycle of one member (import by phone, get, update, list,"
    );
    println!(
        "invalidate), then a user opening a card (notification, confirm) and deleting it, through"
    );
    println!("the real client, against a WeChat Pay sandbox started in this process.");
    println!("Nothing leaves this machine.\n");

    // Where the sandbox delivers card event notifications: a receiver in this process (what
    // `wechatpay-card listen` serves), bound first so that the sandbox knows its address.
    let notify_socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(other)?;
    let notify_url = format!(
        "http://{}/notify",
        notify_socket.local_addr().map_err(other)?
    );
    let sandbox = Sandbox::builder()
        .notify_url(&notify_url)
        .notify_interval(Duration::from_millis(200))
        .start()
        .await
        .map_err(other)?;
    let c = sandbox.credentials().clone();
    let key_pem = c
        .merchant_private_key_pem
        .clone()
        .ok_or_else(|| other("the sandbox made no merchant key"))?;
    println!("0. A local WeChat Pay at {}", sandbox.base_url());
    println!(
        "   merchant {} (API certificate serial {}), WeChat Pay public key {}",
        c.mchid, c.merchant_serial, c.wechatpay_key_id
    );
    println!("   keys generated for this run; card template {CARD_ID} of brand {BRAND_ID}\n");

    let client = ClientBuilder::from_vars(|name| sandbox.setting(name))
        .retry_policy(RetryPolicy::never())
        .build()
        .map_err(other)?;
    // What the client signs for each attempt, with the same key: shown for each step.
    let signer = MerchantSigner::new(
        &c.mchid,
        &c.merchant_serial,
        PrivateKey::from_pem(&key_pem).map_err(other)?,
    )
    .map_err(other)?;
    let demo = Steps {
        client: &client,
        signer: &signer,
    };
    let api_v3_key: ApiV3Key = sandbox
        .setting("WECHATPAY_APIV3_KEY")
        .ok_or_else(|| other("the sandbox has no APIv3 key"))?
        .parse()
        .map_err(other)?;
    let mut events = receive_notifications(
        notify_socket,
        NotificationReceiver::for_client(&client, api_v3_key),
    );

    let import = ImportUserCardByPhoneRequest::builder()
        .body(
            ImportUserCardByPhoneBody::builder()
                .brand_id(BRAND_ID)
                .card_id(CARD_ID)
                .phone_number("13900001234")
                .user_card_code(CODE)
                .build()
                .map_err(|e| Failure::usage(e.to_string()))?
                .with_level("银卡会员"),
        )
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let card = demo
        .step(
            1,
            "Import an existing member by phone number (根据手机号导入用户会员卡): the card is activated silently",
            import,
        )
        .await?;
    let openid = card.openid.clone();
    println!(
        "   WeChat Pay found the member's openid, {openid}: the next steps name the member by it\n"
    );

    let get = GetUserCardRequest::builder()
        .user_card_code(CODE)
        .card_id(CARD_ID)
        .brand_id(BRAND_ID)
        .openid(&openid)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    demo.step(2, "Read the card (查询用户会员卡详情): a GET, no body", get)
        .await?;

    demo.step(
        3,
        "Update the card with the official page's example (修改用户会员卡信息)",
        page_example(&openid)?,
    )
    .await?;

    let list = ListUserCardsRequest::builder()
        .brand_id(BRAND_ID)
        .openid(&openid)
        .offset(0)
        .limit(20)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    demo.step(
        4,
        "List the member's cards (查询用户会员卡列表): pages of at most 20",
        list,
    )
    .await?;

    let invalidate = InvalidateUserCardRequest::builder()
        .user_card_code(CODE)
        .card_id(CARD_ID)
        .brand_id(BRAND_ID)
        .body(InvalidateUserCardBody::new(&openid).with_invalid_reason("会员注销"))
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    demo.step(
        5,
        "Invalidate the card (作废用户会员卡): irreversible, the card refuses updates from now on",
        invalidate,
    )
    .await?;

    println!(
        "6. A user opens a card with the membership component: WeChat Pay notifies the service provider"
    );
    let opened = sandbox
        .user_opens_card(Some(BRAND_ID), CARD_ID, Some(NEW_CODE), NEW_OPENID)
        .map_err(other)?;
    println!(
        "   the card {NEW_CODE} awaits confirmation ({}); the notification goes to {notify_url}",
        opened.card.user_card_state
    );
    let event = next_event(&mut events).await?;
    println!(
        "   received {} (id {}): signature verified, resource decrypted with the APIv3 key (AES-256-GCM)",
        event.event_type, event.id
    );
    println!(
        "   the event names card {} of template {}\n",
        event.event.user_card_code, event.event.card_id
    );
    let confirm = ConfirmUserCardRequest::builder()
        .user_card_code(&event.event.user_card_code)
        .card_id(&event.event.card_id)
        .body(
            ConfirmUserCardBody::builder()
                .brand_id(BRAND_ID)
                .openid(NEW_OPENID)
                .user_card_confirm_state(UserCardConfirmState::CreateCardSuccess)
                .build()
                .map_err(|e| Failure::usage(e.to_string()))?,
        )
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    demo.step(
        7,
        "Confirm the opening (同步会员开通结果): until then the card is not valid",
        confirm,
    )
    .await?;

    println!("8. The user deletes the card: WeChat Pay notifies again");
    sandbox
        .user_deletes_card(CARD_ID, NEW_CODE)
        .map_err(other)?;
    let event = next_event(&mut events).await?;
    println!(
        "   received {} (id {}) for card {}\n",
        event.event_type, event.id, event.event.user_card_code
    );

    println!(
        "Next: `wechatpay-card --help` for your own members (import-by-phone, get, update, list,"
    );
    println!(
        "invalidate, bulk, listen), `wechatpay-card sandbox --help` to keep a sandbox running for your tests."
    );
    sandbox.shutdown().await;
    Ok(())
}

/// The code and openid of the member who opens a card in steps 6 to 8.
const NEW_CODE: &str = "DEMO20260002";
const NEW_OPENID: &str = "obLatjnxDemoNewMember";

/// Serves `socket` as a notify URL: each notification is received (verified, decrypted),
/// answered as WeChat Pay expects, and the accepted events are sent on the returned channel.
fn receive_notifications(
    socket: tokio::net::TcpListener,
    receiver: NotificationReceiver,
) -> tokio::sync::mpsc::UnboundedReceiver<CardEvent> {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let receiver = std::sync::Arc::new(receiver);
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (receiver, tx) = (receiver.clone(), tx.clone());
            async move {
                let result = receiver.receive(
                    |name| headers.get(name).and_then(|v| v.to_str().ok()),
                    &body,
                );
                let ack = answer(&result);
                if let Ok(event) = result {
                    let _ = tx.send(event);
                }
                (
                    StatusCode::from_u16(ack.status).unwrap_or(StatusCode::BAD_REQUEST),
                    ack.body,
                )
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(socket, app).await;
    });
    rx
}

/// The next notification the receiver accepted, waiting at most 10 s.
async fn next_event(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<CardEvent>,
) -> Result<CardEvent, Failure> {
    match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        Ok(Some(event)) => Ok(event),
        _ => Err(other("no notification arrived within 10 s")),
    }
}

/// What each step uses.
struct Steps<'a> {
    client: &'a Client,
    signer: &'a MerchantSigner,
}

impl Steps<'_> {
    /// One step: the request as written, validated, encrypted, signed, sent; the answer
    /// verified, decrypted and printed (sensitive values masked).
    async fn step<R>(
        &self,
        n: u32,
        title: &str,
        request: R,
    ) -> Result<<R::Endpoint as Endpoint>::Response, Failure>
    where
        R: EndpointRequest,
    {
        println!("{n}. {title}");
        request
            .validate()
            .map_err(|e| Failure::usage(e.to_string()))?;
        let has_body = <R::Endpoint as Endpoint>::HAS_BODY;
        let mut shown = request.body().clone();
        if has_body {
            mask_all(&mut shown, "plaintext, masked here")?;
            println!("   The body as you write it (validated: every limit of the schema holds):");
            println!(
                "{}",
                indent(&serde_json::to_string_pretty(&shown).map_err(other)?)
            );
        }

        let prepared = self
            .client
            .prepare(request)
            .map_err(|e| Failure::from_error(&e))?;
        if !prepared.encrypted_fields().is_empty() {
            let encrypted: serde_json::Value =
                serde_json::from_slice(prepared.body()).map_err(other)?;
            println!(
                "   Encryption: {} sensitive fields, RSAES-OAEP (SHA-1, MGF1-SHA-1) with WeChat Pay's key {}",
                prepared.encrypted_fields().len(),
                prepared.wechatpay_serial()
            );
            for path in prepared.encrypted_fields() {
                let value = lookup(&encrypted, path).unwrap_or_default();
                println!("   {path:<60} {}", shorten(value));
            }
        }
        let authorization = self
            .signer
            .authorization(prepared.method(), prepared.target(), prepared.body())
            .map_err(other)?;
        let signature = authorization
            .split("signature=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default();
        let short = match signature.len() {
            n if n > 24 => format!("{}…{}", &signature[..12], &signature[n - 8..]),
            _ => signature.to_string(),
        };
        let authorization = authorization.replace(signature, &short);
        println!(
            "   Signed (SHA256withRSA over \"METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n\", a fresh nonce per attempt):"
        );
        println!("   {} {} HTTP/1.1", prepared.method(), prepared.target());
        println!("   Authorization: {authorization}");
        println!("   Accept: application/json");
        if has_body {
            println!("   Content-Type: application/json");
        }
        if <R::Endpoint as Endpoint>::REQUIRES_WECHATPAY_SERIAL {
            println!("   Wechatpay-Serial: {}", prepared.wechatpay_serial());
        }

        let verified = self
            .client
            .send(&prepared)
            .await
            .map_err(|e| Failure::from_error(&e))?;
        println!(
            "   The answer: HTTP {}, Request-ID {}; Wechatpay-Signature verified with {} over the raw",
            verified.status(),
            verified.request_id().unwrap_or("-"),
            verified.signed_by()
        );
        println!("   bytes, its timestamp within 5 minutes of this clock; only then parsed:");
        let answer = verified.into_inner();
        let mut shown = answer.clone();
        self.client
            .decrypt(&mut shown)
            .map_err(|e| Failure::from_error(&e))?;
        mask_all(&mut shown, "decrypted with the merchant key, masked here")?;
        println!(
            "{}\n",
            indent(&serde_json::to_string_pretty(&shown).map_err(other)?)
        );
        Ok(answer)
    }
}

/// Every sensitive value of `value` replaced by its masked form and `why`.
fn mask_all<T: SensitiveFields + Serialize>(value: &mut T, why: &str) -> Result<(), Failure> {
    value
        .try_for_each_sensitive_mut(|_, field| {
            field.replace(format!("{} ({why})", mask(field.expose())));
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(other)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("   {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The string at a path like `user_information.common_field_list[0].value`.
fn lookup<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a str> {
    let mut current = value;
    for part in path.split('.') {
        let (name, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(n, rest)| (n, rest));
        current = current.get(name)?;
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            current = current.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    current.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_shortens() {
        assert_eq!(mask("13800138000"), "138****8000");
        assert_eq!(mask("游泳"), "**");
        assert_eq!(mask("1990-01-01"), "199***1-01");
        assert_eq!(shorten("short"), "short");
        assert_eq!(
            shorten(&"a".repeat(344)),
            "aaaaaaaa…aaaaaaaa (344 characters)"
        );
    }

    #[test]
    fn finds_values_by_path() {
        let v = serde_json::json!({"a": {"b": [{"c": "x"}, {"c": ["y", "z"]}]}});
        assert_eq!(lookup(&v, "a.b[0].c"), Some("x"));
        assert_eq!(lookup(&v, "a.b[1].c[1]"), Some("z"));
        assert_eq!(lookup(&v, "a.b[2].c"), None);
    }
}
