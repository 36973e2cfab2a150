//! Helpers of the sandbox's tests: shared keys, requests signed by hand with the signing crate's
//! `MerchantSigner`, and answers whose signature is checked twice (by the signing crate's
//! verifier, and by aws-lc-rs over a message built here) and whose `Request-ID` is checked
//! unique.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use wechatpay_sandbox::{Credentials, Sandbox, SandboxBuilder, Stats};
use wechatpay_signing::{
    MerchantSigner, PlatformCertificate, PrivateKey, ResponseHeaders, ResponseVerifier,
    SensitiveEncryptor, VerifyError, WechatPayKeySet, WechatPayPublicKey,
};
use zeroize::Zeroizing;

pub const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
pub const CODE: &str = "478515832665";
pub const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";
pub const BRAND: &str = "1004";
pub const MCHID: &str = "1900000001";
pub const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";

/// The `User-Agent` of the tests' requests (WeChat Pay refuses a request without one).
pub const USER_AGENT: &str = "wechatpay-sandbox-tests/0.1";

pub const PLATFORM_CERT: &str = include_str!("../../../signing/tests/fixtures/platform_cert.pem");
pub const PLATFORM_KEY: &str = include_str!("../../../signing/tests/fixtures/platform_key.pem");
pub const PLATFORM_CERT_EXPIRED: &str =
    include_str!("../../../signing/tests/fixtures/platform_cert_expired.pem");
pub const PLATFORM_SERIAL: &str = "8F5C2D0B1E4A6C7D9E0F1A2B3C4D5E6F70819203";

/// `/v3/brand/partner/card-member/user-cards/{code}?card_id={card_id}`, as given (no encoding).
pub fn url(code: &str, card_id: &str) -> String {
    format!("/v3/brand/partner/card-member/user-cards/{code}?card_id={card_id}")
}

/// The default card's URL.
pub fn card_url() -> String {
    url(CODE, CARD_ID)
}

/// Keys generated once per test binary (RSA key generation is the slow part of a start).
pub fn credentials() -> Credentials {
    static CREDENTIALS: OnceLock<Credentials> = OnceLock::new();
    CREDENTIALS
        .get_or_init(|| {
            let merchant = PrivateKey::generate().unwrap();
            let wechatpay = PrivateKey::generate().unwrap();
            Credentials {
                mchid: MCHID.to_owned(),
                merchant_serial: MERCHANT_SERIAL.to_owned(),
                merchant_private_key_pem: Some(merchant.to_pkcs8_pem().unwrap()),
                merchant_public_key_pem: merchant.public_key().to_spki_pem(),
                wechatpay_key_id: KEY_ID.to_owned(),
                wechatpay_public_key_pem: wechatpay.public_key().to_spki_pem(),
                wechatpay_private_key_pem: wechatpay.to_pkcs8_pem().unwrap(),
                platform_certificate_pem: None,
            }
        })
        .clone()
}

/// The counts of [`Stats`] the tests compare: requests, updates applied, reads answered, faults
/// injected.
pub fn counters(stats: &Stats) -> (u64, u64, u64, u64) {
    (
        stats.requests,
        stats.updates_applied,
        stats.reads_answered,
        stats.faults_injected,
    )
}

/// A builder with the shared keys.
pub fn builder() -> SandboxBuilder {
    Sandbox::builder().credentials(credentials())
}

/// A sandbox with the shared keys and the page's example card.
pub async fn start() -> Sandbox {
    builder().start().await.unwrap()
}

/// An answer, as received.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The error `code`.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// `detail.field` and `detail.location`.
    pub fn detail(&self) -> (String, String) {
        let json = self.json();
        let d = &json["detail"];
        (
            d["field"].as_str().unwrap_or_default().to_owned(),
            d["location"].as_str().unwrap_or_default().to_owned(),
        )
    }

    pub fn response_headers(&self) -> ResponseHeaders<'_> {
        ResponseHeaders::from_lookup(|name| self.header(name))
    }
}

fn seen_request_ids() -> &'static Mutex<HashSet<String>> {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    SEEN.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Asserts that the answer carries a `Request-ID` never seen before in this test binary.
pub fn check_request_id(answer: &Answer) {
    let id = answer.header("Request-ID").expect("Request-ID").to_owned();
    assert!(!id.is_empty());
    assert!(
        seen_request_ids().lock().unwrap().insert(id.clone()),
        "Request-ID {id} seen twice"
    );
}

/// The DER inside a PEM block.
pub fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    BASE64.decode(b64).unwrap()
}

/// A merchant's view of a sandbox: signs requests, verifies answers.
pub struct Client {
    pub http: reqwest::Client,
    pub base_url: String,
    pub creds: Credentials,
    pub signer: MerchantSigner,
    pub verifier: ResponseVerifier,
    pub encryptor: SensitiveEncryptor,
    /// WeChat Pay's key as SPKI DER, for the independent check.
    wechatpay_spki: Vec<u8>,
}

/// A reqwest client that never uses a proxy (the sandbox is on loopback).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

impl Client {
    pub fn new(sandbox: &Sandbox) -> Self {
        Self::for_url(sandbox.base_url(), sandbox.credentials().clone())
    }

    pub fn for_url(base_url: &str, creds: Credentials) -> Self {
        let key = PrivateKey::from_pem(creds.merchant_private_key_pem.as_ref().unwrap()).unwrap();
        let signer = MerchantSigner::new(&creds.mchid, &creds.merchant_serial, key).unwrap();
        let keys = match &creds.platform_certificate_pem {
            Some(cert) => WechatPayKeySet::new()
                .with_certificate(PlatformCertificate::from_pem(cert).unwrap()),
            None => WechatPayKeySet::new().with_public_key(
                WechatPayPublicKey::from_pem(
                    &creds.wechatpay_key_id,
                    &creds.wechatpay_public_key_pem,
                )
                .unwrap(),
            ),
        };
        let encryptor = keys.encryptor().unwrap();
        assert_eq!(encryptor.key_id(), creds.wechatpay_key_id);
        Self {
            http: http(),
            base_url: base_url.to_owned(),
            wechatpay_spki: pem_der(&creds.wechatpay_public_key_pem),
            creds,
            signer,
            verifier: ResponseVerifier::new(keys),
            encryptor,
        }
    }

    /// Encrypts a value for WeChat Pay (the sandbox).
    pub fn encrypt(&self, plaintext: &str) -> String {
        self.encryptor.encrypt(plaintext).unwrap().ciphertext
    }

    /// Decrypts a value encrypted for the merchant.
    pub fn decrypt(&self, ciphertext: &str) -> Zeroizing<String> {
        self.signer.decrypt(ciphertext).unwrap()
    }

    /// The headers a good request carries: signed `Authorization`, `Accept`, `Content-Type`,
    /// `Wechatpay-Serial`, `User-Agent`, in this order.
    pub fn headers(&self, method: &str, url: &str, body: &[u8]) -> Vec<(String, String)> {
        vec![
            (
                "Authorization".to_owned(),
                self.signer.authorization(method, url, body).unwrap(),
            ),
            ("Accept".to_owned(), "application/json".to_owned()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
            (
                "Wechatpay-Serial".to_owned(),
                self.creds.wechatpay_key_id.clone(),
            ),
            ("User-Agent".to_owned(), USER_AGENT.to_owned()),
        ]
    }

    /// Sends a request as given; the answer is not checked.
    pub async fn send_raw(
        &self,
        method: &str,
        url: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(String, String)],
    ) -> Result<Answer, reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{url}", self.base_url))
            .body(body.into());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends a request as given and checks the answer: signed (both checks) and a new
    /// `Request-ID`.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(String, String)],
    ) -> Answer {
        let answer = self.send_raw(method, url, body, headers).await.unwrap();
        self.check(&answer);
        answer
    }

    /// A good PATCH of `body` to `url`, checked.
    pub async fn patch(&self, url: &str, body: &str) -> Answer {
        let headers = self.headers("PATCH", url, body.as_bytes());
        self.send("PATCH", url, body, &headers).await
    }

    /// Checks an answer's signature with the signing crate's verifier and independently, and
    /// its `Request-ID`.
    pub fn check(&self, answer: &Answer) {
        if let Err(e) = self.verify(answer) {
            panic!(
                "answer {} not verified: {e}; body {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
        self.verify_independently(answer);
        assert_eq!(
            answer.header("Wechatpay-Signature-Type"),
            Some("WECHATPAY2-SHA256-RSA2048")
        );
        assert_eq!(
            answer.header("Content-Type"),
            Some("application/json; charset=utf-8")
        );
        check_request_id(answer);
    }

    /// The signing crate's verdict on an answer.
    pub fn verify(&self, answer: &Answer) -> Result<(), VerifyError> {
        self.verifier
            .verify(&answer.response_headers(), &answer.body)
    }

    /// `TIMESTAMP\nNONCE\nBODY\n` built here, verified with aws-lc-rs and WeChat Pay's public key.
    pub fn verify_independently(&self, answer: &Answer) {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
        let mut message = Vec::new();
        message.extend_from_slice(answer.header("Wechatpay-Timestamp").unwrap().as_bytes());
        message.push(b'\n');
        message.extend_from_slice(answer.header("Wechatpay-Nonce").unwrap().as_bytes());
        message.push(b'\n');
        message.extend_from_slice(&answer.body);
        message.push(b'\n');
        let signature = BASE64
            .decode(answer.header("Wechatpay-Signature").unwrap())
            .unwrap();
        // SPKI DER: aws-lc-rs wants the RSAPublicKey inside; `parse` of the SPKI form works
        // through `ParsedPublicKey` in newer versions, so strip the SPKI wrapper by hand.
        let key = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            spki_to_pkcs1(&self.wechatpay_spki),
        );
        key.verify(&message, &signature)
            .expect("the answer's signature verifies over TIMESTAMP\\nNONCE\\nBODY\\n");
        assert_eq!(
            answer.header("Wechatpay-Serial"),
            Some(self.creds.wechatpay_key_id.as_str())
        );
    }
}

/// The `RSAPublicKey` (PKCS#1) inside an RSA `SubjectPublicKeyInfo`: the BIT STRING's content.
pub fn spki_to_pkcs1(spki: &[u8]) -> Vec<u8> {
    // SEQUENCE { SEQUENCE { OID, NULL }, BIT STRING { 0x00, RSAPublicKey } }
    fn header(der: &[u8], at: usize) -> (usize, usize) {
        let len_byte = der[at + 1];
        if len_byte < 0x80 {
            (at + 2, usize::from(len_byte))
        } else {
            let n = usize::from(len_byte & 0x7f);
            let len = der[at + 2..at + 2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (at + 2 + n, len)
        }
    }
    let (outer, _) = header(spki, 0);
    let (algorithm, algorithm_len) = header(spki, outer);
    let bit_string = algorithm + algorithm_len;
    assert_eq!(spki[bit_string], 0x03, "BIT STRING");
    let (content, len) = header(spki, bit_string);
    spki[content + 1..content + len].to_vec()
}
