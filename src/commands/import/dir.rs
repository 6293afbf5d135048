//! `import --from-dir`: the directory's key files opened. An encrypted one
//! is opened with the one passphrase given (`--key-passphrase-file`,
//! `--ask-key-passphrase`), else with its own passphrase asked for at a
//! terminal, else left out; so is one its passphrase does not open. A key
//! kps refuses (corrupt, a size the service does not allow) fails the whole
//! import, as a single import would: it needs fixing, not skipping.

use super::{Candidate, Incoming, Outcome, meta, one_passphrase};
use crate::cli::ImportArgs;
use crate::commands::Context;
use crate::passphrase;
use crate::progress::Bar;
use kps::keypair::Encryption;
use kps::parse::{self, KeyFile, ParsedKey};
use kps::secret::Passphrase;
use kps::store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How the encrypted files are opened.
enum Keys<'a> {
    /// No passphrase and no terminal (or a dry run): left out.
    None,
    /// One passphrase for all of them.
    One(&'a Passphrase),
    /// Each one's own, typed at the terminal.
    Ask,
}

pub(super) fn gather(
    ctx: &Context,
    args: &ImportArgs,
    dir: &Path,
    encryption: &Encryption,
    outcome: &mut Outcome,
) -> anyhow::Result<Vec<Candidate>> {
    let scan = parse::scan_dir(dir)?;
    outcome.skipped = scan.skipped;
    outcome.left_out = scan.unnamed;
    let one = one_passphrase(args)?;
    let keys = match &one {
        Some(p) => Keys::One(p),
        None if !args.dry_run && passphrase::interactive() => Keys::Ask,
        None => Keys::None,
    };
    let mut refused = Vec::new();
    let mut opened: Vec<(PathBuf, String, ParsedKey)> = Vec::new();
    let mut encrypted: Vec<KeyFile> = Vec::new();
    {
        let bar = Bar::new("key files checked", ctx.json);
        let total = scan.files.len();
        for (done, file) in scan.files.into_iter().enumerate() {
            bar.set(done, total);
            if file.needs_passphrase() {
                encrypted.push(file);
                continue;
            }
            match file.open(None) {
                Ok(key) => opened.push((file.path, file.name, key)),
                Err(e @ kps::Error::KeyEncrypted { .. }) => outcome.left_out.push((file.path, e)),
                Err(e) => refused.push((file.path, e)),
            }
        }
    }

    // Before any passphrase is asked for (or an encrypted file is left out
    // for want of one): the files the store settles already.
    let store = match encrypted.is_empty() {
        true => None,
        false => ctx.existing_store()?,
    };
    let mut to_open = Vec::new();
    for file in encrypted {
        if let Some(store) = &store
            && settled_unopened(store, &file, args.skip_existing, outcome)?
        {
            continue;
        }
        to_open.push(file);
    }
    if matches!(keys, Keys::None) {
        for file in to_open.drain(..) {
            match file.open(None) {
                Ok(key) => opened.push((file.path, file.name, key)),
                Err(e @ kps::Error::KeyEncrypted { .. }) => outcome.left_out.push((file.path, e)),
                Err(e) => refused.push((file.path, e)),
            }
        }
    }
    refused.extend(parse::over_budget(&to_open));
    let named = opened
        .iter()
        .map(|(p, n, _)| (p.as_path(), n.as_str()))
        .chain(to_open.iter().map(|f| (f.path.as_path(), f.name.as_str())));
    fail_if_refused(refused, named.collect(), outcome)?;

    let mut refused = Vec::new();
    match keys {
        Keys::None => {}
        Keys::One(pass) => {
            let bar = Bar::new("key files opened", ctx.json);
            let total = to_open.len();
            for (done, file) in to_open.into_iter().enumerate() {
                bar.set(done, total);
                match file.open(Some(pass)) {
                    Ok(key) => opened.push((file.path, file.name, key)),
                    Err(e @ kps::Error::WrongKeyPassphrase) => {
                        outcome.left_out.push((file.path, e))
                    }
                    Err(e) => refused.push((file.path, e)),
                }
            }
        }
        Keys::Ask => {
            for file in to_open {
                let label = format!(
                    "Passphrase for {} (empty: leave it out)",
                    kps::text::escape(&file.path.display().to_string())
                );
                match passphrase::open_key_typed(&label, true, |p| file.open(Some(p)))? {
                    Some(Ok(key)) => opened.push((file.path, file.name, key)),
                    Some(Err(e @ kps::Error::WrongKeyPassphraseTyped { .. })) => {
                        outcome.left_out.push((file.path, e));
                    }
                    Some(Err(e)) => refused.push((file.path, e)),
                    None => outcome.left_out.push((
                        file.path,
                        kps::Error::KeyEncrypted {
                            what: "the key file".into(),
                            hint: "no passphrase was typed for it; import it on its own: \
                                   kps import NAME --private-key FILE --ask-key-passphrase"
                                .into(),
                        },
                    )),
                }
            }
        }
    }
    let named = opened.iter().map(|(p, n, _)| (p.as_path(), n.as_str()));
    fail_if_refused(refused, named.collect(), outcome)?;

    opened.sort_by(|a, b| a.0.cmp(&b.0));
    outcome.left_out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(opened
        .into_iter()
        .map(|(path, name, key)| {
            Candidate::new(
                meta(args, &name, encryption.clone()),
                Incoming::Private(Box::new(key)),
                Some(path),
            )
        })
        .collect())
}

/// A refused key fails the import: nothing is stored, and every file that
/// needs the user's attention is listed, the ones left out so far too.
fn fail_if_refused(
    refused: Vec<(PathBuf, kps::Error)>,
    mut named: Vec<(&Path, &str)>,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    if refused.is_empty() {
        return Ok(());
    }
    let mut failures = refused;
    failures.append(&mut outcome.left_out);
    // The files that would have lost their name to an earlier one (the
    // import decides that later, once it knows which keys are stored).
    named.sort();
    let mut first: HashMap<&str, &Path> = HashMap::new();
    for (path, name) in named {
        match first.get(name) {
            Some(by) => failures.push((
                path.to_path_buf(),
                kps::Error::NameTaken {
                    name: name.to_string(),
                    by: format!("the key file {}", by.display()),
                },
            )),
            None => {
                first.insert(name, path);
            }
        }
    }
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    Err(kps::Error::BatchFailed {
        failures: failures
            .into_iter()
            .map(|(p, e)| (p.display().to_string(), e))
            .collect(),
    }
    .into())
}

/// Settle an encrypted file against the store before its passphrase is
/// asked for, where that needs no passphrase: with `--skip-existing`, a
/// file whose public key (readable in the clear in OpenSSH and .ppk files)
/// is stored is skipped; a file whose name the store has is left out
/// (unless `--skip-existing` could still find it is the key stored under
/// that name, which takes opening it). True when settled.
fn settled_unopened(
    store: &Store,
    file: &KeyFile,
    skip_existing: bool,
    outcome: &mut Outcome,
) -> anyhow::Result<bool> {
    let public = file.public_key();
    let stored = match &public {
        Some(k) => store.with_fingerprint(&kps::fingerprint::sha256(k.key_data()))?,
        None => Vec::new(),
    };
    if skip_existing && let Some(k) = stored.first() {
        outcome
            .already
            .push((Some(file.path.clone()), k.name.clone(), Some(k.clone())));
        return Ok(true);
    }
    match store.get(&file.name) {
        Ok(_) if !(skip_existing && public.is_none()) => {
            let by = if stored.iter().any(|k| k.name == file.name) {
                "the same key, already stored under it (--skip-existing skips it)"
            } else {
                "a keypair in the store"
            };
            outcome.left_out.push((
                file.path.clone(),
                kps::Error::NameTaken {
                    name: file.name.clone(),
                    by: by.into(),
                },
            ));
            Ok(true)
        }
        Ok(_) | Err(kps::Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
