//! What a user of the models relies on: the bytes sent, the answers parsed, the limits checked.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use wechatpay_card_models::runtime::{FieldPath, OpenEnum, SensitiveFields};
use wechatpay_card_models::{
    CardType, CommonFieldFlag, DateInfo, DateType, Rule, SensitiveString, Timestamp,
    UpdateUserCardBody, UpdateUserCardRequest, UserCard, UserCardState, UserInfo,
    UserInfoCommonField, UserInfoCustomField, Validate, from_json_lenient, from_json_strict,
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
    let mut too_long = request.clone();
    too_long.body = request.body.clone().with_level("一二三四五六七八九十一");
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
    assert_eq!(report.to_string(), "1 invalid field:\n  - openid: missing");
    let report = from_json_strict::<UpdateUserCardBody>(
        r#"{"brand_id": "1004", "openid": "o1",
            "user_information": {"common_field_list": [{"name": "USER_FORM_FLAG_NAME", "value": ["张三"]}]}}"#
            .as_bytes(),
    )
    .unwrap_err();
    let text = report.to_string();
    assert!(
        text.contains(
            "user_information.common_field_list[0].value: expected a string, found an array"
        ),
        "{text}"
    );
    assert!(!text.contains("张三"), "{text}");
    let report = from_json_strict::<UpdateUserCardBody>(b"{not json").unwrap_err();
    assert_eq!(report.violations()[0].path(), "");
}

/// Each violation as `path: message`.
fn violations(report: &wechatpay_card_models::ValidationError) -> Vec<String> {
    report.violations().iter().map(|v| v.to_string()).collect()
}

#[test]
fn strict_parsing_lists_missing_fields_and_wrong_types_with_every_other_violation() {
    let json = br##"{
        "openid": "o1",
        "level": 5,
        "card_color": "yellow",
        "colour": "#FFFF00",
        "valid_date_information": {"available_day_after_receive": -1},
        "user_information": {"custom_field_list": [{"user_chosen_values": ["a", 7]}]},
        "attach": null
    }"##;
    let report = from_json_strict::<UpdateUserCardBody>(json).unwrap_err();
    assert_eq!(
        violations(&report),
        [
            "colour: is not a field of UpdateUserCardBody",
            "brand_id: missing",
            "level: expected a string, found a number",
            "valid_date_information.type: missing",
            "user_information.custom_field_list[0].name: missing",
            "user_information.custom_field_list[0].user_chosen_values[1]: expected a string, found a number",
            "card_color: must match the pattern ^#[0-9A-Fa-f]{6}$",
            "valid_date_information.available_day_after_receive: must be at least 0 (is -1)",
        ]
    );
    // A field reported missing is not reported again for the limits of its filled-in value
    // (brand_id is minLength 1; the enum `type` would be Unknown("")).
    assert!(
        !violations(&report)
            .iter()
            .any(|v| v.contains("at least 1 character"))
    );
    assert!(
        !violations(&report)
            .iter()
            .any(|v| v.contains("must be one of"))
    );
}

#[test]
fn strict_parsing_refuses_a_top_level_that_is_not_an_object() {
    let report = from_json_strict::<UpdateUserCardBody>(b"[1, 2]").unwrap_err();
    assert_eq!(
        violations(&report),
        ["(body): expected an object, found an array"]
    );
}

#[test]
fn dot_segments_are_refused_in_path_parameters() {
    let body = UpdateUserCardBody::new("1004", "o1");
    for code in [".", ".."] {
        let request =
            UpdateUserCardRequest::new(code, "pbLatjvWOibDc5-TBnbUk1pD12o0", body.clone());
        let report = request.validate().unwrap_err();
        assert_eq!(report.violations().len(), 1, "{code}: {report}");
        assert_eq!(report.violations()[0].path(), "user_card_code");
        assert_eq!(report.violations()[0].rule(), &Rule::DotSegment);
        assert!(report.to_string().contains("dot segment"), "{report}");
    }
    for code in ["...", ".a", "a.", "1.2"] {
        let request =
            UpdateUserCardRequest::new(code, "pbLatjvWOibDc5-TBnbUk1pD12o0", body.clone());
        assert!(request.validate().is_ok(), "{code}");
    }
    // Query parameters are encoded into the query, where dots mean nothing.
    let request = UpdateUserCardRequest::new("478515832665", "..", body);
    assert!(request.validate().is_ok());
}

#[test]
fn outside_bmp_in_an_encrypted_field_says_why_it_is_refused() {
    let body = UpdateUserCardBody::new("1004", "o1")
        .with_level("🙂")
        .with_phone_number("🙂");
    let report = body.validate().unwrap_err();
    let found = violations(&report);
    assert_eq!(found.len(), 2);
    assert!(found[0].starts_with("phone_number:"), "{found:?}");
    assert!(found[0].contains("1-3 UTF-8 bytes"), "{found:?}");
    assert!(
        found[0].contains("stores the decrypted plaintext"),
        "{found:?}"
    );
    assert!(found[1].starts_with("level:"), "{found:?}");
    assert!(!found[1].contains("encrypted"), "{found:?}");
}

fn page_response() -> serde_json::Value {
    serde_json::from_str(PAGE_RESPONSE).unwrap()
}

fn lenient(value: &serde_json::Value) -> wechatpay_card_models::Lenient<UserCard> {
    from_json_lenient::<UserCard>(value.to_string().as_bytes()).unwrap()
}

fn corrections(read: &wechatpay_card_models::Lenient<UserCard>) -> Vec<String> {
    read.corrections.iter().map(|c| c.to_string()).collect()
}

#[test]
fn lenient_reading_of_the_page_example_corrects_nothing() {
    let read = lenient(&page_response());
    assert!(read.corrections.is_empty(), "{:?}", read.corrections);
    let strict: UserCard = serde_json::from_str(PAGE_RESPONSE).unwrap();
    assert_eq!(read.value, strict);
}

#[test]
fn an_answer_without_valid_date_information_is_read_and_corrected() {
    let mut value = page_response();
    value
        .as_object_mut()
        .unwrap()
        .remove("valid_date_information");
    // serde alone refuses it: this is the answer that was "not a valid response".
    assert!(serde_json::from_value::<UserCard>(value.clone()).is_err());
    let read = lenient(&value);
    assert_eq!(corrections(&read), ["valid_date_information: missing"]);
    assert_eq!(
        read.value.valid_date_information,
        DateInfo::new(DateType::from(""))
    );
    assert_eq!(read.value.level.as_deref(), Some("钻石会员"));
}

#[test]
fn an_answer_with_a_wrong_typed_time_is_read_and_corrected() {
    let mut value = page_response();
    value["pickup_time"] = 5.into();
    let read = lenient(&value);
    assert_eq!(
        corrections(&read),
        ["pickup_time: expected a string, found a number"]
    );
    assert_eq!(read.value.pickup_time.unix_millis(), Some(0));
    assert_eq!(
        read.value.create_time.as_str(),
        "2020-05-20T13:29:35.120+08:00"
    );
}

#[test]
fn an_answer_with_unknown_nested_fields_and_values_needs_no_correction() {
    let mut value = page_response();
    value["valid_date_information"]["available_week"] = serde_json::json!({"week_day": [1, 2]});
    value["user_information"]["common_field_list"][0]["source"] = "WECHAT".into();
    value["card_type"] = "PREMIUM".into();
    value["points"] = 1200.into();
    let read = lenient(&value);
    assert!(read.corrections.is_empty(), "{:?}", read.corrections);
    assert_eq!(read.value.card_type.as_str(), "PREMIUM");
}

#[test]
fn an_answer_with_a_nested_common_field_missing_its_name_is_read_and_corrected() {
    let mut value = page_response();
    value["user_information"]["common_field_list"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    value["user_information"]["custom_field_list"][0]["user_chosen_values"] =
        serde_json::json!(["x", null]);
    value["level"] = serde_json::json!(["not", "a", "level"]);
    let read = lenient(&value);
    assert_eq!(
        corrections(&read),
        [
            "level: expected a string, found an array",
            "user_information.common_field_list[0].name: missing",
            "user_information.custom_field_list[0].user_chosen_values[1]: expected a string, found null",
        ]
    );
    let info = read.value.user_information.unwrap();
    assert_eq!(info.common_field_list[0].name.as_str(), "");
    assert_eq!(info.common_field_list[0].value.expose(), PAGE_CIPHERTEXT);
    assert_eq!(info.custom_field_list[0].user_chosen_values.len(), 1);
    // An optional field that is unusable is left absent.
    assert_eq!(read.value.level, None);
}

#[test]
fn lenient_reading_fails_only_on_what_is_not_an_object_of_json() {
    for bytes in [&b"{not json"[..], b"", b"[1]", b"\"card\"", b"null"] {
        assert!(
            from_json_lenient::<UserCard>(bytes).is_err(),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    let read = from_json_lenient::<UserCard>(b"{}").unwrap();
    assert_eq!(read.corrections.len(), 10, "{:?}", read.corrections);
    assert!(read.corrections.iter().all(|c| c.issue == "missing"));
}

#[test]
fn bound_fields_are_in_the_request_and_the_answer() {
    use wechatpay_card_models::runtime::StringFields;
    use wechatpay_card_models::{Endpoint, EndpointRequest, UpdateUserCard};
    let request = UpdateUserCardRequest::new(
        "478515832665",
        "pbLatjvWOibDc5-TBnbUk1pD12o0",
        page_example_body(),
    );
    let card: UserCard = serde_json::from_str(PAGE_RESPONSE).unwrap();
    assert_eq!(
        UpdateUserCard::BOUND_FIELDS,
        ["user_card_code", "card_id", "brand_id", "openid"]
    );
    for name in UpdateUserCard::BOUND_FIELDS {
        assert!(request.bound_value(name).is_some(), "{name}");
        assert!(card.string_field(name).is_some(), "{name}");
    }
    // The page's own answer is for another brand than its request (1001622624 vs 1004).
    assert_eq!(request.bound_value("brand_id"), Some("1004"));
    assert_eq!(card.string_field("brand_id"), Some("1001622624"));
    assert_eq!(
        card.string_field("user_card_code"),
        request.bound_value("user_card_code")
    );
    assert_eq!(card.string_field("pickup_time"), None);
    assert_eq!(card.string_field("phone_number"), None);
    assert_eq!(card.string_field("no_such_field"), None);
}

#[test]
fn strict_reading_of_a_parsed_value_reports_what_strict_reading_of_its_bytes_does() {
    let examples = [
        r#"{"brand_id": "1004", "openid": "o1", "level": "gold"}"#,
        r#"{"openid": "o1", "levle": "gold", "level": 5}"#,
        r#"{"brand_id": "1004", "openid": "o1", "phone_number": "138", "valid_date_information": {"type": "X"}}"#,
        r#"{"brand_id": "", "openid": "o1", "user_information": {"custom_field_list": [1, {"name": 2}]}}"#,
        r#"[]"#,
        r#"null"#,
    ];
    for json in examples {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let from_bytes =
            wechatpay_card_models::from_json_strict::<UpdateUserCardBody>(json.as_bytes());
        let from_value = wechatpay_card_models::from_value_strict::<UpdateUserCardBody>(value);
        assert_eq!(from_bytes, from_value, "{json}");
    }
    assert!(
        wechatpay_card_models::from_value_strict::<UpdateUserCardBody>(serde_json::json!({
            "brand_id": "1004", "openid": "o1"
        }))
        .is_ok()
    );
}
