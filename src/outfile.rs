//! Writing exported key files and backups: whole or not at all, with the
//! right mode, never over an existing file unless asked, and never over
//! anything but a regular file.

use crate::{Error, Result};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Refuse an output path kps must not write: anything that is not a regular
/// file (a symlink, device, fifo or directory: `--force` over a link to
/// `/dev/stdout` would otherwise replace the link itself with a regular
/// file, and as root the system's), and without `force` any existing file.
pub fn check_target(path: &Path, force: bool) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(Error::OutputNotRegular {
            path: path.to_path_buf(),
            what: describe(&meta.file_type()).to_string(),
        }),
        Ok(_) if !force => Err(Error::OutputExists {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

fn describe(kind: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

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
    check_target(path, force)?;
    let dir = parent_of(path);
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
    move_into_place(&tmp_path, path, force)?;
    drop(cleanup);
    sync_parent(path);
    Ok(())
}

/// Give the finished file at `tmp` the name `path`. With `force` it replaces
/// a regular file (checked again here, at the last moment, so that a link
/// put there since the first check is not replaced); without, a hard link
/// refuses atomically if the name exists. `tmp` keeps its name only after a
/// hard link: the caller removes it.
pub(crate) fn move_into_place(tmp: &Path, path: &Path, force: bool) -> Result<()> {
    let io_err = |source| Error::OutputIo {
        path: path.to_path_buf(),
        source,
    };
    check_target(path, force)?;
    if force {
        fs::rename(tmp, path).map_err(io_err)
    } else {
        match fs::hard_link(tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::OutputExists {
                path: path.to_path_buf(),
            }),
            Err(e) => Err(io_err(e)),
        }
    }
}

/// The new name must survive a crash too.
pub(crate) fn sync_parent(path: &Path) {
    if let Ok(d) = fs::File::open(parent_of(path)) {
        let _ = d.sync_all();
    }
}

pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_temp(
    dir: &Path,
    file_name: &std::ffi::OsStr,
    mode: u32,
) -> std::io::Result<(PathBuf, fs::File)> {
    create_fresh(
        dir,
        |random| {
            let mut name = std::ffi::OsString::from(".");
            name.push(file_name);
            name.push(format!(".{random}.tmp"));
            name
        },
        |tmp| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode & 0o700)
                .open(tmp)
        },
    )
}

/// A directory only this process uses, removed with what is in it when
/// dropped (`mkdtemp`): 0700, under a fresh random name `PREFIX.XXXX` in
/// `base` (mkdir fails if the name exists, whoever made it: nothing planted
/// is ever used). Backups and restores build their files in one; `kps bind`
/// keeps a session's control socket, log and known_hosts file in one.
pub(crate) struct PrivateDir(PathBuf);

impl PrivateDir {
    pub(crate) fn new(base: &Path, prefix: &str) -> std::io::Result<PrivateDir> {
        use std::os::unix::fs::DirBuilderExt;
        let (path, ()) = create_fresh(
            base,
            |random| format!("{prefix}.{random}").into(),
            |path| fs::DirBuilder::new().mode(0o700).create(path),
        )?;
        let dir = PrivateDir(path);
        // The mode asked of mkdir is cut by the umask; never wider.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
        Ok(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Make something under a fresh random name in `dir`: `name` turns 12
/// random hex digits into the name, `create` makes it and must fail with
/// AlreadyExists if the name is taken (O_EXCL, mkdir), so that nothing
/// another user planted under a guessed name is ever used.
pub(crate) fn create_fresh<T>(
    dir: &Path,
    name: impl Fn(&str) -> std::ffi::OsString,
    create: impl Fn(&Path) -> std::io::Result<T>,
) -> std::io::Result<(PathBuf, T)> {
    let mut last_err = None;
    for _ in 0..16 {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).map_err(std::io::Error::other)?;
        let path = dir.join(name(&crate::hex::encode(&random)));
        match create(&path) {
            Ok(made) => return Ok((path, made)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
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

    #[test]
    fn never_replaces_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"theirs").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for force in [false, true] {
            assert!(matches!(
                write_atomic(&link, b"ours", 0o600, force),
                Err(Error::OutputNotRegular { .. })
            ));
            assert!(matches!(
                write_atomic(dir.path(), b"ours", 0o600, force),
                Err(Error::OutputNotRegular { .. })
            ));
        }
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&victim).unwrap(), b"theirs");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
