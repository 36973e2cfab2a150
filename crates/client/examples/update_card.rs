//! Updates a member card, end to end: validate, encrypt, sign, send, verify, parse, decrypt.
//!
//! ```sh
//! cargo run -p wechatpay-card-client --example update_card             # an in-process sandbox
//! cargo run -p wechatpay-card-client --example update_card -- --env    # the WECHATPAY_* variables
//! ```
//!
//! By default it starts the sandbox (a local stand-in for WeChat Pay) in-process and configures
//! the client from it in one call, whatever the shell's environment holds. With `--env` it reads
//! the `WECHATPAY_*` variables instead (e.g. those of `wechatpay-card sandbox --state-dir
//! /tmp/sb`, after `set -a; . /tmp/sb/env; set +a`) and says which ones it found.

use wechatpay_card_client::models::{
    DateInfo, DateType, UpdateUserCardBody, UpdateUserCardRequest, UserInfo, UserInfoCustomField,
};
use wechatpay_card_client::{Client, ClientBuilder, ErrorKind, env};
use wechatpay_sandbox::Sandbox;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the sandbox alive (if any) until the end.
    let (client, _sandbox) = if std::env::args().any(|a| a == "--env") {
        let found: Vec<&str> = [
            env::MCHID,
            env::MERCHANT_SERIAL,
            env::MERCHANT_CERT,
            env::PRIVATE_KEY,
            env::PUBLIC_KEY_ID,
            env::PUBLIC_KEY,
            env::PLATFORM_CERT,
            env::BASE_URL,
            env::BACKUP_BASE_URL,
        ]
        .into_iter()
        .filter(|name| std::env::var_os(name).is_some())
        .collect();
        eprintln!("configured from the environment: {}", found.join(", "));
        (Client::from_env()?, None)
    } else {
        let sandbox = Sandbox::builder().start().await?;
        let client = ClientBuilder::from_vars(|name| sandbox.setting(name)).build()?;
        eprintln!(
            "started a sandbox at {} (ignoring any WECHATPAY_* variables; pass --env to use them)",
            sandbox.base_url()
        );
        (client, Some(sandbox))
    };

    // The page's example update; the phone number and chosen values in plaintext.
    let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
        .with_card_color("#FFFF00")
        .with_level("钻石会员")
        .with_phone_number("13800138000")
        .with_valid_date_information(DateInfo::new(DateType::Permanent))
        .with_user_information(UserInfo::new().with_custom_field_list(vec![
            UserInfoCustomField::new("喜欢的运动").with_user_chosen_values(vec!["游泳".into()]),
        ]))
        .with_attach("自定义数据说明");
    let request = UpdateUserCardRequest::new("478515832665", "pbLatjvWOibDc5-TBnbUk1pD12o0", body);

    match client.execute(request).await {
        Ok(verified) => {
            println!(
                "updated (Request-ID {}, verified with {}, {} attempt(s))",
                verified.request_id().unwrap_or("-"),
                verified.signed_by(),
                verified.attempts()
            );
            let mut card = verified.into_inner();
            println!("{}", serde_json::to_string_pretty(&card)?);
            client.decrypt(&mut card)?;
            let phone = card
                .phone_number
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default();
            println!("phone number, decrypted with the merchant key: {phone}");
            Ok(())
        }
        Err(e) => {
            match e.kind() {
                ErrorKind::Api if e.code() == Some("NOT_FOUND") => {
                    eprintln!("no such card (Request-ID {:?})", e.request_id());
                }
                _ if e.may_have_been_applied() => {
                    eprintln!("the update may have been applied: read the card back");
                }
                _ => {}
            }
            Err(e.into())
        }
    }
}
