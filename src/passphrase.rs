//! Where the store passphrase comes from, first match wins:
//! `--passphrase-file` / `KPS_PASSPHRASE_FILE`, `KPS_PASSPHRASE`, then a
//! hidden prompt, but only when stdin and stderr are terminals. Without any of
//! them kps fails at once rather than wait for input that will never come.

use crate::report::CliError;
use kps::secret::Passphrase;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const ENV_PASSPHRASE: &str = "KPS_PASSPHRASE";

pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Ask at the terminal with hidden input (`configure` sets the prompt and
/// its options), with the terminal put back if interrupted; `refuse` is the
/// error when there is no terminal to ask at.
fn ask(
    configure: impl FnOnce(dialoguer::Password<'static>) -> dialoguer::Password<'static>,
    refuse: impl FnOnce() -> CliError,
) -> Result<Passphrase, CliError> {
    if !interactive() {
        return Err(refuse());
    }
    crate::interrupt::guard_terminal();
    let text = zeroize::Zeroizing::new(
        configure(dialoguer::Password::new())
            .interact()
            .map_err(|_| CliError::Cancelled)?,
    );
    Ok(Passphrase::new(text.as_bytes().to_vec()))
}

/// A passphrase or PIN file: at most 64 KiB (a bigger one is a wrong path,
/// not a passphrase), one trailing newline dropped.
pub fn read_file(path: &Path) -> Result<Passphrase, CliError> {
    use std::io::Read;
    const MAX: u64 = 64 * 1024;
    let err = |source| CliError::PassphraseFile {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX + 1).read_to_end(&mut bytes))
        .map_err(err)?;
    if bytes.len() as u64 > MAX {
        return Err(err(std::io::Error::other(
            "larger than 64 KiB: not a passphrase file",
        )));
    }
    Ok(Passphrase::from_file_contents(std::mem::take(&mut *bytes)))
}

fn from_env() -> Option<Passphrase> {
    use std::os::unix::ffi::OsStringExt;
    std::env::var_os(ENV_PASSPHRASE).map(|v| Passphrase::new(v.into_vec()))
}

#[derive(Clone, Debug)]
pub struct Sources {
    pub file: Option<PathBuf>,
}

impl Sources {
    /// The passphrase that opens the store.
    pub fn current(&self) -> Result<Passphrase, CliError> {
        if let Some(path) = &self.file {
            return read_file(path);
        }
        if let Some(p) = from_env() {
            return Ok(p);
        }
        prompt("Store passphrase", false)
    }

    /// A passphrase for a new store: same sources, the prompt asks twice.
    pub fn new_store(&self) -> Result<Passphrase, CliError> {
        let p = match (&self.file, from_env()) {
            (Some(path), _) => read_file(path)?,
            (None, Some(p)) => p,
            (None, None) => prompt("New store passphrase", true)?,
        };
        non_empty(p)
    }
}

/// The new passphrase for `kps passwd`: from its own file, or a prompt.
pub fn new_from(file: Option<&Path>) -> Result<Passphrase, CliError> {
    let p = match file {
        Some(path) => read_file(path)?,
        None => prompt("New store passphrase", true)?,
    };
    non_empty(p)
}

/// The PIN of the PKCS#11 token: `--pin-file` / `KPS_PKCS11_PIN_FILE`,
/// `KPS_PKCS11_PIN`, then a hidden prompt at a terminal.
pub fn pin(file: Option<&Path>, token: &str) -> Result<Passphrase, CliError> {
    use std::os::unix::ffi::OsStringExt;
    if let Some(path) = file {
        return read_file(path);
    }
    if let Some(v) = std::env::var_os("KPS_PKCS11_PIN") {
        return Ok(Passphrase::new(v.into_vec()));
    }
    ask(
        |input| input.with_prompt(format!("PIN for token '{}'", kps::text::escape(token))),
        || CliError::NoPin {
            token: token.to_string(),
        },
    )
}

/// A new passphrase for a file kps writes (asked twice; empty allowed,
/// meaning no encryption).
pub fn prompt_new(label: &str) -> Result<Passphrase, CliError> {
    ask(
        |input| {
            input
                .with_prompt(label)
                .with_confirmation("Repeat passphrase", "Passphrases do not match, try again")
                .allow_empty_password(true)
        },
        || {
            CliError::usage(
                "asking for a passphrase needs a terminal",
                "give the passphrase in a file instead",
            )
        },
    )
}

/// The passphrase of a key file being imported, asked for at the terminal.
pub fn prompt_key() -> Result<Passphrase, CliError> {
    ask(
        |input| {
            input
                .with_prompt("Key file passphrase")
                .allow_empty_password(true)
        },
        || {
            CliError::usage(
                "--ask-key-passphrase needs a terminal",
                "use --key-passphrase-file FILE instead",
            )
        },
    )
}

/// The passphrase of a bundle being imported, asked for at the terminal.
pub fn prompt_bundle() -> Result<Passphrase, CliError> {
    ask(
        |input| input.with_prompt("Bundle passphrase"),
        || {
            CliError::usage(
                "the bundle's passphrase is needed and there is no terminal to ask at",
                "give it with --bundle-passphrase-file FILE",
            )
        },
    )
}

/// Below this many characters a new store passphrase gets a warning:
/// Argon2id slows each offline guess, but cannot save a passphrase that is
/// among the first few million anyone would try.
const SHORT_PASSPHRASE: usize = 12;

fn non_empty(p: Passphrase) -> Result<Passphrase, CliError> {
    if p.is_empty() {
        return Err(CliError::usage(
            "the store passphrase is empty",
            "an empty passphrase would leave every private key readable by anyone with the store file",
        ));
    }
    let chars = String::from_utf8_lossy(p.as_bytes()).chars().count();
    if chars < SHORT_PASSPHRASE {
        // A warning, not a refusal: the operator may have reasons (a
        // throwaway store), and the length is all that is said about it.
        eprintln!(
            "warning: the new store passphrase is only {chars} characters; anyone with a copy of the store can try short passphrases offline: use {SHORT_PASSPHRASE} or more"
        );
    }
    Ok(p)
}

fn prompt(label: &str, confirm: bool) -> Result<Passphrase, CliError> {
    ask(
        |input| {
            // dialoguer asks again without a word at an empty line; a store
            // passphrase is never empty, so say so (before the repeat).
            let input = input
                .with_prompt(label)
                .allow_empty_password(true)
                .validate_with(|p: &String| {
                    if p.is_empty() {
                        Err("the store passphrase cannot be empty; type one, or Ctrl-C to stop")
                    } else {
                        Ok(())
                    }
                });
            if confirm {
                input.with_confirmation("Repeat passphrase", "Passphrases do not match, try again")
            } else {
                input
            }
        },
        || {
            CliError::NoPassphrase {
            why: "no --passphrase-file, KPS_PASSPHRASE_FILE or KPS_PASSPHRASE, and no terminal to ask at"
                .into(),
        }
        },
    )
}
