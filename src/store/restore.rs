//! `kps restore`: putting a backup (what `kps backup` writes) back as the
//! store, checked whole before anything is replaced.
//!
//! The backup file is copied once into a private directory beside the
//! store, and only that copy is opened: SQLite never touches the file the
//! user named or anything beside it, and what is checked is exactly what is
//! restored. The copy must be a kps store (integrity check, schema version,
//! no triggers or views), open with the passphrase, and have every row's
//! MAC verify and every `default` private key open, as `kps verify` checks.
//!
//! The store is then replaced row by row inside one write transaction of
//! the live database, with the copy attached (backend/sqlite.rs): the
//! check for keypairs the backup lacks and the replacement happen under
//! the same lock, other kps processes see the old store or the new one and
//! nothing between, and the WAL is SQLite's own business (a stale
//! `kps.db-wal` is part of the store being replaced, never replayed over
//! the backup, which is what copying the file over `kps.db` by hand would
//! do).

use super::files::private_dir_beside;
use super::{Openers, RowKey, Store};
use crate::outfile::PrivateDir;
use crate::secret::Passphrase;
use crate::{Error, Result};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A backup file, copied and opened privately, not yet unlocked.
pub struct Backup {
    // Declared before `_dir`: the connection closes before its directory
    // is removed.
    store: Store,
    _dir: PrivateDir,
    file: PathBuf,
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// Keypairs in the store now (the backup's).
    pub keypairs: usize,
    /// Private keys sealed to the store identity that were opened and checked.
    pub private_keys_opened: usize,
    /// Keypairs the store held that the backup does not (by name, or under
    /// the same name another key): gone now. Empty unless forced.
    pub removed: Vec<String>,
}

impl Backup {
    /// Copy `file` into a new private directory beside the store database
    /// `store_db` and open the copy as a store: it must be a kps store file
    /// (an SQLite database that passes its integrity check and kps's schema
    /// checks, with an identity). Nothing is asked for yet.
    pub fn open(file: &Path, store_db: &Path) -> Result<Backup> {
        let bad = |detail: &str| Error::BackupInvalid {
            path: file.to_path_buf(),
            detail: detail.to_string(),
        };
        for suffix in ["-wal", "-journal"] {
            let side = crate::perms::side_file(file, suffix);
            if fs::symlink_metadata(&side).is_ok_and(|m| m.len() > 0) {
                return Err(bad(&format!(
                    "it has {} beside it: it is a store in use (its latest changes may be in that file), not a backup; make one with 'kps --store DIR backup FILE' and restore that",
                    side.display()
                )));
            }
        }
        let dir = private_dir_beside(store_db).map_err(|source| Error::StoreIo {
            path: store_db.to_path_buf(),
            source,
        })?;
        let copy = dir.path().join("restore.db");
        copy_regular_file(file, &copy)?;
        let store = Store::open_scratch(&copy).map_err(|e| about(e, file, &copy))?;
        let check = store
            .backend
            .sqlite()?
            .integrity_check()
            .map_err(|e| about(e, file, &copy))?;
        if check != "ok" {
            return Err(bad(&format!("its integrity check fails ({check})")));
        }
        if store
            .wrapped_identity()
            .map_err(|e| about(e, file, &copy))?
            .is_none()
        {
            return Err(bad(
                "it has no store identity (no passphrase): it is not a kps store, or one used only with kms, whose rows cannot be verified",
            ));
        }
        Ok(Backup {
            store,
            _dir: dir,
            file: file.to_path_buf(),
        })
    }

    /// Unlock the copy with the backup's passphrase and check it as
    /// `kps verify` does: every row's MAC, every `default` private key.
    /// Nothing is pinned for the copy. A wrong passphrase is
    /// [`Error::WrongPassphrase`] (the caller may ask again).
    pub fn verify(&self, passphrase: &Passphrase) -> Result<Verified> {
        let identity = self.store.unlock(passphrase)?;
        let (keypairs, opened) = self
            .store
            .verify_all(Openers {
                identity: Some(&identity),
                kms: None,
            })
            .map_err(|e| match e {
                Error::IntegrityFailure { .. } => Error::BackupInvalid {
                    path: self.file.clone(),
                    detail: e.to_string(),
                },
                other => about(other, &self.file, &self.store.db_path),
            })?;
        // One self-contained file for the live store to attach: whatever
        // the checks wrote (an older backup's rows endorsed) goes from the
        // copy's WAL into the copy.
        self.store
            .backend
            .sqlite()?
            .make_self_contained()
            .map_err(|e| about(e, &self.file, &self.store.db_path))?;
        Ok(Verified {
            keypairs,
            private_keys_opened: opened,
            row_key: identity.row_key(),
        })
    }
}

/// A backup unlocked and checked ([`Backup::verify`]): what was checked,
/// and the key that authenticates its rows.
pub struct Verified {
    keypairs: usize,
    private_keys_opened: usize,
    row_key: RowKey,
}

impl Store {
    /// Replace this store's contents with the verified `backup`, in one
    /// transaction. Refused, with nothing changed, if the store holds
    /// keypairs the backup does not (by name and fingerprint), unless
    /// `force`. The store's pin on this machine becomes the backup's
    /// identity, which the backup's passphrase opened.
    pub fn restore(&self, backup: Backup, verified: Verified, force: bool) -> Result<Restored> {
        self.refuse_team("kps restore")?;
        let Verified {
            keypairs,
            private_keys_opened,
            row_key,
        } = verified;
        let wrapped = backup
            .store
            .wrapped_identity()?
            .ok_or_else(|| self.corrupt("the backup's identity vanished"))?;
        let removed = self
            .backend
            .sqlite()?
            .replace_from_file(&backup.store.db_path, force)?;
        self.backend.checkpoint();
        self.trust.borrow_mut().unlocked = None;
        self.trusted(&wrapped, row_key)?;
        drop(backup);
        Ok(Restored {
            keypairs,
            private_keys_opened,
            removed,
        })
    }
}

/// Errors about the private copy name the file the user gave.
fn about(e: Error, file: &Path, copy: &Path) -> Error {
    match e {
        Error::StoreCorrupt { path, detail } if path == copy => Error::BackupInvalid {
            path: file.to_path_buf(),
            detail,
        },
        Error::StoreTooNew {
            path,
            found,
            supported,
        } if path == copy => Error::StoreTooNew {
            path: file.to_path_buf(),
            found,
            supported,
        },
        other => other,
    }
}

/// Copy the regular file `from` (never a link, fifo or device: it is
/// opened without following a link and without blocking, and checked to be
/// the regular file it was) to the new file `to`, 0600.
fn copy_regular_file(from: &Path, to: &Path) -> Result<()> {
    let read_err = |source| Error::InputIo {
        path: from.to_path_buf(),
        source,
    };
    let not_regular = |what: &str| {
        read_err(std::io::Error::other(format!(
            "it is {what}, not a regular file: kps restores only from a backup file itself"
        )))
    };
    let before = fs::symlink_metadata(from).map_err(read_err)?;
    if before.file_type().is_symlink() {
        return Err(not_regular("a symbolic link"));
    }
    if !before.file_type().is_file() {
        return Err(not_regular("a directory, device, socket or named pipe"));
    }
    let mut input = fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(from)
        .map_err(read_err)?;
    let meta = input.metadata().map_err(read_err)?;
    if !meta.is_file() || meta.dev() != before.dev() || meta.ino() != before.ino() {
        return Err(not_regular("no longer the file it was"));
    }
    let write_err = |source| Error::StoreIo {
        path: to.to_path_buf(),
        source,
    };
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(write_err)?;
    output
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(write_err)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n]).map_err(write_err)?;
    }
    output.sync_all().map_err(write_err)
}
