//! Who may read or write the files kps trusts: refuse a store that another
//! user owns, can write, or (for the files) can read, as OpenSSH refuses a
//! private key others can read and StrictModes refuses writable paths.
//!
//! The files (the database and SQLite's `-journal`, `-wal` and `-shm` beside
//! it) must be yours and private: no permission at all for group or others.
//! A readable database gives away the sealed keys for offline guessing; a
//! writable one, or a planted hot journal that SQLite replays on open,
//! rewrites the store. The directory holding them must be yours and not
//! writable by group or others (readable is fine: the files inside are
//! private), because whoever can write it can plant or swap those files.
//! That includes a sticky shared directory such as /tmp: another user can
//! still create `kps.db-journal` there.
//!
//! Above that directory nothing is checked: a store directory that is yours
//! and 0700 cannot have a file added or replaced by anyone else, and a whole
//! directory swapped in from outside fails the owner check.

use crate::{Error, Result};
use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// SQLite's files beside a database: the rollback journal, the WAL and its
/// shared-memory index. Any of them can change what the database reads as.
pub(crate) const SIDE_SUFFIXES: [&str; 3] = ["-journal", "-wal", "-shm"];

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

/// Check everything SQLite will touch for the database at `db_path` before
/// it is opened: the directory it lives in, the database and each side file
/// that exists. SQLite follows a symlinked database to the real file and
/// puts its journal beside that, so the checks follow it too.
pub(crate) fn check_store_files(db_path: &Path) -> Result<()> {
    let real = fs::canonicalize(db_path).map_err(|source| Error::StoreIo {
        path: db_path.to_path_buf(),
        source,
    })?;
    let dir = match real.parent() {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("/"),
    };
    check_private_dir(&dir, db_path)?;
    check_private_file(&real, fs::metadata(&real), FileRole::Database)?;
    for suffix in SIDE_SUFFIXES {
        let side = side_file(&real, suffix);
        // A side file is never a link in a store kps made: SQLite would
        // follow it to wherever it points.
        match fs::symlink_metadata(&side) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            meta => check_private_file(&side, meta, FileRole::SideFile)?,
        }
    }
    Ok(())
}

/// `db_path` with SQLite's `suffix` appended (`kps.db` -> `kps.db-wal`).
pub(crate) fn side_file(db_path: &Path, suffix: &str) -> PathBuf {
    let mut side = db_path.as_os_str().to_owned();
    side.push(suffix);
    PathBuf::from(side)
}

/// A directory that holds store files: yours and not writable by group or
/// others. `db_path` is the database in it, named in the advice.
pub(crate) fn check_private_dir(dir: &Path, db_path: &Path) -> Result<()> {
    let meta = fs::metadata(dir).map_err(|source| Error::StoreIo {
        path: dir.to_path_buf(),
        source,
    })?;
    let insecure = |why: String, fix: String| Error::StoreInsecure {
        path: dir.to_path_buf(),
        why,
        fix,
    };
    let move_it = || {
        format!(
            "move {} into a directory of your own (mkdir -m 700 DIR), or use --store for your own",
            shell_quote(db_path)
        )
    };
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(insecure(
            format!(
                "the directory belongs to user id {}, not to you ({me}), and its owner can put files in it",
                meta.uid()
            ),
            move_it(),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        let why = format!(
            "group or others can create files in the directory (mode {:03o})",
            mode & 0o7777
        );
        // A sticky directory (like /tmp) is shared by design: making it
        // private would break its other users.
        let fix = if mode & 0o1000 != 0 {
            move_it()
        } else {
            format!("chmod go-w {}", shell_quote(dir))
        };
        return Err(insecure(why, fix));
    }
    Ok(())
}

/// What a checked file is to kps; only the advice differs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FileRole {
    /// The store database.
    Database,
    /// SQLite's `-journal`, `-wal`, `-shm` beside it.
    SideFile,
    /// A file kps writes for the user in the config directory.
    Own,
}

/// A private file: yours, a regular file (not a link), and no permission
/// for group or others.
fn check_private_file(
    path: &Path,
    meta: std::io::Result<fs::Metadata>,
    role: FileRole,
) -> Result<()> {
    let meta = meta.map_err(|source| Error::StoreIo {
        path: path.to_path_buf(),
        source,
    })?;
    let insecure = |why: String, fix: String| Error::StoreInsecure {
        path: path.to_path_buf(),
        why,
        fix,
    };
    if !meta.file_type().is_file() {
        let what = if meta.file_type().is_symlink() {
            "a symbolic link"
        } else {
            "not a regular file"
        };
        let fix = if role == FileRole::Database {
            "give --store a store directory or a store file of your own".into()
        } else {
            format!(
                "kps and SQLite never make it so: find out who did, then remove {}",
                shell_quote(path)
            )
        };
        return Err(insecure(format!("it is {what}"), fix));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        let fix = match role {
            FileRole::Database => {
                "use a store of your own (--store), or have its owner make you a backup".into()
            }
            FileRole::SideFile => format!(
                "kps would replay another user's file into the store: find out who put it there, then remove {}",
                shell_quote(path)
            ),
            FileRole::Own => format!(
                "find out who put it there, then remove {}: kps writes it again",
                shell_quote(path)
            ),
        };
        return Err(insecure(
            format!("it belongs to user id {}, not to you ({me})", meta.uid()),
            fix,
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(insecure(
            format!(
                "group or others can access it (mode {:03o}); it must be private",
                mode & 0o777
            ),
            format!("chmod 600 {}", shell_quote(path)),
        ));
    }
    Ok(())
}

/// Make directory `path` (with missing parents) exactly 0700, whatever the
/// umask, unless it exists; a directory made meanwhile by another process
/// is fine. The caller checks it.
pub(crate) fn make_private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    let io_err = |source| Error::StoreIo {
        path: path.to_path_buf(),
        source,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err)?;
    // The mode given to mkdir is narrowed by the umask; make it exact.
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io_err)
}

/// A file kps keeps for the user outside the store (a store pin): as
/// private as the store's own files.
pub(crate) fn check_own_file(path: &Path) -> Result<()> {
    check_private_file(path, fs::symlink_metadata(path), FileRole::Own)
}

/// Refuse a path (kps's config directory) that another user owns or that
/// group or others can write.
pub(crate) fn check_private(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).map_err(|source| Error::StoreIo {
        path: path.to_path_buf(),
        source,
    })?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(Error::StoreInsecure {
            path: path.to_path_buf(),
            why: format!("it belongs to user id {}, not to you ({me})", meta.uid()),
            fix: "use one of your own (set XDG_CONFIG_HOME or HOME)".into(),
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::StoreInsecure {
            path: path.to_path_buf(),
            why: format!(
                "group or others can write to it (mode {:03o})",
                meta.mode() & 0o777
            ),
            fix: format!("chmod go-w {}", shell_quote(path)),
        });
    }
    Ok(())
}

/// `path` quoted for a POSIX shell, so that the hint can be pasted as it is:
/// in single quotes, each `'` written as `'\''`.
pub(crate) fn shell_quote(path: &Path) -> String {
    crate::text::single_quoted(&path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_paths_for_the_shell() {
        assert_eq!(shell_quote(Path::new("/a b/kps.db")), "'/a b/kps.db'");
        assert_eq!(shell_quote(Path::new("/it's")), r"'/it'\''s'");
        assert_eq!(shell_quote(Path::new("/$(x)`y`")), "'/$(x)`y`'");
    }
}
