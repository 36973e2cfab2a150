//! Every answer and nested type built from outside the crate, as a server (the sandbox) or a test
//! builds them: the generated types are `#[non_exhaustive]`, so a struct literal does not compile
//! here, and `new` / `builder()` / `with_*` are the way. Each value round-trips through serde.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use serde::Serialize;
use serde::de::DeserializeOwned;
use wechatpay_card_models::{
    CardType, CommonFieldFlag, DateInfo, DateType, ErrorDetail, ErrorResponse, Notification,
    NotificationEventType, NotificationResource, Timestamp, UserCard, UserCardEvent, UserCardList,
    UserCardState, UserInfo, UserInfoCommonField, UserInfoCustomField, ValidationError,
    from_json_lenient,
};

const PAGE_CARD: &str = include_str!("fixtures/user-card.response.json");
const NOTIFICATION: &[u8] = include_bytes!("../../signing/tests/fixtures/notification_body.json");

fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// `value` serialized and read back is `value`; the JSON is returned.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "{json}");
    json
}

fn violations(e: &ValidationError) -> Vec<String> {
    e.violations().iter().map(ToString::to_string).collect()
}

/// The page's example card, built field by field.
fn page_card() -> UserCard {
    let cipher = serde_json::from_str::<serde_json::Value>(PAGE_CARD).unwrap()["phone_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = time("2020-05-20T13:29:35.120+08:00");
    UserCard::builder()
        .user_card_code("478515832665")
        .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
        .openid("obLatjnx9gnqzS4myYGmLZ7LgLBA")
        .brand_id("1001622624")
        .card_type(CardType::Normal)
        .valid_date_information(
            DateInfo::new(DateType::Permanent)
                .with_available_begin_time(t.clone())
                .with_available_end_time(t.clone())
                .with_available_day_after_receive(30),
        )
        .pickup_time(t.clone())
        .user_card_state(UserCardState::Effective)
        .create_time(t.clone())
        .modify_time(t.clone())
        .build()
        .unwrap()
        .with_card_color("#FFFF00")
        .with_card_picture_url("https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7Imvtsn7sYGNcEj33YzVvJF88ECQ19LXId8ZL2Q/0")
        .with_phone_number(cipher.as_str())
        .with_level("钻石会员")
        .with_user_information(
            UserInfo::new()
                .with_common_field_list(vec![UserInfoCommonField::new(
                    CommonFieldFlag::UserFormFlagBirthday,
                    cipher.as_str(),
                )])
                .with_custom_field_list(vec![
                    UserInfoCustomField::new("喜欢的运动")
                        .with_user_chosen_values(vec![cipher.as_str().into()]),
                ]),
        )
        .with_attach("自定义数据说明")
        .with_invalid_reason("传入的自定义作废原因")
        .with_invalid_time(t)
}

#[test]
fn a_card_built_outside_the_crate_is_the_page_example() {
    let card = page_card();
    let parsed: UserCard = serde_json::from_str(PAGE_CARD).unwrap();
    assert_eq!(card, parsed);
    let json = round_trip(&card);
    let expected: serde_json::Value = serde_json::from_str(PAGE_CARD).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        expected
    );
}

#[test]
fn a_card_builder_reports_every_required_field_left_out() {
    let err = UserCard::builder()
        .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
        .card_type(CardType::Normal)
        .build()
        .unwrap_err();
    assert_eq!(
        violations(&err),
        [
            "user_card_code: missing",
            "openid: missing",
            "brand_id: missing",
            "valid_date_information: missing",
            "pickup_time: missing",
            "user_card_state: missing",
            "create_time: missing",
            "modify_time: missing",
        ]
    );
}

#[test]
fn a_list_page_is_built_and_round_trips() {
    let page = UserCardList::builder()
        .total_count(21)
        .offset(20)
        .limit(20)
        .build()
        .unwrap()
        .with_data(vec![page_card()]);
    round_trip(&page);
    // Destructuring from outside names what it reads and ends with `..`.
    let UserCardList {
        data, total_count, ..
    } = &page;
    assert_eq!((data.len(), *total_count), (1, 21));
    let empty = UserCardList::builder()
        .total_count(0)
        .offset(0)
        .limit(20)
        .build()
        .unwrap();
    assert_eq!(
        round_trip(&empty),
        r#"{"total_count":0,"offset":0,"limit":20}"#
    );
    let err = UserCardList::builder().offset(0).build().unwrap_err();
    assert_eq!(violations(&err), ["total_count: missing", "limit: missing"]);
}

#[test]
fn an_error_answer_is_built_and_round_trips() {
    let error = ErrorResponse::new("PARAM_ERROR", "参数错误").with_detail(
        ErrorDetail::new()
            .with_field("phone_number")
            .with_value(serde_json::json!(5))
            .with_issue("not a string")
            .with_location("body"),
    );
    assert_eq!(
        round_trip(&error),
        r#"{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"phone_number","value":5,"issue":"not a string","location":"body"}}"#
    );
    // Every field optional: `new()` and `Default` agree.
    assert_eq!(ErrorDetail::new(), ErrorDetail::default());
    assert_eq!(UserInfo::new(), UserInfo::default());
    assert_eq!(
        round_trip(&ErrorResponse::new("SYSTEM_ERROR", "系统错误")),
        r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#
    );
}

#[test]
fn a_notification_is_built_and_is_the_fixture() {
    let fixture = from_json_lenient::<Notification>(NOTIFICATION).unwrap();
    assert!(fixture.corrections.is_empty());
    let fixture = fixture.value;
    let resource = NotificationResource::builder()
        .original_type("user_card")
        .algorithm("AEAD_AES_256_GCM")
        .ciphertext(fixture.resource.ciphertext.clone())
        .nonce("fKq9W2xRt7Lm")
        .build()
        .unwrap()
        .with_associated_data("user_card");
    let built = Notification::builder()
        .id("EV-2026112710345600000001")
        .create_time(time("2026-11-27T10:34:56+08:00"))
        .event_type(NotificationEventType::from("MEMBERCARDSP.USER_CARD.CREATE"))
        .resource_type("encrypt-resource")
        .summary("会员卡开卡")
        .resource(resource)
        .build()
        .unwrap();
    assert_eq!(built, fixture);
    round_trip(&built);
    let err = NotificationResource::builder()
        .algorithm("AEAD_AES_256_GCM")
        .build()
        .unwrap_err();
    assert_eq!(
        violations(&err),
        [
            "original_type: missing",
            "ciphertext: missing",
            "nonce: missing"
        ]
    );
}

#[test]
fn a_card_event_is_built_and_round_trips() {
    let event = UserCardEvent::new("478515832665", "pbLatjvWOibDc5-TBnbUk1pD12o0")
        .with_event_type(NotificationEventType::from("MEMBERCARDSP.USER_CARD.DELETE"))
        .with_event_time(time("2026-11-27T10:34:56+08:00"))
        .with_openid("obLatjnx9gnqzS4myYGmLZ7LgLBA")
        .with_brand_id("1004")
        .with_user_card_state(UserCardState::Invalid);
    let json = round_trip(&event);
    let read = from_json_lenient::<UserCardEvent>(json.as_bytes()).unwrap();
    assert!(read.corrections.is_empty(), "{:?}", read.corrections);
    assert_eq!(read.value, event);
    // The two required fields, and nothing else.
    assert_eq!(
        round_trip(&UserCardEvent::new("1", "c")),
        r#"{"user_card_code":"1","card_id":"c"}"#
    );
}
