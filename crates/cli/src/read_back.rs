//! Turning an answer that cannot say into one that does: after an answer that failed
//! verification, or a refusal of a repeat (what a retry meets after a lost answer of a request
//! that was applied), read the card back with a GET and see whether it holds what was sent.
//!
//! "Holds what was sent": every field of the body as sent (sensitive values compared in
//! plaintext, after decrypting the card read back) equals the card's (objects compared field by
//! field, what the body sent only; arrays item by item), `user_card_confirm_state` excepted (not
//! a card field); after an invalidate the card is also `INVALID`, after a confirm no longer
//! `UNACTIVATED` (`EFFECTIVE` for `CREATE_CARD_SUCCESS`). A request that does not name the card
//! fully (code, card_id, brand_id and openid: an import by phone has no openid) cannot be read
//! back: its outcome stays as the answer left it.

use serde_json::Value;
use wechatpay_card_client::models::{Endpoint, EndpointRequest, GetUserCardRequest};
use wechatpay_card_client::{Client, ErrorKind};

/// How many times a read-back is tried when its own answer fails verification.
const READS: usize = 3;

/// What the card must hold, beyond the fields of the body sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The body's fields only (update, imports).
    Body,
    /// The card is `INVALID` (invalidate).
    Invalidated,
    /// The card left `UNACTIVATED` (confirm).
    Confirmed,
}

/// A read-back to do, if need be, with the body as sent (its sensitive values kept in their
/// zeroizing type until a comparison needs them).
pub(crate) struct Check<B> {
    code: String,
    card_id: String,
    brand_id: String,
    openid: String,
    sent: B,
    expect: Expect,
}

/// A read-back that found the card holding what was sent.
pub(crate) struct Confirmed {
    /// The Request-ID of the GET's answer.
    pub(crate) request_id: Option<String>,
}

impl<B: serde::Serialize + Clone> Check<B> {
    /// The read-back of `request` (to be made before it is sent: its body is still in
    /// plaintext); `None` when the request does not name the card fully.
    pub(crate) fn of<R>(expect: Expect, request: &R) -> Option<Self>
    where
        R: EndpointRequest,
        R::Endpoint: Endpoint<Body = B>,
    {
        let value = |name: &str| request.bound_value(name).map(str::to_string);
        Some(Self {
            code: value("user_card_code")?,
            card_id: value("card_id")?,
            brand_id: value("brand_id")?,
            openid: value("openid")?,
            sent: request.body().clone(),
            expect,
        })
    }

    /// Reads the card back: `Some` when it holds what was sent.
    pub(crate) async fn run(&self, client: &Client) -> Option<Confirmed> {
        let get = GetUserCardRequest::builder()
            .user_card_code(self.code.as_str())
            .card_id(self.card_id.as_str())
            .brand_id(self.brand_id.as_str())
            .openid(self.openid.as_str())
            .build()
            .ok()?;
        for _ in 0..READS {
            match client.execute(get.clone()).await {
                Ok(verified) => {
                    let request_id = verified.request_id().map(str::to_string);
                    let mut card = verified.into_inner();
                    client.decrypt(&mut card).ok()?;
                    let card = serde_json::to_value(&card).ok()?;
                    let sent = serde_json::to_value(&self.sent).ok()?;
                    return holds(&card, &sent, self.expect).then_some(Confirmed { request_id });
                }
                // A GET changes nothing: reading again is safe.
                Err(e) if matches!(e.kind(), ErrorKind::Signature | ErrorKind::InvalidResponse) => {
                }
                Err(_) => return None,
            }
        }
        None
    }
}

/// Whether `card` holds `sent` (the body as sent) and what `expect` adds.
pub(crate) fn holds(card: &Value, sent: &Value, expect: Expect) -> bool {
    let Some(fields) = sent.as_object() else {
        return false;
    };
    let state = card.get("user_card_state").and_then(Value::as_str);
    let state_ok = match expect {
        Expect::Body => true,
        Expect::Invalidated => state == Some("INVALID"),
        Expect::Confirmed => match sent.get("user_card_confirm_state").and_then(Value::as_str) {
            Some("CREATE_CARD_SUCCESS") => state == Some("EFFECTIVE"),
            _ => state.is_some_and(|s| s != "UNACTIVATED"),
        },
    };
    state_ok
        && fields
            .iter()
            .filter(|(name, _)| name.as_str() != "user_card_confirm_state")
            .all(|(name, value)| card.get(name).is_some_and(|held| within(value, held)))
}

/// Whether `held` holds `sent`: objects field by field (the fields sent), arrays item by item,
/// anything else equal.
fn within(sent: &Value, held: &Value) -> bool {
    match (sent, held) {
        (Value::Object(sent), Value::Object(held)) => sent
            .iter()
            .all(|(name, value)| held.get(name).is_some_and(|h| within(value, h))),
        (Value::Array(sent), Value::Array(held)) => {
            sent.len() == held.len() && sent.iter().zip(held).all(|(s, h)| within(s, h))
        }
        (Value::Null, _) => true,
        _ => sent == held,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_card_holds_what_was_sent_field_by_field() {
        let card = json!({
            "openid": "o1", "level": "gold", "user_card_state": "EFFECTIVE",
            "user_information": {"common_field_list": [{"name": "N", "value": "v"}]},
        });
        let sent = json!({"openid": "o1", "level": "gold"});
        assert!(holds(&card, &sent, Expect::Body));
        assert!(!holds(&card, &json!({"level": "silver"}), Expect::Body));
        assert!(
            !holds(&card, &json!({"attach": "a"}), Expect::Body),
            "a field the card lacks"
        );
        let info =
            json!({"user_information": {"common_field_list": [{"name": "N", "value": "v"}]}});
        assert!(holds(&card, &info, Expect::Body));
        let other =
            json!({"user_information": {"common_field_list": [{"name": "N", "value": "w"}]}});
        assert!(!holds(&card, &other, Expect::Body));
        let longer = json!({"user_information": {"common_field_list": [
            {"name": "N", "value": "v"}, {"name": "M", "value": "v"}]}});
        assert!(!holds(&card, &longer, Expect::Body));
        assert!(!holds(&card, &json!("x"), Expect::Body));
    }

    #[test]
    fn states_are_checked_after_invalidate_and_confirm() {
        let card = |state: &str| json!({"openid": "o1", "user_card_state": state});
        let sent = json!({"openid": "o1"});
        assert!(holds(&card("INVALID"), &sent, Expect::Invalidated));
        assert!(!holds(&card("EFFECTIVE"), &sent, Expect::Invalidated));
        let success = json!({"openid": "o1", "user_card_confirm_state": "CREATE_CARD_SUCCESS"});
        assert!(holds(&card("EFFECTIVE"), &success, Expect::Confirmed));
        assert!(!holds(&card("UNACTIVATED"), &success, Expect::Confirmed));
        assert!(!holds(&card("INVALID"), &success, Expect::Confirmed));
        let fail = json!({"openid": "o1", "user_card_confirm_state": "CREATE_CARD_FAIL"});
        assert!(holds(&card("INVALID"), &fail, Expect::Confirmed));
        assert!(!holds(&card("UNACTIVATED"), &fail, Expect::Confirmed));
    }
}
