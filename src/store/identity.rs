//! The store identity: an X25519 key whose public half seals private keys and
//! whose secret half is kept wrapped under the store passphrase
//! (Argon2id, then ChaCha20-Poly1305).

use super::rowmac::RowKey;
use super::seal::{KemPrivateKey, KemPublicKey};
use crate::secret::Passphrase;
use crate::{Error, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hpke::{Deserializable, Serializable};
use std::fmt;
use zeroize::Zeroizing;

/// Argon2id cost. Stored with the wrapped identity, so each store keeps the
/// cost it was made with until `kps passwd` changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// RFC 9106's second recommended option (64 MiB, 3 passes), single lane:
    /// the argon2 crate computes lanes one after another, so more lanes only
    /// cost time here.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            passes: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// The floor for a new cost: OWASP's Argon2id minimum (19 MiB, 2
    /// passes). Below it an offline guess costs next to nothing.
    pub const MIN_MEMORY_KIB: u32 = 19 * 1024;
    pub const MIN_PASSES: u32 = 2;
    /// The ceiling, for new costs and for the cost a store file asks for:
    /// a cost written into a store by someone else must not make an unlock
    /// allocate gigabytes or run for minutes. 1 GiB x 4 passes, about 10 s
    /// here, is the most work one unlock may ask for.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    pub const MAX_PASSES: u32 = 16;
    pub const MAX_PARALLELISM: u32 = 8;
    pub const MAX_WORK_KIB_PASSES: u64 = 4 * 1024 * 1024;

    /// Why this cost is more than an unlock may ask for, if it is.
    pub fn above_ceiling(&self) -> Option<String> {
        let work = u64::from(self.memory_kib) * u64::from(self.passes);
        (self.memory_kib > Self::MAX_MEMORY_KIB
            || self.passes > Self::MAX_PASSES
            || self.parallelism > Self::MAX_PARALLELISM
            || work > Self::MAX_WORK_KIB_PASSES)
            .then(|| {
                format!(
                    "KDF cost {} KiB x {} passes x {} lanes is above kps's ceiling (at most {} KiB, {} passes, {} lanes, {} KiB x passes)",
                    self.memory_kib,
                    self.passes,
                    self.parallelism,
                    Self::MAX_MEMORY_KIB,
                    Self::MAX_PASSES,
                    Self::MAX_PARALLELISM,
                    Self::MAX_WORK_KIB_PASSES
                )
            })
    }

    /// A cost given for a new wrapping (`init`, `passwd`, a new store's
    /// `create`): within the floor and the ceiling.
    pub fn validate(&self) -> Result<()> {
        if let Some(why) = self.above_ceiling() {
            return Err(Error::invalid(why));
        }
        if self.memory_kib < Self::MIN_MEMORY_KIB || self.passes < Self::MIN_PASSES {
            return Err(Error::invalid_with_hint(
                format!(
                    "KDF cost {} KiB x {} passes is below kps's floor ({} KiB and {} passes, OWASP's minimum for Argon2id)",
                    self.memory_kib,
                    self.passes,
                    Self::MIN_MEMORY_KIB,
                    Self::MIN_PASSES
                ),
                "leave --kdf-memory and --kdf-passes out for the default (65536 KiB, 3 passes)",
            ));
        }
        argon2::Params::new(self.memory_kib, self.passes, self.parallelism, Some(32))
            .map(|_| ())
            .map_err(|e| Error::invalid(format!("invalid KDF parameters: {e}")))
    }

    pub(crate) fn derive(
        &self,
        passphrase: &Passphrase,
        salt: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>> {
        // The store checks the ceiling when it reads the row (with its path
        // in the error); this keeps any other caller from going past it.
        if let Some(why) = self.above_ceiling() {
            return Err(Error::invalid(why));
        }
        let params = argon2::Params::new(self.memory_kib, self.passes, self.parallelism, Some(32))
            .map_err(|e| Error::invalid(format!("invalid KDF parameters: {e}")))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), salt, &mut out[..])
            .map_err(|e| Error::invalid(format!("KDF failed: {e}")))?;
        Ok(out)
    }
}

/// The identity as stored: nothing in it is secret without the passphrase.
#[derive(Clone, Debug)]
pub struct WrappedIdentity {
    pub public_key: Vec<u8>,
    pub kdf: KdfParams,
    pub salt: Vec<u8>,
    pub nonce: Vec<u8>,
    pub wrapped_secret: Vec<u8>,
}

/// The unwrapped identity secret, held only while a command needs it.
pub struct Identity {
    pub(crate) secret: KemPrivateKey,
    pub(crate) public: KemPublicKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity(<redacted>)")
    }
}

/// The wrapping's associated data names its version. Version 2 also says
/// "every keypair row of this store carries a MAC" (see rowmac.rs): a store
/// wrapped with version 1 was written by a kps that did not authenticate
/// rows, and its rows are endorsed, and the wrapping moved to version 2, at
/// its first unlock. Only the passphrase's holder can make either wrapping,
/// so no one else can take a store back to "rows need no MAC".
const WRAP_AAD_V1: &[u8] = b"kps store identity v1\0";
const WRAP_AAD_V2: &[u8] = b"kps store identity v2\0";

fn aad(version: &[u8], public_key: &[u8], kdf: &KdfParams) -> Vec<u8> {
    // Binding the public key means a swapped public key is caught at unlock;
    // binding the KDF cost means it cannot be lowered unnoticed.
    let mut a = version.to_vec();
    a.extend_from_slice(public_key);
    for v in [kdf.memory_kib, kdf.passes, kdf.parallelism] {
        a.extend_from_slice(&v.to_be_bytes());
    }
    a
}

fn random_nonce() -> Result<Vec<u8>> {
    let mut nonce = vec![0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| Error::EncryptFailed(e.to_string()))?;
    Ok(nonce)
}

/// What an unlock gives: the identity, and for a store still wrapped with
/// version 1 the same secret wrapped with version 2 (same passphrase key,
/// salt and cost, a fresh nonce: no second KDF run) for the store to write
/// together with its rows' endorsements.
pub struct Unwrapped {
    pub identity: Identity,
    pub upgrade: Option<WrappedIdentity>,
}

impl Identity {
    pub fn generate() -> Identity {
        let (secret, public) = super::seal::generate_identity();
        Identity { secret, public }
    }

    /// The key that authenticates this store's keypair rows: derived from
    /// the identity secret, so only someone who can unlock the store (or
    /// holds its pin, which keeps a copy) can make a row that verifies.
    pub fn row_key(&self) -> RowKey {
        RowKey::derive(&self.secret.to_bytes())
    }

    pub fn wrap(&self, passphrase: &Passphrase, kdf: KdfParams) -> Result<WrappedIdentity> {
        let mut salt = vec![0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| Error::EncryptFailed(e.to_string()))?;
        let key = kdf.derive(passphrase, &salt)?;
        self.wrap_with_key(&key, kdf, salt)
    }

    fn wrap_with_key(
        &self,
        key: &[u8; 32],
        kdf: KdfParams,
        salt: Vec<u8>,
    ) -> Result<WrappedIdentity> {
        let nonce = random_nonce()?;
        let public_key = self.public.to_bytes().to_vec();
        let secret = Zeroizing::new(self.secret.to_bytes());
        let cipher = ChaCha20Poly1305::new(&Key::from(*key));
        let wrapped_secret = cipher
            .encrypt(
                &Nonce::try_from(&nonce[..]).map_err(|_| Error::EncryptFailed("nonce".into()))?,
                Payload {
                    msg: &secret[..],
                    aad: &aad(WRAP_AAD_V2, &public_key, &kdf),
                },
            )
            .map_err(|_| Error::EncryptFailed("wrapping the store identity".into()))?;
        Ok(WrappedIdentity {
            public_key,
            kdf,
            salt,
            nonce,
            wrapped_secret,
        })
    }
}

impl WrappedIdentity {
    /// The store's public key, for sealing without the passphrase.
    pub(crate) fn sealing_key(&self) -> Result<KemPublicKey> {
        KemPublicKey::from_bytes(&self.public_key).map_err(|_| Error::StoreCorrupt {
            path: Default::default(),
            detail: "the store's public key is malformed".into(),
        })
    }

    pub fn unwrap_with(&self, passphrase: &Passphrase) -> Result<Unwrapped> {
        if self.nonce.len() != 12 {
            return Err(Error::WrongPassphrase);
        }
        let key = self.kdf.derive(passphrase, &self.salt)?;
        let cipher = ChaCha20Poly1305::new(&Key::from(*key));
        let nonce = Nonce::try_from(&self.nonce[..]).map_err(|_| Error::WrongPassphrase)?;
        let open = |version: &[u8]| {
            cipher
                .decrypt(
                    &nonce,
                    Payload {
                        msg: &self.wrapped_secret,
                        aad: &aad(version, &self.public_key, &self.kdf),
                    },
                )
                .map(Zeroizing::new)
                .ok()
        };
        let (secret, legacy) = match open(WRAP_AAD_V2) {
            Some(s) => (s, false),
            None => (open(WRAP_AAD_V1).ok_or(Error::WrongPassphrase)?, true),
        };
        let secret = KemPrivateKey::from_bytes(&secret).map_err(|_| Error::WrongPassphrase)?;
        let public = self.sealing_key()?;
        // The AEAD already binds the public key; this also catches a store
        // whose public key was swapped for one that merely parses.
        if <super::seal::Kem as hpke::Kem>::sk_to_pk(&secret) != public {
            return Err(Error::WrongPassphrase);
        }
        let identity = Identity { secret, public };
        let upgrade = if legacy {
            Some(identity.wrap_with_key(&key, self.kdf, self.salt.clone())?)
        } else {
            None
        };
        Ok(Unwrapped { identity, upgrade })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        passes: KdfParams::MIN_PASSES,
        parallelism: 1,
    };

    #[test]
    fn wraps_and_unwraps() {
        let id = Identity::generate();
        let pass = Passphrase::new(b"correct horse".to_vec());
        let wrapped = id.wrap(&pass, CHEAP).unwrap();
        let back = wrapped.unwrap_with(&pass).unwrap();
        assert!(back.upgrade.is_none(), "a new wrapping is version 2");
        let back = back.identity;
        assert!(back.public == id.public);
        assert!(matches!(
            wrapped.unwrap_with(&Passphrase::new(b"wrong".to_vec())),
            Err(Error::WrongPassphrase)
        ));
        let mut lowered = wrapped.clone();
        lowered.kdf.passes = 3;
        assert!(lowered.unwrap_with(&pass).is_err());
        assert!(!format!("{back:?}").contains(&format!("{:?}", back.secret.to_bytes())));
    }

    /// A wrapping made by a kps before rows were authenticated (version 1
    /// associated data) opens, and comes back with its version 2 form,
    /// made without a second KDF run and opening as version 2.
    #[test]
    fn version_1_wrapping_opens_and_is_upgraded() {
        let id = Identity::generate();
        let pass = Passphrase::new(b"correct horse".to_vec());
        let salt = vec![7u8; 16];
        let key = CHEAP.derive(&pass, &salt).unwrap();
        let public_key = id.public.to_bytes().to_vec();
        let nonce = vec![9u8; 12];
        let wrapped_secret = ChaCha20Poly1305::new(&Key::from(*key))
            .encrypt(
                &Nonce::try_from(&nonce[..]).unwrap(),
                Payload {
                    msg: &id.secret.to_bytes()[..],
                    aad: &aad(WRAP_AAD_V1, &public_key, &CHEAP),
                },
            )
            .unwrap();
        let v1 = WrappedIdentity {
            public_key,
            kdf: CHEAP,
            salt: salt.clone(),
            nonce,
            wrapped_secret,
        };
        let opened = v1.unwrap_with(&pass).unwrap();
        let v2 = opened.upgrade.expect("a version 1 wrapping is upgraded");
        assert_eq!(v2.salt, salt);
        assert_ne!(v2.nonce, v1.nonce);
        let again = v2.unwrap_with(&pass).unwrap();
        assert!(again.upgrade.is_none());
        assert!(again.identity.public == id.public);
        assert!(again.identity.row_key() == id.row_key());
    }

    #[test]
    fn kdf_bounds() {
        assert!(KdfParams::default().validate().is_ok());
        assert!(CHEAP.validate().is_ok());
        for (m, t, p) in [
            (8, 1, 1),
            (KdfParams::MIN_MEMORY_KIB - 1, 3, 1),
            (65536, 1, 1),
            (KdfParams::MAX_MEMORY_KIB + 1, 2, 1),
            (65536, KdfParams::MAX_PASSES + 1, 1),
            (65536, 3, KdfParams::MAX_PARALLELISM + 1),
            (KdfParams::MAX_MEMORY_KIB, 5, 1),
        ] {
            let k = KdfParams {
                memory_kib: m,
                passes: t,
                parallelism: p,
            };
            assert!(k.validate().is_err(), "{k:?}");
        }
        let stored = KdfParams {
            memory_kib: 4 * 1024 * 1024,
            passes: 100,
            parallelism: 1,
        };
        assert!(stored.above_ceiling().is_some());
        assert!(
            stored
                .derive(&Passphrase::new(b"x".to_vec()), &[0; 16])
                .is_err()
        );
    }
}
