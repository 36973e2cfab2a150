//! The sandbox's state: user cards and the card templates they define, in memory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use wechatpay_card_models::{SensitiveFields, Timestamp, UpdateUserCardBody, UserCard, UserInfo};

use crate::SandboxError;

/// The page's example card (its 200 response example), with the sensitive values in plaintext.
///
/// The page is inconsistent: its request example sends `brand_id` "1004" and its response
/// example answers "1001622624" for the same `card_id`. The card is seeded with "1004" so that
/// the page's example request succeeds.
const DEFAULT_CARDS_JSON: &str = include_str!("../fixtures/default-cards.json");

/// The page's example card, as the sandbox seeds it by default (`brand_id` "1004", phone number
/// "13800138000" in plaintext).
pub fn default_cards() -> Vec<UserCard> {
    // The fixture is checked by a test; an empty store would still serve (with 404s).
    serde_json::from_str(DEFAULT_CARDS_JSON).unwrap_or_default()
}

/// Reads a cards file: a JSON array of user cards as the response schema describes them,
/// sensitive values in plaintext.
pub(crate) fn read_cards_file(path: &Path) -> Result<Vec<UserCard>, SandboxError> {
    let text = std::fs::read(path).map_err(|source| SandboxError::CardsFile {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| SandboxError::CardsJson {
        path: path.to_owned(),
        source,
    })
}

/// Which parts of `user_information` a request sent (an empty list and an absent one are the
/// same in the typed body, not in the JSON).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UserInfoSent {
    pub(crate) common_field_list: bool,
    pub(crate) custom_field_list: bool,
}

/// Why an update cannot be applied.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No template with this `card_id`.
    UnknownTemplate,
    /// The template belongs to another brand.
    OtherBrand,
    /// No card with this code under the template.
    UnknownCard,
    /// The card belongs to another user.
    OtherUser,
}

type CardKey = (String, String);

/// The cards (each behind its own lock: updates of one card are serialized, different cards
/// are updated in parallel) and the templates (`card_id` → `brand_id`). Neither map changes
/// after start: only the cards do.
pub(crate) struct CardStore {
    cards: HashMap<CardKey, Mutex<UserCard>>,
    templates: HashMap<String, String>,
}

impl CardStore {
    /// A store of `cards`, checked: one card per (`card_id`, `user_card_code`), one brand per
    /// template, sensitive values short enough to encrypt for the merchant.
    pub(crate) fn new(cards: Vec<UserCard>, max_plaintext: usize) -> Result<Self, SandboxError> {
        let mut templates: HashMap<String, String> = HashMap::new();
        let mut map = HashMap::new();
        for card in cards {
            let name = format!(
                "card {:?} of template {:?}",
                card.user_card_code, card.card_id
            );
            if card.card_id.is_empty() || card.user_card_code.is_empty() {
                return Err(SandboxError::Cards(format!(
                    "{name}: card_id and user_card_code must not be empty"
                )));
            }
            match templates.get(&card.card_id) {
                Some(brand) if *brand != card.brand_id => {
                    return Err(SandboxError::Cards(format!(
                        "{name}: template {:?} belongs to brand {brand:?}, not {:?} (a card's \
                         card_id and brand_id define its template)",
                        card.card_id, card.brand_id
                    )));
                }
                Some(_) => {}
                None => {
                    templates.insert(card.card_id.clone(), card.brand_id.clone());
                }
            }
            let mut too_long = None;
            card.for_each_sensitive(|path, value| {
                if too_long.is_none() && value.expose().len() > max_plaintext {
                    too_long = Some(path.to_string());
                }
            });
            if let Some(path) = too_long {
                return Err(SandboxError::Cards(format!(
                    "{name}: {path} is longer than the {max_plaintext} bytes that can be \
                     encrypted for the merchant"
                )));
            }
            let key = (card.card_id.clone(), card.user_card_code.clone());
            if map.insert(key, Mutex::new(card)).is_some() {
                return Err(SandboxError::Cards(format!("{name} is given twice")));
            }
        }
        Ok(Self {
            cards: map,
            templates,
        })
    }

    /// Every card, sorted by `card_id` then `user_card_code`.
    pub(crate) fn all(&self) -> Vec<UserCard> {
        let sorted: BTreeMap<&CardKey, &Mutex<UserCard>> = self.cards.iter().collect();
        sorted
            .into_values()
            .map(|card| card.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }

    /// One card.
    pub(crate) fn get(&self, card_id: &str, user_card_code: &str) -> Option<UserCard> {
        self.cards
            .get(&(card_id.to_owned(), user_card_code.to_owned()))
            .map(|card| card.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Applies an update (sensitive values in plaintext) to a card, atomically, and returns the
    /// card as stored.
    pub(crate) fn update(
        &self,
        card_id: &str,
        user_card_code: &str,
        body: UpdateUserCardBody,
        sent: UserInfoSent,
        now: Timestamp,
    ) -> Result<UserCard, Refusal> {
        let brand = self
            .templates
            .get(card_id)
            .ok_or(Refusal::UnknownTemplate)?;
        if *brand != body.brand_id {
            return Err(Refusal::OtherBrand);
        }
        let card = self
            .cards
            .get(&(card_id.to_owned(), user_card_code.to_owned()))
            .ok_or(Refusal::UnknownCard)?;
        let mut card = card.lock().unwrap_or_else(|e| e.into_inner());
        if card.openid != body.openid {
            return Err(Refusal::OtherUser);
        }
        apply(&mut card, body, sent, now);
        Ok(card.clone())
    }
}

/// The merge rules of the PATCH: a field sent replaces the stored one, a field left out is kept.
/// `valid_date_information` is replaced as a whole (its type and times go together);
/// `user_information` is merged per list (each list sent replaces that list, an empty one
/// clears it). `brand_id` and `openid` identify, they do not change.
fn apply(card: &mut UserCard, body: UpdateUserCardBody, sent: UserInfoSent, now: Timestamp) {
    let UpdateUserCardBody {
        brand_id: _,
        openid: _,
        card_color,
        card_picture_url,
        phone_number,
        level,
        valid_date_information,
        user_information,
        attach,
    } = body;
    if card_color.is_some() {
        card.card_color = card_color;
    }
    if card_picture_url.is_some() {
        card.card_picture_url = card_picture_url;
    }
    if phone_number.is_some() {
        card.phone_number = phone_number;
    }
    if level.is_some() {
        card.level = level;
    }
    if let Some(valid) = valid_date_information {
        card.valid_date_information = valid;
    }
    if let Some(info) = user_information {
        let stored = card.user_information.get_or_insert_with(UserInfo::default);
        if sent.common_field_list {
            stored.common_field_list = info.common_field_list;
        }
        if sent.custom_field_list {
            stored.custom_field_list = info.custom_field_list;
        }
        if stored.common_field_list.is_empty() && stored.custom_field_list.is_empty() {
            card.user_information = None;
        }
    }
    if attach.is_some() {
        card.attach = attach;
    }
    card.modify_time = now;
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechatpay_card_models::{DateInfo, DateType, UserInfoCustomField};

    const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
    const CODE: &str = "478515832665";
    const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";

    fn store() -> CardStore {
        CardStore::new(default_cards(), 214).unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00.000+08:00").unwrap()
    }

    #[test]
    fn the_default_card_is_the_pages_example_with_brand_1004() {
        let cards = default_cards();
        assert_eq!(cards.len(), 1);
        let card = &cards[0];
        assert_eq!(
            (card.card_id.as_str(), card.user_card_code.as_str()),
            (CARD_ID, CODE)
        );
        assert_eq!(card.brand_id, "1004");
        assert_eq!(
            card.phone_number.as_ref().map(|p| p.expose()),
            Some("13800138000")
        );
    }

    #[test]
    fn only_the_fields_sent_change() {
        let store = store();
        let before = store.get(CARD_ID, CODE).unwrap();
        let body = UpdateUserCardBody::new("1004", OPENID)
            .with_level("金卡")
            .with_valid_date_information(
                DateInfo::new(DateType::FixTerm).with_available_day_after_receive(7),
            )
            .with_user_information(UserInfo::new().with_custom_field_list(vec![
                UserInfoCustomField::new("喜欢的颜色").with_user_chosen_values(vec!["蓝".into()]),
            ]));
        let sent = UserInfoSent {
            common_field_list: false,
            custom_field_list: true,
        };
        let after = store.update(CARD_ID, CODE, body, sent, now()).unwrap();
        assert_eq!(after.level.as_deref(), Some("金卡"));
        assert_eq!(after.card_color, before.card_color);
        assert_eq!(after.phone_number, before.phone_number);
        // Replaced as a whole: the begin and end times are gone.
        assert_eq!(after.valid_date_information.available_begin_time, None);
        assert_eq!(
            after.valid_date_information.available_day_after_receive,
            Some(7)
        );
        let info = after.user_information.as_ref().unwrap();
        assert_eq!(
            info.common_field_list,
            before.user_information.as_ref().unwrap().common_field_list
        );
        assert_eq!(info.custom_field_list[0].name, "喜欢的颜色");
        assert_eq!(after.modify_time, now());
        assert_eq!(store.get(CARD_ID, CODE).unwrap(), after);
    }

    #[test]
    fn refusals() {
        let store = store();
        let body = || UpdateUserCardBody::new("1004", OPENID);
        let sent = UserInfoSent::default();
        assert!(matches!(
            store.update("nope", CODE, body(), sent, now()),
            Err(Refusal::UnknownTemplate)
        ));
        assert!(matches!(
            store.update(
                CARD_ID,
                CODE,
                UpdateUserCardBody::new("1001622624", OPENID),
                sent,
                now()
            ),
            Err(Refusal::OtherBrand)
        ));
        assert!(matches!(
            store.update(CARD_ID, "1", body(), sent, now()),
            Err(Refusal::UnknownCard)
        ));
        assert!(matches!(
            store.update(
                CARD_ID,
                CODE,
                UpdateUserCardBody::new("1004", "other"),
                sent,
                now()
            ),
            Err(Refusal::OtherUser)
        ));
    }

    #[test]
    fn inconsistent_cards_are_refused() {
        let card = default_cards().remove(0);
        let twice = vec![card.clone(), card.clone()];
        assert!(CardStore::new(twice, 214).is_err());
        let mut other_brand = card.clone();
        other_brand.user_card_code = "2".into();
        other_brand.brand_id = "1001622624".into();
        assert!(CardStore::new(vec![card.clone(), other_brand], 214).is_err());
        assert!(
            CardStore::new(vec![card], 5).is_err(),
            "phone too long to encrypt"
        );
    }
}
