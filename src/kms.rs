//! Encryption type `kms`: a master key that never leaves an HSM or KMS,
//! reached over PKCS#11 (SoftHSM, YubiHSM, Nitrokey, cloud HSMs).
//!
//! Envelope encryption: each private key gets a fresh random data key; the
//! token encrypts that data key under the master key (CKM_AES_GCM, with the
//! keypair's name and public key as associated data), so the master key is
//! only ever used inside the token. See `docs/store-format.md`.

use crate::hex::encode as hex;
use crate::secret::Passphrase;
use crate::{Error, Result};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::RawAuthPin;
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where the token is: a PKCS#11 module and a token label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsConfig {
    pub module: PathBuf,
    pub token: String,
}

/// A master key on the token, as the user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsKey {
    pub label: String,
    /// CKA_ID in lower-case hex.
    pub id: String,
}

/// An open, logged-in session on the configured token.
pub struct Kms {
    // Field order matters: the session must close before the library is finalised.
    session: Session,
    _pkcs11: Pkcs11,
    token: String,
}

impl fmt::Debug for Kms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kms")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

const IV_LEN: usize = 12;
const TAG_BITS: u64 = 128;

/// A key id as the user gives it: hex, surrounding space ignored, not empty.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    crate::hex::decode(text)
}

fn p11(what: &str) -> impl Fn(P11Error) -> Error + '_ {
    move |e| Error::Kms(format!("{what}: {e}"))
}

impl Kms {
    /// Check that the module loads and holds the token, without logging in.
    pub fn probe(config: &KmsConfig) -> Result<()> {
        let (_pkcs11, _slot) = Self::find_token(config)?;
        Ok(())
    }

    fn find_token(config: &KmsConfig) -> Result<(Pkcs11, cryptoki::slot::Slot)> {
        // Load the file that was checked, not the name: a symlink on the way
        // could be pointed elsewhere between the check and the load.
        let real = trusted_module(&config.module)?;
        let pkcs11 = Pkcs11::new(&real).map_err(|e| {
            Error::KmsModule(format!(
                "{} is not a PKCS#11 module: {e}",
                config.module.display()
            ))
        })?;
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => {
                return Err(Error::KmsModule(format!(
                    "{} failed to initialise: {e}",
                    config.module.display()
                )));
            }
        }
        let slots = pkcs11
            .get_slots_with_token()
            .map_err(p11("listing token slots"))?;
        let mut labels = Vec::new();
        let mut found = None;
        for slot in slots {
            let info = pkcs11
                .get_token_info(slot)
                .map_err(p11("reading token info"))?;
            let label = info.label().trim_end().to_string();
            if label == config.token {
                found = Some(slot);
                break;
            }
            labels.push(label);
        }
        let slot = found.ok_or_else(|| Error::KmsTokenNotFound {
            token: config.token.clone(),
            available: labels,
        })?;
        Ok((pkcs11, slot))
    }

    /// Load the module, find the token by label and log in with `pin`.
    pub fn open(config: &KmsConfig, pin: &Passphrase) -> Result<Kms> {
        let (pkcs11, slot) = Self::find_token(config)?;
        let session = pkcs11
            .open_rw_session(slot)
            .map_err(p11("opening a session"))?;
        let raw = RawAuthPin::new(Box::new(pin.as_bytes().to_vec()));
        match session.login_with_raw(UserType::User, &raw) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(P11Error::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                return Err(Error::WrongPin {
                    token: config.token.clone(),
                });
            }
            Err(P11Error::Pkcs11(RvError::PinLocked, _)) => {
                return Err(Error::Kms(format!(
                    "the PIN of token '{}' is locked",
                    config.token
                )));
            }
            Err(e) => return Err(Error::Kms(format!("logging in: {e}"))),
        }
        Ok(Kms {
            session,
            _pkcs11: pkcs11,
            token: config.token.clone(),
        })
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Make a non-extractable, sensitive AES-256 key on the token.
    pub fn create_key(&self, label: &str) -> Result<KmsKey> {
        if label.is_empty() {
            return Err(Error::invalid("a KMS key name cannot be empty"));
        }
        if !self.find(Some(label), None)?.is_empty() {
            return Err(Error::invalid(format!(
                "token '{}' already has a key named '{label}'",
                self.token
            )));
        }
        let mut id = vec![0u8; 16];
        getrandom::fill(&mut id).map_err(|e| Error::Kms(format!("random id: {e}")))?;
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
        ];
        self.session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(|e| Error::KmsKeyCreation(e.to_string()))?;
        Ok(KmsKey {
            label: label.to_string(),
            id: hex(&id),
        })
    }

    /// The token's AES secret keys.
    pub fn list_keys(&self) -> Result<Vec<KmsKey>> {
        let mut keys = Vec::new();
        for handle in self.find(None, None)? {
            keys.push(self.describe(handle)?);
        }
        keys.sort_by(|a, b| a.label.cmp(&b.label).then(a.id.cmp(&b.id)));
        Ok(keys)
    }

    fn find(&self, label: Option<&str>, id: Option<&[u8]>) -> Result<Vec<ObjectHandle>> {
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
        ];
        if let Some(label) = label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = id {
            template.push(Attribute::Id(id.to_vec()));
        }
        self.session
            .find_objects(&template)
            .map_err(p11("searching the token"))
    }

    fn describe(&self, handle: ObjectHandle) -> Result<KmsKey> {
        let attrs = self
            .session
            .get_attributes(handle, &[AttributeType::Label, AttributeType::Id])
            .map_err(p11("reading key attributes"))?;
        let mut key = KmsKey {
            label: String::new(),
            id: String::new(),
        };
        for a in attrs {
            match a {
                Attribute::Label(l) => key.label = String::from_utf8_lossy(&l).into_owned(),
                Attribute::Id(i) => key.id = hex(&i),
                _ => {}
            }
        }
        Ok(key)
    }

    /// The master key named by label and/or id (both must agree when both
    /// are given); exactly one key must match.
    pub fn key(&self, label: Option<&str>, id: Option<&str>) -> Result<(KmsKey, ObjectHandle)> {
        let id_bytes = match id {
            Some(text) => Some(
                unhex(text)
                    .ok_or_else(|| Error::invalid(format!("KMS key id {text:?} is not hex")))?,
            ),
            None => None,
        };
        let what = match (label, id) {
            (Some(l), Some(i)) => format!("name '{l}' and id {i}"),
            (Some(l), None) => format!("name '{l}'"),
            (None, Some(i)) => format!("id {i}"),
            (None, None) => return Err(Error::invalid("a KMS key needs a name or an id")),
        };
        let handles = self.find(label, id_bytes.as_deref())?;
        match handles.as_slice() {
            [one] => Ok((self.describe(*one)?, *one)),
            [] => Err(Error::KmsKeyNotFound {
                key: what,
                token: self.token.clone(),
            }),
            _ => Err(Error::invalid(format!(
                "{} keys on token '{}' match {what}; name the key by id",
                handles.len(),
                self.token
            ))),
        }
    }

    /// Encrypt a data key under the master key: IV (12 bytes) || ciphertext || tag.
    pub fn wrap(&self, key: ObjectHandle, data_key: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut iv = [0u8; IV_LEN];
        getrandom::fill(&mut iv).map_err(|e| Error::Kms(format!("random IV: {e}")))?;
        let sealed = {
            let params =
                GcmParams::new(&mut iv, aad, TAG_BITS.into()).map_err(p11("GCM parameters"))?;
            self.session
                .encrypt(&Mechanism::AesGcm(params), key, data_key)
                .map_err(p11("wrapping the data key on the token"))?
        };
        let mut out = iv.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypt a data key that [`Kms::wrap`] produced.
    pub fn unwrap(
        &self,
        key: ObjectHandle,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        if wrapped.len() <= IV_LEN {
            return Err(Error::Kms("the wrapped data key is truncated".into()));
        }
        let (iv, sealed) = wrapped.split_at(IV_LEN);
        let mut iv = iv.to_vec();
        let params =
            GcmParams::new(&mut iv, aad, TAG_BITS.into()).map_err(p11("GCM parameters"))?;
        self.session
            .decrypt(&Mechanism::AesGcm(params), key, sealed)
            .map(Zeroizing::new)
            .map_err(|_| Error::Kms("the token could not unwrap the data key".into()))
    }
}

/// The module file to load (`module` with every symlink resolved), refused
/// unless only root or the user could have put it there.
///
/// Loading a shared library runs its code inside kps, and the token's PIN
/// goes to it, so the file and every directory above it must belong to root
/// or to the user and be writable by no one else, as OpenSSH's `safe_path`
/// asks of its key files. One exception: a directory others can write that
/// has the sticky bit (`/tmp`) is accepted, because the sticky bit lets only
/// an entry's owner (or the directory's, root or the user as checked) rename
/// or remove it, and the entry below is itself checked.
pub fn trusted_module(module: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(module).map_err(|e| {
        Error::KmsModule(if e.kind() == std::io::ErrorKind::NotFound {
            format!("{} does not exist", module.display())
        } else {
            format!("{}: {e}", module.display())
        })
    })?;
    let me = rustix::process::geteuid().as_raw();
    let insecure = |path: &Path, why: String| Error::KmsModuleInsecure {
        module: module.to_path_buf(),
        path: path.to_path_buf(),
        why,
    };
    for (depth, path) in real.ancestors().enumerate() {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::KmsModule(format!("{}: {e}", path.display())))?;
        if depth == 0 && !meta.is_file() {
            return Err(Error::KmsModule(format!(
                "{} is not a file",
                module.display()
            )));
        }
        if meta.uid() != 0 && meta.uid() != me {
            return Err(insecure(
                path,
                format!(
                    "belongs to user id {}, neither root nor you ({me})",
                    meta.uid()
                ),
            ));
        }
        let sticky_dir = meta.is_dir() && meta.mode() & 0o1000 != 0;
        if meta.mode() & 0o022 != 0 && !sticky_dir {
            return Err(insecure(
                path,
                format!(
                    "can be written by group or others (mode {:03o})",
                    meta.mode() & 0o777
                ),
            ));
        }
    }
    Ok(real)
}

/// The module path a user gave, made absolute so that it means the same
/// file wherever kps runs later.
pub fn absolute_module(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            [0, 1, 0xab, 0xff]
        );
        for bad in ["", "abc", "zz", "0g"] {
            assert!(unhex(bad).is_none(), "{bad}");
        }
    }
}
