//! Typed models of the WeChat Pay APIv3 member-card user-card endpoints (service-provider mode,
//! `/v3/brand/partner/card-member/user-cards…`: read, list, update, invalidate, import by openid
//! or phone number, confirm), generated from `schema/card-member.json` by `cargo xtask gen`.
//!
//! - the request bodies ([`UpdateUserCardBody`], [`InvalidateUserCardBody`],
//!   [`ImportUserCardByOpenidBody`], [`ImportUserCardByPhoneBody`], [`ConfirmUserCardBody`]) and
//!   the answers ([`UserCard`], [`UserCardList`]), with their nested types; optional fields left
//!   unset are absent from the JSON (never `null`);
//! - open enums ([`CardType`], [`UserCardState`], [`UserCardConfirmState`], [`DateType`],
//!   [`CommonFieldFlag`]): a value a newer server sends parses as `Unknown` and is serialized
//!   back unchanged;
//! - [`Timestamp`]: RFC 3339 times kept byte for byte (offset and precision);
//! - [`SensitiveString`]: the values WeChat Pay wants encrypted; `Debug` prints `***`;
//! - [`Validate`]: every limit of the schema, counted in characters, every violation reported
//!   with its field path; [`from_json_strict`] (or [`from_value_strict`]) adds unknown fields,
//!   missing fields and wrong types. Only characters of the Basic Multilingual Plane (1-3 UTF-8 bytes) are accepted, in
//!   the plaintext of encrypted fields too: WeChat Pay APIv3 supports no others, and it stores
//!   the decrypted plaintext;
//! - [`from_json_lenient`]: answers read like Smithy's client error correction: a missing or
//!   unusable field is filled with a neutral value (or left absent) and listed as a
//!   [`Correction`], never a failure;
//! - [`Endpoint`] / [`EndpointRequest`]: the endpoint descriptors (table below) a client or a
//!   server is written against, with the fields that bind an answer to its request
//!   ([`Endpoint::BOUND_FIELDS`]), whether a body is sent ([`Endpoint::HAS_BODY`]; [`NoBody`]
//!   otherwise) and the rate limit ([`RateLimit`]); each request type has a builder that
//!   reports every missing parameter at once;
//! - [`runtime`]: the traits the generated types implement, for code generic over them (a
//!   client, a server): the walk over the fields the schema marks `x-wechatpay-encrypted`
//!   ([`runtime::SensitiveFields`]), string fields by name ([`runtime::StringFields`]), lenient
//!   and strict reading ([`runtime::LenientDeserialize`], [`runtime::StrictFields`]), the open
//!   enums' values ([`runtime::OpenEnum`]).
//!
//! No HTTP and no cryptography here: the `wechatpay-card-client` crate sends these, the
//! `wechatpay-signing` crate signs and encrypts.
//!
//! # Making values
//!
//! Every generated struct is `#[non_exhaustive]`, so a field added to the schema is not a
//! breaking change. Its fields are public to read (and to change), but outside this crate a
//! value is never written as a struct literal, and a pattern that destructures one ends with
//! `..`. It is made by one of:
//!
//! - `new(required…)` when the type has at most two required fields (none: `new()`, and
//!   `Default` too), then one `with_*` setter per optional field: [`UpdateUserCardBody::new`],
//!   [`InvalidateUserCardBody::new`], [`DateInfo::new`], [`UserInfo::new`],
//!   [`ErrorResponse::new`], [`ErrorDetail::new`], [`UserCardEvent::new`]…;
//! - `builder()` when it has more (positional strings could be swapped silently): one named
//!   setter per required field, then `build()`, which reports every required field left out at
//!   once; then the `with_*` setters of the built value: [`ImportUserCardByOpenidBody::builder`],
//!   [`ConfirmUserCardBody::builder`], the answers [`UserCard::builder`] and
//!   [`UserCardList::builder`], [`Notification::builder`]…;
//! - the request types (`…Request`) have a `builder()` whose `build()` also validates what it
//!   was given (and [`UpdateUserCardRequest::new`] is kept);
//! - from JSON: `serde`, [`from_json_strict`] (a request a person wrote) or
//!   [`from_json_lenient`] (an answer).
//!
//! The open enums are `#[non_exhaustive]` as well, and keep an `Unknown` variant: a value a
//! newer server sends is kept as `Unknown`, and a value this crate learns later becomes a
//! variant of its own without breaking a `match` (which always has a `_` arm outside the crate).
//!
//! ```
//! use wechatpay_card_models::{
//!     CardType, DateInfo, DateType, ErrorDetail, ErrorResponse, ListUserCardsRequest, Timestamp,
//!     UpdateUserCardBody, UpdateUserCardRequest, UserCard, UserCardList, UserCardState,
//!     UserInfo, Validate,
//! };
//!
//! // A request body: two required fields, positional; the optional ones by name.
//! let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
//!     .with_card_color("#FFFF00")
//!     .with_level("钻石会员")
//!     .with_phone_number("13800138000") // plaintext: the client encrypts it
//!     .with_valid_date_information(
//!         DateInfo::new(DateType::FixTimeRange)
//!             .with_available_begin_time(Timestamp::parse("2020-05-20T13:29:35.120+08:00")?)
//!             .with_available_end_time(Timestamp::parse("2021-05-20T13:29:35.120+08:00")?),
//!     );
//! let request = UpdateUserCardRequest::builder()
//!     .user_card_code("478515832665")
//!     .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
//!     .body(body)
//!     .build()?;
//! request.validate()?;
//! assert_eq!(format!("{:?}", request.body.phone_number), "Some(***)");
//!
//! // A builder lists every required value left out.
//! let missing = ListUserCardsRequest::builder().brand_id("1004").offset(0).build().unwrap_err();
//! assert_eq!(missing.to_string(), "2 invalid fields:\n  - openid: missing\n  - limit: missing");
//!
//! // An answer, as a server or a test makes one.
//! let time = Timestamp::parse("2020-05-20T13:29:35.120+08:00")?;
//! let card = UserCard::builder()
//!     .user_card_code("478515832665")
//!     .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
//!     .openid("obLatjnx9gnqzS4myYGmLZ7LgLBA")
//!     .brand_id("1004")
//!     .card_type(CardType::Normal)
//!     .valid_date_information(DateInfo::new(DateType::Permanent))
//!     .pickup_time(time.clone())
//!     .user_card_state(UserCardState::Effective)
//!     .create_time(time.clone())
//!     .modify_time(time)
//!     .build()?
//!     .with_level("钻石会员")
//!     .with_user_information(UserInfo::default());
//! let page = UserCardList::builder().total_count(1).offset(0).limit(10).build()?.with_data(vec![card]);
//! let UserCardList { data, total_count, .. } = &page; // `..`: more fields may come
//! assert_eq!((data.len(), *total_count), (1, 1));
//!
//! let error = ErrorResponse::new("PARAM_ERROR", "参数错误")
//!     .with_detail(ErrorDetail::new().with_field("phone_number").with_location("body"));
//! assert_eq!(
//!     serde_json::to_string(&error)?,
//!     r#"{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"phone_number","location":"body"}}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the crate root holds
//!
//! The root holds what a user of the models names: the types, their builders, the open enums,
//! the endpoints, [`Validate`] and its report ([`ValidationError`], [`Violation`], [`Rule`],
//! [`Format`]), [`from_json_strict`] / [`from_value_strict`], [`from_json_lenient`] and its [`Lenient`] /
//! [`Correction`], [`Timestamp`], [`SensitiveString`], [`UnknownValue`], [`NoBody`] and
//! [`SCHEMA_JSON`]. The traits a client or a server written generically over the models needs
//! as bounds are in [`runtime`]. What only the generated code calls (the validator it drives,
//! compiled patterns, the rules of a field) is in a hidden module, `__private`, that is not
//! part of the API: it changes with the generator.
#![doc = include_str!("generated/endpoints.md")]

#[rustfmt::skip]
mod generated;

mod endpoint;
mod lenient;
mod nobody;
mod notification;
mod path;
mod sensitive;
mod timestamp;
mod unknown;
mod validation;

pub use endpoint::{Endpoint, EndpointRequest, ErrorCodeInfo, Hosts, RateLimit};
pub use generated::builders::*;
pub use generated::endpoints::*;
pub use generated::enums::*;
pub use generated::types::*;
pub use lenient::{Correction, Lenient, from_json_lenient};
pub use nobody::NoBody;
pub use sensitive::SensitiveString;
pub use timestamp::{InvalidTimestamp, Timestamp};
pub use unknown::UnknownValue;
pub use validation::{
    Format, Rule, Validate, ValidationError, Violation, from_json_strict, from_value_strict,
};

/// The traits the generated types implement, for code written generically over them: a client
/// that encrypts every request and decrypts every answer, a server that reads any body.
///
/// A user of the models seldom names them: [`from_json_strict`] and [`from_json_lenient`]
/// take any type of the schema, and the client's `decrypt` any answer. They are implemented
/// by the generated types only; their methods that take the generated code's validator are
/// hidden and not part of the API.
pub mod runtime {
    pub use crate::endpoint::StringFields;
    pub use crate::lenient::LenientDeserialize;
    pub use crate::path::{FieldPath, Mark};
    pub use crate::sensitive::SensitiveFields;
    pub use crate::validation::{OpenEnum, StrictFields};
}

/// What the generated code calls and nothing else should: not part of the API (it changes
/// with the generator, in any release). The rule: an item goes here when only the generated
/// code names it; to [`runtime`] when code generic over the models needs it as a bound (the
/// client, the sandbox); to the root when a user of the models names it.
#[doc(hidden)]
pub mod __private {
    pub use crate::validation::{IntegerRules, Pattern, StringRules, Validator};
}

/// The JSON Schema the models are generated from (`schema/card-member.json`, verbatim), for a
/// validator that wants the same rules (the sandbox checks requests against it).
pub const SCHEMA_JSON: &str = include_str!("generated/schema.json");
