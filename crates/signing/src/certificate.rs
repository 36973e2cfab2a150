//! The keys that come with an identity: the merchant's API certificate, WeChat Pay's platform
//! certificates and WeChat Pay's public key with its id.
//!
//! Certificates are read for their key, serial number and validity period. Their issuer
//! signature is not checked: WeChat Pay delivers platform certificates over a verified API
//! response, and merchants download their own certificate from the merchant platform.

use std::fmt;

use crate::clock::unix_now;
use crate::error::KeyError;
use crate::formats::{self, CertificateDer};
use crate::ids;
use crate::keys::PublicKey;

/// Fields shared by both kinds of certificate.
#[derive(Clone)]
struct CertificateInfo {
    serial: String,
    not_before: u64,
    not_after: u64,
    public_key: PublicKey,
}

impl CertificateInfo {
    fn from_der_parts(der: CertificateDer) -> Result<Self, KeyError> {
        Ok(Self {
            public_key: PublicKey::from_der_parts(der.public_key)?,
            serial: der.serial,
            not_before: der.not_before,
            not_after: der.not_after,
        })
    }

    fn fmt_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("public_key", &self.public_key)
            .finish()
    }
}

/// The merchant API certificate (`apiclient_cert.pem`): where the merchant's serial number
/// (`serial_no` in the `Authorization` header) comes from.
///
/// Its validity is not checked here: WeChat Pay is the judge of a merchant certificate.
#[derive(Clone)]
pub struct MerchantCertificate {
    info: CertificateInfo,
}

impl MerchantCertificate {
    /// Reads an X.509 certificate from PEM (the first one, if the text holds a chain).
    ///
    /// # Errors
    /// [`KeyError`] when the text is not a PEM certificate, is malformed, or its key is not
    /// RSA of 2048 bits or more.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::certificate_from_pem(pem)?)
    }

    /// Reads an X.509 certificate from DER.
    ///
    /// # Errors
    /// As [`MerchantCertificate::from_pem`].
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::certificate_from_der(der)?)
    }

    fn from_der_parts(der: CertificateDer) -> Result<Self, KeyError> {
        Ok(Self {
            info: CertificateInfo::from_der_parts(der)?,
        })
    }

    /// The serial number in uppercase hex, e.g. `5157F09EFDC096DE15EBE81A47057A7232F1B8E1`.
    pub fn serial(&self) -> &str {
        &self.info.serial
    }

    /// The certificate's public key: what WeChat Pay verifies requests and encrypts with.
    pub fn public_key(&self) -> &PublicKey {
        &self.info.public_key
    }

    /// Start of the validity period, Unix seconds.
    pub fn not_before(&self) -> u64 {
        self.info.not_before
    }

    /// End of the validity period, Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.info.not_after
    }
}

impl fmt::Debug for MerchantCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.info.fmt_as("MerchantCertificate", f)
    }
}

/// A WeChat Pay platform certificate (微信支付平台证书): verifies responses whose
/// `Wechatpay-Serial` is its serial number, and encrypts sensitive fields.
///
/// Refused at load when outside its validity period; a key set also refuses to verify with it
/// or encrypt with it once it has expired.
#[derive(Clone)]
pub struct PlatformCertificate {
    info: CertificateInfo,
}

impl PlatformCertificate {
    /// Reads an X.509 certificate from PEM and checks that it is valid now.
    ///
    /// # Errors
    /// [`KeyError::CertificateExpired`], [`KeyError::CertificateNotYetValid`], or any error of
    /// [`MerchantCertificate::from_pem`].
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pem_at(pem, unix_now())
    }

    /// Reads an X.509 certificate from PEM and checks that it is valid at `now` (Unix seconds).
    ///
    /// # Errors
    /// As [`PlatformCertificate::from_pem`].
    pub fn from_pem_at(pem: &str, now: u64) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::certificate_from_pem(pem)?, now)
    }

    /// Reads an X.509 certificate from DER and checks that it is valid now.
    ///
    /// # Errors
    /// As [`PlatformCertificate::from_pem`].
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_der_at(der, unix_now())
    }

    /// Reads an X.509 certificate from DER and checks that it is valid at `now` (Unix seconds).
    ///
    /// # Errors
    /// As [`PlatformCertificate::from_pem`].
    pub fn from_der_at(der: &[u8], now: u64) -> Result<Self, KeyError> {
        Self::from_der_parts(formats::certificate_from_der(der)?, now)
    }

    fn from_der_parts(der: CertificateDer, now: u64) -> Result<Self, KeyError> {
        if now > der.not_after {
            return Err(KeyError::CertificateExpired {
                serial: der.serial,
                not_after: der.not_after,
            });
        }
        if now < der.not_before {
            return Err(KeyError::CertificateNotYetValid {
                serial: der.serial,
                not_before: der.not_before,
            });
        }
        Ok(Self {
            info: CertificateInfo::from_der_parts(der)?,
        })
    }

    /// The serial number in uppercase hex: the `Wechatpay-Serial` of what it signs.
    pub fn serial(&self) -> &str {
        &self.info.serial
    }

    /// The certificate's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.info.public_key
    }

    /// Start of the validity period, Unix seconds.
    pub fn not_before(&self) -> u64 {
        self.info.not_before
    }

    /// End of the validity period, Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.info.not_after
    }

    /// Whether `now` (Unix seconds) is within the validity period, both ends included.
    pub fn is_valid_at(&self, now: u64) -> bool {
        (self.info.not_before..=self.info.not_after).contains(&now)
    }
}

impl fmt::Debug for PlatformCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.info.fmt_as("PlatformCertificate", f)
    }
}

/// WeChat Pay's public key (微信支付公钥) with its id, `PUB_KEY_ID_…`: the successor of
/// platform certificates. It verifies responses whose `Wechatpay-Serial` is its id, and
/// encrypts sensitive fields.
#[derive(Clone)]
pub struct WechatPayPublicKey {
    id: String,
    key: PublicKey,
}

impl WechatPayPublicKey {
    /// Pairs a public key with its id.
    ///
    /// # Errors
    /// [`KeyError::InvalidIdentifier`] unless `id` is `PUB_KEY_ID_` followed by letters, digits
    /// or `_` (64 characters at most).
    pub fn new(id: impl Into<String>, key: PublicKey) -> Result<Self, KeyError> {
        let id = id.into();
        ids::check_public_key_id(&id)?;
        Ok(Self { id, key })
    }

    /// Loads the key from SPKI PEM (`pub_key.pem`, `-----BEGIN PUBLIC KEY-----`) with its id.
    ///
    /// # Errors
    /// As [`WechatPayPublicKey::new`] and [`PublicKey::from_pem`].
    pub fn from_pem(id: impl Into<String>, pem: &str) -> Result<Self, KeyError> {
        let id = id.into();
        ids::check_public_key_id(&id)?;
        Ok(Self {
            id,
            key: PublicKey::from_pem(pem)?,
        })
    }

    /// The id, `PUB_KEY_ID_…`: the `Wechatpay-Serial` of what it signs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

impl fmt::Debug for WechatPayPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatPayPublicKey")
            .field("id", &self.id)
            .field("key", &self.key)
            .finish()
    }
}
