//! The cryptography of WeChat Pay APIv3, on bytes and strings: no HTTP types, no endpoints.
//!
//! The merchant side signs requests, encrypts sensitive fields with WeChat Pay's key, verifies
//! responses and decrypts response fields; WeChat Pay's side (for a test server or a stand-in)
//! parses and verifies the merchant's `Authorization` header, decrypts request fields, encrypts
//! response fields and signs responses.
//!
//! ```
//! use wechatpay_signing::{
//!     MerchantCertificate, MerchantSigner, PrivateKey, ResponseHeaders, ResponseVerifier,
//!     WechatPayKeySet, WechatPayPublicKey,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Load once at start-up; every type here is cheap to clone and share across threads.
//! let key = PrivateKey::from_pem(include_str!("../tests/fixtures/merchant_key.pkcs8.pem"))?;
//! let certificate =
//!     MerchantCertificate::from_pem(include_str!("../tests/fixtures/merchant_cert.pem"))?;
//! let signer = MerchantSigner::from_certificate("1900000001", &certificate, key)?;
//! let keys = WechatPayKeySet::new().with_public_key(WechatPayPublicKey::from_pem(
//!     "PUB_KEY_ID_0119000000012026112600000000000001",
//!     include_str!("../tests/fixtures/wechatpay_pub.pem"),
//! )?);
//! let verifier = ResponseVerifier::new(keys.clone());
//!
//! // A request: encrypt the sensitive fields with one key, then sign the exact bytes sent.
//! let encryptor = keys.encryptor()?;
//! let phone = encryptor.encrypt("13800138000")?;
//! let body = format!(r#"{{"phone_number":"{}"}}"#, phone.ciphertext);
//! let url = "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";
//! let authorization = signer.authorization("PATCH", url, body.as_bytes())?;
//! // Send `Authorization: {authorization}` and `Wechatpay-Serial: {phone.key_id}`.
//! assert!(authorization.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\","));
//! assert_eq!(phone.key_id, "PUB_KEY_ID_0119000000012026112600000000000001");
//!
//! // Its 2xx answer: verify the raw body before parsing it. `verify` checks the timestamp
//! // against the clock; this recorded answer is from 2019, hence `verify_at`.
//! let response_body = include_bytes!("../tests/fixtures/response_body.json");
//! let headers = ResponseHeaders {
//!     timestamp: Some("1554209980"),
//!     nonce: Some("c5ac7061fccab6bf3e254dcf98995b8c"),
//!     signature: Some(include_str!("../tests/fixtures/response_signature.pubkey.b64")),
//!     serial: Some("PUB_KEY_ID_0119000000012026112600000000000001"),
//!     signature_type: Some("WECHATPAY2-SHA256-RSA2048"),
//! };
//! verifier.verify_at(&headers, response_body, 1554209980)?;
//! # Ok(())
//! # }
//! ```
//!
//! WeChat Pay's side, as a test server sees a request and answers it:
//!
//! ```
//! use wechatpay_signing::{AuthorizationHeader, PrivateKey, PublicKey, WechatPaySigner};
//! # use wechatpay_signing::{MerchantSigner, SensitiveEncryptor};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechatpay = WechatPaySigner::new(
//!     "PUB_KEY_ID_0119000000012026112600000000000001",
//!     PrivateKey::from_pem(include_str!("../tests/fixtures/wechatpay_key.pem"))?,
//! )?;
//! // The merchant's public key, here from its API certificate.
//! let merchant_key = PublicKey::from_pem(include_str!("../tests/fixtures/merchant_cert.pem"))?;
//! # let merchant = MerchantSigner::new(
//! #     "1900000001",
//! #     "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
//! #     PrivateKey::from_pem(include_str!("../tests/fixtures/merchant_key.pkcs1.pem"))?,
//! # )?;
//! # let encryptor = SensitiveEncryptor::new(wechatpay.key_id(), wechatpay.public_key().clone())?;
//! # let ciphertext = encryptor.encrypt("13800138000")?.ciphertext;
//! # let (url, body) = ("/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0", b"{}");
//! # let authorization = merchant.authorization("PATCH", url, body)?;
//!
//! // A request as received: header, method, URL and body bytes exactly as on the wire.
//! let header = AuthorizationHeader::parse(&authorization)?;
//! assert_eq!(header.mchid(), "1900000001");
//! assert_eq!(header.serial(), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1");
//! header.verify(&merchant_key, "PATCH", url, body)?;
//! let phone = wechatpay.decrypt(&ciphertext)?;
//! assert_eq!(phone.as_str(), "13800138000");
//!
//! // The answer: sign the exact body sent, and send the five headers.
//! let response = wechatpay.sign_response(br#"{"user_card_code":"478515832665"}"#)?;
//! for (name, value) in response.headers() {
//!     assert!(name.starts_with("Wechatpay-") && !value.is_empty());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # The protocol
//!
//! - Request signature: SHA256withRSA (RSASSA-PKCS1-v1_5) by the merchant API key over
//!   `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`, in
//!   `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`:
//!   [`MerchantSigner`] makes it, [`AuthorizationHeader`] parses and verifies it.
//! - Response (and callback) signature: the same algorithm by WeChat Pay over
//!   `TIMESTAMP\nNONCE\nBODY\n`, in the headers `Wechatpay-Timestamp`, `-Nonce`, `-Signature`
//!   and `-Serial`: [`WechatPaySigner`] makes it, [`ResponseVerifier`] verifies it with the key
//!   of a [`WechatPayKeySet`] named by `Wechatpay-Serial` (a [`WechatPayPublicKey`] or a
//!   [`PlatformCertificate`], both at once during a migration), within 300 s of local time.
//!   WeChat Pay's probe signatures (`WECHATPAY/SIGNTEST/…`) fail with their own error,
//!   [`VerifyError::ProbeSignature`].
//! - Sensitive fields: RSAES-OAEP with SHA-1 and MGF1-SHA-1, base64, at most 214 bytes with an
//!   RSA-2048 key: [`SensitiveEncryptor`] (which also gives the key id for `Wechatpay-Serial`),
//!   [`MerchantSigner::decrypt`], [`WechatPaySigner::decrypt`]. Decrypted text comes back in a
//!   [`Zeroizing`](zeroize::Zeroizing) string.
//! - Notifications (callbacks): WeChat Pay POSTs a JSON event whose `resource` is encrypted with
//!   AES-256-GCM under the merchant's APIv3 key (the 32 characters set in the merchant
//!   platform): the nonce is the 12 bytes of the resource's `nonce` string, the associated data
//!   the bytes of its `associated_data` string (empty when absent), and `ciphertext` the base64
//!   of the encrypted bytes followed by the 16-byte tag. [`ApiV3Key`] decrypts it (and
//!   encrypts one, for a test server). The request is signed like an answer, and
//!   [`NotificationVerifier`] (a [`ResponseVerifier`] under another name) checks it before the
//!   body is parsed.
//!
//! Every method that reads the clock or the random generator has an `_at` twin taking the
//! time (Unix seconds) and the nonce, for tests and reproducible vectors.
//!
//! # Backends
//!
//! One API, two implementations (RSA and AES-256-GCM) chosen by cargo feature:
//!
//! - `aws-lc` (default): [aws-lc-rs](https://docs.rs/aws-lc-rs), AWS-LC's C and assembly.
//!   It signs and verifies at OpenSSL's speed, and it is the TLS provider that reqwest's and
//!   rustls' defaults already compile, so it usually adds nothing to a build.
//! - `rust-crypto`: the pure-Rust [rsa](https://docs.rs/rsa) 0.10 with sha2 and sha1, and
//!   [aes-gcm](https://docs.rs/aes-gcm) 0.11, for targets without a C toolchain. It signs about 9 times slower, and **rsa is still listed
//!   under [RUSTSEC-2023-0071](https://rustsec.org/advisories/RUSTSEC-2023-0071.html), the
//!   Marvin timing attack**, which can recover a private key from the timing of many
//!   decryptions or signatures observed over a network. Blinding is on (rsa's default
//!   `getrandom` feature), which the advisory does not count as a fix. This is why `aws-lc` is
//!   the default; prefer it wherever a private key serves traffic.
//!
//! With both features on, the public API uses `aws-lc` (both are compiled, and the tests check
//! one against the other). Key formats (PEM, PKCS#8, PKCS#1, SPKI, X.509) are parsed in pure
//! Rust by the RustCrypto formats crates whatever the backend, and each key is parsed once,
//! when it is loaded.
//!
//! # Secrets
//!
//! Private keys live in the backend (AWS-LC cleanses its memory when freeing it; rsa zeroizes
//! its keys on drop); the PEM and DER buffers this crate decodes them from are zeroized, and so
//! is the APIv3 key and every decrypted plaintext. No
//! `Debug` output and no error shows key material or a sensitive plaintext: errors name what
//! was expected and what was found (a PEM label, an algorithm, a size).

#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
compile_error!(
    "wechatpay-signing needs a cryptographic backend: enable the feature \"aws-lc\" (the \
     default) or \"rust-crypto\""
);

mod authorization;
mod backend;
mod certificate;
mod clock;
mod encryption;
mod error;
mod formats;
pub mod header;
mod ids;
mod key_set;
mod keys;
mod merchant;
mod message;
mod nonce;
mod notification;
mod pem;
mod verifier;
mod wechatpay;

#[cfg(all(test, feature = "aws-lc", feature = "rust-crypto"))]
mod cross_backend_tests;

pub use authorization::AuthorizationHeader;
pub use certificate::{MerchantCertificate, PlatformCertificate, WechatPayPublicKey};
pub use encryption::{EncryptedValue, SensitiveEncryptor};
pub use error::{AuthorizationError, CryptoError, KeyError, VerifyError};
pub use key_set::WechatPayKeySet;
pub use keys::{PrivateKey, PublicKey};
pub use merchant::MerchantSigner;
pub use notification::{
    API_V3_KEY_LEN, ApiV3Key, MAX_RESOURCE_CIPHERTEXT_LEN, MAX_RESOURCE_PLAINTEXT_LEN,
    NotificationVerifier, RESOURCE_ALGORITHM, RESOURCE_NONCE_LEN,
};
pub use verifier::{DEFAULT_WINDOW, ResponseHeaders, ResponseVerifier};
pub use wechatpay::{ResponseSignature, WechatPaySigner};

/// The backend the public API uses: `"aws-lc"` whenever that feature is on, else `"rust-crypto"`.
pub const BACKEND: &str = <backend::Selected as backend::Backend>::NAME;
