//! The user's own kps directory (`$XDG_CONFIG_HOME/kps`, by default
//! `~/.config/kps`): what must not come from the store, because whoever can
//! write the store must not be able to choose it (the PKCS#11 module) or
//! forge it (the store pins). Kept 0700 and refused, like the store, when
//! another user owns it or group or others can write to it.

use crate::perms::{check_private, make_private_dir};
use crate::{Error, Result};
use std::path::PathBuf;

/// The platform's config directory for kps, if a home directory is known.
pub fn dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kps").map(|d| d.config_dir().to_path_buf())
}

/// The config directory, refused if it is not private; `None` if there is
/// no home directory or the directory does not exist yet.
pub fn existing_dir() -> Result<Option<PathBuf>> {
    match dir() {
        Some(d) if d.exists() => {
            check_private(&d)?;
            Ok(Some(d))
        }
        _ => Ok(None),
    }
}

/// The config directory, created 0700 (with its parents) if missing.
pub fn ensure_dir() -> Result<PathBuf> {
    let d = dir().ok_or_else(|| {
        Error::invalid_with_hint(
            "cannot find a home directory for kps's configuration",
            "set HOME or XDG_CONFIG_HOME",
        )
    })?;
    make_private_dir(&d)?;
    check_private(&d)?;
    Ok(d)
}
