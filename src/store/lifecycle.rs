//! Changing a stored keypair in place: its name (`kps rename`) and the text
//! that goes with it (`kps set`: comment, description, user id).
//!
//! A sealed private key's associated data holds the keypair's name, which
//! binds the envelope to its row (a ciphertext copied into another row does
//! not open), so a rename opens the private key and seals it again under
//! the new name. Every change gets a new row MAC, so both need the store's
//! row key: this machine's pin, or the unlock.

use super::{Openers, RowKey, Sealers, Store, now_rfc3339};
use crate::keypair::Keypair;
use crate::{Error, Result};

/// What `kps set` changes; `None` leaves a field as it is. An empty
/// description or user id clears it; an empty comment leaves the public key
/// line without one (as `ssh-keygen -C ''` does).
#[derive(Clone, Debug, Default)]
pub struct Details {
    pub comment: Option<String>,
    pub description: Option<String>,
    pub user_id: Option<String>,
}

impl Details {
    pub fn is_empty(&self) -> bool {
        self.comment.is_none() && self.description.is_none() && self.user_id.is_none()
    }
}

impl Store {
    /// Rename keypair `old` to `new`: its private key, if the store holds
    /// one, is opened with what protects it (`openers`) and sealed again
    /// the same way under the new name (`sealers`), and the row is written
    /// with its new name, envelope and MAC in one statement. Refused if
    /// another process changed the keypair meanwhile; a name taken
    /// meanwhile is decided by the UNIQUE constraint.
    pub fn rename(
        &self,
        old: &str,
        new: &str,
        openers: Openers<'_>,
        sealers: Sealers<'_>,
    ) -> Result<Keypair> {
        crate::name::validate(new)?;
        if old == new {
            return Err(Error::AlreadyExists(new.to_string()));
        }
        let (mut keypair, old_envelope) = self.row_with_envelope(old)?;
        let new_envelope = match &old_envelope {
            Some(envelope) => {
                let key = self.open_envelope(&keypair, envelope, openers)?;
                let (sealed, encryption) = sealers.seal(new, &keypair.encryption, &key)?;
                keypair.encryption = encryption;
                Some(sealed)
            }
            None => None,
        };
        keypair.name = new.to_string();
        keypair.update_time = now_rfc3339();
        let mac = sealers.row_key.map(|k| k.tag(&keypair));
        // A name taken meanwhile is the backend's AlreadyExists.
        let n = self.backend.rename_keypair(
            old,
            old_envelope.as_deref(),
            &keypair,
            new_envelope.as_deref(),
            mac.as_deref(),
        )?;
        if n != 1 {
            return Err(Error::SaveFailed {
                name: old.to_string(),
                detail: "another process changed it meanwhile; try again".into(),
            });
        }
        self.backend.checkpoint_if_large();
        if sealers.row_key.is_some() {
            keypair.integrity = crate::keypair::Integrity::Verified;
        }
        Ok(keypair)
    }

    /// Change keypair `name`'s comment, description or user id. The comment
    /// is part of the public key line (and of every private key file
    /// exported from now on: the row's comment is what a private key
    /// opened from the store carries). The row is read and written under
    /// the write lock, with its new MAC (`row_key`; `None` only in a store
    /// without an identity, whose rows have none).
    pub fn set_details(
        &self,
        name: &str,
        details: &Details,
        row_key: Option<&RowKey>,
    ) -> Result<Keypair> {
        let tx = self.begin_write()?;
        let mut keypair = self.get(name)?;
        if let Some(comment) = &details.comment {
            let mut public = self.public_key_of(&keypair)?;
            public.set_comment(comment.as_str());
            keypair.public_line = crate::export::public_line(&public)?;
        }
        let cleared = |v: &String| (!v.is_empty()).then(|| v.clone());
        if let Some(d) = &details.description {
            keypair.description = cleared(d);
        }
        if let Some(u) = &details.user_id {
            keypair.user_id = cleared(u);
        }
        keypair.update_time = now_rfc3339();
        let mac = row_key.map(|k| k.tag(&keypair));
        tx.set_keypair_details(&keypair, mac.as_deref())?;
        tx.commit()?;
        self.backend.checkpoint_if_large();
        if row_key.is_some() {
            keypair.integrity = crate::keypair::Integrity::Verified;
        }
        Ok(keypair)
    }
}
