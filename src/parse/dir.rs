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

/// What the key files of one directory may cost to open together, in
/// estimated milliseconds of key derivation. Each file is capped on its own
/// (pem.rs, ppk.rs: about 12 s of bcrypt at most), but a directory of such
/// files would add up without bound. 30 s is about 150 keys at ssh-keygen's
/// default (16 bcrypt rounds, about 0.2 s) or 25 at `-a 100`: a real
/// ~/.ssh stays far below it.
pub const KDF_BUDGET_MS: u64 = 30_000;

/// Estimated milliseconds to derive the key of one file, measured on the
/// 2-core build machine and rounded up: bcrypt_pbkdf about 12 ms a round;
/// Argon2 about 0.5 ms a MiB-pass (puttygen's 8 MiB x 21 passes: 76 ms);
/// PBKDF2-HMAC-SHA256 under 1 us an iteration; scrypt about 3 ms a MiB.
fn kdf_cost(text: &str) -> Option<(u64, String)> {
    use super::pem::KeyKdf;
    if crate::ppk::is_ppk(text) {
        let kdf = crate::ppk::kdf_of(text)?;
        let mib_passes = u64::from(kdf.memory_kib) * u64::from(kdf.passes) / 1024;
        return Some((
            mib_passes / 2,
            format!("Argon2 with {} KiB x {} passes", kdf.memory_kib, kdf.passes),
        ));
    }
    let label = super::pem::first_label(text)?;
    Some(match super::pem::kdf_of(text, label)? {
        KeyKdf::Bcrypt { rounds } => (u64::from(rounds) * 12, format!("{rounds} bcrypt rounds")),
        KeyKdf::Pbkdf2 { iterations } => (
            u64::from(iterations) / 1000,
            format!("{iterations} PBKDF2 iterations"),
        ),
        KeyKdf::Scrypt { bytes } => ((bytes >> 20) * 3, format!("{} MiB of scrypt", bytes >> 20)),
    })
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// Look at every regular file directly in `dir` (sorted by name; no
/// recursion). `on_file(done, total)` is called after each key is opened,
/// for progress.
///
/// With a passphrase, the encrypted files' key derivation is priced from
/// their headers before any is run. Taken in name order, a file that does
/// not fit in what is left of [`KDF_BUDGET_MS`] fails, naming its cost; if
/// any does, no key is opened at all (the import would fail anyway), so a
/// directory of costly files costs nothing but reading them.
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
    let mut candidates = Vec::new();
    for path in paths {
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
        candidates.push((path, name, bytes));
    }
    let mut left = KDF_BUDGET_MS;
    let mut over_budget = false;
    if passphrase.is_some() {
        for (path, _, bytes) in &candidates {
            let Some((cost, what)) = super::key_text(bytes).ok().and_then(|t| kdf_cost(&t)) else {
                continue;
            };
            if cost <= left {
                left -= cost;
                continue;
            }
            over_budget = true;
            scan.failures.push((
                path.clone(),
                Error::bad_key_with_hint(
                    format!(
                        "opening it takes {what} (about {}), more than the {} left of \
                         the {} that a directory's key files may take together",
                        seconds(cost),
                        seconds(left),
                        seconds(KDF_BUDGET_MS)
                    ),
                    "import it on its own with --private-key, or re-encrypt it with \
                     the tool's defaults",
                ),
            ));
        }
    }
    if over_budget {
        return Ok(scan);
    }
    let total = candidates.len();
    for (done, (path, name, bytes)) in candidates.into_iter().enumerate() {
        on_file(done, total);
        match private_key(&bytes, passphrase) {
            Ok(key) => scan.keys.push((path, name, key)),
            Err(e) => scan.failures.push((path, e)),
        }
    }
    on_file(total, total);
    Ok(scan)
}
