//! The body of an endpoint that sends none (a GET): [`NoBody`].

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;

use crate::__private::Validator;
use crate::runtime::{FieldPath, LenientDeserialize, SensitiveFields, StrictFields, StringFields};
use crate::{SensitiveString, Validate};

/// The body of an endpoint without one ([`crate::Endpoint::HAS_BODY`] is `false`). It has every
/// trait a body has, so code written against [`crate::Endpoint`] works for it; a client sends
/// no body at all for it. As JSON it is `{}`, and only an empty object (or `null`) reads back.
///
/// ```
/// use wechatpay_card_models::{Endpoint, GetUserCard, NoBody};
///
/// assert!(!GetUserCard::HAS_BODY);
/// assert_eq!(serde_json::to_string(&NoBody).unwrap(), "{}");
/// assert_eq!(serde_json::from_str::<NoBody>("{}").unwrap(), NoBody);
/// assert!(serde_json::from_str::<NoBody>(r#"{"a": 1}"#).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoBody;

impl serde::Serialize for NoBody {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

impl<'de> serde::Deserialize<'de> for NoBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Empty;
        impl<'de> Visitor<'de> for Empty {
            type Value = NoBody;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an empty object (this endpoint has no body)")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NoBody, E> {
                Ok(NoBody)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoBody, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(NoBody),
                    Some(key) => Err(de::Error::custom(format_args!(
                        "`{key}`: this endpoint has no body"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(Empty)
    }
}

impl Validate for NoBody {
    fn validate_into(&self, _v: &mut Validator) {}
}

impl StrictFields for NoBody {
    fn unknown_fields(value: &serde_json::Value, v: &mut Validator) {
        if let Some(map) = value.as_object() {
            for key in map.keys() {
                v.unknown_field(key, "NoBody");
            }
        }
    }
}

impl SensitiveFields for NoBody {
    fn walk_sensitive_mut<E>(
        &mut self,
        _path: &mut FieldPath,
        _f: &mut dyn FnMut(&FieldPath, &mut SensitiveString) -> Result<(), E>,
    ) -> Result<(), E> {
        Ok(())
    }

    fn walk_sensitive(
        &self,
        _path: &mut FieldPath,
        _f: &mut dyn FnMut(&FieldPath, &SensitiveString),
    ) {
    }
}

impl StringFields for NoBody {
    fn string_field(&self, _name: &str) -> Option<&str> {
        None
    }
}

impl LenientDeserialize for NoBody {
    fn read_lenient(value: serde_json::Value, v: &mut Validator) -> Option<Self> {
        if value.is_null() {
            return Some(NoBody);
        }
        crate::lenient::object(value, v).map(|_| NoBody)
    }

    fn zero() -> Self {
        NoBody
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_body_reads_only_nothing() {
        assert!(crate::from_json_strict::<NoBody>(b"{}").is_ok());
        let report = crate::from_json_strict::<NoBody>(br#"{"openid": "o"}"#).unwrap_err();
        assert_eq!(
            report.to_string(),
            "1 invalid field:\n  - openid: is not a field of NoBody"
        );
        assert!(!NoBody.has_sensitive());
        assert_eq!(NoBody.validate(), Ok(()));
    }
}
