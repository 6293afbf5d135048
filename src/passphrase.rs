//! Where the store passphrase comes from, first match wins:
//! `--passphrase-file` / `KPS_PASSPHRASE_FILE`, `KPS_PASSPHRASE`, then a
//! hidden prompt, but only when stdin and stderr are terminals. Without any of
//! them kps fails at once rather than wait for input that will never come.
//!
//! A passphrase typed at a prompt that turns out wrong is asked for again,
//! [`TRIES`] times in all, as ssh does; one from a file or variable is
//! tried once, and the error names where it came from.

use crate::report::{CliError, Origin, Secret};
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

/// How many times a passphrase typed at a prompt may be wrong, as ssh's
/// `NumberOfPasswordPrompts`.
pub const TRIES: u32 = 3;

/// Ask with `ask` and try the answer with `open`; while `wrong` says it was
/// wrong, say so and ask again, [`TRIES`] times in all. The last result is
/// returned as it is. `None`: `ask` gave no answer (a file left out).
fn with_tries<T>(
    mut ask: impl FnMut() -> Result<Option<Passphrase>, CliError>,
    mut open: impl FnMut(&Passphrase) -> kps::Result<T>,
    wrong: impl Fn(&kps::Error) -> bool,
) -> Result<Option<kps::Result<T>>, CliError> {
    let mut tries = 0;
    loop {
        let Some(passphrase) = ask()? else {
            return Ok(None);
        };
        tries += 1;
        match open(&passphrase) {
            Err(e) if wrong(&e) && tries < TRIES => {
                eprintln!("Wrong passphrase, try again.");
            }
            result => return Ok(Some(result)),
        }
    }
}

/// The origin of a secret read from `path`, named by `option` or by the
/// variable `var` (when the variable holds that very path).
fn file_origin(path: &Path, option: &str, var: &str) -> Origin {
    let named_by = match std::env::var_os(var) {
        Some(v) if Path::new(&v) == path => var,
        _ => option,
    };
    Origin::File {
        path: path.to_path_buf(),
        named_by: named_by.to_string(),
    }
}

#[derive(Clone, Debug)]
pub struct Sources {
    pub file: Option<PathBuf>,
}

impl Sources {
    /// Run `open` (the store's unlock) with the store passphrase. A wrong
    /// one ends as [`CliError::Wrong`], after [`TRIES`] tries at a prompt.
    /// A store whose identity differs from its pin also fails to open with a
    /// mistyped passphrase: that is asked again too, and its own error given
    /// after the last try.
    pub fn open_with<T>(
        &self,
        mut open: impl FnMut(&Passphrase) -> kps::Result<T>,
    ) -> anyhow::Result<T> {
        let wrong = |origin: Origin| -> anyhow::Error {
            CliError::Wrong {
                secret: Secret::Store,
                origin,
            }
            .into()
        };
        let (passphrase, origin) = if let Some(path) = &self.file {
            let origin = file_origin(path, "--passphrase-file", "KPS_PASSPHRASE_FILE");
            (read_file(path)?, origin)
        } else if let Some(p) = from_env() {
            (p, Origin::Variable(ENV_PASSPHRASE.into()))
        } else {
            let typed = with_tries(
                || prompt("Store passphrase", false).map(Some),
                open,
                |e| {
                    matches!(
                        e,
                        kps::Error::WrongPassphrase | kps::Error::IdentityReplaced { .. }
                    )
                },
            )?;
            return match typed {
                Some(Err(kps::Error::WrongPassphrase)) => {
                    Err(wrong(Origin::Typed { tries: TRIES }))
                }
                Some(result) => Ok(result?),
                None => Err(CliError::Cancelled.into()),
            };
        };
        match open(&passphrase) {
            Err(kps::Error::WrongPassphrase) => Err(wrong(origin)),
            result => Ok(result?),
        }
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

/// The PIN of the PKCS#11 token and where it came from: `--pin-file` /
/// `KPS_PKCS11_PIN_FILE`, `KPS_PKCS11_PIN`, then a hidden prompt at a
/// terminal. Asked once: tokens count wrong PINs and many lock the PIN
/// after three (smart cards, YubiHSM), counting across sessions, so a
/// retry here could lock the token on a bad day.
pub fn pin(file: Option<&Path>, token: &str) -> Result<(Passphrase, Origin), CliError> {
    use std::os::unix::ffi::OsStringExt;
    if let Some(path) = file {
        let origin = file_origin(path, "--pin-file", "KPS_PKCS11_PIN_FILE");
        return Ok((read_file(path)?, origin));
    }
    if let Some(v) = std::env::var_os("KPS_PKCS11_PIN") {
        return Ok((
            Passphrase::new(v.into_vec()),
            Origin::Variable("KPS_PKCS11_PIN".into()),
        ));
    }
    let pin = ask(
        |input| input.with_prompt(format!("PIN for token '{}'", kps::text::escape(token))),
        || CliError::NoPin {
            token: token.to_string(),
        },
    )?;
    Ok((pin, Origin::Typed { tries: 1 }))
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

/// Open a key file with a passphrase typed at the terminal (`label` is the
/// prompt), asked again when wrong, [`TRIES`] times in all, the last wrong
/// one ending as [`kps::Error::WrongKeyPassphraseTyped`]. With
/// `empty_skips`, an empty answer gives `None` (the file is left out). The
/// outer error is the prompt's own (no terminal, cancelled).
pub fn open_key_typed<T>(
    label: &str,
    empty_skips: bool,
    open: impl FnMut(&Passphrase) -> kps::Result<T>,
) -> Result<Option<kps::Result<T>>, CliError> {
    let ask = || {
        let p = ask(
            |input| input.with_prompt(label).allow_empty_password(true),
            || {
                CliError::usage(
                    "asking for a key file's passphrase needs a terminal",
                    "use --key-passphrase-file FILE instead",
                )
            },
        )?;
        Ok((!(empty_skips && p.is_empty())).then_some(p))
    };
    Ok(
        with_tries(ask, open, |e| matches!(e, kps::Error::WrongKeyPassphrase))?.map(|result| {
            result.map_err(|e| match e {
                kps::Error::WrongKeyPassphrase => {
                    kps::Error::WrongKeyPassphraseTyped { tries: TRIES }
                }
                e => e,
            })
        }),
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

/// A server's login password (`kps bind --ask-password`), asked for once.
pub fn prompt_login_password() -> Result<Passphrase, CliError> {
    ask(
        |input| input.with_prompt("Login password for the servers"),
        || {
            CliError::usage(
                "--ask-password needs a terminal",
                "use --password-file FILE instead",
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
