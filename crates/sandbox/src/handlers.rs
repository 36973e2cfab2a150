//! One small handler per endpoint: what it does to the store, and its refusals. Everything
//! before (signature, headers, parameters, body) is [`crate::endpoint`]'s.

use wechatpay_card_models::{
    ConfirmUserCardBody, ImportUserCardByOpenidBody, ImportUserCardByPhoneBody,
    InvalidateUserCardBody, Timestamp, UpdateUserCardBody, UserCard, UserCardConfirmState,
    UserCardState,
};

use crate::answer::ApiError;
use crate::endpoint::{CHINA_OFFSET_MINUTES, Call, Done, echo, encrypt_for_merchant, unix_millis};
use crate::store::{self, Refusal, UserInfoSent};

/// Now, in +08:00 with milliseconds.
pub(crate) fn now() -> Timestamp {
    Timestamp::from_unix_millis(unix_millis(), CHINA_OFFSET_MINUTES)
}

/// Runs the endpoint's handler.
pub(crate) fn handle(call: &Call<'_>) -> Result<Done, ApiError> {
    match call.spec.name.as_str() {
        "UpdateUserCard" => update(call),
        "GetUserCard" => get(call),
        "ListUserCards" => list(call),
        "InvalidateUserCard" => invalidate(call),
        "ImportUserCardByOpenid" => import_by_openid(call),
        "ImportUserCardByPhone" => import_by_phone(call),
        "ConfirmUserCard" => confirm(call),
        other => Err(ApiError::system(format!(
            "the sandbox has no handler for {}",
            echo(other)
        ))),
    }
}

fn changed(call: &Call<'_>, card: wechatpay_card_models::UserCard) -> Result<Done, ApiError> {
    Ok(Done {
        body: encrypt_for_merchant(call.shared, card)?,
        changed: true,
    })
}

/// PATCH `user-cards/{user_card_code}?card_id=`: the fields sent replace the stored ones.
fn update(call: &Call<'_>) -> Result<Done, ApiError> {
    let (code, card_id) = (
        call.params.str("user_card_code"),
        call.params.str("card_id"),
    );
    let (body, value): (UpdateUserCardBody, _) = call.body()?;
    let brand_id = body.brand_id.clone();
    let card = call
        .shared
        .store
        .update(card_id, code, body, UserInfoSent::of(&value), now())
        .map_err(|r| refused(r, card_id, code, &brand_id))?;
    changed(call, card)
}

/// POST `user-cards/{user_card_code}/invalidate?brand_id=&card_id=`: INVALID, irreversibly.
fn invalidate(call: &Call<'_>) -> Result<Done, ApiError> {
    let p = &call.params;
    let (code, card_id, brand_id) = (p.str("user_card_code"), p.str("card_id"), p.str("brand_id"));
    let (body, _): (InvalidateUserCardBody, _) = call.body()?;
    let card = call
        .shared
        .store
        .invalidate(
            brand_id,
            card_id,
            code,
            &body.openid,
            body.invalid_reason,
            now(),
        )
        .map_err(|r| refused(r, card_id, code, brand_id))?;
    changed(call, card)
}

/// The openid `import-by-phone` gives a phone number: `o` and the 16 hex digits of the FNV-1a
/// 64-bit hash of the number's text: deterministic, so a test can predict it.
pub(crate) fn openid_of_phone(phone: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in phone.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("o{hash:016x}")
}

/// A new EFFECTIVE card from an import's fields.
#[allow(
    clippy::too_many_arguments,
    reason = "the import bodies' shared fields"
)]
fn imported(
    brand_id: &str,
    card_id: &str,
    code: &str,
    openid: &str,
    fields: ImportFields,
) -> UserCard {
    let now = now();
    let mut card = store::new_card(
        brand_id,
        card_id,
        code,
        openid,
        UserCardState::Effective,
        now,
    );
    card.phone_number = fields.phone_number;
    card.card_color = fields.card_color;
    card.card_picture_url = fields.card_picture_url;
    card.level = fields.level;
    if let Some(valid) = fields.valid_date_information {
        card.valid_date_information = valid;
    }
    card.user_information = fields
        .user_information
        .filter(|i| !i.common_field_list.is_empty() || !i.custom_field_list.is_empty());
    if let Some(pickup) = fields.pickup_time {
        card.pickup_time = pickup;
    }
    card
}

/// The optional fields both imports carry.
struct ImportFields {
    phone_number: Option<wechatpay_card_models::SensitiveString>,
    card_color: Option<String>,
    card_picture_url: Option<String>,
    level: Option<String>,
    valid_date_information: Option<wechatpay_card_models::DateInfo>,
    user_information: Option<wechatpay_card_models::UserInfo>,
    pickup_time: Option<Timestamp>,
}

fn insert(call: &Call<'_>, card: UserCard) -> Result<Done, ApiError> {
    let (brand_id, card_id, code) = (
        card.brand_id.clone(),
        card.card_id.clone(),
        card.user_card_code.clone(),
    );
    let card = call
        .shared
        .store
        .insert(card)
        .map_err(|r| refused(r, &card_id, &code, &brand_id))?;
    changed(call, card)
}

/// POST `user-cards/import-by-openid`: a new EFFECTIVE card.
fn import_by_openid(call: &Call<'_>) -> Result<Done, ApiError> {
    let (b, _): (ImportUserCardByOpenidBody, _) = call.body()?;
    let fields = ImportFields {
        phone_number: b.phone_number,
        card_color: b.card_color,
        card_picture_url: b.card_picture_url,
        level: b.level,
        valid_date_information: b.valid_date_information,
        user_information: b.user_information,
        pickup_time: b.pickup_time,
    };
    let card = imported(
        &b.brand_id,
        &b.card_id,
        &b.user_card_code,
        &b.openid,
        fields,
    );
    insert(call, card)
}

/// POST `user-cards/import-by-phone`: a new EFFECTIVE card for the user of the phone number
/// (openid [`openid_of_phone`]).
fn import_by_phone(call: &Call<'_>) -> Result<Done, ApiError> {
    let (b, _): (ImportUserCardByPhoneBody, _) = call.body()?;
    let openid = openid_of_phone(b.phone_number.expose());
    let fields = ImportFields {
        phone_number: Some(b.phone_number),
        card_color: b.card_color,
        card_picture_url: b.card_picture_url,
        level: b.level,
        valid_date_information: b.valid_date_information,
        user_information: b.user_information,
        pickup_time: b.pickup_time,
    };
    let card = imported(&b.brand_id, &b.card_id, &b.user_card_code, &openid, fields);
    insert(call, card)
}

/// POST `user-cards/{user_card_code}/confirm?card_id=`: the card awaiting confirmation becomes
/// EFFECTIVE (success, the fields sent applied as a PATCH applies them) or INVALID (failure).
fn confirm(call: &Call<'_>) -> Result<Done, ApiError> {
    let (code, card_id) = (
        call.params.str("user_card_code"),
        call.params.str("card_id"),
    );
    let (b, value): (ConfirmUserCardBody, _) = call.body()?;
    let success = match &b.user_card_confirm_state {
        UserCardConfirmState::CreateCardSuccess => true,
        UserCardConfirmState::CreateCardFail => false,
        other => {
            return Err(ApiError::invalid_request(format!(
                "user_card_confirm_state {} is not one the sandbox knows",
                echo(other.as_str())
            )));
        }
    };
    let (brand_id, openid) = (b.brand_id.clone(), b.openid.clone());
    let mut update = UpdateUserCardBody::new(b.brand_id, b.openid);
    update.card_color = b.card_color;
    update.card_picture_url = b.card_picture_url;
    update.phone_number = b.phone_number;
    update.level = b.level;
    update.valid_date_information = b.valid_date_information;
    update.user_information = b.user_information;
    update.attach = b.attach;
    let sent = UserInfoSent::of(&value);
    let when = now();
    let card = call
        .shared
        .store
        .confirm(
            &brand_id,
            card_id,
            code,
            &openid,
            success,
            |card| store::apply(card, update, sent, when.clone()),
            when.clone(),
        )
        .map_err(|r| refused(r, card_id, code, &brand_id))?;
    changed(call, card)
}

/// GET `user-cards/{user_card_code}?brand_id=&card_id=&openid=`: the user's card. Another
/// brand than the template's, or another user's card, is 404 like an unknown card.
fn get(call: &Call<'_>) -> Result<Done, ApiError> {
    let p = &call.params;
    let (code, card_id, brand_id) = (p.str("user_card_code"), p.str("card_id"), p.str("brand_id"));
    let card = call
        .shared
        .store
        .find(brand_id, card_id, code, p.str("openid"))
        .map_err(|r| match r {
            Refusal::OtherBrand => refused(Refusal::UnknownCard, card_id, code, brand_id),
            other => refused(other, card_id, code, brand_id),
        })?;
    Ok(Done {
        body: encrypt_for_merchant(call.shared, card)?,
        changed: false,
    })
}

/// The list's answer: `{data, total_count, offset, limit}`.
#[derive(serde::Serialize)]
struct ListAnswer {
    data: Vec<serde_json::Value>,
    total_count: usize,
    offset: i64,
    limit: i64,
}

/// GET `user-cards?brand_id=&openid=&user_card_state=&offset=&limit=`: the user's cards under
/// the brand (in one state if asked), ordered by `card_id` then `user_card_code`, paged.
fn list(call: &Call<'_>) -> Result<Done, ApiError> {
    let p = &call.params;
    let (offset, limit) = (p.int("offset"), p.int("limit"));
    let (cards, total) = call.shared.store.list(
        p.str("brand_id"),
        p.str("openid"),
        p.opt_str("user_card_state"),
        usize::try_from(offset).unwrap_or(usize::MAX),
        usize::try_from(limit).unwrap_or(0),
    );
    let data = cards
        .into_iter()
        .map(|card| {
            let bytes = encrypt_for_merchant(call.shared, card)?;
            serde_json::from_slice(&bytes).map_err(|e| ApiError::system(e.to_string()))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let answer = ListAnswer {
        data,
        total_count: total,
        offset,
        limit,
    };
    Ok(Done {
        body: serde_json::to_vec(&answer).map_err(|e| ApiError::system(e.to_string()))?,
        changed: false,
    })
}

/// The error answering a refusal of the store.
pub(crate) fn refused(refusal: Refusal, card_id: &str, code: &str, brand_id: &str) -> ApiError {
    let (card_id, code, brand_id) = (echo(card_id), echo(code), echo(brand_id));
    match refusal {
        Refusal::UnknownTemplate => {
            ApiError::not_found(format!("会员卡模板不存在 (no card template {card_id})"))
        }
        Refusal::OtherBrand => ApiError::invalid_request(format!(
            "会员卡模版ID不属于该品牌 (card template {card_id} does not belong to brand {brand_id})"
        )),
        Refusal::UnknownCard => ApiError::not_found(format!(
            "用户会员卡不存在 (no user card {code} of template {card_id})"
        )),
        Refusal::OtherUser => ApiError::not_found(format!(
            "用户会员卡不存在 (no user card {code} of template {card_id} for this openid)"
        )),
        Refusal::Invalid => ApiError::invalid_request(format!(
            "会员卡已作废 (user card {code} of template {card_id} is INVALID: it can no longer \
             change)"
        )),
        Refusal::UserHasEffective => ApiError::invalid_request(format!(
            "用户已有已生效的会员卡 (the user already has an EFFECTIVE card of template {card_id})"
        )),
        Refusal::UserHasUnactivated => ApiError::invalid_request(format!(
            "用户已有待激活的会员卡 (the user already has a card of template {card_id} awaiting \
             confirmation)"
        )),
        Refusal::CodeTaken => ApiError::invalid_request(format!(
            "会员卡code已存在 (code {code} already exists under template {card_id})"
        )),
        Refusal::NotAwaitingConfirmation => ApiError::not_found(format!(
            "用户不存在未激活的会员卡 (no card {code} of template {card_id} awaiting confirmation \
             for this user)"
        )),
    }
}
