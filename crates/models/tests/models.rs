//! What a user of the models relies on: the bytes sent, the answers parsed, the limits checked.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use wechatpay_card_models::{
    CardType, CommonFieldFlag, DateInfo, DateType, FieldPath, OpenEnum, Rule, SensitiveFields,
    SensitiveString, Timestamp, UpdateUserCardBody, UpdateUserCardRequest, UserCard, UserCardState,
    UserInfo, UserInfoCommonField, UserInfoCustomField, Validate, from_json_strict,
};

/// The page's example ciphertext (a placeholder: no key we have decrypts it).
const PAGE_CIPHERTEXT: &str = "vvysDQeEaH3I+wRh14St0abIkvQyFgh/fbWYSs2bLtG9tj+bdJn4WSCPzLhShNHgujZzseiL6sYmT7E65mv/eFeTa7yslYfrX0hrhHazSM/+tfvN/C3OZwiBbcrF9LTIIdBVhGOqhCx0gK5YAVZc8dbW/yJqC5i79PDfVYJtpQe3A4v/GiDa2Q+Mv03taxgnEkzqlSPjkXiCYBj9UaFJ4bqCTXiO2Kt6TpczvAaZW+9/blxiJwqEFXe78LbrIQvkDUmVdZbqBdPQ+QGQgc/2Ea4IbP/EEt1qSyXnFbzaaKSE2j4mAFON3kzNexb/SYkHZNJAuCittaW4wpGj7U+h9A==";

const PAGE_RESPONSE: &str = include_str!("fixtures/user-card.response.json");

fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// The request of the page's Java sample, with the page's example ciphertext in the encrypted
/// fields (as they are after encryption).
fn page_example_body() -> UpdateUserCardBody {
    UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
        .with_card_color("#FFFF00")
        .with_card_picture_url(
            "https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7Imvtsn7sYGNcEj33YzVvJF88ECQ19LXId8ZL2Q/0",
        )
        .with_phone_number(PAGE_CIPHERTEXT)
        .with_level("钻石会员")
        .with_valid_date_information(
            DateInfo::new(DateType::Permanent)
                .with_available_begin_time(time("2020-05-20T13:29:35.120+08:00"))
                .with_available_end_time(time("2020-05-20T13:29:35.120+08:00"))
                .with_available_day_after_receive(30),
        )
        .with_user_information(
            UserInfo::new()
                .with_common_field_list(vec![UserInfoCommonField::new(
                    CommonFieldFlag::UserFormFlagBirthday,
                    PAGE_CIPHERTEXT,
                )])
                .with_custom_field_list(vec![
                    UserInfoCustomField::new("喜欢的运动")
                        .with_user_chosen_values(vec![PAGE_CIPHERTEXT.into()]),
                ]),
        )
        .with_attach("自定义数据说明")
}

#[test]
fn page_example_request_bytes() {
    let body = page_example_body();
    body.validate().unwrap();
    // The exact bytes signed and sent: fields in the page's order, no whitespace, UTF-8 as is.
    insta::assert_snapshot!(serde_json::to_string(&body).unwrap());
}

#[test]
fn page_example_response_round_trips() {
    let card: UserCard = serde_json::from_str(PAGE_RESPONSE).unwrap();
    assert_eq!(card.card_type, CardType::Normal);
    assert_eq!(card.user_card_state, UserCardState::Effective);
    assert_eq!(card.pickup_time.as_str(), "2020-05-20T13:29:35.120+08:00");
    // No field lost or changed: the same JSON value back, and the same text when pretty-printed.
    let original: serde_json::Value = serde_json::from_str(PAGE_RESPONSE).unwrap();
    assert_eq!(serde_json::to_value(&card).unwrap(), original);
    insta::assert_json_snapshot!(card);
}

#[test]
fn response_with_unknown_enum_values_and_fields_parses() {
    let mut value: serde_json::Value = serde_json::from_str(PAGE_RESPONSE).unwrap();
    value["card_type"] = "PREMIUM".into();
    value["user_card_state"] = "FROZEN".into();
    value["valid_date_information"]["type"] = "FIX_WEEKDAYS".into();
    value["points"] = 1200.into();
    value["valid_date_information"]["available_week"] = serde_json::json!({"week_day": [1, 2]});
    value["user_information"]["common_field_list"][0]["name"] = "USER_FORM_FLAG_NICKNAME".into();
    let card: UserCard = serde_json::from_value(value).unwrap();
    assert!(card.card_type.is_unknown());
    assert_eq!(card.card_type.as_str(), "PREMIUM");
    assert_eq!(card.user_card_state.as_str(), "FROZEN");
    assert_eq!(card.valid_date_information.type_.as_str(), "FIX_WEEKDAYS");
    // Unknown values go back out as they came; unknown fields are dropped.
    insta::assert_json_snapshot!(card);
}

#[test]
fn open_enums_agree_between_serde_and_from_str() {
    fn check<E>(known: &[E])
    where
        E: OpenEnum + std::str::FromStr<Err = std::convert::Infallible> + serde::Serialize,
        E: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + std::fmt::Display,
    {
        assert_eq!(known.len(), E::KNOWN_VALUES.len());
        for (value, wire) in known.iter().zip(E::KNOWN_VALUES) {
            assert_eq!(value.as_str(), *wire);
            assert_eq!(value.to_string(), *wire);
            assert!(!value.is_unknown());
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{wire}\""));
            let parsed: E = serde_json::from_str(&json).unwrap();
            let from_str: E = wire.parse().unwrap();
            assert_eq!(&parsed, value);
            assert_eq!(&from_str, value);
        }
        let unknown: E = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
        assert!(unknown.is_unknown());
        assert_eq!(unknown, "SOMETHING_NEW".parse().unwrap());
        assert_eq!(
            serde_json::to_string(&unknown).unwrap(),
            "\"SOMETHING_NEW\""
        );
    }
    check(CardType::KNOWN);
    check(UserCardState::KNOWN);
    check(DateType::KNOWN);
    check(CommonFieldFlag::KNOWN);
    assert_eq!(
        CardType::KNOWN_VALUES,
        ["PURCHASE", "NORMAL", "BALANCE"],
        "wire names are the page's"
    );
}

#[test]
fn times_keep_offset_and_precision_inside_models() {
    let json = r#"{"type":"FIX_TIME_RANGE","available_begin_time":"2020-05-20T13:29:35.120+08:00","available_end_time":"2021-01-01T00:00:00Z"}"#;
    let info: DateInfo = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&info).unwrap(), json);
}

#[test]
fn unset_optional_fields_are_absent_never_null() {
    let body = UpdateUserCardBody::new("1004", "o1");
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"brand_id":"1004","openid":"o1"}"#
    );
    let info = UserInfo::new();
    assert_eq!(serde_json::to_string(&info).unwrap(), "{}");
}

#[test]
fn sensitive_values_never_show_in_debug() {
    let body = UpdateUserCardBody::new("1004", "o1")
        .with_phone_number("13800138000")
        .with_user_information(
            UserInfo::new()
                .with_common_field_list(vec![UserInfoCommonField::new(
                    CommonFieldFlag::UserFormFlagName,
                    "张三",
                )])
                .with_custom_field_list(vec![
                    UserInfoCustomField::new("喜欢的运动")
                        .with_user_chosen_values(vec!["游泳".into()]),
                ]),
        );
    let request = UpdateUserCardRequest::new("478515832665", "pbLatjvWOibDc5-TBnbUk1pD12o0", body);
    let debug = format!("{request:?} {request:#?}");
    for secret in ["13800138000", "张三", "游泳"] {
        assert!(
            !debug.contains(secret),
            "{secret} leaked into Debug: {debug}"
        );
    }
    assert!(debug.contains("***"));
    assert_eq!(SensitiveString::new("x").to_string(), "***");
}

#[test]
fn the_walk_visits_every_encrypted_field_with_its_path() {
    let mut body = page_example_body();
    body.user_information.as_mut().unwrap().custom_field_list[0]
        .user_chosen_values
        .push("second".into());
    let mut paths = Vec::new();
    body.try_for_each_sensitive_mut(|path: &FieldPath, value: &mut SensitiveString| {
        paths.push(path.to_string());
        value.replace("X");
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(
        paths,
        [
            "phone_number",
            "user_information.common_field_list[0].value",
            "user_information.custom_field_list[0].user_chosen_values[0]",
            "user_information.custom_field_list[0].user_chosen_values[1]",
        ]
    );
    let mut count = 0;
    body.for_each_sensitive(|_, value| {
        assert_eq!(value.expose(), "X");
        count += 1;
    });
    assert_eq!(count, 4);

    // The response type is walked too (for decryption), and the walk stops at the first error.
    let mut card: UserCard = serde_json::from_str(PAGE_RESPONSE).unwrap();
    let mut seen = 0;
    let stopped = card.try_for_each_sensitive_mut(|path, _| {
        seen += 1;
        if path.as_str() == "user_information.common_field_list[0].value" {
            Err(path.to_string())
        } else {
            Ok(())
        }
    });
    assert_eq!(
        stopped.unwrap_err(),
        "user_information.common_field_list[0].value"
    );
    assert_eq!(seen, 2);
    assert!(!UpdateUserCardBody::new("1004", "o1").has_sensitive());
}

#[test]
fn validation_counts_characters_and_accepts_the_page_example() {
    // "钻石会员" is 4 characters and 12 bytes under string(10).
    let request = UpdateUserCardRequest::new(
        "478515832665",
        "pbLatjvWOibDc5-TBnbUk1pD12o0",
        page_example_body().with_level("一二三四五六七八九十"),
    );
    request.validate().unwrap();
    let too_long = UpdateUserCardRequest {
        body: request.body.clone().with_level("一二三四五六七八九十一"),
        ..request
    };
    let report = too_long.validate().unwrap_err();
    assert_eq!(report.violations().len(), 1);
    assert_eq!(report.violations()[0].path(), "level");
    assert_eq!(
        report.violations()[0].rule(),
        &Rule::MaxLength {
            max: 10,
            actual: 11
        }
    );
}

#[test]
fn validation_checks_colors_and_parameters() {
    for (color, ok) in [
        ("#FFFF00", true),
        ("#ffff00", true),
        ("#FFFF0", false),
        ("FFFF00", false),
        ("#GGGGGG", false),
    ] {
        let body = UpdateUserCardBody::new("1004", "o1").with_card_color(color);
        assert_eq!(body.validate().is_ok(), ok, "{color}");
    }
    let body = UpdateUserCardBody::new("1004", "o1");
    for (code, ok) in [
        ("478515832665", true),
        ("AB-12_3.4!", true),
        ("", false),
        ("has space", false),
        ("中文", false),
    ] {
        let request =
            UpdateUserCardRequest::new(code, "pbLatjvWOibDc5-TBnbUk1pD12o0", body.clone());
        assert_eq!(request.validate().is_ok(), ok, "{code:?}");
    }
    let request = UpdateUserCardRequest::new("1", "c".repeat(33), body);
    let report = request.validate().unwrap_err();
    assert_eq!(report.violations()[0].path(), "card_id");
}

#[test]
fn validation_report_for_a_request_that_breaks_every_limit() {
    let long = |n: usize| "x".repeat(n);
    let body = UpdateUserCardBody::new("", long(129))
        .with_card_color("#12345G7")
        .with_card_picture_url(format!("wxpaylogo.qpic.cn/{}", long(250)))
        .with_phone_number("138 🙂")
        .with_level("钻石会员钻石会员钻石会员")
        .with_valid_date_information(
            DateInfo::new(DateType::from("FOREVER"))
                .with_available_begin_time(time("2020-05-20T13:29:35.120+08:00"))
                .with_available_end_time(serde_json::from_str("\"2020-05-20 13:29:35\"").unwrap())
                .with_available_day_after_receive(-1),
        )
        .with_user_information(
            UserInfo::new()
                .with_common_field_list(vec![UserInfoCommonField::new(
                    CommonFieldFlag::from("USER_FORM_FLAG_SHOE_SIZE"),
                    "42",
                )])
                .with_custom_field_list(vec![UserInfoCustomField::new("运动🏀")]),
        )
        .with_attach(long(257));
    let request = UpdateUserCardRequest::new(format!("{} {}", long(16), long(16)), "", body);
    let report = request.validate().unwrap_err();
    insta::assert_snapshot!(report.to_string());
    // The sensitive value is not quoted anywhere in the report.
    assert!(!report.to_string().contains("138"));
}

#[test]
fn strict_parsing_reports_unknown_fields_with_their_paths() {
    let json = br#"{
        "brand_id": "1004",
        "openid": "o1",
        "user_card_code": "478515832665",
        "valid_date_information": {"type": "PERMANENT", "days": 3},
        "user_information": {"custom_field_list": [{"name": "a"}, {"name": "b", "values": []}]}
    }"#;
    let report = from_json_strict::<UpdateUserCardBody>(json).unwrap_err();
    let found: Vec<(&str, String)> = report
        .violations()
        .iter()
        .map(|v| (v.path(), v.rule().to_string()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "user_card_code",
                "is not a field of UpdateUserCardBody".to_string()
            ),
            (
                "user_information.custom_field_list[1].values",
                "is not a field of UserInfoCustomField".to_string()
            ),
            (
                "valid_date_information.days",
                "is not a field of DateInfo".to_string()
            ),
        ]
    );
}

#[test]
fn strict_parsing_never_quotes_a_sensitive_value() {
    let report = from_json_strict::<UpdateUserCardBody>(
        br#"{"brand_id": "1004", "openid": "o1", "phone_number": 13800138000}"#,
    )
    .unwrap_err();
    let text = report.to_string();
    assert!(text.contains("phone_number"), "{text}");
    assert!(!text.contains("13800138000"), "{text}");

    let report = from_json_strict::<UpdateUserCardBody>(br#"{"brand_id": "1004"}"#).unwrap_err();
    assert!(
        report.to_string().contains("missing field `openid`"),
        "{report}"
    );
    let report = from_json_strict::<UpdateUserCardBody>(b"{not json").unwrap_err();
    assert_eq!(report.violations()[0].path(), "");
}
