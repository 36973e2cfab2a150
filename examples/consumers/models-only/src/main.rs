//! `wechatpay-card-models` alone: builds and validates an update body (修改用户会员卡信息),
//! shows a validation failure with its field paths, and parses a card as WeChat Pay answers it.
//! Prints JSON. No HTTP, no cryptography.

use wechatpay_card_models::{
    DateInfo, DateType, UpdateUserCardBody, UserCard, Validate, from_json_lenient,
};

/// A card as the 查询用户会员卡详情 page shows it (sensitive fields would be encrypted).
const ANSWER: &str = r##"{
  "user_card_code": "478515832665",
  "card_id": "pbLatjvWOibDc5-TBnbUk1pD12o0",
  "openid": "obLatjnx9gnqzS4myYGmLZ7LgLBA",
  "card_color": "#FFFF00",
  "brand_id": "1004",
  "card_type": "NORMAL",
  "level": "钻石会员",
  "valid_date_information": {"type": "PERMANENT"},
  "pickup_time": "2020-05-20T13:29:35.120+08:00",
  "user_card_state": "EFFECTIVE",
  "create_time": "2020-05-20T13:29:35.120+08:00",
  "modify_time": "2020-05-20T13:29:35.120+08:00"
}"##;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A request body, built with its constructor and `with_*` setters.
    let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
        .with_level("钻石会员")
        .with_card_color("#FFFF00")
        .with_phone_number("13800138000")
        .with_valid_date_information(DateInfo::new(DateType::Permanent));
    body.validate()?;
    println!("valid update body:");
    println!("{}", serde_json::to_string_pretty(&body)?);

    // An invalid one: every violation, each with its field path.
    let invalid =
        UpdateUserCardBody::new("", "obLatjnx9gnqzS4myYGmLZ7LgLBA").with_card_color("yellow");
    match invalid.validate() {
        Ok(()) => return Err("an invalid body validated".into()),
        Err(e) => println!("invalid update body: {e}"),
    }

    // An answer, read leniently: a field missing or unusable would be listed, not fatal.
    let card = from_json_lenient::<UserCard>(ANSWER.as_bytes())?;
    println!("parsed card ({} correction(s)):", card.corrections.len());
    for correction in &card.corrections {
        println!("  correction: {correction:?}");
    }
    println!("{}", serde_json::to_string_pretty(&card.value)?);
    Ok(())
}
