//! The store identity: an X25519 key whose public half seals private keys and
//! whose secret half is kept wrapped under the store passphrase
//! (Argon2id, then ChaCha20-Poly1305).

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
    /// Bounds beyond argon2's own: a cost that no one would choose, written
    /// into a store file, must not hang or exhaust the machine.
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    pub const MAX_PASSES: u32 = 100;
    pub const MAX_PARALLELISM: u32 = 16;

    pub fn validate(&self) -> Result<()> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.passes > Self::MAX_PASSES
            || self.parallelism > Self::MAX_PARALLELISM
        {
            return Err(Error::invalid(format!(
                "KDF cost out of range: at most {} KiB, {} passes, {} lanes",
                Self::MAX_MEMORY_KIB,
                Self::MAX_PASSES,
                Self::MAX_PARALLELISM
            )));
        }
        argon2::Params::new(self.memory_kib, self.passes, self.parallelism, Some(32))
            .map(|_| ())
            .map_err(|e| Error::invalid(format!("invalid KDF parameters: {e}")))
    }

    fn derive(&self, passphrase: &Passphrase, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        self.validate()?;
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

const WRAP_AAD: &[u8] = b"kps store identity v1\0";

fn aad(public_key: &[u8], kdf: &KdfParams) -> Vec<u8> {
    // Binding the public key means a swapped public key is caught at unlock;
    // binding the KDF cost means it cannot be lowered unnoticed.
    let mut a = WRAP_AAD.to_vec();
    a.extend_from_slice(public_key);
    for v in [kdf.memory_kib, kdf.passes, kdf.parallelism] {
        a.extend_from_slice(&v.to_be_bytes());
    }
    a
}

impl Identity {
    pub fn generate() -> Identity {
        let (secret, public) = super::seal::generate_identity();
        Identity { secret, public }
    }

    pub fn wrap(&self, passphrase: &Passphrase, kdf: KdfParams) -> Result<WrappedIdentity> {
        let mut salt = vec![0u8; 16];
        let mut nonce = vec![0u8; 12];
        getrandom::fill(&mut salt).map_err(|e| Error::EncryptFailed(e.to_string()))?;
        getrandom::fill(&mut nonce).map_err(|e| Error::EncryptFailed(e.to_string()))?;
        let key = kdf.derive(passphrase, &salt)?;
        let public_key = self.public.to_bytes().to_vec();
        let secret = Zeroizing::new(self.secret.to_bytes());
        let cipher = ChaCha20Poly1305::new(&Key::from(*key));
        let wrapped_secret = cipher
            .encrypt(
                &Nonce::try_from(&nonce[..]).map_err(|_| Error::EncryptFailed("nonce".into()))?,
                Payload {
                    msg: &secret[..],
                    aad: &aad(&public_key, &kdf),
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

    pub fn unwrap_with(&self, passphrase: &Passphrase) -> Result<Identity> {
        if self.nonce.len() != 12 {
            return Err(Error::WrongPassphrase);
        }
        let key = self.kdf.derive(passphrase, &self.salt)?;
        let cipher = ChaCha20Poly1305::new(&Key::from(*key));
        let secret = cipher
            .decrypt(
                &Nonce::try_from(&self.nonce[..]).map_err(|_| Error::WrongPassphrase)?,
                Payload {
                    msg: &self.wrapped_secret,
                    aad: &aad(&self.public_key, &self.kdf),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::WrongPassphrase)?;
        let secret = KemPrivateKey::from_bytes(&secret).map_err(|_| Error::WrongPassphrase)?;
        let public = self.sealing_key()?;
        // The AEAD already binds the public key; this also catches a store
        // whose public key was swapped for one that merely parses.
        if <super::seal::Kem as hpke::Kem>::sk_to_pk(&secret) != public {
            return Err(Error::WrongPassphrase);
        }
        Ok(Identity { secret, public })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        passes: 1,
        parallelism: 1,
    };

    #[test]
    fn wraps_and_unwraps() {
        let id = Identity::generate();
        let pass = Passphrase::new(b"correct horse".to_vec());
        let wrapped = id.wrap(&pass, CHEAP).unwrap();
        let back = wrapped.unwrap_with(&pass).unwrap();
        assert!(back.public == id.public);
        assert!(matches!(
            wrapped.unwrap_with(&Passphrase::new(b"wrong".to_vec())),
            Err(Error::WrongPassphrase)
        ));
        let mut lowered = wrapped.clone();
        lowered.kdf.passes = 2;
        assert!(lowered.unwrap_with(&pass).is_err());
        assert!(!format!("{back:?}").contains(&format!("{:?}", back.secret.to_bytes())));
    }
}
