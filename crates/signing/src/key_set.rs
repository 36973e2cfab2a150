//! [`WechatPayKeySet`]: the WeChat Pay keys a merchant trusts, by id, updatable at runtime.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::certificate::{PlatformCertificate, WechatPayPublicKey};
use crate::clock::unix_now;
use crate::encryption::SensitiveEncryptor;
use crate::error::CryptoError;
use crate::keys::PublicKey;

/// The WeChat Pay keys a merchant trusts: at most one WeChat Pay public key and any number of
/// platform certificates, at the same time (the migration from certificates to the public key
/// needs both), each found by the id WeChat Pay puts in `Wechatpay-Serial`.
///
/// A handle: clones share the same set, so one task can rotate keys (add the new certificate,
/// later remove the old one) while others verify. Updates take a write lock for a moment;
/// lookups clone an `Arc` out under a read lock and verify outside it.
#[derive(Clone, Default)]
pub struct WechatPayKeySet {
    state: Arc<RwLock<KeySetState>>,
}

#[derive(Default)]
struct KeySetState {
    public_key: Option<WechatPayPublicKey>,
    certificates: Vec<PlatformCertificate>,
}

/// What a lookup by id found.
pub(crate) enum Lookup {
    /// A key to verify with.
    Found(PublicKey),
    /// A platform certificate with that serial, outside its validity period.
    NotValid,
    /// Nothing with that id.
    Unknown,
}

impl WechatPayKeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the WeChat Pay public key, builder style.
    #[must_use]
    pub fn with_public_key(self, key: WechatPayPublicKey) -> Self {
        self.set_public_key(key);
        self
    }

    /// Adds a platform certificate, builder style.
    #[must_use]
    pub fn with_certificate(self, certificate: PlatformCertificate) -> Self {
        self.add_certificate(certificate);
        self
    }

    /// Sets the WeChat Pay public key, returning the one it replaces.
    pub fn set_public_key(&self, key: WechatPayPublicKey) -> Option<WechatPayPublicKey> {
        self.write().public_key.replace(key)
    }

    /// Removes the WeChat Pay public key.
    pub fn remove_public_key(&self) -> Option<WechatPayPublicKey> {
        self.write().public_key.take()
    }

    /// Adds a platform certificate, returning the one with the same serial it replaces.
    pub fn add_certificate(&self, certificate: PlatformCertificate) -> Option<PlatformCertificate> {
        let mut state = self.write();
        let existing = state
            .certificates
            .iter()
            .position(|c| c.serial().eq_ignore_ascii_case(certificate.serial()));
        match existing {
            Some(index) => Some(std::mem::replace(
                &mut state.certificates[index],
                certificate,
            )),
            None => {
                state.certificates.push(certificate);
                None
            }
        }
    }

    /// Removes the platform certificate with this serial number (case-insensitive).
    pub fn remove_certificate(&self, serial: &str) -> Option<PlatformCertificate> {
        let mut state = self.write();
        let index = state
            .certificates
            .iter()
            .position(|c| c.serial().eq_ignore_ascii_case(serial))?;
        Some(state.certificates.remove(index))
    }

    /// Removes the platform certificates that have expired, returning how many.
    pub fn remove_expired_certificates(&self) -> usize {
        self.remove_expired_certificates_at(unix_now())
    }

    /// Removes the platform certificates that have expired at `now` (Unix seconds), returning
    /// how many.
    pub fn remove_expired_certificates_at(&self, now: u64) -> usize {
        let mut state = self.write();
        let before = state.certificates.len();
        state.certificates.retain(|c| c.not_after() >= now);
        before - state.certificates.len()
    }

    /// The WeChat Pay public key, if set.
    pub fn public_key(&self) -> Option<WechatPayPublicKey> {
        self.read().public_key.clone()
    }

    /// The platform certificates, in the order they were added.
    pub fn certificates(&self) -> Vec<PlatformCertificate> {
        self.read().certificates.clone()
    }

    /// Every id in the set: the public key's first, then the certificates' serials.
    pub fn ids(&self) -> Vec<String> {
        let state = self.read();
        let public = state.public_key.iter().map(|k| k.id().to_owned());
        public
            .chain(state.certificates.iter().map(|c| c.serial().to_owned()))
            .collect()
    }

    /// Whether the set holds a key with this id (case-insensitive).
    pub fn contains(&self, id: &str) -> bool {
        !matches!(self.lookup(id, None), Lookup::Unknown)
    }

    /// Whether the set holds no key at all.
    pub fn is_empty(&self) -> bool {
        let state = self.read();
        state.public_key.is_none() && state.certificates.is_empty()
    }

    /// The key to encrypt sensitive fields with, now: see [`WechatPayKeySet::encryptor_at`].
    ///
    /// # Errors
    /// [`CryptoError::NoEncryptionKey`] when the set has neither.
    pub fn encryptor(&self) -> Result<SensitiveEncryptor, CryptoError> {
        self.encryptor_at(unix_now())
    }

    /// The key to encrypt sensitive fields with at `now` (Unix seconds): the WeChat Pay public
    /// key when set, otherwise the newest platform certificate valid at `now` (latest
    /// `notBefore`). Take one per request, so that all its fields use the same key and its
    /// [`SensitiveEncryptor::key_id`] can go into `Wechatpay-Serial`.
    ///
    /// # Errors
    /// [`CryptoError::NoEncryptionKey`] when the set has neither.
    pub fn encryptor_at(&self, now: u64) -> Result<SensitiveEncryptor, CryptoError> {
        let state = self.read();
        if let Some(key) = &state.public_key {
            return Ok(SensitiveEncryptor::from_parts(key.id(), key.key()));
        }
        state
            .certificates
            .iter()
            .filter(|c| c.is_valid_at(now))
            .max_by_key(|c| (c.not_before(), c.not_after()))
            .map(|c| SensitiveEncryptor::from_parts(c.serial(), c.public_key()))
            .ok_or(CryptoError::NoEncryptionKey)
    }

    /// The key with this id. With `now`, a platform certificate outside its validity period is
    /// reported as such rather than returned.
    pub(crate) fn lookup(&self, id: &str, now: Option<u64>) -> Lookup {
        let state = self.read();
        if let Some(key) = state
            .public_key
            .as_ref()
            .filter(|k| k.id().eq_ignore_ascii_case(id))
        {
            return Lookup::Found(key.key().clone());
        }
        match state
            .certificates
            .iter()
            .find(|c| c.serial().eq_ignore_ascii_case(id))
        {
            Some(c) if now.is_none_or(|now| c.is_valid_at(now)) => {
                Lookup::Found(c.public_key().clone())
            }
            Some(_) => Lookup::NotValid,
            None => Lookup::Unknown,
        }
    }

    // A panic while holding the lock cannot leave the set half-updated (each update is a
    // single assignment or Vec operation), so a poisoned lock is still good to use.
    fn read(&self) -> RwLockReadGuard<'_, KeySetState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, KeySetState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for WechatPayKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatPayKeySet")
            .field("ids", &self.ids())
            .finish()
    }
}
