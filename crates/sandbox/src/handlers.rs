//! One small handler per endpoint: what it does to the store, and its refusals. Everything
//! before (signature, headers, parameters, body) is [`crate::endpoint`]'s.

use wechatpay_card_models::{Timestamp, UpdateUserCardBody};

use crate::answer::ApiError;
use crate::endpoint::{CHINA_OFFSET_MINUTES, Call, Done, echo, encrypt_for_merchant, unix_millis};
use crate::store::{Refusal, UserInfoSent};

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
