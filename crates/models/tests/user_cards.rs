//! The six sibling endpoints of the update: their descriptors, builders, query parameters, bodies
//! and answers.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use wechatpay_card_models::runtime::SensitiveFields;
use wechatpay_card_models::{
    CommonFieldFlag, ConfirmUserCard, ConfirmUserCardBody, ConfirmUserCardRequest, DateInfo,
    DateType, Endpoint, EndpointRequest, GetUserCard, GetUserCardRequest, ImportUserCardByOpenid,
    ImportUserCardByOpenidBody, ImportUserCardByOpenidRequest, ImportUserCardByPhone,
    ImportUserCardByPhoneBody, ImportUserCardByPhoneRequest, InvalidateUserCard,
    InvalidateUserCardBody, InvalidateUserCardRequest, ListUserCards, ListUserCardsRequest, NoBody,
    RateLimit, Timestamp, UpdateUserCard, UpdateUserCardBody, UpdateUserCardRequest, UserCard,
    UserCardConfirmState, UserCardList, UserCardState, UserInfo, UserInfoCommonField, Validate,
    ValidationError, from_json_lenient, from_json_strict,
};

const CODE: &str = "478515832665";
const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";
const PAGE_CARD: &str = include_str!("fixtures/user-card.response.json");
const LIST_ANSWER: &str = include_str!("fixtures/user-cards.list.response.json");

fn violations(e: &ValidationError) -> Vec<String> {
    e.violations().iter().map(ToString::to_string).collect()
}

/// The query string as the client builds it: each set parameter in `QUERY_PARAMS` order.
fn query<R: EndpointRequest>(request: &R) -> String {
    R::Endpoint::QUERY_PARAMS
        .iter()
        .filter_map(|name| Some(format!("{name}={}", request.query_param(name)?)))
        .collect::<Vec<_>>()
        .join("&")
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

#[test]
fn descriptors_say_method_path_body_serial_and_rate_limit() {
    let per_mchid = |documented| {
        Some(RateLimit {
            per_second: 5,
            scope: "mchid",
            documented,
        })
    };
    assert_eq!(
        (GetUserCard::METHOD, GetUserCard::PATH_TEMPLATE),
        (
            "GET",
            "/v3/brand/partner/card-member/user-cards/{user_card_code}"
        )
    );
    assert_eq!(GetUserCard::QUERY_PARAMS, ["brand_id", "card_id", "openid"]);
    assert_eq!(
        ListUserCards::QUERY_PARAMS,
        ["brand_id", "openid", "user_card_state", "offset", "limit"]
    );
    assert_eq!(
        InvalidateUserCard::PATH_TEMPLATE,
        "/v3/brand/partner/card-member/user-cards/{user_card_code}/invalidate"
    );
    assert_eq!(InvalidateUserCard::QUERY_PARAMS, ["brand_id", "card_id"]);
    assert_eq!(
        ImportUserCardByOpenid::PATH_TEMPLATE,
        "/v3/brand/partner/card-member/user-cards/import-by-openid"
    );
    assert_eq!(
        ImportUserCardByPhone::PATH_TEMPLATE,
        "/v3/brand/partner/card-member/user-cards/import-by-phone"
    );
    assert_eq!(
        ConfirmUserCard::PATH_TEMPLATE,
        "/v3/brand/partner/card-member/user-cards/{user_card_code}/confirm"
    );
    assert_eq!(ConfirmUserCard::QUERY_PARAMS, ["card_id"]);
    assert!(ImportUserCardByOpenid::PATH_PARAMS.is_empty());
    assert!(ImportUserCardByOpenid::QUERY_PARAMS.is_empty());

    let rows = [
        (
            GetUserCard::NAME,
            GetUserCard::HAS_BODY,
            GetUserCard::REQUIRES_WECHATPAY_SERIAL,
            GetUserCard::RATE_LIMIT,
        ),
        (
            ListUserCards::NAME,
            ListUserCards::HAS_BODY,
            ListUserCards::REQUIRES_WECHATPAY_SERIAL,
            ListUserCards::RATE_LIMIT,
        ),
        (
            UpdateUserCard::NAME,
            UpdateUserCard::HAS_BODY,
            UpdateUserCard::REQUIRES_WECHATPAY_SERIAL,
            UpdateUserCard::RATE_LIMIT,
        ),
        (
            InvalidateUserCard::NAME,
            InvalidateUserCard::HAS_BODY,
            InvalidateUserCard::REQUIRES_WECHATPAY_SERIAL,
            InvalidateUserCard::RATE_LIMIT,
        ),
        (
            ImportUserCardByOpenid::NAME,
            ImportUserCardByOpenid::HAS_BODY,
            ImportUserCardByOpenid::REQUIRES_WECHATPAY_SERIAL,
            ImportUserCardByOpenid::RATE_LIMIT,
        ),
        (
            ImportUserCardByPhone::NAME,
            ImportUserCardByPhone::HAS_BODY,
            ImportUserCardByPhone::REQUIRES_WECHATPAY_SERIAL,
            ImportUserCardByPhone::RATE_LIMIT,
        ),
        (
            ConfirmUserCard::NAME,
            ConfirmUserCard::HAS_BODY,
            ConfirmUserCard::REQUIRES_WECHATPAY_SERIAL,
            ConfirmUserCard::RATE_LIMIT,
        ),
    ];
    assert_eq!(
        rows,
        [
            ("GetUserCard", false, false, per_mchid(true)),
            ("ListUserCards", false, false, per_mchid(true)),
            ("UpdateUserCard", true, true, None),
            ("InvalidateUserCard", true, false, per_mchid(false)),
            ("ImportUserCardByOpenid", true, true, per_mchid(true)),
            ("ImportUserCardByPhone", true, true, per_mchid(false)),
            ("ConfirmUserCard", true, true, per_mchid(true)),
        ]
    );
    assert!(InvalidateUserCard::SUMMARY.contains("IRREVERSIBLE"));
    assert!(
        InvalidateUserCard::SUMMARY.contains("https://pay.weixin.qq.com/doc/v3/partner/4015336983")
    );
}

#[test]
fn bound_fields_are_the_names_on_both_sides() {
    assert_eq!(
        GetUserCard::BOUND_FIELDS,
        ["user_card_code", "brand_id", "card_id", "openid"]
    );
    assert!(ListUserCards::BOUND_FIELDS.is_empty());
    assert_eq!(
        UpdateUserCard::BOUND_FIELDS,
        ["user_card_code", "card_id", "brand_id", "openid"]
    );
    assert_eq!(
        InvalidateUserCard::BOUND_FIELDS,
        ["user_card_code", "brand_id", "card_id", "openid"]
    );
    assert_eq!(
        ImportUserCardByOpenid::BOUND_FIELDS,
        ["brand_id", "card_id", "openid", "user_card_code"]
    );
    assert_eq!(
        ImportUserCardByPhone::BOUND_FIELDS,
        ["brand_id", "card_id", "user_card_code"]
    );
    assert_eq!(
        ConfirmUserCard::BOUND_FIELDS,
        ["user_card_code", "card_id", "brand_id", "openid"]
    );
    // Each request gives a value for each of its bound fields.
    let request = confirm_request();
    for name in ConfirmUserCard::BOUND_FIELDS {
        assert!(request.bound_value(name).is_some(), "{name}");
    }
    assert_eq!(request.bound_value("brand_id"), Some("1004"));
    // Integer and enum parameters never bind.
    let list = list_request(Some(UserCardState::Effective));
    assert_eq!(list.bound_value("limit"), None);
    assert_eq!(list.bound_value("user_card_state"), None);
    assert_eq!(list.bound_value("openid"), Some(OPENID));
}

#[test]
fn builders_report_every_missing_parameter_by_name() {
    let cases: Vec<(&str, ValidationError, Vec<&str>)> = vec![
        (
            "GetUserCard",
            GetUserCardRequest::builder()
                .card_id(CARD_ID)
                .build()
                .unwrap_err(),
            vec![
                "user_card_code: missing",
                "brand_id: missing",
                "openid: missing",
            ],
        ),
        (
            "ListUserCards",
            ListUserCardsRequest::builder().build().unwrap_err(),
            vec![
                "brand_id: missing",
                "openid: missing",
                "offset: missing",
                "limit: missing",
            ],
        ),
        (
            "UpdateUserCard",
            UpdateUserCardRequest::builder()
                .user_card_code(CODE)
                .build()
                .unwrap_err(),
            vec!["card_id: missing", "body: missing"],
        ),
        (
            "InvalidateUserCard",
            InvalidateUserCardRequest::builder()
                .brand_id("")
                .body(InvalidateUserCardBody::new(OPENID))
                .build()
                .unwrap_err(),
            vec![
                "user_card_code: missing",
                "brand_id: must be at least 1 character (is 0)",
                "card_id: missing",
            ],
        ),
        (
            "ImportUserCardByOpenid",
            ImportUserCardByOpenidRequest::builder()
                .build()
                .unwrap_err(),
            vec!["body: missing"],
        ),
        (
            "ImportUserCardByPhone",
            ImportUserCardByPhoneRequest::builder()
                .body(
                    ImportUserCardByPhoneBody::builder()
                        .brand_id("1004")
                        .card_id("")
                        .phone_number("13800138000")
                        .user_card_code(CODE)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap_err(),
            vec!["card_id: must be at least 1 character (is 0)"],
        ),
        (
            "ConfirmUserCard",
            ConfirmUserCardRequest::builder()
                .user_card_code(".")
                .body(
                    ConfirmUserCardBody::builder()
                        .brand_id("1004")
                        .openid(OPENID)
                        .user_card_confirm_state(UserCardConfirmState::from("MAYBE"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap_err(),
            vec![
                "user_card_code: must not be `.` or `..`: a URL parser would remove it as a dot segment and send the request to another path than the one signed",
                "card_id: missing",
                "user_card_confirm_state: must be one of CREATE_CARD_SUCCESS, CREATE_CARD_FAIL (is \"MAYBE\")",
            ],
        ),
    ];
    for (name, error, expected) in cases {
        assert_eq!(violations(&error), expected, "{name}");
    }
}

fn list_request(state: Option<UserCardState>) -> ListUserCardsRequest {
    let builder = ListUserCardsRequest::builder()
        .brand_id("1004")
        .openid(OPENID)
        .offset(0)
        .limit(20);
    match state {
        Some(state) => builder.user_card_state(state),
        None => builder,
    }
    .build()
    .unwrap()
}

#[test]
fn list_query_is_sent_in_page_order_without_unset_options() {
    assert_eq!(
        query(&list_request(None)),
        format!("brand_id=1004&openid={OPENID}&offset=0&limit=20")
    );
    assert_eq!(
        query(&list_request(Some(UserCardState::Effective))),
        format!("brand_id=1004&openid={OPENID}&user_card_state=EFFECTIVE&offset=0&limit=20")
    );
    let get = GetUserCardRequest::builder()
        .user_card_code(CODE)
        .brand_id("1004")
        .card_id(CARD_ID)
        .openid(OPENID)
        .build()
        .unwrap();
    assert_eq!(
        query(&get),
        format!("brand_id=1004&card_id={CARD_ID}&openid={OPENID}")
    );
    assert_eq!(get.path_param("user_card_code"), Some(CODE));
    assert_eq!(get.body(), &NoBody);
}

#[test]
fn list_limits_and_states_are_checked() {
    let error = ListUserCardsRequest::builder()
        .brand_id("1004")
        .openid(OPENID)
        .user_card_state(UserCardState::from("FROZEN"))
        .offset(-1)
        .limit(21)
        .build()
        .unwrap_err();
    assert_eq!(
        violations(&error),
        [
            "user_card_state: must be one of UNACTIVATED, EFFECTIVE, EXPIRED, INVALID (is \"FROZEN\")",
            "offset: must be at least 0 (is -1)",
            "limit: must be at most 20 (is 21)",
        ]
    );
    // A request changed after building is checked the same way.
    let mut request = list_request(None);
    request.limit = 0;
    assert_eq!(
        violations(&request.validate().unwrap_err()),
        ["limit: must be at least 1 (is 0)"]
    );
}

#[test]
fn update_keeps_its_positional_constructor() {
    let body = UpdateUserCardBody::new("1004", OPENID);
    let built = UpdateUserCardRequest::builder()
        .user_card_code(CODE)
        .card_id(CARD_ID)
        .body(body.clone())
        .build()
        .unwrap();
    assert_eq!(UpdateUserCardRequest::new(CODE, CARD_ID, body), built);
}

fn confirm_request() -> ConfirmUserCardRequest {
    ConfirmUserCardRequest::builder()
        .user_card_code(CODE)
        .card_id(CARD_ID)
        .body(
            ConfirmUserCardBody::builder()
                .brand_id("1004")
                .openid(OPENID)
                .user_card_confirm_state(UserCardConfirmState::CreateCardSuccess)
                .build()
                .unwrap()
                .with_card_color("#FFFF00")
                .with_phone_number("13800138000")
                .with_level("钻石会员")
                .with_valid_date_information(DateInfo::new(DateType::Permanent))
                .with_attach("自定义数据说明"),
        )
        .build()
        .unwrap()
}

fn user_information() -> UserInfo {
    UserInfo::new().with_common_field_list(vec![UserInfoCommonField::new(
        CommonFieldFlag::UserFormFlagName,
        "张三",
    )])
}

#[test]
fn request_body_bytes() {
    let invalidate = InvalidateUserCardRequest::builder()
        .user_card_code(CODE)
        .brand_id("1004")
        .card_id(CARD_ID)
        .body(InvalidateUserCardBody::new(OPENID).with_invalid_reason("传入的自定义作废原因"))
        .build()
        .unwrap();
    insta::assert_snapshot!(
        "invalidate_body",
        serde_json::to_string(&invalidate.body).unwrap()
    );

    let by_openid = ImportUserCardByOpenidRequest::builder()
        .body(
            ImportUserCardByOpenidBody::builder()
                .brand_id("1004")
                .card_id(CARD_ID)
                .openid(OPENID)
                .user_card_code(CODE)
                .build()
                .unwrap()
                .with_phone_number("13800138000")
                .with_level("钻石会员")
                .with_valid_date_information(
                    DateInfo::new(DateType::FixTerm).with_available_day_after_receive(365),
                )
                .with_user_information(user_information())
                .with_pickup_time(time("2020-05-20T13:29:35.120+08:00")),
        )
        .build()
        .unwrap();
    insta::assert_snapshot!(
        "import_by_openid_body",
        serde_json::to_string(&by_openid.body).unwrap()
    );

    let by_phone = ImportUserCardByPhoneRequest::builder()
        .body(
            ImportUserCardByPhoneBody::builder()
                .brand_id("1004")
                .card_id(CARD_ID)
                .phone_number("13800138000")
                .user_card_code(CODE)
                .build()
                .unwrap()
                .with_card_color("#FFFF00")
                .with_pickup_time(time("2020-05-20T13:29:35+08:00")),
        )
        .build()
        .unwrap();
    insta::assert_snapshot!(
        "import_by_phone_body",
        serde_json::to_string(&by_phone.body).unwrap()
    );

    insta::assert_snapshot!(
        "confirm_body",
        serde_json::to_string(&confirm_request().body).unwrap()
    );
}

#[test]
fn request_bodies_walk_their_encrypted_fields() {
    let body = ImportUserCardByPhoneBody::builder()
        .brand_id("1004")
        .card_id(CARD_ID)
        .phone_number("13800138000")
        .user_card_code(CODE)
        .build()
        .unwrap()
        .with_user_information(user_information());
    let mut seen = Vec::new();
    body.for_each_sensitive(|path, _| seen.push(path.to_string()));
    assert_eq!(
        seen,
        [
            "phone_number",
            "user_information.common_field_list[0].value"
        ]
    );
    assert!(!InvalidateUserCardBody::new(OPENID).has_sensitive());
}

#[test]
fn request_bodies_parse_strictly() {
    let report = from_json_strict::<ConfirmUserCardBody>(
        br#"{"brand_id": "1004", "card_id": "c", "user_card_confirm_state": "CREATE_CARD_FAIL"}"#,
    )
    .unwrap_err();
    assert_eq!(
        violations(&report),
        [
            "card_id: is not a field of ConfirmUserCardBody",
            "openid: missing"
        ]
    );
    let body: InvalidateUserCardBody =
        from_json_strict(br#"{"openid": "o1", "invalid_reason": "moved"}"#).unwrap();
    assert_eq!(body.invalid_reason.as_deref(), Some("moved"));
}

#[test]
fn page_example_answers_parse_without_correction() {
    let card = from_json_lenient::<UserCard>(PAGE_CARD.as_bytes()).unwrap();
    assert!(card.corrections.is_empty(), "{:?}", card.corrections);
    let list = from_json_lenient::<UserCardList>(LIST_ANSWER.as_bytes()).unwrap();
    assert!(list.corrections.is_empty(), "{:?}", list.corrections);
    let list = list.value;
    assert_eq!((list.total_count, list.offset, list.limit), (1, 0, 20));
    assert_eq!(list.data, [card.value]);
    // The whole answer survives a round trip.
    let original: serde_json::Value = serde_json::from_str(LIST_ANSWER).unwrap();
    assert_eq!(serde_json::to_value(&list).unwrap(), original);
}

#[test]
fn a_list_answer_without_data_is_an_empty_page() {
    let read =
        from_json_lenient::<UserCardList>(br#"{"total_count": 0, "offset": 40, "limit": 20}"#)
            .unwrap();
    assert!(read.corrections.is_empty(), "{:?}", read.corrections);
    assert!(read.value.data.is_empty());
    assert_eq!(read.value.offset, 40);
    let read = from_json_lenient::<UserCardList>(br#"{"data": [{"card_id": 5}]}"#).unwrap();
    let corrections: Vec<String> = read.corrections.iter().map(ToString::to_string).collect();
    assert!(corrections.contains(&"total_count: missing".to_string()));
    assert!(
        corrections.contains(&"data[0].card_id: expected a string, found a number".to_string())
    );
}

#[test]
fn the_list_walk_visits_each_card() {
    let list: UserCardList = serde_json::from_str(LIST_ANSWER).unwrap();
    let mut twice = list.clone();
    twice.data.push(list.data[0].clone());
    let mut seen = Vec::new();
    twice.for_each_sensitive(|path, _| seen.push(path.to_string()));
    assert_eq!(
        seen,
        [
            "data[0].phone_number",
            "data[0].user_information.common_field_list[0].value",
            "data[0].user_information.custom_field_list[0].user_chosen_values[0]",
            "data[1].phone_number",
            "data[1].user_information.common_field_list[0].value",
            "data[1].user_information.custom_field_list[0].user_chosen_values[0]",
        ]
    );
}

#[test]
fn bodies_with_many_required_fields_are_built_by_name_and_report_what_is_missing() {
    // Four required strings in a row could be swapped silently: they are named instead.
    let err = ImportUserCardByOpenidBody::builder()
        .brand_id("1004")
        .openid(OPENID)
        .build()
        .unwrap_err();
    let missing: Vec<String> = err
        .violations()
        .iter()
        .map(|v| v.path().to_string())
        .collect();
    assert_eq!(missing, ["card_id", "user_card_code"]);
    let body = ImportUserCardByOpenidBody::builder()
        .user_card_code(CODE)
        .openid(OPENID)
        .card_id(CARD_ID)
        .brand_id("1004")
        .build()
        .unwrap();
    assert_eq!(
        (body.brand_id.as_str(), body.card_id.as_str()),
        ("1004", CARD_ID)
    );
    assert_eq!(body.user_card_code, CODE);
}
