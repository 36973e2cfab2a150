//! `wechatpay-card demo`: the page's example update, through the real client, against a sandbox
//! started in this process. No configuration, nothing leaves the machine.

use std::process::ExitCode;

use wechatpay_card_client::models::{
    CommonFieldFlag, DateInfo, DateType, SensitiveFields, Timestamp, UpdateUserCardBody,
    UpdateUserCardRequest, UserInfo, UserInfoCommonField, UserInfoCustomField, Validate,
};
use wechatpay_card_client::signing::{MerchantSigner, PrivateKey};
use wechatpay_card_client::{Client, RetryPolicy};
use wechatpay_sandbox::Sandbox;

use crate::exit::{self, Failure};

/// Run the page's example update end to end against a local sandbox, showing each step.
///
/// Starts a WeChat Pay sandbox in this process (keys generated for the run), then validates,
/// encrypts, signs, sends, verifies and parses the example request of the official page with
/// the same client `update` uses, printing what happens at each step. Needs no configuration.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {}

pub(crate) async fn run(_args: DemoArgs) -> ExitCode {
    match demo().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// The request of the page's Java sample, its sensitive values in plaintext (made up: the page
/// only shows ciphertexts).
fn page_example() -> Result<UpdateUserCardRequest, Failure> {
    let time = |text: &str| Timestamp::parse(text).map_err(|e| Failure::usage(e.to_string()));
    let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
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
    Ok(UpdateUserCardRequest::new(
        "478515832665",
        "pbLatjvWOibDc5-TBnbUk1pD12o0",
        body,
    ))
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

fn other(e: impl std::fmt::Display) -> Failure {
    Failure {
        code: exit::OTHER,
        message: e.to_string(),
    }
}

async fn demo() -> Result<(), Failure> {
    println!(
        "wechatpay-card demo: the official page's example update (修改用户会员卡信息), through the real"
    );
    println!(
        "client, against a WeChat Pay sandbox started in this process. Nothing leaves this machine.\n"
    );

    let sandbox = Sandbox::builder().start().await.map_err(other)?;
    let c = sandbox.credentials().clone();
    let key_pem = c
        .merchant_private_key_pem
        .clone()
        .ok_or_else(|| other("the sandbox made no merchant key"))?;
    println!("1. A local WeChat Pay at {}", sandbox.base_url());
    println!(
        "   merchant {} (API certificate serial {}), WeChat Pay public key {}",
        c.mchid, c.merchant_serial, c.wechatpay_key_id
    );
    println!("   keys generated for this run; the page's example card is on file\n");

    let client = Client::builder()
        .mchid(&c.mchid)
        .merchant_serial(&c.merchant_serial)
        .private_key_pem(key_pem.as_str())
        .wechatpay_public_key_pem(&c.wechatpay_key_id, &c.wechatpay_public_key_pem)
        .base_url(sandbox.base_url())
        .disable_failover()
        .retry_policy(RetryPolicy::never())
        .build()
        .map_err(other)?;

    let request = page_example()?;
    let mut shown = request.body.clone();
    shown
        .try_for_each_sensitive_mut(|_, value| {
            value.replace(format!("{} (plaintext, masked here)", mask(value.expose())));
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(other)?;
    println!("2. The request, as you write it: sensitive values in plaintext");
    println!(
        "   PATCH /v3/brand/partner/card-member/user-cards/{}?card_id={}",
        request.user_card_code, request.card_id
    );
    let body_json = serde_json::to_string_pretty(&shown).map_err(other)?;
    println!("{}\n", indent(&body_json));

    request
        .validate()
        .map_err(|e| Failure::usage(e.to_string()))?;
    println!(
        "3. Validation: every limit of the schema holds (lengths in characters: \"钻石会员\" is 4 of"
    );
    println!(
        "   string(10); 1-3 byte UTF-8 only; #RRGGBB; RFC 3339 times; the path and query parameters)\n"
    );

    let prepared = client
        .prepare(request)
        .map_err(|e| Failure::from_error(&e))?;
    let encrypted: serde_json::Value = serde_json::from_slice(prepared.body()).map_err(other)?;
    println!(
        "4. Encryption: {} sensitive fields, RSAES-OAEP (SHA-1, MGF1-SHA-1) with WeChat Pay's key {}",
        prepared.encrypted_fields().len(),
        prepared.wechatpay_serial()
    );
    for path in prepared.encrypted_fields() {
        let value = lookup(&encrypted, path).unwrap_or_default();
        println!("   {path:<60} {}", shorten(value));
    }
    println!();

    // What the client signs for each attempt, with the same key: shown once here.
    let signer = MerchantSigner::new(
        &c.mchid,
        &c.merchant_serial,
        PrivateKey::from_pem(&key_pem).map_err(other)?,
    )
    .map_err(other)?;
    let authorization = signer
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
        "5. The signed request (SHA256withRSA over \"METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n\" with the"
    );
    println!(
        "   merchant key; every attempt is signed anew, so a retry has a fresh timestamp and nonce)"
    );
    println!("   {} {} HTTP/1.1", prepared.method(), prepared.target());
    println!("   Authorization: {authorization}");
    println!("   Accept: application/json");
    println!("   Content-Type: application/json");
    println!("   Wechatpay-Serial: {}", prepared.wechatpay_serial());
    println!(
        "   ({} bytes of body: the request of step 2, its sensitive values encrypted)\n",
        prepared.body().len()
    );

    let verified = client
        .send(&prepared)
        .await
        .map_err(|e| Failure::from_error(&e))?;
    println!(
        "6. The answer: HTTP {}, Request-ID {}",
        verified.status(),
        verified.request_id().unwrap_or("-")
    );
    println!(
        "   Wechatpay-Signature verified with {} over \"TIMESTAMP\\nNONCE\\nBODY\\n\" (the raw bytes),",
        verified.signed_by()
    );
    println!("   its timestamp within 5 minutes of this clock; only then parsed\n");

    let mut card = verified.into_inner();
    client
        .decrypt(&mut card)
        .map_err(|e| Failure::from_error(&e))?;
    card.try_for_each_sensitive_mut(|_, value| {
        value.replace(format!(
            "{} (decrypted with the merchant key, masked here)",
            mask(value.expose())
        ));
        Ok::<(), std::convert::Infallible>(())
    })
    .map_err(other)?;
    println!("7. The verified card");
    println!(
        "{}\n",
        indent(&serde_json::to_string_pretty(&card).map_err(other)?)
    );
    println!(
        "Next: `wechatpay-card update --help` for your own cards, `wechatpay-card sandbox --help` to keep"
    );
    println!("a sandbox running for your tests.");
    sandbox.shutdown().await;
    Ok(())
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
