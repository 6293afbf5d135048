use super::{Context, Protection, check_free_text, kdf_params, protection, require_kms_config};
use crate::cli::ImportArgs;
use crate::output;
use crate::passphrase;
use crate::report::CliError;
use kps::keypair::{Keypair, NewKeypair};
use kps::parse::{self, ParsedKey};
use kps::secret::Passphrase;
use kps::store::{Material, Store};
use kps::text::escape;
use serde_json::{Value, json};
use std::path::Path;
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

fn key_passphrase(args: &ImportArgs) -> anyhow::Result<Option<Passphrase>> {
    if let Some(path) = &args.key_passphrase_file {
        return Ok(Some(passphrase::read_file(path)?));
    }
    if args.ask_key_passphrase {
        return Ok(Some(passphrase::prompt_key()?));
    }
    Ok(None)
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
        return super::import_bundle::run(ctx, &args, path);
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
    let key_pass = key_passphrase(&args)?;
    let mut warnings = Vec::new();

    // Gather and validate everything before the store is touched.
    let mut batch: Vec<(NewKeypair, Incoming)> = Vec::new();
    let mut skipped = Vec::new();
    let mut from_dir = false;
    if let Some(path) = &args.private_key {
        let name = args.name.clone().unwrap_or_default();
        let parsed = parse::private_key(&read_input(path)?, key_pass.as_ref())?;
        batch.push((
            meta(&args, &name, encryption.clone()),
            Incoming::Private(Box::new(parsed)),
        ));
    } else if let Some(path) = &args.public_key {
        let name = args.name.clone().unwrap_or_default();
        let (public, w) = parse::public_key(&read_input(path)?)?;
        warnings.extend(w);
        batch.push((
            meta(&args, &name, encryption.clone()),
            Incoming::Public(public),
        ));
    } else if let Some(path) = &args.request {
        let request = kps::request::parse(&read_input(path)?)?;
        let parsed = parse::private_key(request.private_key.as_bytes(), key_pass.as_ref())?;
        let mut m = meta(&args, &request.name, request.encryption.clone());
        m.user_id = request.user_id.or(m.user_id);
        batch.push((m, Incoming::Private(Box::new(parsed))));
    } else if let Some(dir) = &args.from_dir {
        from_dir = true;
        let scan = {
            let bar = crate::progress::Bar::new("key files checked", ctx.json);
            parse::scan_dir(dir, key_pass.as_ref(), |done, total| bar.set(done, total))?
        };
        if !scan.failures.is_empty() {
            return Err(kps::Error::BatchFailed {
                failures: scan
                    .failures
                    .into_iter()
                    .map(|(p, e)| (p.display().to_string(), e))
                    .collect(),
            }
            .into());
        }
        skipped = scan.skipped;
        for (_, name, parsed) in scan.keys {
            batch.push((
                meta(&args, &name, encryption.clone()),
                Incoming::Private(Box::new(parsed)),
            ));
        }
    }
    // Comments: -C, else the file's, else the keypair name.
    for (m, material) in &mut batch {
        match material {
            Incoming::Private(p) => {
                let c = comment_for(&args, p.key.comment().as_str_lossy(), &m.name);
                p.key.set_comment(c);
                warnings.extend(p.warnings.iter().map(|w| format!("{}: {w}", m.name)));
            }
            Incoming::Public(k) => {
                let c = comment_for(&args, k.comment().as_str_lossy(), &m.name);
                k.set_comment(c);
            }
        }
    }

    let items: Vec<(NewKeypair, Material<'_>)> = batch
        .iter()
        .map(|(m, material)| (m.clone(), material.as_material()))
        .collect();
    let records = if args.dry_run {
        dry_run(ctx, &items)?
    } else {
        store_all(ctx, &args, &items)?
    };
    report(ctx, &records, &skipped, &warnings, from_dir, args.dry_run)
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
}

fn meta(args: &ImportArgs, name: &str, encryption: kps::keypair::Encryption) -> NewKeypair {
    NewKeypair {
        name: name.to_string(),
        description: args.description.clone(),
        user_id: args.user_id.clone(),
        encryption,
    }
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

/// What a real import would store, checked against the store if there is one;
/// nothing is created and no passphrase is asked for.
fn dry_run(ctx: &Context, items: &[(NewKeypair, Material<'_>)]) -> anyhow::Result<Vec<Keypair>> {
    let store = Store::open_existing(&ctx.store_dir)?;
    for (m, _) in items {
        require_kms_config(ctx, store.as_ref(), &m.encryption)?;
    }
    let mut failures = Vec::new();
    let mut records = Vec::new();
    for (i, (m, material)) in items.iter().enumerate() {
        let checked = (|| {
            if let Some(store) = &store {
                match store.get(&m.name) {
                    Ok(_) => return Err(kps::Error::AlreadyExists(m.name.clone())),
                    Err(kps::Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            kps::store::preview(m, *material)
        })();
        match checked {
            Ok(r) => records.push(r),
            Err(e) => failures.push((i, e)),
        }
    }
    if failures.is_empty() {
        Ok(records)
    } else {
        Err(batch_error(items, failures))
    }
}

fn store_all(
    ctx: &Context,
    args: &ImportArgs,
    items: &[(NewKeypair, Material<'_>)],
) -> anyhow::Result<Vec<Keypair>> {
    let kdf = kdf_params(&args.kdf, Default::default())?;
    let mut stored = Vec::new();
    ctx.with_new_or_existing_store(|store| {
        stored = store_in(ctx, store, items, kdf)?;
        Ok(())
    })?;
    Ok(stored)
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

fn report(
    ctx: &Context,
    records: &[Keypair],
    skipped: &[(std::path::PathBuf, String)],
    warnings: &[String],
    from_dir: bool,
    dry_run: bool,
) -> anyhow::Result<()> {
    if ctx.json {
        let mut doc = if from_dir {
            json!({
                "keypairs": records.iter()
                    .map(|k| json!({ "keypair": output::keypair_json(k) }))
                    .collect::<Vec<Value>>(),
                "skipped": skipped.iter()
                    .map(|(p, why)| json!({ "file": p, "reason": why }))
                    .collect::<Vec<Value>>(),
            })
        } else {
            json!({ "keypair": records.first().map(output::keypair_json) })
        };
        if !warnings.is_empty() {
            doc["warnings"] = json!(warnings);
        }
        if dry_run {
            doc["dry_run"] = json!(true);
        }
        output::print_json(&doc)?;
        return Ok(());
    }
    for w in warnings {
        output::warn(w);
    }
    let verb = if dry_run { "Would import" } else { "Imported" };
    let mut text = String::new();
    // File names come from the directory, whoever wrote it: escaped.
    for k in records {
        text.push_str(&format!(
            "{verb} keypair {} ({} {})\n{}\n",
            escape(&k.name),
            escape(&k.algorithm),
            k.bits,
            escape(&k.fingerprint)
        ));
        if !from_dir {
            // Built from the key just read, whose comment was checked.
            text.push_str(&format!("{}\n", escape(&k.public_line)));
        }
    }
    for (p, why) in skipped {
        text.push_str(&format!(
            "Skipped {}: {}\n",
            escape(&p.display().to_string()),
            escape(why)
        ));
    }
    if from_dir && records.is_empty() {
        text.push_str("No private keys found\n");
    }
    ctx.status(&text)?;
    Ok(())
}
