//! Lenient reading of answers: Smithy's client error correction.
//!
//! An answer whose signature verified is what WeChat Pay sent and did: the update was applied.
//! Refusing it because a field the page calls required is missing, or a value has an unexpected
//! type, would report a failure for a success. So answers are read leniently: what arrived is
//! parsed, what is missing or unusable is filled with a neutral value (or left absent when the
//! field is optional), and every such correction is listed, with its path, for the caller to warn
//! about. Requests are not read this way: [`crate::from_json_strict`] turns the same corrections
//! into violations.

use std::fmt;

use serde_json::Value;

use crate::__private::Validator;
use crate::{Rule, SensitiveString, Timestamp, Violation};

/// A value read leniently, and what had to be corrected to read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Lenient<T> {
    /// The value: every field that arrived usable, neutral values for required ones that did not.
    pub value: T,
    /// What was missing or unusable, in the order of the fields; empty when the JSON matched.
    pub corrections: Vec<Correction>,
}

/// One field that was missing or unusable in an answer, and was filled or left absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The field's JSON path, e.g. `valid_date_information` or
    /// `user_information.common_field_list[0].name`.
    pub path: String,
    /// What was wrong, e.g. `missing` or `expected a string, found a number` (values are never
    /// quoted: the field may be sensitive).
    pub issue: String,
}

impl fmt::Display for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.issue)
    }
}

impl From<Violation> for Correction {
    fn from(v: Violation) -> Self {
        Self {
            path: v.path().to_string(),
            issue: v.rule().to_string(),
        }
    }
}

/// A type that can be read leniently from JSON (generated for every type of the schema).
///
/// What a required field gets when it is missing or unusable is [`LenientDeserialize::zero`],
/// Smithy's zero value: `""` for strings, `0` for integers, an empty list, `Unknown("")` for an
/// enum, the Unix epoch `1970-01-01T00:00:00.000+00:00` for a time, and for an object the object
/// whose required fields are zero and optional ones absent. An optional field that is missing,
/// `null` or unusable is left absent (and listed if it was unusable). Fields the type does not
/// define are ignored; enum values it does not know are kept as `Unknown` (neither is listed).
///
/// ```
/// use wechatpay_card_models::{UserCard, from_json_lenient};
///
/// let answer = br#"{"user_card_code": "478515832665", "card_id": "pbLatjvWOibDc5-TBnbUk1pD12o0",
///     "openid": "o1", "brand_id": "1004", "card_type": "NORMAL", "pickup_time": 5,
///     "user_card_state": "EFFECTIVE", "create_time": "2020-05-20T13:29:35.120+08:00",
///     "modify_time": "2020-05-20T13:29:35.120+08:00", "shiny_new_field": true}"#;
/// let read = from_json_lenient::<UserCard>(answer)?;
/// let corrections: Vec<String> = read.corrections.iter().map(|c| c.to_string()).collect();
/// assert_eq!(corrections, [
///     "valid_date_information: missing",
///     "pickup_time: expected a string, found a number",
/// ]);
/// assert_eq!(read.value.card_id, "pbLatjvWOibDc5-TBnbUk1pD12o0");
/// assert_eq!(read.value.pickup_time.as_str(), "1970-01-01T00:00:00.000+00:00");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub trait LenientDeserialize: Sized {
    /// Reads `bytes` leniently. Fails only when they are not JSON, or when the value as a whole is
    /// not of this type at all (for an object type: the top level is not a JSON object).
    fn from_json_lenient(bytes: &[u8]) -> Result<Lenient<Self>, serde_json::Error> {
        let value: Value = serde_json::from_slice(bytes)?;
        Self::from_value_lenient(value)
    }

    /// [`LenientDeserialize::from_json_lenient`] on a value already parsed.
    fn from_value_lenient(value: Value) -> Result<Lenient<Self>, serde_json::Error> {
        let mut v = Validator::new();
        let read = Self::read_lenient(value, &mut v);
        let corrections: Vec<Correction> = v
            .finish()
            .err()
            .map(|e| {
                e.into_violations()
                    .into_iter()
                    .map(Correction::from)
                    .collect()
            })
            .unwrap_or_default();
        match read {
            Some(value) => Ok(Lenient { value, corrections }),
            None => {
                let why = corrections
                    .first()
                    .map_or_else(|| "unusable value".to_string(), |c| c.issue.clone());
                Err(<serde_json::Error as serde::de::Error>::custom(why))
            }
        }
    }

    /// Reads `value`, recording in `v` (at its current path) each field it had to correct.
    /// `None`, with the reason recorded, when `value` is not of this type at all. For the
    /// generated code: call [`LenientDeserialize::from_json_lenient`].
    #[doc(hidden)]
    fn read_lenient(value: Value, v: &mut Validator) -> Option<Self>;

    /// The neutral value filled in for a required field that is missing or unusable.
    fn zero() -> Self;
}

/// Reads `bytes` leniently into `T`: see [`LenientDeserialize`](crate::runtime::LenientDeserialize).
pub fn from_json_lenient<T: LenientDeserialize>(
    bytes: &[u8],
) -> Result<Lenient<T>, serde_json::Error> {
    T::from_json_lenient(bytes)
}

/// What kind of JSON value this is, for messages (never the value itself).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Records that `value` is not `expected`.
pub(crate) fn wrong_type(v: &mut Validator, expected: &'static str, value: &Value) {
    v.report(Rule::WrongType {
        expected,
        found: kind(value),
    });
}

/// A required field of an object: read, or zero (and listed) when missing or unusable.
pub(crate) fn required<T: LenientDeserialize>(
    map: &mut serde_json::Map<String, Value>,
    name: &str,
    v: &mut Validator,
) -> T {
    let mark = v.enter_field(name);
    let value = match map.remove(name) {
        None => {
            v.report(Rule::Missing);
            None
        }
        Some(value) => T::read_lenient(value, v),
    };
    v.leave(mark);
    value.unwrap_or_else(T::zero)
}

/// An optional field of an object: read, or absent when missing, `null` or unusable (listed).
pub(crate) fn optional<T: LenientDeserialize>(
    map: &mut serde_json::Map<String, Value>,
    name: &str,
    v: &mut Validator,
) -> Option<T> {
    match map.remove(name) {
        None | Some(Value::Null) => None,
        Some(value) => {
            let mark = v.enter_field(name);
            let read = T::read_lenient(value, v);
            v.leave(mark);
            read
        }
    }
}

/// An optional list: read, or empty when missing, `null` or unusable (listed).
pub(crate) fn list<T: LenientDeserialize>(
    map: &mut serde_json::Map<String, Value>,
    name: &str,
    v: &mut Validator,
) -> Vec<T> {
    optional(map, name, v).unwrap_or_default()
}

/// The fields of an object, or `None` (listed) when `value` is not one.
pub(crate) fn object(value: Value, v: &mut Validator) -> Option<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            wrong_type(v, "an object", &other);
            None
        }
    }
}

impl LenientDeserialize for String {
    fn read_lenient(value: Value, v: &mut Validator) -> Option<Self> {
        match value {
            Value::String(s) => Some(s),
            other => {
                wrong_type(v, "a string", &other);
                None
            }
        }
    }

    fn zero() -> Self {
        String::new()
    }
}

impl LenientDeserialize for SensitiveString {
    fn read_lenient(value: Value, v: &mut Validator) -> Option<Self> {
        String::read_lenient(value, v).map(SensitiveString::from)
    }

    fn zero() -> Self {
        SensitiveString::default()
    }
}

impl LenientDeserialize for Timestamp {
    /// A string is kept as it came, like serde does (a malformed time is for
    /// [`crate::Validate`] to report); anything else is unusable.
    fn read_lenient(value: Value, v: &mut Validator) -> Option<Self> {
        String::read_lenient(value, v).map(Timestamp::from_received)
    }

    /// The Unix epoch, `1970-01-01T00:00:00.000+00:00`.
    fn zero() -> Self {
        Timestamp::from_unix_millis(0, 0)
    }
}

impl LenientDeserialize for i64 {
    fn read_lenient(value: Value, v: &mut Validator) -> Option<Self> {
        match &value {
            Value::Number(n) => {
                let read = n.as_i64();
                if read.is_none() {
                    v.report(Rule::WrongType {
                        expected: "an integer",
                        found: "a number with a fraction or out of the 64-bit range",
                    });
                }
                read
            }
            other => {
                wrong_type(v, "an integer", other);
                None
            }
        }
    }

    fn zero() -> Self {
        0
    }
}

impl LenientDeserialize for Value {
    fn read_lenient(value: Value, _v: &mut Validator) -> Option<Self> {
        Some(value)
    }

    fn zero() -> Self {
        Value::Null
    }
}

impl<T: LenientDeserialize> LenientDeserialize for Vec<T> {
    /// Each item is read; an unusable item is left out (and listed at its index).
    fn read_lenient(value: Value, v: &mut Validator) -> Option<Self> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let mark = v.enter_index(i);
                    if let Some(item) = T::read_lenient(item, v) {
                        out.push(item);
                    }
                    v.leave(mark);
                }
                Some(out)
            }
            other => {
                wrong_type(v, "an array", &other);
                None
            }
        }
    }

    fn zero() -> Self {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_never_quote_the_value() {
        let mut v = Validator::new();
        assert_eq!(
            String::read_lenient(serde_json::json!(13800138000u64), &mut v),
            None
        );
        assert_eq!(i64::read_lenient(serde_json::json!(1.5), &mut v), None);
        assert_eq!(i64::read_lenient(serde_json::json!(u64::MAX), &mut v), None);
        let text = v.finish().unwrap_err().to_string();
        assert!(!text.contains("13800138000"), "{text}");
        assert!(text.contains("expected a string, found a number"), "{text}");
        assert!(text.contains("64-bit"), "{text}");
    }

    #[test]
    fn an_unusable_item_is_left_out_and_listed_at_its_index() {
        let mut v = Validator::new();
        let read = Vec::<String>::read_lenient(serde_json::json!(["a", 1, "b"]), &mut v);
        assert_eq!(read, Some(vec!["a".to_string(), "b".to_string()]));
        let report = v.finish().unwrap_err();
        assert_eq!(report.violations()[0].path(), "[1]");
    }

    #[test]
    fn zero_time_is_the_epoch_and_valid() {
        let zero = Timestamp::zero();
        assert!(zero.is_valid());
        assert_eq!(zero.unix_millis(), Some(0));
    }
}
