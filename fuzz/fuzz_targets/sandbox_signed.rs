//! The sandbox's request handling past the signature check: structure-aware requests (an
//! endpoint, its parameters, a JSON body with fields the schema knows or not, sensitive values
//! encrypted with WeChat Pay's key or not) signed with the merchant's test key, so that the
//! header, parameter and body checks, the decryption and the handlers run. The nonce is fresh,
//! or (one input in 16) from a small set, and the timestamp may be skewed: replays and stale
//! requests are tried too.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wechatpay_card_fuzz as common;
use wechatpay_sandbox::Sandbox;
use wechatpay_signing::{MerchantSigner, PrivateKey, PublicKey, SensitiveEncryptor};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    sandbox: Sandbox,
    signer: MerchantSigner,
    encryptor: SensitiveEncryptor,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let sandbox = runtime
        .block_on(
            Sandbox::builder()
                .mchid(common::MCHID)
                .merchant_serial(common::MERCHANT_SERIAL)
                .merchant_public_key_pem(common::MERCHANT_PUB_PEM)
                .wechatpay_private_key_pem(common::WECHATPAY_KEY_PEM)
                .wechatpay_public_key_id(common::WECHATPAY_KEY_ID)
                .nonce_capacity(1 << 16)
                .start(),
        )
        .expect("the sandbox starts");
    let key = PrivateKey::from_pem(common::MERCHANT_KEY_PEM).expect("the merchant key");
    let signer =
        MerchantSigner::new(common::MCHID, common::MERCHANT_SERIAL, key).expect("a signer");
    let public = PublicKey::from_pem(common::WECHATPAY_PUB_PEM).expect("WeChat Pay's key");
    let encryptor =
        SensitiveEncryptor::new(common::WECHATPAY_KEY_ID, public).expect("an encryptor");
    Fixture {
        runtime,
        sandbox,
        signer,
        encryptor,
    }
});

/// Counts the fresh nonces.
static NONCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Whether to print which check answered each input on stderr (`FUZZ_TRACE=1`): run over the
/// corpus with `-runs=0`, it shows how many inputs get past the signature check.
static TRACE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("FUZZ_TRACE").is_some());

/// A value from a few the sandbox knows (the page's example card), or any text.
#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Any(String),
}

const KNOWN: &[&str] = &[
    "478515832665",
    "pbLatjvWOibDc5-TBnbUk1pD12o0",
    "1004",
    "obLatjnx9gnqzS4myYGmLZ7LgLBA",
    "13800138000",
    "FIX_TIME_RANGE",
    "2020-05-20T13:29:35.120+08:00",
    "#FFFF00",
    "https://example.com/a.png",
    "EFFECTIVE",
    "",
];

impl Text {
    fn get(&self) -> String {
        match self {
            Self::Known(i) => KNOWN[usize::from(*i) % KNOWN.len()].to_owned(),
            Self::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(Text),
    /// Encrypted with WeChat Pay's key (a sensitive field's value).
    Sealed(Text),
    Array(Vec<Json>),
    Object(Vec<(Text, Json)>),
}

impl Json {
    fn value(&self, f: &Fixture, depth: u32) -> Value {
        if depth > 6 {
            return Value::Null;
        }
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::Str(t) => Value::String(t.get()),
            Self::Sealed(t) => Value::String(
                f.encryptor
                    .encrypt(&t.get())
                    .map_or_else(|_| t.get(), |e| e.ciphertext),
            ),
            Self::Array(items) => items.iter().map(|j| j.value(f, depth + 1)).collect(),
            Self::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.get(), v.value(f, depth + 1)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// A body field: one the schemas name, or any.
const FIELDS: &[&str] = &[
    "brand_id",
    "openid",
    "card_id",
    "user_card_code",
    "card_color",
    "card_picture_url",
    "phone_number",
    "level",
    "attach",
    "invalid_reason",
    "pickup_time",
    "valid_date_information",
    "user_information",
    "common_field_list",
    "custom_field_list",
    "date_type",
    "available_begin_time",
    "available_end_time",
    "days",
    "name",
    "value",
    "out_request_no",
    "confirm_state",
    "result_code",
];

#[derive(Arbitrary, Debug)]
enum Body {
    None,
    Raw(Vec<u8>),
    Fields(Vec<(u8, Json)>),
    Any(Json),
}

#[derive(Arbitrary, Debug)]
struct Input {
    endpoint: u8,
    code: Text,
    card_id: Text,
    brand_id: Text,
    openid: Text,
    extra_query: Option<String>,
    /// Replaces the request-target outright.
    raw_target: Option<String>,
    body: Body,
    nonce: u8,
    skew: i16,
    user_agent: bool,
    accept: Option<String>,
    content_type: Option<String>,
    serial: Option<Text>,
    /// Sign a request-target other than the one sent.
    sign_other_target: bool,
}

fuzz_target!(|input: Input| {
    let f = &*FIXTURE;
    let enc = |t: &Text| {
        let s = t.get();
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    let (code, card, brand, openid) = (
        enc(&input.code),
        enc(&input.card_id),
        enc(&input.brand_id),
        enc(&input.openid),
    );
    let base = "/v3/brand/partner/card-member/user-cards";
    let (method, mut target) = match input.endpoint % 7 {
        0 => (
            "GET",
            format!("{base}/{code}?brand_id={brand}&card_id={card}&openid={openid}"),
        ),
        1 => (
            "GET",
            format!("{base}?brand_id={brand}&openid={openid}&offset=0&limit=10"),
        ),
        2 => ("PATCH", format!("{base}/{code}?card_id={card}")),
        3 => (
            "POST",
            format!("{base}/{code}/invalidate?brand_id={brand}&card_id={card}"),
        ),
        4 => ("POST", format!("{base}/import-by-openid")),
        5 => ("POST", format!("{base}/import-by-phone")),
        _ => ("POST", format!("{base}/{code}/confirm?card_id={card}")),
    };
    if let Some(extra) = &input.extra_query {
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(extra);
    }
    if let Some(raw) = &input.raw_target {
        target.clone_from(raw);
    }
    let body: Vec<u8> = match &input.body {
        Body::None => Vec::new(),
        Body::Raw(bytes) => bytes.clone(),
        Body::Fields(fields) => {
            let map: Map<String, Value> = fields
                .iter()
                .map(|(i, v)| {
                    (
                        FIELDS[usize::from(*i) % FIELDS.len()].to_owned(),
                        v.value(f, 0),
                    )
                })
                .collect();
            serde_json::to_vec(&map).unwrap_or_default()
        }
        Body::Any(json) => serde_json::to_vec(&json.value(f, 0)).unwrap_or_default(),
    };
    let now = common::unix_now();
    let timestamp = now.saturating_add_signed(i64::from(input.skew));
    // One input in 16 reuses a nonce from a small set (a replay when it was used in the same
    // second); the others get a fresh one, else at a few hundred runs a second most inputs
    // would stop at the replay check. (A 0 byte, what `arbitrary` gives once the input is used
    // up, is fresh.)
    let nonce = if input.nonce >= 0xF0 {
        format!("FUZZNONCE{:02X}{timestamp}", input.nonce & 0x0F)
    } else {
        let n = NONCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("FUZZFRESH{n}T{timestamp}")
    };
    let signed_target = if input.sign_other_target {
        format!("{target}x")
    } else {
        target.clone()
    };
    let Ok(authorization) =
        f.signer
            .authorization_at(method, &signed_target, &body, timestamp, &nonce)
    else {
        return;
    };
    let mut request = http::Request::builder()
        .method(method)
        .uri(target.as_str())
        .header("Authorization", authorization);
    if input.user_agent {
        request = request.header("User-Agent", "fuzz/1.0");
    }
    if let Some(accept) = &input.accept {
        request = request.header("Accept", accept.as_str());
    } else {
        request = request.header("Accept", "application/json");
    }
    if let Some(content_type) = &input.content_type {
        request = request.header("Content-Type", content_type.as_str());
    } else if !body.is_empty() {
        request = request.header("Content-Type", "application/json");
    }
    let serial = input
        .serial
        .as_ref()
        .map_or_else(|| common::WECHATPAY_KEY_ID.to_owned(), Text::get);
    request = request.header("Wechatpay-Serial", serial.as_str());
    let Ok(request) = request.body(Bytes::from(body)) else {
        return;
    };
    let (status, _headers, body) = f
        .runtime
        .block_on(wechatpay_sandbox::fuzzing::handle(&f.sandbox, request));
    assert!(status.as_u16() >= 200, "the sandbox answered {status}");
    if *TRACE {
        // Which check answered: the status and the error body's code (none for a 2xx).
        let answer = serde_json::from_slice::<Value>(&body).unwrap_or_default();
        let text = |name: &str| answer.get(name).and_then(Value::as_str).unwrap_or_default();
        let message: String = text("message").chars().take(48).collect();
        eprintln!(
            "sandbox_signed: {method} {} {} {message}",
            status.as_u16(),
            text("code")
        );
    }
});
