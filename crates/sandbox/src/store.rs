//! The sandbox's state: user cards and the card templates they define, in memory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use wechatpay_card_models::runtime::SensitiveFields;
use wechatpay_card_models::{
    CardType, DateInfo, DateType, Timestamp, UpdateUserCardBody, UserCard, UserCardState, UserInfo,
};

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

impl UserInfoSent {
    /// What the body's JSON sent.
    pub(crate) fn of(body: &serde_json::Value) -> Self {
        let info = body.get("user_information");
        Self {
            common_field_list: info.is_some_and(|i| i.get("common_field_list").is_some()),
            custom_field_list: info.is_some_and(|i| i.get("custom_field_list").is_some()),
        }
    }
}

/// Why a request cannot be applied to the store.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No template with this `card_id`.
    UnknownTemplate,
    /// The template belongs to another brand.
    OtherBrand,
    /// No card with this code under the template.
    UnknownCard,
    /// The card belongs to another user.
    OtherUser,
    /// The card is INVALID: it can no longer change.
    Invalid,
    /// The user already has an EFFECTIVE card of this template.
    UserHasEffective,
    /// The user already has a card of this template awaiting confirmation.
    UserHasUnactivated,
    /// The code is taken under this template (by another user, or by an INVALID card).
    CodeTaken,
    /// The card is not awaiting confirmation (not UNACTIVATED), or there is none.
    NotAwaitingConfirmation,
}

type CardKey = (String, String);

/// The cards, ordered by (`card_id`, `user_card_code`), and the templates (`card_id` →
/// `brand_id`), behind one lock: each change is atomic, and a listing sees one state.
pub(crate) struct CardStore {
    inner: Mutex<Inner>,
}

struct Inner {
    cards: BTreeMap<CardKey, UserCard>,
    templates: HashMap<String, String>,
}

impl CardStore {
    /// A store of `cards`, checked: one card per (`card_id`, `user_card_code`), one brand per
    /// template, sensitive values short enough to encrypt for the merchant. `templates`
    /// (`card_id`, `brand_id`) declares templates beyond those of the cards.
    pub(crate) fn new(
        cards: Vec<UserCard>,
        templates: Vec<(String, String)>,
        max_plaintext: usize,
    ) -> Result<Self, SandboxError> {
        let mut known: HashMap<String, String> = HashMap::new();
        let mut define = |card_id: &str, brand_id: &str, name: &str| match known.get(card_id) {
            Some(brand) if brand != brand_id => Err(SandboxError::Cards(format!(
                "{name}: template {card_id:?} belongs to brand {brand:?}, not {brand_id:?} (a \
                     card's card_id and brand_id define its template)"
            ))),
            Some(_) => Ok(()),
            None => {
                known.insert(card_id.to_owned(), brand_id.to_owned());
                Ok(())
            }
        };
        for (card_id, brand_id) in &templates {
            if card_id.is_empty() || brand_id.is_empty() {
                return Err(SandboxError::Cards(
                    "a template's card_id and brand_id must not be empty".to_owned(),
                ));
            }
            define(card_id, brand_id, &format!("template {card_id:?}"))?;
        }
        let mut map = BTreeMap::new();
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
            define(&card.card_id, &card.brand_id, &name)?;
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
            if map.insert(key, card).is_some() {
                return Err(SandboxError::Cards(format!("{name} is given twice")));
            }
        }
        Ok(Self {
            inner: Mutex::new(Inner {
                cards: map,
                templates: known,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every card, sorted by `card_id` then `user_card_code`.
    pub(crate) fn all(&self) -> Vec<UserCard> {
        self.lock().cards.values().cloned().collect()
    }

    /// One card.
    pub(crate) fn get(&self, card_id: &str, user_card_code: &str) -> Option<UserCard> {
        self.lock()
            .cards
            .get(&(card_id.to_owned(), user_card_code.to_owned()))
            .cloned()
    }

    /// The user's card, as `GET user-cards/{code}` finds it: the template of this brand, the
    /// card of this user. A brand that is not the template's is `OtherBrand`.
    pub(crate) fn find(
        &self,
        brand_id: &str,
        card_id: &str,
        user_card_code: &str,
        openid: &str,
    ) -> Result<UserCard, Refusal> {
        let inner = self.lock();
        let card = inner.card(brand_id, card_id, user_card_code, openid)?;
        Ok(card.clone())
    }

    /// The user's cards under a brand (optionally in one state), ordered by `card_id` then
    /// `user_card_code`: the total, and at most `limit` of them from `offset` on.
    pub(crate) fn list(
        &self,
        brand_id: &str,
        openid: &str,
        state: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> (Vec<UserCard>, usize) {
        let inner = self.lock();
        let mut total = 0;
        let mut page = Vec::new();
        for card in inner.cards.values().filter(|c| {
            c.brand_id == brand_id
                && c.openid == openid
                && state.is_none_or(|s| c.user_card_state.as_str() == s)
        }) {
            if total >= offset && page.len() < limit {
                page.push(card.clone());
            }
            total += 1;
        }
        (page, total)
    }

    /// Applies an update (sensitive values in plaintext) to a card, atomically, and returns the
    /// card as stored. An INVALID card refuses.
    pub(crate) fn update(
        &self,
        card_id: &str,
        user_card_code: &str,
        body: UpdateUserCardBody,
        sent: UserInfoSent,
        now: Timestamp,
    ) -> Result<UserCard, Refusal> {
        let mut inner = self.lock();
        let (brand, openid) = (body.brand_id.clone(), body.openid.clone());
        let card = inner.card_mut(&brand, card_id, user_card_code, &openid)?;
        if card.user_card_state == UserCardState::Invalid {
            return Err(Refusal::Invalid);
        }
        apply(card, body, sent, now);
        Ok(card.clone())
    }

    /// Invalidates a card: INVALID, with the reason and time. A card already INVALID refuses.
    pub(crate) fn invalidate(
        &self,
        brand_id: &str,
        card_id: &str,
        user_card_code: &str,
        openid: &str,
        reason: Option<String>,
        now: Timestamp,
    ) -> Result<UserCard, Refusal> {
        let mut inner = self.lock();
        let card = inner.card_mut(brand_id, card_id, user_card_code, openid)?;
        if card.user_card_state == UserCardState::Invalid {
            return Err(Refusal::Invalid);
        }
        card.user_card_state = UserCardState::Invalid;
        card.invalid_reason = reason;
        card.invalid_time = Some(now.clone());
        card.modify_time = now;
        Ok(card.clone())
    }

    /// The brand of a template.
    pub(crate) fn template_brand(&self, card_id: &str) -> Option<String> {
        self.lock().templates.get(card_id).cloned()
    }

    /// Stores a new card (an import, EFFECTIVE; or a user opening one, UNACTIVATED), under the
    /// rules: the template exists and is the brand's; the user has no EFFECTIVE and no
    /// UNACTIVATED card of the template; the code is not taken under the template.
    pub(crate) fn insert(&self, card: UserCard) -> Result<UserCard, Refusal> {
        let mut inner = self.lock();
        match inner.templates.get(&card.card_id) {
            None => return Err(Refusal::UnknownTemplate),
            Some(brand) if *brand != card.brand_id => return Err(Refusal::OtherBrand),
            Some(_) => {}
        }
        let range = (card.card_id.clone(), String::new())..;
        for ((card_id, _), other) in inner.cards.range(range) {
            if *card_id != card.card_id {
                break;
            }
            if other.openid == card.openid {
                match other.user_card_state {
                    UserCardState::Effective => return Err(Refusal::UserHasEffective),
                    UserCardState::Unactivated => return Err(Refusal::UserHasUnactivated),
                    _ => {}
                }
            }
        }
        let key = (card.card_id.clone(), card.user_card_code.clone());
        if inner.cards.contains_key(&key) {
            return Err(Refusal::CodeTaken);
        }
        inner.cards.insert(key, card.clone());
        Ok(card)
    }

    /// Removes a card (a user deleting it), whatever its state; returns it as it was.
    pub(crate) fn remove(&self, card_id: &str, user_card_code: &str) -> Result<UserCard, Refusal> {
        let mut inner = self.lock();
        if !inner.templates.contains_key(card_id) {
            return Err(Refusal::UnknownTemplate);
        }
        inner
            .cards
            .remove(&(card_id.to_owned(), user_card_code.to_owned()))
            .ok_or(Refusal::UnknownCard)
    }

    /// Confirms a card awaiting confirmation: `changes` applied, then EFFECTIVE on success,
    /// INVALID (with `invalid_time`, reason `CREATE_CARD_FAIL`) on failure.
    #[allow(
        clippy::too_many_arguments,
        reason = "the four names of a card, the outcome, the changes, the time"
    )]
    pub(crate) fn confirm(
        &self,
        brand_id: &str,
        card_id: &str,
        user_card_code: &str,
        openid: &str,
        success: bool,
        changes: impl FnOnce(&mut UserCard),
        now: Timestamp,
    ) -> Result<UserCard, Refusal> {
        let mut inner = self.lock();
        let card = inner
            .card_mut(brand_id, card_id, user_card_code, openid)
            .map_err(|refusal| match refusal {
                Refusal::UnknownCard | Refusal::OtherUser => Refusal::NotAwaitingConfirmation,
                other => other,
            })?;
        match card.user_card_state {
            UserCardState::Invalid => return Err(Refusal::Invalid),
            UserCardState::Unactivated => {}
            _ => return Err(Refusal::NotAwaitingConfirmation),
        }
        changes(card);
        if success {
            card.user_card_state = UserCardState::Effective;
        } else {
            card.user_card_state = UserCardState::Invalid;
            card.invalid_reason = Some("CREATE_CARD_FAIL".to_owned());
            card.invalid_time = Some(now.clone());
        }
        card.modify_time = now;
        Ok(card.clone())
    }
}

impl Inner {
    fn card(
        &self,
        brand_id: &str,
        card_id: &str,
        user_card_code: &str,
        openid: &str,
    ) -> Result<&UserCard, Refusal> {
        let brand = self
            .templates
            .get(card_id)
            .ok_or(Refusal::UnknownTemplate)?;
        if brand != brand_id {
            return Err(Refusal::OtherBrand);
        }
        let card = self
            .cards
            .get(&(card_id.to_owned(), user_card_code.to_owned()))
            .ok_or(Refusal::UnknownCard)?;
        if card.openid != openid {
            return Err(Refusal::OtherUser);
        }
        Ok(card)
    }

    fn card_mut(
        &mut self,
        brand_id: &str,
        card_id: &str,
        user_card_code: &str,
        openid: &str,
    ) -> Result<&mut UserCard, Refusal> {
        self.card(brand_id, card_id, user_card_code, openid)?;
        self.cards
            .get_mut(&(card_id.to_owned(), user_card_code.to_owned()))
            .ok_or(Refusal::UnknownCard)
    }
}

/// A new card as the store keeps it: NORMAL, valid PERMANENT unless given, picked up `pickup`
/// (or now), created and modified now, in `state`; nothing else set.
pub(crate) fn new_card(
    brand_id: &str,
    card_id: &str,
    user_card_code: &str,
    openid: &str,
    state: UserCardState,
    now: Timestamp,
) -> UserCard {
    UserCard::builder()
        .user_card_code(user_card_code)
        .card_id(card_id)
        .openid(openid)
        .brand_id(brand_id)
        .card_type(CardType::Normal)
        .valid_date_information(DateInfo::new(DateType::Permanent))
        .pickup_time(now.clone())
        .user_card_state(state)
        .create_time(now.clone())
        .modify_time(now)
        .build()
        // build() fails only on a required field left unset; all are set above.
        .expect("every required field of a UserCard is set")
}

/// The merge rules of the PATCH (and of a confirmation's fields): a field sent replaces the stored one, a field left out is kept.
/// `valid_date_information` is replaced as a whole (its type and times go together);
/// `user_information` is merged per list (each list sent replaces that list, an empty one
/// clears it). `brand_id` and `openid` identify, they do not change.
pub(crate) fn apply(
    card: &mut UserCard,
    body: UpdateUserCardBody,
    sent: UserInfoSent,
    now: Timestamp,
) {
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
        .. // the body is #[non_exhaustive]: a field the schema adds is not merged until named here
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
    use wechatpay_card_models::UserInfoCustomField;

    const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
    const CODE: &str = "478515832665";
    const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";

    fn store() -> CardStore {
        CardStore::new(default_cards(), Vec::new(), 214).unwrap()
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

    fn lifecycle_store() -> CardStore {
        CardStore::new(default_cards(), vec![("t2".into(), "1004".into())], 214).unwrap()
    }

    #[test]
    fn the_life_cycle() {
        let store = lifecycle_store();
        let new =
            |code: &str, openid: &str, state| new_card("1004", "t2", code, openid, state, now());
        // Import: EFFECTIVE; a second card for the user, or the code again, is refused.
        store
            .insert(new("1", "u1", UserCardState::Effective))
            .unwrap();
        assert_eq!(
            store.insert(new("2", "u1", UserCardState::Effective)),
            Err(Refusal::UserHasEffective)
        );
        assert_eq!(
            store.insert(new("1", "u2", UserCardState::Effective)),
            Err(Refusal::CodeTaken)
        );
        assert_eq!(
            store.insert(new_card(
                "9999",
                "t2",
                "5",
                "u5",
                UserCardState::Effective,
                now()
            )),
            Err(Refusal::OtherBrand)
        );
        assert_eq!(
            store.insert(new_card(
                "1004",
                "t3",
                "5",
                "u5",
                UserCardState::Effective,
                now()
            )),
            Err(Refusal::UnknownTemplate)
        );
        // Opened: UNACTIVATED; the user cannot get another while it waits.
        store
            .insert(new("3", "u3", UserCardState::Unactivated))
            .unwrap();
        assert_eq!(
            store.insert(new("4", "u3", UserCardState::Effective)),
            Err(Refusal::UserHasUnactivated)
        );
        // Confirm: only an UNACTIVATED card of this user.
        let ok = |_: &mut UserCard| {};
        assert_eq!(
            store.confirm("1004", "t2", "1", "u1", true, ok, now()),
            Err(Refusal::NotAwaitingConfirmation)
        );
        assert_eq!(
            store.confirm("1004", "t2", "3", "u1", true, ok, now()),
            Err(Refusal::NotAwaitingConfirmation)
        );
        let card = store
            .confirm(
                "1004",
                "t2",
                "3",
                "u3",
                true,
                |c| c.level = Some("金".into()),
                now(),
            )
            .unwrap();
        assert_eq!(card.user_card_state, UserCardState::Effective);
        assert_eq!(card.level.as_deref(), Some("金"));
        // A failed confirmation: INVALID.
        store
            .insert(new("6", "u6", UserCardState::Unactivated))
            .unwrap();
        let card = store
            .confirm("1004", "t2", "6", "u6", false, ok, now())
            .unwrap();
        assert_eq!(card.user_card_state, UserCardState::Invalid);
        assert!(card.invalid_time.is_some());
        assert_eq!(
            store.confirm("1004", "t2", "6", "u6", true, ok, now()),
            Err(Refusal::Invalid)
        );
        // Invalidate: once; then no update; a new import for the user is allowed, the code not.
        let card = store
            .invalidate("1004", "t2", "1", "u1", Some("moved".into()), now())
            .unwrap();
        assert_eq!(card.user_card_state, UserCardState::Invalid);
        assert_eq!(card.invalid_reason.as_deref(), Some("moved"));
        assert_eq!(
            store.invalidate("1004", "t2", "1", "u1", None, now()),
            Err(Refusal::Invalid)
        );
        let body = UpdateUserCardBody::new("1004", "u1").with_level("x");
        assert_eq!(
            store.update("t2", "1", body, UserInfoSent::default(), now()),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            store.insert(new("1", "u1", UserCardState::Effective)),
            Err(Refusal::CodeTaken)
        );
        store
            .insert(new("7", "u1", UserCardState::Effective))
            .unwrap();
        // Listing: the user's cards under the brand, ordered, paged, filtered by state.
        assert_eq!(store.list("1004", "u1", None, 0, 20).1, 2);
        let (page, total) = store.list("1004", "u1", Some("INVALID"), 0, 20);
        assert_eq!((page.len(), total), (1, 1));
        let (page, total) = store.list("1004", "u1", None, 1, 20);
        assert_eq!((page[0].user_card_code.as_str(), total), ("7", 2));
        assert_eq!(store.list("9999", "u1", None, 0, 20).1, 0);
    }

    #[test]
    fn inconsistent_cards_are_refused() {
        let card = default_cards().remove(0);
        let twice = vec![card.clone(), card.clone()];
        assert!(CardStore::new(twice, Vec::new(), 214).is_err());
        let mut other_brand = card.clone();
        other_brand.user_card_code = "2".into();
        other_brand.brand_id = "1001622624".into();
        assert!(CardStore::new(vec![card.clone(), other_brand], Vec::new(), 214).is_err());
        assert!(
            CardStore::new(vec![card], Vec::new(), 5).is_err(),
            "phone too long to encrypt"
        );
    }
}
