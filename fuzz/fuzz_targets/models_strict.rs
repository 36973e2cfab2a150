//! The models: strict parsing and validation of every request body (`from_json_strict`), every
//! request type through its builder (parameters and body from a JSON object, as the CLI builds
//! them), lenient parsing of every answer type (`from_json_lenient`), and `Timestamp::parse`.
//! The first byte picks which; the rest is the JSON (or text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wechatpay_card_models::{
    ConfirmUserCardBody, ConfirmUserCardRequest, ErrorResponse, GetUserCardRequest,
    ImportUserCardByOpenidBody, ImportUserCardByOpenidRequest, ImportUserCardByPhoneBody,
    ImportUserCardByPhoneRequest, InvalidateUserCardBody, InvalidateUserCardRequest,
    ListUserCardsRequest, Timestamp, UpdateUserCardBody, UpdateUserCardRequest, UserCard,
    UserCardList, Validate, from_json_lenient, from_json_strict,
};

fn strict<T>(json: &[u8])
where
    T: wechatpay_card_models::runtime::LenientDeserialize
        + Validate
        + wechatpay_card_models::runtime::StrictFields
        + serde::Serialize,
{
    match from_json_strict::<T>(json) {
        Ok(body) => {
            // What parsed strictly is valid, and serializes to what parses strictly again.
            assert!(body.validate().is_ok(), "strictly parsed but invalid");
            let again = serde_json::to_vec(&body).expect("serializes");
            if let Err(e) = from_json_strict::<T>(&again) {
                panic!("re-serialized body does not parse strictly: {e}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn lenient<T: wechatpay_card_models::runtime::LenientDeserialize>(json: &[u8]) {
    if let Ok(read) = from_json_lenient::<T>(json) {
        let _ = read.corrections.iter().map(ToString::to_string).count();
    }
}

/// A JSON object's string (or integer) parameter.
fn text(map: &Map<String, Value>, name: &str) -> Option<String> {
    match map.get(name)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn body<T>(map: &Map<String, Value>) -> Option<T>
where
    T: wechatpay_card_models::runtime::LenientDeserialize + Validate + wechatpay_card_models::runtime::StrictFields,
{
    let json = serde_json::to_vec(map.get("body")?).ok()?;
    from_json_strict(&json).ok()
}

fn built<R: Validate, E: std::fmt::Display>(result: Result<R, E>) {
    match result {
        Ok(request) => assert!(request.validate().is_ok(), "built but invalid"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

macro_rules! set {
    ($builder:expr, $map:expr, $($name:ident),*) => {{
        let mut b = $builder;
        $(if let Some(v) = text($map, stringify!($name)) { b = b.$name(v); })*
        b
    }};
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 16 {
        0 => strict::<UpdateUserCardBody>(json),
        1 => strict::<InvalidateUserCardBody>(json),
        2 => strict::<ImportUserCardByOpenidBody>(json),
        3 => strict::<ImportUserCardByPhoneBody>(json),
        4 => strict::<ConfirmUserCardBody>(json),
        5 => lenient::<UserCard>(json),
        6 => lenient::<UserCardList>(json),
        7 => lenient::<ErrorResponse>(json),
        8 => {
            if let Ok(t) = Timestamp::parse(String::from_utf8_lossy(json)) {
                let _ = (t.unix_millis(), t.offset_minutes(), t.is_valid());
            }
        }
        n => {
            let Ok(map) = serde_json::from_slice::<Map<String, Value>>(json) else {
                return;
            };
            let m = &map;
            match n {
                9 => built(
                    set!(
                        GetUserCardRequest::builder(),
                        m,
                        user_card_code,
                        brand_id,
                        card_id,
                        openid
                    )
                    .build(),
                ),
                10 => {
                    let mut b = set!(ListUserCardsRequest::builder(), m, brand_id, openid);
                    if let Some(Value::Number(n)) = m.get("offset")
                        && let Some(n) = n.as_i64()
                    {
                        b = b.offset(n);
                    }
                    if let Some(Value::Number(n)) = m.get("limit")
                        && let Some(n) = n.as_i64()
                    {
                        b = b.limit(n);
                    }
                    built(b.build());
                }
                11 => {
                    let mut b = set!(UpdateUserCardRequest::builder(), m, user_card_code, card_id);
                    if let Some(body) = body::<UpdateUserCardBody>(m) {
                        b = b.body(body);
                    }
                    built(b.build());
                }
                12 => {
                    let mut b = set!(
                        InvalidateUserCardRequest::builder(),
                        m,
                        user_card_code,
                        brand_id,
                        card_id
                    );
                    if let Some(body) = body::<InvalidateUserCardBody>(m) {
                        b = b.body(body);
                    }
                    built(b.build());
                }
                13 => {
                    let mut b = ImportUserCardByOpenidRequest::builder();
                    if let Some(body) = body::<ImportUserCardByOpenidBody>(m) {
                        b = b.body(body);
                    }
                    built(b.build());
                }
                14 => {
                    let mut b = ImportUserCardByPhoneRequest::builder();
                    if let Some(body) = body::<ImportUserCardByPhoneBody>(m) {
                        b = b.body(body);
                    }
                    built(b.build());
                }
                _ => {
                    let mut b = set!(
                        ConfirmUserCardRequest::builder(),
                        m,
                        user_card_code,
                        card_id
                    );
                    if let Some(body) = body::<ConfirmUserCardBody>(m) {
                        b = b.body(body);
                    }
                    built(b.build());
                }
            }
        }
    }
});
