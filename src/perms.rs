//! Who may write the files kps trusts: refuse paths that another user owns
//! or that group or others can write, as OpenSSH's StrictModes does.

use crate::{Error, Result};
use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Create the database file 0600 from the first byte (SQLite gives its -wal
/// and -shm files the same mode), unless it exists.
pub(crate) fn create_private_file(path: &Path) -> Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|source| Error::StoreIo {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::StoreIo {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Refuse a store path that another user owns or that group or others can write.
pub(crate) fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).map_err(|source| Error::StoreIo {
        path: path.to_path_buf(),
        source,
    })?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(Error::StoreInsecure {
            path: path.to_path_buf(),
            why: format!("it belongs to user id {}, not to you ({me})", meta.uid()),
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::StoreInsecure {
            path: path.to_path_buf(),
            why: format!(
                "group or others can write to it (mode {:03o})",
                meta.mode() & 0o777
            ),
        });
    }
    Ok(())
}
