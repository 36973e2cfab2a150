//! `wechatpay-card-client`: builds a `Client` against an embedded `wechatpay-sandbox` (a local
//! stand-in for WeChat Pay, started in this process) and reads a card (查询用户会员卡详情):
//! sign, send, verify the answer, parse, decrypt. Against WeChat Pay, configure the client with
//! `Client::from_env()` (the `WECHATPAY_*` variables) instead.

use wechatpay_card_client::models::GetUserCardRequest;
use wechatpay_card_client::{Client, ClientBuilder};
use wechatpay_sandbox::Sandbox;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::builder().start().await?;
    let client: Client = ClientBuilder::from_vars(|name| sandbox.setting(name)).build()?;
    eprintln!("sandbox at {}", sandbox.base_url());

    let request = GetUserCardRequest::builder()
        .user_card_code("478515832665")
        .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
        .brand_id("1004")
        .openid("obLatjnx9gnqzS4myYGmLZ7LgLBA")
        .build()?;
    // Errors are shown, not matched on: `?` and `Display` are all this program needs.
    let mut card = client.get_user_card(request).await?;
    println!("{}", serde_json::to_string_pretty(&card)?);
    client.decrypt(&mut card)?;
    // `Debug` prints sensitive values as `***`; `expose()` gives the plaintext.
    let phone = card.phone_number.as_ref().map(|p| p.expose().to_owned());
    println!("phone number, decrypted with the merchant key: {phone:?}");
    Ok(())
}
