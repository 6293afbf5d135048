//! Where an agent listens: a Unix socket, 0600, by default in a fresh 0700
//! directory of its own under `$XDG_RUNTIME_DIR` (else the temp dir), and
//! removed again when the agent stops.

use crate::{Error, Result};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The listening socket and what was made for it on disk.
#[derive(Debug)]
pub struct Socket {
    pub listener: UnixListener,
    path: PathBuf,
    /// The private directory made for a default socket, removed with it.
    dir: Option<PathBuf>,
    removed: Mutex<bool>,
}

impl Socket {
    /// Listen at `path`, which must not exist (an old socket or anything else
    /// there is never removed: it may be another agent's), or in a fresh
    /// directory when `path` is `None`.
    pub fn bind(path: Option<&Path>) -> Result<Socket> {
        match path {
            Some(path) => {
                let listener = bind_private(path)?;
                Ok(Socket {
                    listener,
                    path: path.to_path_buf(),
                    dir: None,
                    removed: Mutex::new(false),
                })
            }
            None => {
                let base = runtime_dir();
                let (dir, ()) = crate::outfile::create_fresh(
                    &base,
                    |random| format!("kps-agent.{random}").into(),
                    |dir| std::fs::DirBuilder::new().mode(0o700).create(dir),
                )
                .map_err(|source| socket_error(&base, source))?;
                // The mode asked of mkdir is cut by the umask; never wider.
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
                let path = dir.join(format!("agent.{}", std::process::id()));
                match bind_private(&path) {
                    Ok(listener) => Ok(Socket {
                        listener,
                        path,
                        dir: Some(dir),
                        removed: Mutex::new(false),
                    }),
                    Err(e) => {
                        let _ = std::fs::remove_dir(&dir);
                        Err(e)
                    }
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Remove the socket (and its directory); once, from whichever of the
    /// signal handler and the normal exit gets here first.
    pub fn remove(&self) {
        let mut removed = self.removed.lock().unwrap_or_else(|e| e.into_inner());
        if !*removed {
            let _ = std::fs::remove_file(&self.path);
            if let Some(dir) = &self.dir {
                let _ = std::fs::remove_dir(dir);
            }
            *removed = true;
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `$XDG_RUNTIME_DIR` when it is set and absolute (a per-user 0700 tmpfs on
/// systemd machines), else the temp dir.
pub(crate) fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() && dir.is_dir() => dir,
        _ => std::env::temp_dir(),
    }
}

/// Bind with a umask that leaves the socket 0600 from its first moment (no
/// window in which another user could connect), then make sure of the mode.
fn bind_private(path: &Path) -> Result<UnixListener> {
    use rustix::fs::Mode;
    let old = rustix::process::umask(Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(path);
    rustix::process::umask(old);
    let listener = bound.map_err(|source| socket_error(path, source))?;
    if let Err(source) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        let _ = std::fs::remove_file(path);
        return Err(socket_error(path, source));
    }
    Ok(listener)
}

fn socket_error(path: &Path, source: std::io::Error) -> Error {
    Error::AgentSocket {
        path: path.to_path_buf(),
        source,
    }
}
