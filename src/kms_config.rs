//! The user's KMS settings: `kms.conf` in kps's config directory, written by
//! `kps kms configure`. The PKCS#11 module is code kps loads and hands the
//! PIN to, so it is chosen here (or in `KPS_PKCS11_MODULE`) and never by the
//! store, which someone else may be able to write.
//!
//! One file for all of the user's stores: the module belongs to the machine
//! and the token to the user, not to a store, and a keypair's row already
//! pins the master key by id, so a store used with the wrong token fails
//! with that key not found on it. `KPS_PKCS11_TOKEN` picks another token for
//! one command.
//!
//! Format: UTF-8 lines `key = value`; `#` starts a comment line; blank lines
//! are ignored. Keys: `module` (an absolute path) and `token` (a label).
//! Spaces around the `=` and at either end of a value are not part of it.
//!
//! ```text
//! # kps PKCS#11 settings
//! module = /usr/lib/softhsm/libsofthsm2.so
//! token = kps
//! ```

use crate::perms::check_private;
use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "kms.conf";

/// Larger than any honest kms.conf; read no further.
const MAX_LEN: u64 = 64 * 1024;

/// What `kms.conf` says; either may be missing (the environment can give it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsSettings {
    pub module: Option<PathBuf>,
    pub token: Option<String>,
}

/// Where the file is (or would be), if a home directory is known.
pub fn path() -> Option<PathBuf> {
    crate::config::dir().map(|d| d.join(FILE_NAME))
}

/// The user's KMS settings; empty when there is no file. The config
/// directory and the file are refused when another user owns them or group
/// or others can write to them.
pub fn load() -> Result<KmsSettings> {
    let Some(dir) = crate::config::existing_dir()? else {
        return Ok(KmsSettings::default());
    };
    let path = dir.join(FILE_NAME);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(KmsSettings::default());
    }
    check_private(&path)?;
    let io_err = |source| Error::InputIo {
        path: path.clone(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .map_err(io_err)?
        .take(MAX_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_LEN {
        return Err(bad(&path, "it is too large".into()));
    }
    let text = String::from_utf8(bytes).map_err(|_| bad(&path, "it is not UTF-8".into()))?;
    parse(&path, &text)
}

fn bad(path: &Path, detail: String) -> Error {
    Error::invalid_with_hint(
        format!("{}: {detail}", path.display()),
        "it holds 'module = PATH' and 'token = LABEL' lines; rewrite it with 'kps kms configure --module PATH --token LABEL'",
    )
}

fn parse(path: &Path, text: &str) -> Result<KmsSettings> {
    let mut settings = KmsSettings::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: &str| bad(path, format!("line {}: {what}", n + 1));
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| at("not 'key = value'"))?;
        let value = value.trim();
        match key.trim() {
            "module" => {
                if settings.module.is_some() {
                    return Err(at("'module' given twice"));
                }
                // Relative to what? The working directory would let whoever
                // controls it choose the module.
                if !value.starts_with('/') {
                    return Err(at("the module must be an absolute path"));
                }
                settings.module = Some(PathBuf::from(value));
            }
            "token" => {
                if settings.token.is_some() {
                    return Err(at("'token' given twice"));
                }
                if value.is_empty() {
                    return Err(at("the token label is empty"));
                }
                settings.token = Some(value.to_string());
            }
            _ => return Err(at("unknown setting (known: module, token)")),
        }
    }
    Ok(settings)
}

/// Write `module` and `token` as the user's KMS settings: 0600 in the 0700
/// config directory, replacing the file whole.
pub fn save(module: &Path, token: &str) -> Result<PathBuf> {
    let module_text = module
        .to_str()
        .filter(|m| m.starts_with('/') && m.trim() == *m && !m.contains(['\n', '\r']))
        .ok_or_else(|| {
            Error::invalid_with_hint(
                format!(
                    "cannot record the module path {}: kms.conf holds absolute UTF-8 paths on one line, without spaces at either end",
                    module.display()
                ),
                "give the module's path in another form, or set KPS_PKCS11_MODULE",
            )
        })?;
    if token.is_empty() || token.trim() != token || token.chars().any(char::is_control) {
        return Err(Error::invalid_with_hint(
            format!(
                "cannot record the token label {:?}: it must be non-empty, with no control characters or spaces at either end",
                token
            ),
            "set KPS_PKCS11_TOKEN for such a label",
        ));
    }
    let dir = crate::config::ensure_dir()?;
    let path = dir.join(FILE_NAME);
    let text = format!(
        "# kps PKCS#11 settings, written by 'kps kms configure'. kps loads only the\n\
         # module named here or in KPS_PKCS11_MODULE, never one named by a store.\n\
         module = {module_text}\n\
         token = {token}\n"
    );
    crate::outfile::write_atomic(&path, text.as_bytes(), 0o600, true)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_save_writes_and_comments() {
        let text = "# c\n\n  module =  /usr/lib/x.so \ntoken=kps test\n";
        let s = parse(Path::new("kms.conf"), text).unwrap();
        assert_eq!(s.module.as_deref(), Some(Path::new("/usr/lib/x.so")));
        assert_eq!(s.token.as_deref(), Some("kps test"));
        assert_eq!(
            parse(Path::new("kms.conf"), "").unwrap(),
            KmsSettings::default()
        );
    }

    #[test]
    fn refuses_what_it_cannot_mean() {
        for text in [
            "module = lib.so\n",
            "module\n",
            "modul = /x.so\n",
            "module = /a.so\nmodule = /b.so\n",
            "token =\n",
            "token = a\ntoken = b\n",
        ] {
            assert!(parse(Path::new("kms.conf"), text).is_err(), "{text:?}");
        }
    }
}
