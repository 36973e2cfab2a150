//! The card event notification's helpers: which event a [`NotificationEventType`] is, whatever
//! the documentation generation that named it.

use crate::NotificationEventType;

impl NotificationEventType {
    /// Whether a user opened a card: `MEMBERCARDSP.USER_CARD.CREATE` or its newer name
    /// `BRAND_MEMBER_CARD_SP.USER_CARD.CREATE`. Such a card needs a confirm (ConfirmUserCard).
    pub fn is_create(&self) -> bool {
        matches!(
            self,
            Self::MembercardspUserCardCreate | Self::BrandMemberCardSpUserCardCreate
        )
    }

    /// Whether a user deleted a card: `MEMBERCARDSP.USER_CARD.DELETE` or its newer name
    /// `BRAND_MEMBER_CARD_SP.USER_CARD.DELETE`.
    pub fn is_delete(&self) -> bool {
        matches!(
            self,
            Self::MembercardspUserCardDelete | Self::BrandMemberCardSpUserCardDelete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_name_families_are_creates_or_deletes() {
        for (wire, create, delete) in [
            ("MEMBERCARDSP.USER_CARD.CREATE", true, false),
            ("BRAND_MEMBER_CARD_SP.USER_CARD.CREATE", true, false),
            ("MEMBERCARDSP.USER_CARD.DELETE", false, true),
            ("BRAND_MEMBER_CARD_SP.USER_CARD.DELETE", false, true),
            ("MEMBERCARDSP.USER_CARD.UPDATE", false, false),
            ("", false, false),
        ] {
            let event = NotificationEventType::from(wire);
            assert_eq!(event.is_create(), create, "{wire}");
            assert_eq!(event.is_delete(), delete, "{wire}");
            assert_eq!(event.as_str(), wire);
        }
    }
}
