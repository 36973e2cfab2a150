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
//!   with its field path; [`from_json_strict`] adds unknown fields, missing fields and wrong
//!   types. Only characters of the Basic Multilingual Plane (1-3 UTF-8 bytes) are accepted, in
//!   the plaintext of encrypted fields too: WeChat Pay APIv3 supports no others, and it stores
//!   the decrypted plaintext;
//! - [`from_json_lenient`]: answers read like Smithy's client error correction: a missing or
//!   unusable field is filled with a neutral value (or left absent) and listed as a
//!   [`Correction`], never a failure;
//! - [`SensitiveFields`]: the walk over the fields the schema marks `x-wechatpay-encrypted`;
//! - [`Endpoint`] / [`EndpointRequest`]: the endpoint descriptors (table below) a client or a
//!   server is written against, with the fields that bind an answer to its request
//!   ([`Endpoint::BOUND_FIELDS`], [`StringFields`]), whether a body is sent
//!   ([`Endpoint::HAS_BODY`]; [`NoBody`] otherwise) and the rate limit ([`RateLimit`]); each
//!   request type has a builder that reports every missing parameter at once.
//!
//! No HTTP and no cryptography here: the `wechatpay-card-client` crate sends these, the
//! `wechatpay-signing` crate signs and encrypts.
//!
//! ```
//! use wechatpay_card_models::{
//!     DateInfo, DateType, ListUserCardsRequest, Timestamp, UpdateUserCardBody,
//!     UpdateUserCardRequest, Validate,
//! };
//!
//! let body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
//!     .with_card_color("#FFFF00")
//!     .with_level("钻石会员")
//!     .with_phone_number("13800138000") // plaintext: the client encrypts it
//!     .with_valid_date_information(
//!         DateInfo::new(DateType::FixTimeRange)
//!             .with_available_begin_time(Timestamp::parse("2020-05-20T13:29:35.120+08:00")?)
//!             .with_available_end_time(Timestamp::parse("2021-05-20T13:29:35.120+08:00")?),
//!     );
//! let request = UpdateUserCardRequest::new("478515832665", "pbLatjvWOibDc5-TBnbUk1pD12o0", body);
//! request.validate()?;
//! assert_eq!(format!("{:?}", request.body.phone_number), "Some(***)");
//!
//! // A builder lists every parameter left out.
//! let missing = ListUserCardsRequest::builder().brand_id("1004").offset(0).build().unwrap_err();
//! assert_eq!(missing.to_string(), "2 invalid fields:\n  - openid: missing\n  - limit: missing");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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

pub use endpoint::{Endpoint, EndpointRequest, ErrorCodeInfo, Hosts, RateLimit, StringFields};
pub use generated::builders::*;
pub use generated::endpoints::*;
pub use generated::enums::*;
pub use generated::types::*;
pub use lenient::{Correction, Lenient, LenientDeserialize, from_json_lenient};
pub use nobody::NoBody;
pub use path::{FieldPath, Mark};
pub use sensitive::{SensitiveFields, SensitiveString};
pub use timestamp::{InvalidTimestamp, Timestamp};
pub use unknown::UnknownValue;
pub use validation::{
    Format, IntegerRules, OpenEnum, Pattern, Rule, StrictFields, StringRules, Validate,
    ValidationError, Validator, Violation, from_json_strict,
};

/// The JSON Schema the models are generated from (`schema/card-member.json`, verbatim), for a
/// validator that wants the same rules (the sandbox checks requests against it).
pub const SCHEMA_JSON: &str = include_str!("generated/schema.json");
