//! The payload of an open enum's `Unknown` variant.

use std::fmt;

/// A value of an open enum that this version does not know, as received.
///
/// It has no public constructor: `CardType::from("NEW_KIND")` makes one, and a known value can
/// never end up in `Unknown`, so matching on the known variants is always right.
///
/// ```
/// use wechatpay_card_models::CardType;
///
/// let kind = CardType::from("PREMIUM");
/// assert!(kind.is_unknown());
/// assert_eq!(kind.as_str(), "PREMIUM");
/// assert_eq!(CardType::from("NORMAL"), CardType::Normal);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnknownValue(String);

impl UnknownValue {
    pub(crate) fn new(value: &str) -> Self {
        Self(value.to_string())
    }

    /// The value as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
