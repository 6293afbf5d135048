//! `import --from-dir`: which files of a directory are keys, and what each
//! keypair is called. `kps import --from-dir ~/.ssh` should do what a user
//! means: private keys in, `.pub` files and `config`, `known_hosts`,
//! `authorized_keys` and the like skipped and listed as skipped.

use super::{Content, ParsedKey, classify, private_key};
use crate::secret::Passphrase;
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct DirScan {
    /// Keys to import: file, keypair name, key.
    pub keys: Vec<(PathBuf, String, ParsedKey)>,
    /// Files that hold no private key, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Files that hold a private key kps refuses (or whose name is unusable).
    pub failures: Vec<(PathBuf, Error)>,
}

/// The keypair name for a key file: its name without the last extension
/// (`id_ed25519` stays, `web01.pem` is `web01`).
pub fn name_for(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Read at most one byte more than a key file may have, so that a huge file
/// is refused without being read whole.
pub fn read_limited(mut reader: impl Read) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut buf = zeroize::Zeroizing::new(Vec::new());
    reader
        .by_ref()
        .take(super::MAX_INPUT as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// Look at every regular file directly in `dir` (sorted by name; no
/// recursion). `on_file(done, total)` is called after each file, for progress.
pub fn scan(
    dir: &Path,
    passphrase: Option<&Passphrase>,
    mut on_file: impl FnMut(usize, usize),
) -> Result<DirScan> {
    let io_err = |source| Error::InputIo {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let mut scan = DirScan::default();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    let total = paths.len();
    for (done, path) in paths.into_iter().enumerate() {
        on_file(done, total);
        // Directories, sockets and broken links are not key files.
        let Ok(meta) = std::fs::metadata(&path) else {
            scan.skipped
                .push((path, "unreadable or a broken link".into()));
            continue;
        };
        if !meta.is_file() {
            if !meta.is_dir() {
                scan.skipped.push((path, "not a regular file".into()));
            }
            continue;
        }
        let bytes = match std::fs::File::open(&path).and_then(read_limited) {
            Ok(b) => b,
            Err(e) => {
                scan.skipped.push((path, format!("cannot read: {e}")));
                continue;
            }
        };
        match classify(&bytes) {
            Content::NotAKey => {
                scan.skipped.push((path, "holds no key".into()));
                continue;
            }
            Content::PublicKey => {
                let beside = path.with_extension("");
                let reason = if path.extension().is_some_and(|e| e == "pub") && beside.is_file() {
                    format!("public key of {}", beside.display())
                } else {
                    "public key only (import it with --public-key)".to_string()
                };
                scan.skipped.push((path, reason));
                continue;
            }
            Content::PrivateKey => {}
        }
        let name = name_for(&path);
        if let Err(e) = crate::name::validate(&name) {
            scan.failures.push((path, e));
            continue;
        }
        if let Some(first) = names.get(&name) {
            scan.failures.push((
                path,
                Error::invalid(format!(
                    "keypair name '{name}' would also come from {}",
                    first.display()
                )),
            ));
            continue;
        }
        names.insert(name.clone(), path.clone());
        match private_key(&bytes, passphrase) {
            Ok(key) => scan.keys.push((path, name, key)),
            Err(e) => scan.failures.push((path, e)),
        }
    }
    Ok(scan)
}
