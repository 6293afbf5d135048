//! Reading keys that other tools made. Detection is by content, never by file
//! name: OpenSSH, PEM in its forms (PKCS#1, PKCS#8 plain and encrypted, SEC1,
//! traditional DSA), PuTTY .ppk, and public keys (authorized_keys lines,
//! RFC 4716, PEM `PUBLIC KEY`).
//!
//! Every key that comes out of here is whole (its public half recomputed from
//! the secret parts and compared) and of a kind the service allows.

mod dir;
mod openssh;
mod pem;
mod public;

pub use dir::{
    DirScan, KEY_EXTENSIONS, KeyFile, name_for, over_budget, read_limited, scan as scan_dir,
};

use crate::secret::Passphrase;
use crate::{Error, Result, algorithm, keycheck};
use ssh_key::{PrivateKey, PublicKey};

/// Larger files are not key files (an RSA 4096 PEM is about 3.3 KiB).
pub const MAX_INPUT: usize = 1024 * 1024;

/// A private key read from outside, with what the caller should tell the user.
#[derive(Debug)]
pub struct ParsedKey {
    pub key: PrivateKey,
    /// The input's format, for messages: `openssh`, `pkcs1`, `pkcs8`, `sec1`, `dsa`, `ppk`.
    pub format: &'static str,
    pub warnings: Vec<String>,
}

/// What a file holds, judged by content alone (for `import --from-dir`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    PrivateKey,
    PublicKey,
    NotAKey,
}

/// Text of a key file: at most 1 MiB, UTF-8 without NULs or stray control
/// characters, a leading BOM dropped, CRLF and trailing whitespace on each
/// line removed.
pub(crate) fn key_text(bytes: &[u8]) -> Result<String> {
    if bytes.is_empty() {
        return Err(Error::bad_key("the input is empty"));
    }
    if bytes.len() > MAX_INPUT {
        return Err(Error::bad_key(format!(
            "the input is {} bytes, more than 1 MiB: not a key file",
            bytes.len()
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::bad_key("the input contains non-text bytes: not a key file"))?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Error::bad_key(
            "the input contains control characters: not a key file",
        ));
    }
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let joined = lines.join("\n");
    let trimmed = joined.trim();
    if trimmed.is_empty() {
        return Err(Error::bad_key("the input holds only whitespace"));
    }
    Ok(format!("{trimmed}\n"))
}

/// Classify without validating; cheap, and never an error.
pub fn classify(bytes: &[u8]) -> Content {
    let Ok(text) = key_text(bytes) else {
        return Content::NotAKey;
    };
    if crate::ppk::is_ppk(&text) {
        return Content::PrivateKey;
    }
    match pem::first_label(&text) {
        Some(label) if pem::is_private_label(label) => Content::PrivateKey,
        Some(label) if pem::is_public_label(label) => Content::PublicKey,
        Some(_) => Content::NotAKey,
        None if public::looks_public(&text) => Content::PublicKey,
        None => Content::NotAKey,
    }
}

/// Read a private key, decrypting it with `passphrase` if it is encrypted.
pub fn private_key(bytes: &[u8], passphrase: Option<&Passphrase>) -> Result<ParsedKey> {
    let text = key_text(bytes)?;
    let (key, format) = if crate::ppk::is_ppk(&text) {
        (ppk(&text, passphrase)?, "ppk")
    } else if pem::first_label(&text) == Some(openssh::LABEL) {
        (openssh::private_key(&text, passphrase)?, "openssh")
    } else if let Some(label) = pem::first_label(&text) {
        pem::private_key(&text, label, passphrase)?
    } else if public::looks_public(&text) {
        return Err(Error::bad_key_with_hint(
            "this is a public key, not a private key",
            "import it with --public-key, or give the private key file",
        ));
    } else {
        return Err(Error::bad_key(
            "not a private key: no PEM block, OpenSSH key or PuTTY key found",
        ));
    };
    // Here, once for every format (OpenSSH, .ppk `Comment:`): a line break
    // in a comment would become a second key in authorized_keys.
    crate::text::check_key_comment(key.comment().as_str_lossy())?;
    let mut warnings = algorithm::check_importable(key.public_key().key_data())?;
    let (key, recomputed) = keycheck::with_own_crt(key)?;
    if recomputed {
        warnings.push(
            "the RSA key's CRT coefficient (iqmp) was not q^-1 mod p; kps recomputed it from p and q"
                .into(),
        );
    }
    if !keycheck::matches(key.key_data(), key.public_key().key_data())? {
        return Err(Error::KeyMismatch(
            "the private key does not match the public key stored with it".into(),
        ));
    }
    Ok(ParsedKey {
        key,
        format,
        warnings,
    })
}

/// Read a public key (authorized_keys line, RFC 4716, PEM `PUBLIC KEY` or
/// `RSA PUBLIC KEY`), refusing private keys and kinds the service does not allow.
pub fn public_key(bytes: &[u8]) -> Result<(PublicKey, Vec<String>)> {
    let text = key_text(bytes)?;
    let key = match pem::first_label(&text) {
        _ if crate::ppk::is_ppk(&text) => return Err(private_not_public()),
        Some(label) if pem::is_private_label(label) => return Err(private_not_public()),
        Some(label) => public::from_pem(&text, label)?,
        None => public::from_text(&text)?,
    };
    crate::text::check_key_comment(key.comment().as_str_lossy())?;
    let warnings = algorithm::check_importable(key.key_data())?;
    Ok((key, warnings))
}

fn private_not_public() -> Error {
    Error::bad_key_with_hint(
        "this is a private key, not a public key",
        "import it with --private-key so that kps stores it encrypted",
    )
}

fn ppk(text: &str, passphrase: Option<&Passphrase>) -> Result<PrivateKey> {
    use crate::ppk::PpkError;
    crate::ppk::decode(text, passphrase.map(Passphrase::as_bytes)).map_err(|e| match e {
        // ssh-keygen cannot read a .ppk: the way out is puttygen's (-P with
        // an empty new passphrase writes "Encryption: none").
        PpkError::NeedsPassphrase => Error::KeyEncrypted {
            what: "the PuTTY key file".into(),
            hint: "give its passphrase with --key-passphrase-file FILE or --ask-key-passphrase, \
                   or decrypt it first: puttygen FILE.ppk -P --old-passphrase PASSFILE \
                   --new-passphrase /dev/null -O private -o PLAIN.ppk"
                .into(),
        },
        PpkError::WrongPassphrase => Error::WrongKeyPassphrase,
        PpkError::InconsistentKey(m) => Error::KeyMismatch(format!("PuTTY key file: {m}")),
        PpkError::Unsupported(m) => Error::bad_key(format!("PuTTY key file: {m}")),
        PpkError::Corrupt(m) => Error::bad_key(format!("PuTTY key file is corrupt: {m}")),
        PpkError::NotPpk => Error::bad_key("not a PuTTY key file"),
    })
}

pub(crate) fn encrypted(what: &str) -> Error {
    Error::KeyEncrypted {
        what: what.to_string(),
        hint: "give its passphrase with --key-passphrase-file FILE or --ask-key-passphrase, \
               or decrypt it first: ssh-keygen -p -N '' -f FILE"
            .into(),
    }
}
