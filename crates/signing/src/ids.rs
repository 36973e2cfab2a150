//! Checks of the identifiers that go into headers: merchant id, serial numbers, key ids.
//! A value that passes can be written between double quotes without breaking a header.

use crate::error::KeyError;

/// The prefix of a WeChat Pay public key id.
pub(crate) const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";
const MAX_LEN: usize = 64;

fn invalid(what: &'static str, reason: &'static str) -> KeyError {
    KeyError::InvalidIdentifier { what, reason }
}

/// A merchant id (`mchid`): 1 to 32 ASCII letters and digits (in practice, digits).
pub(crate) fn check_mchid(mchid: &str) -> Result<(), KeyError> {
    const WHAT: &str = "merchant id";
    if mchid.is_empty() || mchid.len() > 32 {
        return Err(invalid(WHAT, "expected 1 to 32 characters"));
    }
    if !mchid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(WHAT, "expected ASCII letters and digits only"));
    }
    Ok(())
}

/// A certificate serial number: 1 to 64 hex digits, returned in uppercase.
pub(crate) fn normalize_serial(serial: &str) -> Result<String, KeyError> {
    const WHAT: &str = "certificate serial number";
    if serial.is_empty() || serial.len() > MAX_LEN {
        return Err(invalid(WHAT, "expected 1 to 64 hex digits"));
    }
    if !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(WHAT, "expected hex digits only (0-9, A-F)"));
    }
    Ok(serial.to_ascii_uppercase())
}

/// A WeChat Pay public key id: `PUB_KEY_ID_` then letters, digits or `_`, 64 characters at most.
pub(crate) fn check_public_key_id(id: &str) -> Result<(), KeyError> {
    const WHAT: &str = "WeChat Pay public key id";
    let Some(rest) = id.strip_prefix(PUBLIC_KEY_ID_PREFIX) else {
        return Err(invalid(WHAT, "expected it to start with PUB_KEY_ID_"));
    };
    if rest.is_empty() || id.len() > MAX_LEN {
        return Err(invalid(
            WHAT,
            "expected PUB_KEY_ID_ and 1 to 53 more characters",
        ));
    }
    if !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid(WHAT, "expected ASCII letters, digits and '_' only"));
    }
    Ok(())
}

/// The id WeChat Pay's side signs under: a public key id or a platform certificate serial.
pub(crate) fn check_key_id(id: &str) -> Result<(), KeyError> {
    const WHAT: &str = "WeChat Pay key id";
    if id.is_empty() || id.len() > MAX_LEN {
        return Err(invalid(WHAT, "expected 1 to 64 characters"));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid(WHAT, "expected ASCII letters, digits and '_' only"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(check_mchid("1900000001").is_ok());
        assert!(check_mchid("").is_err());
        assert!(check_mchid("19\"00").is_err());
        assert_eq!(normalize_serial("5157f0").ok().as_deref(), Some("5157F0"));
        assert!(normalize_serial("51:57").is_err());
        assert!(check_public_key_id("PUB_KEY_ID_0119000000012026").is_ok());
        assert!(check_public_key_id("5157F0").is_err());
        assert!(check_public_key_id("PUB_KEY_ID_").is_err());
        assert!(check_key_id("PUB_KEY_ID_01").is_ok());
        assert!(check_key_id("a b").is_err());
    }
}
