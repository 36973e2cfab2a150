//! Sensitive values: the strings WeChat Pay wants encrypted, and the walk that finds them.

use std::fmt;

use zeroize::Zeroize;

use crate::runtime::FieldPath;

/// A string that must not be seen: a phone number, a form value the user filled in.
///
/// In a request it holds the plaintext the caller gives (the client encrypts it before sending);
/// in a response it holds what WeChat Pay sent, a ciphertext until decrypted with the merchant
/// key. Either way `Debug` and `Display` print `***`, and the memory is zeroized on drop.
/// [`SensitiveString::expose`] is the one way to read it.
///
/// ```
/// use wechatpay_card_models::SensitiveString;
///
/// let phone = SensitiveString::new("13800138000");
/// assert_eq!(format!("{phone:?} {phone}"), "*** ***");
/// assert_eq!(phone.expose(), "13800138000");
/// // On the wire it is a plain JSON string.
/// assert_eq!(serde_json::to_string(&phone)?, "\"13800138000\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SensitiveString(String);

impl SensitiveString {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself. Take care where it goes.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces the value (for example a plaintext by its ciphertext); the old one is zeroized.
    pub fn replace(&mut self, value: impl Into<String>) {
        self.0.zeroize();
        self.0 = value.into();
    }
}

impl Drop for SensitiveString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SensitiveString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SensitiveString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SensitiveString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SensitiveString {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl serde::Serialize for SensitiveString {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SensitiveString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any`: a `deserialize_string` on a `serde_json::Value` builds its own error,
        // quoting the value, without asking the visitor.
        deserializer.deserialize_any(SensitiveVisitor)
    }
}

/// Reads a string; on anything else its error names the kind of value but never quotes it
/// (serde's default messages would: "invalid type: integer `13800138000`").
struct SensitiveVisitor;

impl SensitiveVisitor {
    fn wrong<E: serde::de::Error>(kind: &str) -> E {
        E::custom(format_args!(
            "invalid type: {kind} (value not shown: sensitive field), expected a string"
        ))
    }
}

impl serde::de::Visitor<'_> for SensitiveVisitor {
    type Value = SensitiveString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(SensitiveString(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(SensitiveString(v))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(Self::wrong("boolean"))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(Self::wrong("integer"))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(Self::wrong("integer"))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(Self::wrong("number"))
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Err(Self::wrong("bytes"))
    }
}

/// Visits the sensitive strings of a value: the fields the schema marks `x-wechatpay-encrypted`.
///
/// Implemented by the generated types (from the schema, so a newly marked field is walked
/// without a hand edit). The client encrypts a request's fields with it and decrypts a
/// response's; the sandbox does the reverse.
///
/// ```
/// use wechatpay_card_models::runtime::SensitiveFields;
/// use wechatpay_card_models::{UpdateUserCardBody, UserInfo, UserInfoCustomField};
///
/// let mut body = UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
///     .with_phone_number("13800138000")
///     .with_user_information(UserInfo::new().with_custom_field_list(vec![
///         UserInfoCustomField::new("喜欢的运动").with_user_chosen_values(vec!["游泳".into()]),
///     ]));
///
/// let mut seen = Vec::new();
/// body.try_for_each_sensitive_mut(|path, value| {
///     seen.push(path.to_string());
///     value.replace(format!("<{} encrypted>", value.expose().len()));
///     Ok::<(), std::convert::Infallible>(())
/// })?;
/// assert_eq!(seen, ["phone_number", "user_information.custom_field_list[0].user_chosen_values[0]"]);
/// assert_eq!(body.phone_number.as_ref().map(|p| p.expose()), Some("<11 encrypted>"));
/// # Ok::<(), std::convert::Infallible>(())
/// ```
pub trait SensitiveFields {
    /// Calls `f` with the path and the value of every sensitive string inside `self`, in
    /// declaration order, stopping at the first error. `path` is where `self` is.
    fn walk_sensitive_mut<E>(
        &mut self,
        path: &mut FieldPath,
        f: &mut dyn FnMut(&FieldPath, &mut SensitiveString) -> Result<(), E>,
    ) -> Result<(), E>;

    /// Calls `f` with the path and the value of every sensitive string inside `self`.
    fn walk_sensitive(&self, path: &mut FieldPath, f: &mut dyn FnMut(&FieldPath, &SensitiveString));

    /// [`SensitiveFields::walk_sensitive_mut`] from the root.
    fn try_for_each_sensitive_mut<E>(
        &mut self,
        mut f: impl FnMut(&FieldPath, &mut SensitiveString) -> Result<(), E>,
    ) -> Result<(), E> {
        self.walk_sensitive_mut(&mut FieldPath::root(), &mut f)
    }

    /// [`SensitiveFields::walk_sensitive`] from the root.
    fn for_each_sensitive(&self, mut f: impl FnMut(&FieldPath, &SensitiveString)) {
        self.walk_sensitive(&mut FieldPath::root(), &mut f);
    }

    /// Whether `self` holds any sensitive string.
    fn has_sensitive(&self) -> bool {
        let mut any = false;
        self.for_each_sensitive(|_, _| any = true);
        any
    }
}

impl SensitiveFields for SensitiveString {
    fn walk_sensitive_mut<E>(
        &mut self,
        path: &mut FieldPath,
        f: &mut dyn FnMut(&FieldPath, &mut SensitiveString) -> Result<(), E>,
    ) -> Result<(), E> {
        f(path, self)
    }

    fn walk_sensitive(
        &self,
        path: &mut FieldPath,
        f: &mut dyn FnMut(&FieldPath, &SensitiveString),
    ) {
        f(path, self);
    }
}

impl<T: SensitiveFields> SensitiveFields for Option<T> {
    fn walk_sensitive_mut<E>(
        &mut self,
        path: &mut FieldPath,
        f: &mut dyn FnMut(&FieldPath, &mut SensitiveString) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Some(value) => value.walk_sensitive_mut(path, f),
            None => Ok(()),
        }
    }

    fn walk_sensitive(
        &self,
        path: &mut FieldPath,
        f: &mut dyn FnMut(&FieldPath, &SensitiveString),
    ) {
        if let Some(value) = self {
            value.walk_sensitive(path, f);
        }
    }
}

impl<T: SensitiveFields> SensitiveFields for Vec<T> {
    fn walk_sensitive_mut<E>(
        &mut self,
        path: &mut FieldPath,
        f: &mut dyn FnMut(&FieldPath, &mut SensitiveString) -> Result<(), E>,
    ) -> Result<(), E> {
        for (i, item) in self.iter_mut().enumerate() {
            let mark = path.push_index(i);
            item.walk_sensitive_mut(path, f)?;
            path.truncate(mark);
        }
        Ok(())
    }

    fn walk_sensitive(
        &self,
        path: &mut FieldPath,
        f: &mut dyn FnMut(&FieldPath, &SensitiveString),
    ) {
        for (i, item) in self.iter().enumerate() {
            let mark = path.push_index(i);
            item.walk_sensitive(path, f);
            path.truncate(mark);
        }
    }
}
