//! Writing exported key files: whole or not at all, with the right mode, and
//! never over an existing file unless asked.

use crate::{Error, Result};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Write `contents` to `path` atomically: a temporary file beside it is
/// written and synced, then moved into place. `mode` is applied exactly
/// (umask does not widen or narrow it). Without `force` an existing `path` is
/// left alone and reported; the move is then a hard link, which the kernel
/// refuses atomically if the name exists, so two racing writers cannot both win.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<()> {
    let io_err = |source| Error::OutputIo {
        path: path.to_path_buf(),
        source,
    };
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(Error::OutputExists {
            path: path.to_path_buf(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io_err(std::io::Error::other("not a file name")))?;
    let (tmp_path, mut file) = create_temp(&dir, file_name, mode).map_err(io_err)?;
    let cleanup = TempGuard(&tmp_path);
    file.write_all(contents).map_err(io_err)?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    if force {
        fs::rename(&tmp_path, path).map_err(io_err)?;
    } else {
        match fs::hard_link(&tmp_path, path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::OutputExists {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(io_err(e)),
        }
    }
    drop(cleanup);
    // The new name must survive a crash too.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_temp(
    dir: &Path,
    file_name: &std::ffi::OsStr,
    mode: u32,
) -> std::io::Result<(PathBuf, fs::File)> {
    let mut last_err = None;
    for _ in 0..16 {
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix).map_err(std::io::Error::other)?;
        let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{hex}.tmp"));
        let tmp = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o700)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no temporary name")))
}

/// Removes the temporary file on every path out of `write_atomic`; after a
/// rename it is gone already, after a hard link it is the second name.
struct TempGuard<'a>(&'a Path);

impl Drop for TempGuard<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_with_mode_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_atomic(&path, b"one", 0o600, false).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            write_atomic(&path, b"two", 0o600, false),
            Err(Error::OutputExists { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", 0o600, true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
