//! `kps import`: keys that other tools made, from one file, a service
//! import request or a whole directory, checked against the store (a name
//! taken, a key already stored) and written in one transaction.

mod bundle;

pub(super) use bundle::store_in as store_in_created;
mod dir;
mod report;

use super::{Context, Protection, check_free_text, kdf_params, protection, require_kms_config};
use crate::cli::ImportArgs;
use crate::passphrase;
use crate::report::CliError;
use kps::keypair::{Keypair, NewKeypair};
use kps::parse::{self, ParsedKey};
use kps::secret::Passphrase;
use kps::store::{Material, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Read FILE, or stdin for '-', refusing more than a key file can be.
fn read_input(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let io_err = |source| kps::Error::InputIo {
        path: path.to_path_buf(),
        source,
    };
    let bytes = if path == Path::new("-") {
        parse::read_limited(std::io::stdin().lock()).map_err(io_err)?
    } else {
        std::fs::File::open(path)
            .and_then(parse::read_limited)
            .map_err(io_err)?
    };
    Ok(bytes)
}

/// A private key from one input: opened with `--key-passphrase-file`'s
/// passphrase, or with `--ask-key-passphrase` typed at the terminal when it
/// is encrypted (asked again when wrong, three tries in all).
fn open_one(args: &ImportArgs, bytes: &[u8]) -> anyhow::Result<ParsedKey> {
    if let Some(path) = &args.key_passphrase_file {
        let pass = passphrase::read_file(path)?;
        return Ok(parse::private_key(bytes, Some(&pass))?);
    }
    match parse::private_key(bytes, None) {
        Err(kps::Error::KeyEncrypted { .. }) if args.ask_key_passphrase => {}
        result => return Ok(result?),
    }
    let opened = passphrase::open_key_typed("Key file passphrase", false, |p| {
        parse::private_key(bytes, Some(p))
    })?;
    Ok(opened.ok_or(CliError::Cancelled)??)
}

/// The comment a new keypair gets: -C, else the file's, else the name.
fn comment_for(args: &ImportArgs, from_file: &str, name: &str) -> String {
    match &args.comment {
        Some(c) => c.clone(),
        None if !from_file.is_empty() => from_file.to_string(),
        None => name.to_string(),
    }
}

pub fn run(ctx: &Context, args: ImportArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.bundle {
        return bundle::run(ctx, &args, path);
    }
    let takes_name = args.private_key.is_some() || args.public_key.is_some();
    match (&args.name, takes_name) {
        (None, true) => {
            return Err(CliError::usage(
                "a keypair NAME is required with --private-key and --public-key",
                "kps import NAME --private-key FILE",
            )
            .into());
        }
        (Some(_), false) => {
            return Err(CliError::usage(
                "NAME is not used with --request or --from-dir",
                "the request names the keypair; --from-dir names each after its file",
            )
            .into());
        }
        _ => {}
    }
    if let Some(name) = &args.name {
        kps::name::validate(name)?;
    }
    check_free_text(&args.comment, &args.description, &args.user_id)?;
    let encryption = protection(args.protection.encryption, &args.protection.kms_key)?;
    let mut outcome = Outcome::default();

    // Gather and validate everything before the store is touched.
    let mut batch: Vec<Candidate> = Vec::new();
    if let Some(path) = &args.private_key {
        let name = args.name.clone().unwrap_or_default();
        let parsed = open_one(&args, &read_input(path)?)?;
        batch.push(Candidate::new(
            meta(&args, &name, encryption.clone()),
            Incoming::Private(Box::new(parsed)),
            None,
        ));
    } else if let Some(path) = &args.public_key {
        let name = args.name.clone().unwrap_or_default();
        let (public, w) = parse::public_key(&read_input(path)?)?;
        outcome.warnings.extend(w);
        batch.push(Candidate::new(
            meta(&args, &name, encryption.clone()),
            Incoming::Public(public),
            None,
        ));
    } else if let Some(path) = &args.request {
        let request = kps::request::parse(&read_input(path)?)?;
        let parsed = open_one(&args, request.private_key.as_bytes())?;
        let mut m = meta(&args, &request.name, request.encryption.clone());
        m.user_id = request.user_id.or(m.user_id);
        batch.push(Candidate::new(m, Incoming::Private(Box::new(parsed)), None));
    } else if let Some(path) = &args.from_dir {
        outcome.batch = true;
        batch = dir::gather(ctx, &args, path, &encryption, &mut outcome)?;
    }
    // Comments: -C, else the file's, else the keypair name.
    for c in &mut batch {
        match &mut c.incoming {
            Incoming::Private(p) => {
                let comment = comment_for(&args, p.key.comment().as_str_lossy(), &c.meta.name);
                p.key.set_comment(comment);
                let name = &c.meta.name;
                outcome
                    .warnings
                    .extend(p.warnings.iter().map(|w| format!("{name}: {w}")));
            }
            Incoming::Public(k) => {
                let comment = comment_for(&args, k.comment().as_str_lossy(), &c.meta.name);
                k.set_comment(comment);
            }
        }
    }

    if args.dry_run {
        dry_run(ctx, &args, batch, &mut outcome)?;
    } else {
        store_all(ctx, &args, batch, &mut outcome)?;
    }
    report::print(ctx, &outcome, args.dry_run)?;
    if outcome.left_out.is_empty() {
        return Ok(());
    }
    Err(CliError::LeftOut {
        imported: outcome.records.len() + outcome.already.len(),
        left_out: outcome
            .left_out
            .into_iter()
            .map(|(p, e)| (p.display().to_string(), e))
            .collect(),
    }
    .into())
}

/// A key on its way into the store: a private key, or only a public key.
enum Incoming {
    Private(Box<ParsedKey>),
    Public(ssh_key::PublicKey),
}

impl Incoming {
    fn as_material(&self) -> Material<'_> {
        match self {
            Incoming::Private(p) => Material::Private(&p.key),
            Incoming::Public(k) => Material::Public(k),
        }
    }

    fn fingerprint(&self) -> String {
        let public = match self {
            Incoming::Private(p) => p.key.public_key().key_data(),
            Incoming::Public(k) => k.key_data(),
        };
        kps::fingerprint::sha256(public)
    }
}

/// One keypair to import, and the file it comes from (`--from-dir`).
struct Candidate {
    meta: NewKeypair,
    incoming: Incoming,
    file: Option<PathBuf>,
}

impl Candidate {
    fn new(meta: NewKeypair, incoming: Incoming, file: Option<PathBuf>) -> Candidate {
        Candidate {
            meta,
            incoming,
            file,
        }
    }
}

/// What became of an import's inputs, for the report.
#[derive(Default)]
struct Outcome {
    /// Many keypairs (a directory, a bundle): the JSON document lists them.
    batch: bool,
    /// Stored (or, in a dry run, would be).
    records: Vec<Keypair>,
    /// Keys already in the store, skipped (`--skip-existing`): the file (in
    /// a directory), the keypair that holds the key, and its record when it
    /// is in the store (not merely earlier in this import).
    already: Vec<(Option<PathBuf>, String, Option<Keypair>)>,
    /// Files that hold no private key.
    skipped: Vec<(PathBuf, String)>,
    /// Key files left out of a directory import, each with its reason.
    left_out: Vec<(PathBuf, kps::Error)>,
    warnings: Vec<String>,
}

fn meta(args: &ImportArgs, name: &str, encryption: kps::keypair::Encryption) -> NewKeypair {
    NewKeypair {
        name: name.to_string(),
        description: args.description.clone(),
        user_id: args.user_id.clone(),
        encryption,
    }
}

/// Sort the batch against what `store` holds, and against itself in
/// order. A key already stored under any name (same SHA256 fingerprint) is
/// skipped with `--skip-existing` and gets a warning without it (the import
/// goes ahead). A name the store has is refused for one key (exit 4) and
/// leaves the file out of a directory import. What is left is to be written.
fn sort(
    store: Option<&Store>,
    batch: Vec<Candidate>,
    skip_existing: bool,
    outcome: &mut Outcome,
) -> anyhow::Result<Vec<Candidate>> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut batch_names: HashMap<String, PathBuf> = HashMap::new();
    let mut keep = Vec::new();
    for c in batch {
        let fingerprint = c.incoming.fingerprint();
        let stored = match store {
            Some(store) => store.with_fingerprint(&fingerprint)?,
            None => Vec::new(),
        };
        let earlier = seen.get(&fingerprint).cloned();
        if skip_existing {
            if let Some(k) = stored.first() {
                outcome
                    .already
                    .push((c.file, k.name.clone(), Some(k.clone())));
                continue;
            }
            if let Some(name) = earlier {
                outcome.already.push((c.file, name, None));
                continue;
            }
        }
        let name = &c.meta.name;
        // Two files of a directory that give one name: the first (in name
        // order) keeps it. Decided here, after --skip-existing, so that a
        // copy of a stored key under a clashing file name is skipped, not
        // left out.
        if let Some(first) = batch_names.get(name) {
            let Some(file) = c.file else {
                return Err(kps::Error::AlreadyExists(name.clone()).into());
            };
            outcome.left_out.push((
                file,
                kps::Error::NameTaken {
                    name: name.clone(),
                    by: format!("the key file {}", first.display()),
                },
            ));
            continue;
        }
        let taken = match store.map(|s| s.get(name)) {
            Some(Ok(_)) => true,
            None | Some(Err(kps::Error::NotFound(_))) => false,
            Some(Err(e)) => return Err(e.into()),
        };
        if taken {
            let Some(file) = c.file else {
                return Err(kps::Error::AlreadyExists(name.clone()).into());
            };
            let by = if stored.iter().any(|k| &k.name == name) {
                "the same key, already stored under it (--skip-existing skips it)"
            } else {
                "a keypair in the store"
            };
            outcome.left_out.push((
                file,
                kps::Error::NameTaken {
                    name: name.clone(),
                    by: by.into(),
                },
            ));
            continue;
        }
        let names: Vec<&str> = stored.iter().map(|k| k.name.as_str()).collect();
        if !names.is_empty() {
            outcome.warnings.push(format!(
                "{name}: already stored as {} (the same key; imported again under this name)",
                names.join(", ")
            ));
        } else if let Some(other) = earlier {
            outcome.warnings.push(format!(
                "{name}: the same key as {other} in this import (imported under both names)"
            ));
        }
        seen.insert(fingerprint, name.clone());
        if let Some(file) = &c.file {
            batch_names.insert(name.clone(), file.clone());
        }
        keep.push(c);
    }
    Ok(keep)
}

fn batch_error(
    items: &[(NewKeypair, Material<'_>)],
    failures: Vec<(usize, kps::Error)>,
) -> anyhow::Error {
    if items.len() == 1 {
        if let Some((_, e)) = failures.into_iter().next() {
            return e.into();
        }
        return anyhow::anyhow!("import failed");
    }
    kps::Error::BatchFailed {
        failures: failures
            .into_iter()
            .map(|(i, e)| (items[i].0.name.clone(), e))
            .collect(),
    }
    .into()
}

fn items(batch: &[Candidate]) -> Vec<(NewKeypair, Material<'_>)> {
    batch
        .iter()
        .map(|c| (c.meta.clone(), c.incoming.as_material()))
        .collect()
}

/// What a real import would store, checked against the store if there is one;
/// nothing is created and no passphrase is asked for.
fn dry_run(
    ctx: &Context,
    args: &ImportArgs,
    batch: Vec<Candidate>,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let store = ctx.existing_store()?;
    let keep = sort(store.as_ref(), batch, args.skip_existing, outcome)?;
    let items = items(&keep);
    for (m, _) in &items {
        require_kms_config(ctx, store.as_ref(), &m.encryption)?;
    }
    let mut failures = Vec::new();
    for (i, (m, material)) in items.iter().enumerate() {
        match kps::store::preview(m, *material) {
            Ok(r) => outcome.records.push(r),
            Err(e) => failures.push((i, e)),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(batch_error(&items, failures))
    }
}

fn store_all(
    ctx: &Context,
    args: &ImportArgs,
    batch: Vec<Candidate>,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let kdf = kdf_params(&args.kdf, Default::default())?;
    ctx.with_new_or_existing_store(|store| {
        store.audit_inserts_as(kps::team::Action::Import);
        let keep = sort(Some(store), batch, args.skip_existing, outcome)?;
        // Nothing left to write: no passphrase or PIN is asked for.
        if !keep.is_empty() {
            outcome.records = store_in(ctx, store, &items(&keep), kdf)?;
        }
        Ok(())
    })
}

fn store_in(
    ctx: &Context,
    store: &Store,
    items: &[(NewKeypair, Material<'_>)],
    kdf: kps::store::KdfParams,
) -> anyhow::Result<Vec<Keypair>> {
    for (m, _) in items {
        require_kms_config(ctx, Some(store), &m.encryption)?;
    }
    // A public-key-only import needs neither the store identity nor the token.
    let protection_for = Protection::gather(
        ctx,
        store,
        items
            .iter()
            .filter(|(_, m)| matches!(m, Material::Private(_)))
            .map(|(meta, _)| &meta.encryption),
        kdf,
    )?;
    store
        .insert_all(items, protection_for.sealers())
        .map_err(|failures| batch_error(items, failures))
}

/// One passphrase for every key file (`--key-passphrase-file`,
/// `--ask-key-passphrase`), if one was given.
fn one_passphrase(args: &ImportArgs) -> anyhow::Result<Option<Passphrase>> {
    if let Some(path) = &args.key_passphrase_file {
        return Ok(Some(passphrase::read_file(path)?));
    }
    if args.ask_key_passphrase {
        return Ok(Some(passphrase::prompt_key()?));
    }
    Ok(None)
}
