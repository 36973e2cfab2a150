//! The notification envelope and the decrypted card event read leniently.
#![allow(clippy::unwrap_used)]

use wechatpay_card_models::{
    Notification, NotificationEventType, UserCardEvent, UserCardState, from_json_lenient,
};

#[test]
fn the_fixture_envelope_parses_without_correction() {
    let body = include_bytes!("../../signing/tests/fixtures/notification_body.json");
    let read = from_json_lenient::<Notification>(body).unwrap();
    assert!(read.corrections.is_empty(), "{:?}", read.corrections);
    let n = read.value;
    assert_eq!(n.id, "EV-2026112710345600000001");
    assert_eq!(
        n.event_type,
        NotificationEventType::MembercardspUserCardCreate
    );
    assert!(n.event_type.is_create());
    assert_eq!(n.create_time.as_str(), "2026-11-27T10:34:56+08:00");
    assert_eq!(n.resource.algorithm, "AEAD_AES_256_GCM");
    assert_eq!(n.resource.associated_data.as_deref(), Some("user_card"));
    assert_eq!(n.resource.nonce, "fKq9W2xRt7Lm");
}

#[test]
fn a_card_event_with_unknown_fields_and_states_parses() {
    let event = r#"{"card_id":"pbLatjvWOibDc5-TBnbUk1pD12o0","user_card_code":"478515832665",
        "openid":"o1","brand_id":"1004","event_time":"2026-11-27T10:34:56+08:00",
        "event_type":"BRAND_MEMBER_CARD_SP.USER_CARD.DELETE","user_card_state":"DELETED",
        "outer_str":"门店A","level":7}"#
        .as_bytes();
    let read = from_json_lenient::<UserCardEvent>(event).unwrap();
    let e = read.value;
    assert_eq!(e.user_card_code, "478515832665");
    assert_eq!(e.brand_id.as_deref(), Some("1004"));
    assert_eq!(e.user_card_state, Some(UserCardState::from("DELETED")));
    assert!(e.user_card_state.unwrap().is_unknown());
    assert!(e.event_type.unwrap().is_delete());
    // The unusable optional `level` is left out and listed.
    assert_eq!(e.level, None);
    assert_eq!(read.corrections.len(), 1);
    assert_eq!(read.corrections[0].path, "level");
}

#[test]
fn a_card_event_missing_its_code_is_corrected_to_empty() {
    let read = from_json_lenient::<UserCardEvent>(br#"{"card_id":"c"}"#).unwrap();
    assert_eq!(read.value.user_card_code, "");
    assert_eq!(read.corrections[0].path, "user_card_code");
}
