//! Fixtures shared by the integration tests: see fixtures/README.md for how each was made.
#![allow(dead_code, clippy::unwrap_used)]

use wechatpay_signing::{
    MerchantSigner, PlatformCertificate, PrivateKey, WechatPayKeySet, WechatPayPublicKey,
};

pub(crate) const MCHID: &str = "1900000001";
pub(crate) const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub(crate) const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";
pub(crate) const PLATFORM_SERIAL: &str = "8F5C2D0B1E4A6C7D9E0F1A2B3C4D5E6F70819203";
pub(crate) const EXPIRED_SERIAL: &str = "3F1A2B3C4D5E6F708192A3B4C5D6E7F801234567";
pub(crate) const NOT_YET_VALID_SERIAL: &str = "6A7B8C9D0E1F2A3B4C5D6E7F8091A2B3C4D5E6F7";

pub(crate) const REQUEST_METHOD: &str = "PATCH";
pub(crate) const REQUEST_URL: &str =
    "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";
pub(crate) const REQUEST_TIMESTAMP: u64 = 1_554_208_460;
pub(crate) const REQUEST_NONCE: &str = "593BEC0C930BF1AFEB40B4A08C8FB242";

pub(crate) const RESPONSE_TIMESTAMP: u64 = 1_554_209_980;
pub(crate) const RESPONSE_NONCE: &str = "c5ac7061fccab6bf3e254dcf98995b8c";

pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn merchant_key() -> PrivateKey {
    PrivateKey::from_pem(&fixture("merchant_key.pkcs8.pem")).unwrap()
}

pub(crate) fn merchant_signer() -> MerchantSigner {
    MerchantSigner::new(MCHID, MERCHANT_SERIAL, merchant_key()).unwrap()
}

pub(crate) fn wechatpay_public_key() -> WechatPayPublicKey {
    WechatPayPublicKey::from_pem(PUBLIC_KEY_ID, &fixture("wechatpay_pub.pem")).unwrap()
}

pub(crate) fn platform_certificate() -> PlatformCertificate {
    PlatformCertificate::from_pem(&fixture("platform_cert.pem")).unwrap()
}

/// The migration case: the public key and a platform certificate at once.
pub(crate) fn key_set() -> WechatPayKeySet {
    WechatPayKeySet::new()
        .with_public_key(wechatpay_public_key())
        .with_certificate(platform_certificate())
}
