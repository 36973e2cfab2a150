//! [`Credentials`]: the merchant's and WeChat Pay's identities and keys a sandbox runs with, and
//! how the builder's options become them.

use std::fmt;

use wechatpay_signing::{
    PlatformCertificate, PrivateKey, PublicKey, WechatPayPublicKey, WechatPaySigner,
};
use zeroize::Zeroizing;

use crate::SandboxError;

/// The merchant id a sandbox serves unless told otherwise.
pub const DEFAULT_MCHID: &str = "1900000001";

/// Everything a client needs to talk to a sandbox, and everything a second sandbox (a backup
/// host) needs to be the same WeChat Pay for the same merchant.
///
/// `Debug` shows the ids and public keys, never a private key.
#[derive(Clone)]
pub struct Credentials {
    /// The merchant id (`mchid`) requests must be signed for.
    pub mchid: String,
    /// The merchant API certificate serial number (`serial_no`) requests must name: uppercase
    /// hex (compared without regard to case).
    pub merchant_serial: String,
    /// The merchant API private key, PKCS#8 PEM: `Some` when the sandbox generated the merchant
    /// key, `None` when it was given only the public key.
    pub merchant_private_key_pem: Option<Zeroizing<String>>,
    /// The merchant API public key, SPKI PEM: verifies requests, encrypts response fields.
    pub merchant_public_key_pem: String,
    /// The id of WeChat Pay's key: `PUB_KEY_ID_…` in public-key mode, the platform certificate's
    /// serial number in certificate mode. Answers carry it in `Wechatpay-Serial`, and requests
    /// with encrypted fields must name it in theirs.
    pub wechatpay_key_id: String,
    /// WeChat Pay's public key, SPKI PEM: what clients verify answers with and encrypt to.
    pub wechatpay_public_key_pem: String,
    /// WeChat Pay's private key, PKCS#8 PEM, so that a second sandbox can share it.
    pub wechatpay_private_key_pem: Zeroizing<String>,
    /// The platform certificate, PEM: `Some` in platform-certificate mode.
    pub platform_certificate_pem: Option<String>,
}

impl Credentials {
    /// Whether WeChat Pay's key is a platform certificate's (else a public key with an id).
    pub fn is_certificate_mode(&self) -> bool {
        self.platform_certificate_pem.is_some()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |present: bool| if present { "<redacted>" } else { "None" };
        f.debug_struct("Credentials")
            .field("mchid", &self.mchid)
            .field("merchant_serial", &self.merchant_serial)
            .field(
                "merchant_private_key_pem",
                &format_args!("{}", redacted(self.merchant_private_key_pem.is_some())),
            )
            .field("merchant_public_key_pem", &self.merchant_public_key_pem)
            .field("wechatpay_key_id", &self.wechatpay_key_id)
            .field("wechatpay_public_key_pem", &self.wechatpay_public_key_pem)
            .field("wechatpay_private_key_pem", &format_args!("<redacted>"))
            .field("platform_certificate_pem", &self.platform_certificate_pem)
            .finish()
    }
}

/// The loaded keys the server works with.
pub(crate) struct Keys {
    pub(crate) mchid: String,
    pub(crate) merchant_serial: String,
    /// Verifies request signatures, encrypts response fields.
    pub(crate) merchant_key: PublicKey,
    /// Signs answers, decrypts request fields.
    pub(crate) wechatpay: WechatPaySigner,
}

/// The builder's key options, each of which overrides the base credentials' value.
#[derive(Default)]
pub(crate) struct KeyOptions {
    pub(crate) base: Option<Credentials>,
    pub(crate) mchid: Option<String>,
    pub(crate) merchant_serial: Option<String>,
    pub(crate) merchant_public_key_pem: Option<String>,
    pub(crate) wechatpay_private_key_pem: Option<Zeroizing<String>>,
    pub(crate) wechatpay_public_key_id: Option<String>,
    pub(crate) platform_certificate: Option<(String, Zeroizing<String>)>,
}

fn key_error(what: &'static str) -> impl FnOnce(wechatpay_signing::KeyError) -> SandboxError {
    move |source| SandboxError::Key { what, source }
}

fn generate(what: &'static str) -> Result<PrivateKey, SandboxError> {
    PrivateKey::generate().map_err(|source| SandboxError::KeyGeneration { what, source })
}

fn export(what: &'static str, key: &PrivateKey) -> Result<Zeroizing<String>, SandboxError> {
    key.to_pkcs8_pem()
        .map_err(|source| SandboxError::KeyGeneration { what, source })
}

/// `len` random uppercase hex digits.
fn random_hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from(b"0123456789ABCDEF"[fastrand::usize(..16)]))
        .collect()
}

fn check_mchid(mchid: &str) -> Result<(), SandboxError> {
    if mchid.is_empty() || mchid.len() > 32 || !mchid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SandboxError::Config(format!(
            "mchid {mchid:?} must be 1 to 32 ASCII letters and digits"
        )));
    }
    Ok(())
}

fn normalize_serial(serial: &str) -> Result<String, SandboxError> {
    if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SandboxError::Config(format!(
            "merchant serial {serial:?} must be 1 to 64 hex digits"
        )));
    }
    Ok(serial.to_ascii_uppercase())
}

/// WeChat Pay's side: the key, its id and (certificate mode) the certificate.
struct WechatPaySide {
    key: PrivateKey,
    key_pem: Zeroizing<String>,
    key_id: String,
    certificate_pem: Option<String>,
}

fn certificate_side(
    cert_pem: &str,
    key_pem: Zeroizing<String>,
) -> Result<WechatPaySide, SandboxError> {
    let certificate =
        PlatformCertificate::from_pem(cert_pem).map_err(key_error("platform certificate"))?;
    let key = PrivateKey::from_pem(&key_pem).map_err(key_error("platform certificate key"))?;
    if key.public_key() != certificate.public_key() {
        return Err(SandboxError::Config(format!(
            "the WeChat Pay private key is not the key of platform certificate {}",
            certificate.serial()
        )));
    }
    // Stored as PKCS#8 whatever the input form, as `Credentials` documents.
    let key_pem = export("platform certificate key", &key)?;
    Ok(WechatPaySide {
        key,
        key_pem,
        key_id: certificate.serial().to_owned(),
        certificate_pem: Some(cert_pem.to_owned()),
    })
}

fn public_key_side(
    key_pem: Option<Zeroizing<String>>,
    key_id: Option<String>,
    mchid: &str,
) -> Result<WechatPaySide, SandboxError> {
    let (key, key_pem) = match key_pem {
        Some(pem) => {
            let key = PrivateKey::from_pem(&pem).map_err(key_error("WeChat Pay private key"))?;
            let pem = export("WeChat Pay key", &key)?;
            (key, pem)
        }
        None => {
            let key = generate("WeChat Pay key")?;
            let pem = export("WeChat Pay key", &key)?;
            (key, pem)
        }
    };
    // A fresh id for a fresh key: a client holding another sandbox's key gets an unknown
    // serial, not a bad signature.
    let key_id = key_id.unwrap_or_else(|| format!("PUB_KEY_ID_01{mchid}{}", random_hex(16)));
    WechatPayPublicKey::new(key_id.clone(), key.public_key().clone())
        .map_err(key_error("WeChat Pay public key id"))?;
    Ok(WechatPaySide {
        key,
        key_pem,
        key_id,
        certificate_pem: None,
    })
}

impl KeyOptions {
    /// The credentials and keys the options describe: given values checked, the rest generated.
    pub(crate) fn resolve(self) -> Result<(Credentials, Keys), SandboxError> {
        let base = self.base;
        let mchid = self
            .mchid
            .or_else(|| base.as_ref().map(|b| b.mchid.clone()))
            .unwrap_or_else(|| DEFAULT_MCHID.to_owned());
        check_mchid(&mchid)?;
        let merchant_serial = self
            .merchant_serial
            .or_else(|| base.as_ref().map(|b| b.merchant_serial.clone()))
            .map_or_else(|| Ok(random_hex(40)), |s| normalize_serial(&s))?;

        // The merchant key: given public key, or the base credentials', or a new key pair.
        let (merchant_key, merchant_private_key_pem) = match (self.merchant_public_key_pem, &base) {
            (Some(pem), _) => (
                PublicKey::from_pem(&pem).map_err(key_error("merchant public key"))?,
                None,
            ),
            (None, Some(base)) => {
                let public = PublicKey::from_pem(&base.merchant_public_key_pem)
                    .map_err(key_error("merchant public key of the credentials"))?;
                if let Some(private_pem) = &base.merchant_private_key_pem {
                    let private = PrivateKey::from_pem(private_pem)
                        .map_err(key_error("merchant private key of the credentials"))?;
                    if private.public_key() != &public {
                        return Err(SandboxError::Config(
                            "the credentials' merchant private key does not match their merchant \
                             public key"
                                .to_owned(),
                        ));
                    }
                }
                (public, base.merchant_private_key_pem.clone())
            }
            (None, None) => {
                let key = generate("merchant key")?;
                let pem = export("merchant key", &key)?;
                (key.public_key().clone(), Some(pem))
            }
        };

        let side = match (self.platform_certificate, self.wechatpay_private_key_pem) {
            (Some(_), Some(_)) => {
                return Err(SandboxError::Config(
                    "a platform certificate comes with its own key: give either the platform \
                     certificate and its key, or a WeChat Pay private key, not both"
                        .to_owned(),
                ));
            }
            (Some(_), None) if self.wechatpay_public_key_id.is_some() => {
                return Err(SandboxError::Config(
                    "in platform-certificate mode the key id is the certificate's serial number: \
                     do not also give a WeChat Pay public key id"
                        .to_owned(),
                ));
            }
            (Some((cert, key)), None) => certificate_side(&cert, key)?,
            (None, Some(key)) => public_key_side(Some(key), self.wechatpay_public_key_id, &mchid)?,
            (None, None) => match base {
                Some(base) if base.platform_certificate_pem.is_some() => {
                    if self.wechatpay_public_key_id.is_some() {
                        return Err(SandboxError::Config(
                            "the credentials are in platform-certificate mode, whose key id is the \
                             certificate's serial number: do not also give a WeChat Pay public key id"
                                .to_owned(),
                        ));
                    }
                    let cert = base.platform_certificate_pem.unwrap_or_default();
                    certificate_side(&cert, base.wechatpay_private_key_pem)?
                }
                Some(base) => public_key_side(
                    Some(base.wechatpay_private_key_pem),
                    self.wechatpay_public_key_id.or(Some(base.wechatpay_key_id)),
                    &mchid,
                )?,
                None => public_key_side(None, self.wechatpay_public_key_id, &mchid)?,
            },
        };

        let wechatpay = WechatPaySigner::new(side.key_id.clone(), side.key.clone())
            .map_err(key_error("WeChat Pay key id"))?;
        let credentials = Credentials {
            mchid: mchid.clone(),
            merchant_serial: merchant_serial.clone(),
            merchant_private_key_pem,
            merchant_public_key_pem: merchant_key.to_spki_pem(),
            wechatpay_key_id: side.key_id,
            wechatpay_public_key_pem: side.key.public_key().to_spki_pem(),
            wechatpay_private_key_pem: side.key_pem,
            platform_certificate_pem: side.certificate_pem,
        };
        let keys = Keys {
            mchid,
            merchant_serial,
            merchant_key,
            wechatpay,
        };
        Ok((credentials, keys))
    }
}
