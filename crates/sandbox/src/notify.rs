//! Simulated users and the card event notifications their actions cause: a user opens a card
//! (`MEMBERCARDSP.USER_CARD.CREATE`) or deletes one (`MEMBERCARDSP.USER_CARD.DELETE`), and the
//! sandbox POSTs the signed, encrypted notification to the notify URL with WeChat Pay's retry
//! rule, recording every attempt.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use tokio::sync::watch;
use wechatpay_card_models::{Timestamp, UserCard, UserCardState};
use wechatpay_signing::ApiV3Key;
use zeroize::Zeroizing;

use crate::SandboxError;
use crate::answer::{self, ApiError};
use crate::endpoint::{echo, encrypt_for_merchant};
use crate::handlers::{self, now};
use crate::server::Shared;
use crate::store;

/// The event type of a user opening a card.
pub const EVENT_CREATE: &str = "MEMBERCARDSP.USER_CARD.CREATE";
/// The event type of a user deleting a card.
pub const EVENT_DELETE: &str = "MEMBERCARDSP.USER_CARD.DELETE";
/// The default pause between two delivery attempts of a notification: 60 s, as WeChat Pay.
pub const DEFAULT_NOTIFY_INTERVAL: Duration = Duration::from_secs(60);
/// The default number of retries after a failed first attempt: 11, as WeChat Pay.
pub const DEFAULT_NOTIFY_RETRIES: u32 = 11;
/// How long one delivery attempt may take (connection, request and the answer's head): 5 s,
/// the time WeChat Pay gives a notify URL to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// The most delivery attempts remembered; beyond, the oldest records are forgotten.
pub const MAX_DELIVERY_RECORDS: usize = 10_000;
/// The `associated_data` and `original_type` of a card event's resource.
const ORIGINAL_TYPE: &str = "user_card";
/// How many random codes are tried when an open-card gives none.
const CODE_TRIES: usize = 16;

/// One delivery attempt of a notification, as [`crate::Sandbox::deliveries`] and
/// `GET /_sandbox/notifications` list them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// The notification's `id`.
    pub notification_id: String,
    /// Its `event_type`.
    pub event_type: String,
    /// 1 for the first attempt, 2 for the first retry, and so on.
    pub attempt: u32,
    /// The HTTP status answered, when an answer came.
    pub status: Option<u16>,
    /// Why no answer came (connection refused, the 5 s timeout, …), when none came.
    pub error: Option<String>,
    /// When the attempt ended, RFC 3339 in +08:00.
    pub time: Timestamp,
}

impl Delivery {
    /// Whether the notify URL answered 2xx: the notification was delivered.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What a simulated user's action gives: the card (sensitive values in plaintext) and the id of
/// the notification sent about it (`None` without a notify URL: nothing is sent).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UserEvent {
    /// The card opened, or the card as it was when deleted.
    pub card: UserCard,
    /// The notification's `id`, when one is delivered.
    pub notification_id: Option<String>,
}

/// The notification settings of a sandbox.
pub(crate) struct Notifier {
    url: Option<reqwest::Url>,
    interval: Duration,
    retries: u32,
    key: ApiV3Key,
    key_text: Zeroizing<String>,
    client: reqwest::Client,
    log: Mutex<VecDeque<Delivery>>,
    stop: watch::Receiver<bool>,
}

/// Checks a notify URL: `http(s)://host[:port]/path`, no user name or password, no fragment.
pub(crate) fn parse_notify_url(url: &str) -> Result<reqwest::Url, SandboxError> {
    let bad = |why: &str| SandboxError::Config(format!("notify URL {}: {why}", echo(url)));
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("a host is required"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("a user name or password is not allowed"));
    }
    if parsed.fragment().is_some() {
        return Err(bad("a fragment is not allowed"));
    }
    Ok(parsed)
}

/// `len` characters from `[0-9A-Za-z]`, from the operating system's generator.
fn random_alphanumeric(len: usize) -> Result<String, SandboxError> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    let mut buffer = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buffer)
            .map_err(|e| SandboxError::Config(format!("the system's random generator: {e}")))?;
        // 248 = 4 × 62: rejection keeps every character equally likely.
        for byte in buffer.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(*byte % 62)]));
        }
    }
    buffer.fill(0);
    Ok(out)
}

/// A notification id: 128 random bits written as a UUID (version 4).
fn notification_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        b = fastrand::u128(..).to_be_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl Notifier {
    /// The notifier of a sandbox about to start. `key` is the APIv3 key given, or `None` for a
    /// generated one.
    pub(crate) fn new(
        url: Option<&str>,
        interval: Duration,
        retries: u32,
        key: Option<Zeroizing<String>>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, SandboxError> {
        let url = url.map(parse_notify_url).transpose()?;
        let key_text = match key {
            Some(key) => key,
            None => Zeroizing::new(random_alphanumeric(32)?),
        };
        let key: ApiV3Key = key_text.parse().map_err(|e| {
            SandboxError::Config(format!(
                "the APIv3 key: {e} (it is 32 bytes, e.g. 32 ASCII letters and digits)"
            ))
        })?;
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!(
                "wechatpay-sandbox/",
                env!("CARGO_PKG_VERSION"),
                " (notify)"
            ))
            .build()
            .map_err(|e| SandboxError::Config(format!("the notification HTTP client: {e}")))?;
        Ok(Self {
            url,
            interval,
            retries,
            key,
            key_text,
            client,
            log: Mutex::new(VecDeque::new()),
            stop,
        })
    }

    /// The APIv3 key, as the env file writes it.
    pub(crate) fn key_text(&self) -> &str {
        &self.key_text
    }

    /// The notify URL, if any.
    pub(crate) fn url(&self) -> Option<&str> {
        self.url.as_ref().map(reqwest::Url::as_str)
    }

    /// Every attempt remembered, in the order they ended.
    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Delivery>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, delivery: Delivery) {
        let mut log = self.lock();
        if log.len() >= MAX_DELIVERY_RECORDS {
            log.pop_front();
        }
        log.push_back(delivery);
    }
}

/// The notification's body: the card (sensitive fields encrypted for the merchant, as in an
/// answer) encrypted with the APIv3key in the envelope WeChat Pay sends.
fn notification_body(
    shared: &Shared,
    id: &str,
    event_type: &str,
    summary: &str,
    card: UserCard,
) -> Result<Vec<u8>, ApiError> {
    let plaintext = Zeroizing::new(encrypt_for_merchant(shared, card)?);
    let notifier = &shared.notifier;
    let nonce = ApiV3Key::new_resource_nonce()
        .map_err(|e| ApiError::system(format!("cannot make a resource nonce: {e}")))?;
    let ciphertext = notifier
        .key
        .encrypt_resource(&plaintext, &nonce, ORIGINAL_TYPE)
        .map_err(|e| ApiError::system(format!("cannot encrypt the notification: {e}")))?;
    // Seconds, as WeChat Pay writes create_time.
    let millis = crate::endpoint::unix_millis();
    let create_time = Timestamp::from_unix_millis(
        millis - millis.rem_euclid(1000),
        crate::endpoint::CHINA_OFFSET_MINUTES,
    );
    let body = serde_json::json!({
        "id": id,
        "create_time": create_time,
        "event_type": event_type,
        "resource_type": "encrypt-resource",
        "summary": summary,
        "resource": {
            "original_type": ORIGINAL_TYPE,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": ORIGINAL_TYPE,
            "nonce": nonce,
        },
    });
    serde_json::to_vec(&body).map_err(|e| ApiError::system(e.to_string()))
}

/// Sends a notification about `card` in the background, when there is a notify URL; returns
/// its id.
fn notify(
    shared: &Arc<Shared>,
    event_type: &'static str,
    summary: &str,
    card: UserCard,
) -> Result<Option<String>, ApiError> {
    let Some(url) = shared.notifier.url.clone() else {
        return Ok(None);
    };
    let id = notification_id();
    let body = notification_body(shared, &id, event_type, summary, card)?;
    tokio::spawn(deliver(shared.clone(), url, id.clone(), event_type, body));
    Ok(Some(id))
}

/// Resolves when the sandbox stops (or is dropped).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Delivers until a 2xx, at most 1 + retries times, `interval` apart; stops with the sandbox.
async fn deliver(
    shared: Arc<Shared>,
    url: reqwest::Url,
    id: String,
    event_type: &'static str,
    body: Vec<u8>,
) {
    let notifier = &shared.notifier;
    let mut stop = notifier.stop.clone();
    let body = Bytes::from(body);
    for attempt in 1..=notifier.retries.saturating_add(1) {
        if attempt > 1 {
            tokio::select! {
                () = stopped(&mut stop) => return,
                () = tokio::time::sleep(notifier.interval) => {}
            }
        }
        let outcome = tokio::select! {
            () = stopped(&mut stop) => return,
            outcome = attempt_once(&shared, &url, &body) => outcome,
        };
        let (status, error) = match outcome {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error)),
        };
        let delivery = Delivery {
            notification_id: id.clone(),
            event_type: event_type.to_owned(),
            attempt,
            status,
            error,
            time: now(),
        };
        tracing::debug!(
            notification_id = %id,
            attempt,
            status = ?delivery.status,
            error = ?delivery.error,
            "notification delivery attempt"
        );
        let delivered = delivery.delivered();
        notifier.record(delivery);
        if delivered {
            return;
        }
    }
    tracing::info!(notification_id = %id, "notification not delivered: no retry left");
}

/// One POST, freshly signed (a signature is valid 5 minutes, retries go on longer): the status,
/// or why there was none.
async fn attempt_once(shared: &Shared, url: &reqwest::Url, body: &Bytes) -> Result<u16, String> {
    let signature = shared
        .keys
        .wechatpay
        .sign_response(body)
        .map_err(|e| format!("cannot sign the notification: {e}"))?;
    let mut request = shared
        .notifier
        .client
        .post(url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.clone());
    for (name, value) in signature.headers() {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())
        } else {
            // The source chain says why (refused, reset, …).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    })?;
    Ok(response.status().as_u16())
}

/// A user opens a card: stored UNACTIVATED, then the CREATE notification.
pub(crate) fn open_card(
    shared: &Arc<Shared>,
    brand_id: Option<&str>,
    card_id: &str,
    user_card_code: Option<&str>,
    openid: &str,
) -> Result<UserEvent, ApiError> {
    if openid.is_empty() || card_id.is_empty() {
        return Err(ApiError::invalid_request(
            "card_id and openid must not be empty",
        ));
    }
    let store = &shared.store;
    let brand = store.template_brand(card_id).ok_or_else(|| {
        handlers::refused(
            store::Refusal::UnknownTemplate,
            card_id,
            "",
            brand_id.unwrap_or(""),
        )
    })?;
    if let Some(given) = brand_id
        && given != brand
    {
        return Err(handlers::refused(
            store::Refusal::OtherBrand,
            card_id,
            "",
            given,
        ));
    }
    let card = match user_card_code {
        Some("") => {
            return Err(ApiError::invalid_request(
                "user_card_code must not be empty (leave it out to have one generated)",
            ));
        }
        Some(code) => insert(shared, &brand, card_id, code, openid)
            .map_err(|r| handlers::refused(r, card_id, code, &brand))?,
        None => {
            let mut tries = 0;
            loop {
                let code: String = (0..12).map(|_| fastrand::digit(10)).collect();
                match insert(shared, &brand, card_id, &code, openid) {
                    Err(store::Refusal::CodeTaken) if tries < CODE_TRIES => tries += 1,
                    other => {
                        break other.map_err(|r| handlers::refused(r, card_id, &code, &brand))?;
                    }
                }
            }
        }
    };
    let notification_id = notify(shared, EVENT_CREATE, "用户领取会员卡", card.clone())?;
    Ok(UserEvent {
        card,
        notification_id,
    })
}

fn insert(
    shared: &Shared,
    brand: &str,
    card_id: &str,
    code: &str,
    openid: &str,
) -> Result<UserCard, store::Refusal> {
    let card = store::new_card(
        brand,
        card_id,
        code,
        openid,
        UserCardState::Unactivated,
        now(),
    );
    shared.store.insert(card)
}

/// A user deletes a card: removed from the store, then the DELETE notification.
pub(crate) fn delete_card(
    shared: &Arc<Shared>,
    card_id: &str,
    user_card_code: &str,
) -> Result<UserEvent, ApiError> {
    let card = shared
        .store
        .remove(card_id, user_card_code)
        .map_err(|r| handlers::refused(r, card_id, user_card_code, ""))?;
    let notification_id = notify(shared, EVENT_DELETE, "用户删除会员卡", card.clone())?;
    Ok(UserEvent {
        card,
        notification_id,
    })
}

/// `POST /_sandbox/users/open-card`'s body.
#[derive(serde::Deserialize)]
struct OpenCard {
    brand_id: Option<String>,
    card_id: String,
    openid: String,
    user_card_code: Option<String>,
}

/// `POST /_sandbox/users/delete-card`'s body.
#[derive(serde::Deserialize)]
struct DeleteCard {
    card_id: String,
    user_card_code: String,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("the body is not the JSON expected: {e}")))
}

/// The admin answer: the card, the notification id and where it goes.
fn answered(shared: &Shared, result: Result<UserEvent, ApiError>) -> Response {
    match result {
        Ok(event) => {
            let delivery = match shared.notifier.url() {
                Some(url) if event.notification_id.is_some() => format!("to {url}"),
                _ => "none: the sandbox has no notify URL".to_owned(),
            };
            let body = serde_json::json!({
                "card": event.card,
                "notification_id": event.notification_id,
                "delivery": delivery,
            });
            answer::plain(StatusCode::OK, body.to_string().into_bytes(), "")
        }
        Err(error) => answer::plain(error.status, error.body(), ""),
    }
}

/// `POST /_sandbox/users/open-card`: `{"brand_id", "card_id", "openid", "user_card_code"}`
/// (`brand_id` and the code optional).
pub(crate) async fn hook_open_card(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let result = parse::<OpenCard>(&body).and_then(|b| {
        open_card(
            &shared,
            b.brand_id.as_deref(),
            &b.card_id,
            b.user_card_code.as_deref(),
            &b.openid,
        )
    });
    answered(&shared, result)
}

/// `POST /_sandbox/users/delete-card`: `{"card_id", "user_card_code"}`.
pub(crate) async fn hook_delete_card(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let result = parse::<DeleteCard>(&body)
        .and_then(|b| delete_card(&shared, &b.card_id, &b.user_card_code));
    answered(&shared, result)
}

/// `GET /_sandbox/notifications`: every delivery attempt remembered.
pub(crate) async fn hook_notifications(State(shared): State<Arc<Shared>>) -> Response {
    let body = serde_json::to_vec(&shared.notifier.deliveries()).unwrap_or_default();
    answer::plain(StatusCode::OK, body, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_urls_are_http_with_a_host() {
        for good in [
            "http://127.0.0.1:8080/notify",
            "https://example.com/a/b?x=1",
        ] {
            assert!(parse_notify_url(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://127.0.0.1/x",
            "127.0.0.1:80/x",
            "http://user:pw@127.0.0.1/x",
            "http://127.0.0.1/x#frag",
            "",
        ] {
            let error = parse_notify_url(bad).unwrap_err().to_string();
            assert!(error.contains("notify URL"), "{bad}: {error}");
        }
    }

    #[test]
    fn generated_keys_are_32_alphanumerics_and_differ() {
        let a = random_alphanumeric(32).unwrap();
        let b = random_alphanumeric(32).unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn notification_ids_look_like_uuids() {
        let id = notification_id();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.as_bytes()[14], b'4', "{id}");
        assert_ne!(id, notification_id());
    }
}
