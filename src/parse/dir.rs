//! `import --from-dir`: which files of a directory are keys, and what each
//! keypair is called. `kps import --from-dir ~/.ssh` should do what a user
//! means: private keys in, `.pub` files and `config`, `known_hosts`,
//! `authorized_keys` and the like skipped and listed as skipped.

use super::{Content, ParsedKey, classify, private_key};
use crate::secret::Passphrase;
use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct DirScan {
    /// Private key files, in name order, each with the keypair name its
    /// file name gives.
    pub files: Vec<KeyFile>,
    /// Files that hold no private key, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Private key files that get no keypair name of their own: the file
    /// name gives none, or the same one as a file before it.
    pub unnamed: Vec<(PathBuf, Error)>,
}

/// One private key file of the directory, read but not opened yet.
pub struct KeyFile {
    pub path: PathBuf,
    pub name: String,
    bytes: zeroize::Zeroizing<Vec<u8>>,
    /// What opening it costs, for an encrypted file kps can decrypt.
    cost: Option<(u64, String)>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("path", &self.path)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// Encrypted, in a form kps decrypts with a passphrase (an OpenSSH,
    /// PKCS#8 or .ppk file; legacy PEM encryption is refused either way).
    pub fn needs_passphrase(&self) -> bool {
        self.cost.is_some()
    }

    /// Read the key, decrypting it with `passphrase` if it is encrypted.
    pub fn open(&self, passphrase: Option<&Passphrase>) -> Result<ParsedKey> {
        private_key(&self.bytes, passphrase)
    }

    /// The public key, when the file shows it without its passphrase (an
    /// encrypted OpenSSH or .ppk file does), so that a key already stored
    /// can be recognised before its passphrase is asked for.
    pub fn public_key(&self) -> Option<ssh_key::PublicKey> {
        let text = super::key_text(&self.bytes).ok()?;
        if crate::ppk::is_ppk(&text) {
            return crate::ppk::public_of(&text);
        }
        super::pem::openssh_public(&text)
    }
}

/// Key file extensions dropped from a file name to make a keypair name
/// (one of them, matched without regard to case).
pub const KEY_EXTENSIONS: &[&str] = &[".pem", ".key", ".ppk", ".priv"];

/// The keypair name for a key file, by the rule the README documents:
/// one known key extension ([`KEY_EXTENSIONS`]) is dropped when something
/// is left before it; if what is left holds characters a name may not
/// have (anything but ASCII letters, digits, `_` and `-`), each becomes
/// `_`, runs of `_` become one, and `_` at either end is dropped; the
/// result is cut to 64 characters. `github.com.key` is `github_com`,
/// `aws prod.pem` is `aws_prod`, `deploy@ci` is `deploy_ci`, and
/// `id_ed25519` stays as it is. `None` when nothing is left (`@@@`).
pub fn name_for(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_string_lossy();
    let mut stem: &str = &file;
    for ext in KEY_EXTENSIONS {
        let cut = stem.len().saturating_sub(ext.len());
        if cut > 0 && stem.is_char_boundary(cut) && stem[cut..].eq_ignore_ascii_case(ext) {
            stem = &stem[..cut];
            break;
        }
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut name = if stem.chars().all(allowed) {
        stem.to_string()
    } else {
        let mut name = String::with_capacity(stem.len());
        for c in stem.chars() {
            let c = if allowed(c) { c } else { '_' };
            if !(c == '_' && name.ends_with('_')) {
                name.push(c);
            }
        }
        name.trim_matches('_').to_string()
    };
    // Only ASCII is left: any byte is a character boundary.
    name.truncate(crate::name::MAX_NAME_LEN);
    (!name.is_empty()).then_some(name)
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

/// Estimated milliseconds to derive the key of one encrypted file kps can
/// decrypt (`None`: not encrypted, or not in a form kps decrypts), measured on the
/// 2-core build machine and rounded up: bcrypt_pbkdf about 12 ms a round;
/// Argon2 about 0.5 ms a MiB-pass (puttygen's 8 MiB x 21 passes: 76 ms);
/// PBKDF2-HMAC-SHA256 under 1 us an iteration; scrypt about 3 ms a MiB.
fn kdf_cost(text: &str) -> Option<(u64, String)> {
    use super::pem::KeyKdf;
    if crate::ppk::is_ppk(text) {
        // An encrypted v2 file derives its key with two SHA-1 hashes: no cost.
        let Some(kdf) = crate::ppk::kdf_of(text) else {
            return crate::ppk::is_encrypted(text)
                .ok()?
                .then(|| (0, "SHA-1 (PuTTY v2)".to_string()));
        };
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
/// recursion): which are private keys, and what each is called. Nothing is
/// decrypted here.
pub fn scan(dir: &Path) -> Result<DirScan> {
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
        let Some(name) = name_for(&path) else {
            scan.unnamed.push((
                path,
                Error::invalid_with_hint(
                    "its file name gives no keypair name",
                    "rename the file, or import it on its own: kps import NAME --private-key FILE",
                ),
            ));
            continue;
        };
        let cost = super::key_text(&bytes).ok().and_then(|t| kdf_cost(&t));
        scan.files.push(KeyFile {
            path,
            name,
            bytes,
            cost,
        });
    }
    Ok(scan)
}

/// The encrypted files among `files` whose key derivation, taken in order,
/// does not fit in what is left of [`KDF_BUDGET_MS`], each with an error
/// naming its cost. Checked before any file is decrypted: if one does not
/// fit, the import fails (it would anyway) and no key is opened at all, so
/// a directory of costly files costs nothing but reading them.
pub fn over_budget(files: &[KeyFile]) -> Vec<(PathBuf, Error)> {
    let mut left = KDF_BUDGET_MS;
    let mut failures = Vec::new();
    for file in files {
        let Some((cost, what)) = &file.cost else {
            continue;
        };
        if *cost <= left {
            left -= cost;
            continue;
        }
        failures.push((
            file.path.clone(),
            Error::bad_key_with_hint(
                format!(
                    "opening it takes {what} (about {}), more than the {} left of \
                     the {} that a directory's key files may take together",
                    seconds(*cost),
                    seconds(left),
                    seconds(KDF_BUDGET_MS)
                ),
                "import it on its own with --private-key, or re-encrypt it with \
                 the tool's defaults",
            ),
        ));
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::name_for;
    use std::path::Path;

    fn name(file: &str) -> Option<String> {
        name_for(Path::new(file))
    }

    #[test]
    fn the_issues_examples_hold() {
        assert_eq!(name("github.com.key").as_deref(), Some("github_com"));
        assert_eq!(name("aws prod.pem").as_deref(), Some("aws_prod"));
        assert_eq!(name("deploy@ci").as_deref(), Some("deploy_ci"));
    }

    #[test]
    fn valid_names_stay_and_one_key_extension_goes() {
        for (file, want) in [
            ("id_ed25519", "id_ed25519"),
            ("/home/u/.ssh/id_rsa", "id_rsa"),
            ("web01.pem", "web01"),
            ("WEB01.PEM", "WEB01"),
            ("putty.ppk", "putty"),
            ("k.priv", "k"),
            ("a.pem.key", "a_pem"),
            ("my__key", "my__key"),
            ("_x-", "_x-"),
            ("id_rsa.old", "id_rsa_old"),
            ("id_rsa.pub.pem", "id_rsa_pub"),
            ("web01.pem.bak", "web01_pem_bak"),
            // Nothing before the extension: it is the name.
            (".pem", "pem"),
            (".key", "key"),
        ] {
            assert_eq!(name(file).as_deref(), Some(want), "{file}");
        }
    }

    #[test]
    fn other_characters_become_one_underscore_and_ends_are_trimmed() {
        for (file, want) in [
            ("a  b", "a_b"),
            ("a _ b", "a_b"),
            ("@@deploy@@", "deploy"),
            ("k\u{1b}]0;pwned\u{7}", "k_0_pwned"),
            ("cl\u{e9}_pour-m\u{f6}i", "cl_pour-m_i"),
            ("\u{202e}evil", "evil"),
            ("line\nbreak", "line_break"),
        ] {
            assert_eq!(name(file).as_deref(), Some(want), "{file:?}");
        }
    }

    #[test]
    fn long_names_are_cut_to_64() {
        let long = "x".repeat(100);
        assert_eq!(name(&long), Some("x".repeat(64)));
        let spaced = format!("{} y", "x".repeat(70));
        assert_eq!(name(&spaced), Some("x".repeat(64)));
        for n in [name(&long).unwrap(), name(&spaced).unwrap()] {
            assert!(crate::name::validate(&n).is_ok());
        }
    }

    #[test]
    fn names_with_nothing_usable_are_none() {
        for file in ["@@@", "...", "...pem", "\u{e9}\u{e9}", "@_@.key"] {
            assert_eq!(name(file), None, "{file:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_file_names_get_a_name() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"key\xff\xfe1"));
        assert_eq!(name_for(path).as_deref(), Some("key_1"));
    }

    #[test]
    fn every_name_made_is_valid() {
        for file in ["a", "a.b.c.d", "- -", "x\ty", "\u{ff3f}k\u{ff3f}"] {
            if let Some(n) = name(file) {
                assert!(crate::name::validate(&n).is_ok(), "{file:?} -> {n:?}");
            }
        }
    }
}
