//! Store pins: what this machine's user has proven about a store, kept in
//! the user's config directory where the store's writer cannot reach (like
//! `known_hosts` for host keys).
//!
//! A pin records, for one store path, the identity public key that the
//! store passphrase last opened here and the row-authentication key derived
//! from it. Writes seal only to the pinned identity (so a swapped public
//! key in the store is refused, not sealed to), and rows are checked with
//! the pinned key. A pin is written at `init` and after every unlock, and
//! only then: whatever is in it was proven with the passphrase.
//!
//! File: `CONFIG/stores/<first 32 hex digits of SHA-256(canonical db path)>.pin`,
//! 0600, in directories 0700:
//!
//! ```text
//! kps store pin v1
//! # store: "/home/user/.local/share/kps/kps.db"
//! identity <64 hex digits>
//! row-key <64 hex digits>
//! ```

use super::rowmac::RowKey;
use crate::perms::{check_own_file, check_private, make_private_dir};
use crate::{Error, Result, config};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const HEADER: &str = "kps store pin v1";

#[derive(Clone, Debug)]
pub(crate) struct Pin {
    /// The store identity's X25519 public key.
    pub identity: Vec<u8>,
    pub row_key: RowKey,
}

/// The store database's canonical path, which names its pin.
fn canonical(db_path: &Path) -> Result<PathBuf> {
    fs::canonicalize(db_path).map_err(|source| Error::StoreIo {
        path: db_path.to_path_buf(),
        source,
    })
}

/// The pin file's name for the store database at `db_path`.
fn file_name(db_path: &Path) -> Result<String> {
    let digest = Sha256::digest(canonical(db_path)?.as_os_str().as_encoded_bytes());
    Ok(format!("{}.pin", crate::hex::encode(&digest[..16])))
}

/// A 32-byte value written as 64 hex digits.
fn unhex32(s: &str) -> Option<[u8; 32]> {
    crate::hex::decode(s)?.try_into().ok()
}

/// Where the pin for the store at `db_path` is (or would be).
pub(crate) fn path(db_path: &Path) -> Result<Option<PathBuf>> {
    match config::dir() {
        Some(dir) => Ok(Some(dir.join("stores").join(file_name(db_path)?))),
        None => Ok(None),
    }
}

/// The pin for the store at `db_path`, if this user has one. No home
/// directory, or no config directory yet, means no pin.
pub(crate) fn load(db_path: &Path) -> Result<Option<Pin>> {
    let Some(dir) = config::existing_dir()? else {
        return Ok(None);
    };
    let stores = dir.join("stores");
    if !stores.exists() {
        return Ok(None);
    }
    check_private(&stores)?;
    let path = stores.join(file_name(db_path)?);
    if fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    // The row key in it lets whoever reads it forge rows: private, as the
    // store's own files are.
    check_own_file(&path)?;
    let text = Zeroizing::new(fs::read_to_string(&path).map_err(|source| Error::StoreIo {
        path: path.clone(),
        source,
    })?);
    parse(&text).map(Some).ok_or(Error::BadPin { path })
}

fn parse(text: &str) -> Option<Pin> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    if lines.next()? != HEADER {
        return None;
    }
    let (mut identity, mut row_key) = (None, None);
    for line in lines {
        match line.split_once(' ')? {
            ("identity", v) => identity = Some(unhex32(v)?.to_vec()),
            ("row-key", v) => row_key = Some(RowKey::from_bytes(unhex32(v)?)),
            _ => return None,
        }
    }
    Some(Pin {
        identity: identity?,
        row_key: row_key?,
    })
}

/// Record `pin` for the store at `db_path` (created 0600, replaced
/// atomically; left alone when it already says the same).
pub(crate) fn save(db_path: &Path, pin: &Pin) -> Result<()> {
    let dir = config::ensure_dir()?;
    let stores = dir.join("stores");
    make_private_dir(&stores)?;
    check_private(&stores)?;
    let path = stores.join(file_name(db_path)?);
    if let Ok(Some(old)) = load(db_path)
        && old.identity == pin.identity
        && old.row_key == pin.row_key
    {
        return Ok(());
    }
    // The path is only for people reading the file; Debug quoting keeps a
    // path with a line break on one line.
    let shown = canonical(db_path)?;
    let text = Zeroizing::new(format!(
        "{HEADER}\n# store: {shown:?}\nidentity {}\nrow-key {}\n",
        crate::hex::encode(&pin.identity),
        crate::hex::encode(
            pin.row_key
                .as_bytes()
                .ok_or_else(|| Error::invalid("internal: a team store has no store pin"))?
        )
    ));
    crate::outfile::write_atomic(&path, text.as_bytes(), 0o600, true).map_err(|e| match e {
        Error::OutputIo { path, source } => Error::StoreIo { path, source },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_writes_and_nothing_else() {
        let text = format!(
            "{HEADER}\n# store: /x\nidentity {}\nrow-key {}\n",
            "ab".repeat(32),
            "cd".repeat(32)
        );
        let pin = parse(&text).unwrap();
        assert_eq!(pin.identity, vec![0xab; 32]);
        assert_eq!(pin.row_key.as_bytes(), Some(&[0xcd; 32]));
        for bad in [
            text.replace(HEADER, "kps store pin v2"),
            text.replace("identity ab", "identity zz"),
            text.replace("row-key", "row_key"),
            format!("{text}extra line\n"),
            text.lines().take(3).collect::<Vec<_>>().join("\n"),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
    }
}
