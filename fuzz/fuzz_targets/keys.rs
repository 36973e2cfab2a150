//! PEM and DER keys and certificates, as loaded from files and environment variables: the
//! first byte picks the parser, the rest is its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_signing::{
    MerchantCertificate, PlatformCertificate, PrivateKey, PublicKey, WechatPayPublicKey,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let now = 1_780_000_000;
    match which % 11 {
        0 => drop(PrivateKey::from_pem(&text).map(|k| k.bits())),
        1 => drop(PrivateKey::from_pkcs8_der(rest).map(|k| k.bits())),
        2 => drop(PrivateKey::from_pkcs1_der(rest).map(|k| k.bits())),
        3 => drop(PublicKey::from_pem(&text).map(|k| k.to_spki_pem())),
        4 => drop(PublicKey::from_spki_der(rest).map(|k| k.max_plaintext_len())),
        5 => drop(PublicKey::from_pkcs1_der(rest).map(|k| k.bits())),
        6 => drop(MerchantCertificate::from_pem(&text).map(|c| c.serial().to_owned())),
        7 => drop(MerchantCertificate::from_der(rest).map(|c| c.not_after())),
        8 => drop(PlatformCertificate::from_pem_at(&text, now).map(|c| c.is_valid_at(now))),
        9 => drop(PlatformCertificate::from_der_at(rest, now).map(|c| c.serial().to_owned())),
        _ => drop(WechatPayPublicKey::from_pem(
            "PUB_KEY_ID_0119000000012026112600000000000001",
            &text,
        )),
    }
    // Errors are shown to people: their text must not panic either.
    if let Err(e) = PublicKey::from_pem(&text) {
        let _ = e.to_string();
    }
});
