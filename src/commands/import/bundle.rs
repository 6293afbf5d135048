//! `kps import --bundle FILE`: every keypair of a bundle from `kps
//! export-bundle`, in one transaction, checked as any import is.

use crate::cli::ImportArgs;
use crate::commands::{Context, Protection, kdf_params, protection, require_kms_config};
use crate::passphrase;
use kps::bundle::{self, IncomingKey, Lock};
use kps::keypair::{Encryption, Keypair, NewKeypair};
use kps::store::{Material, Store};
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

pub fn run(ctx: &Context, args: &ImportArgs, path: &Path) -> anyhow::Result<()> {
    let encryption = protection(args.protection.encryption, &args.protection.kms_key)?;
    let bytes = read_bundle(path)?;
    let sealed = bundle::parse(&bytes)?;
    // A bundle sealed to an identity is opened by this store's unlock;
    // the store must exist and be the one the bundle names.
    let mut recipient_store = None;
    let entries = match &sealed.lock {
        Lock::Passphrase { .. } => {
            let pass = match &args.bundle_passphrase_file {
                Some(file) => passphrase::read_file(file)?,
                None => passphrase::prompt_bundle()?,
            };
            sealed.open_with_passphrase(&pass)?
        }
        Lock::Recipient { recipient, .. } => {
            let store = ctx.open_store()?;
            let wrapped = store
                .wrapped_identity()?
                .ok_or(kps::Error::NotInitialised)?;
            if wrapped.public_key[..] != recipient.public_key()[..] {
                // Said before the passphrase is asked for.
                return Err(kps::Error::BundleNotForThisStore {
                    recipient: recipient.to_string(),
                }
                .into());
            }
            let identity = ctx.unlock(&store)?;
            let entries = sealed.open_with_identity(&identity)?;
            recipient_store = Some(store);
            entries
        }
    };
    let incoming = bundle::check(entries)?;

    let mut warnings = Vec::new();
    let mut items: Vec<(NewKeypair, Material<'_>)> = Vec::with_capacity(incoming.len());
    let mut times = Vec::with_capacity(incoming.len());
    for k in &incoming {
        warnings.extend(k.warnings.iter().map(|w| format!("{}: {w}", k.name)));
        let material = match &k.key {
            IncomingKey::Private(key) => Material::Private(key),
            IncomingKey::Public(key) => Material::Public(key),
        };
        let meta = NewKeypair {
            name: k.name.clone(),
            description: k.description.clone(),
            user_id: k.user_id.clone(),
            encryption: encryption.clone(),
        };
        items.push((meta, material));
        times.push(Some(k.create_time.clone()));
    }

    let records = if args.dry_run {
        let store = match recipient_store {
            Some(store) => Some(store),
            None => ctx.existing_store()?,
        };
        if let Some(store) = &store {
            refuse_clashes(store, &items)?;
        }
        require_kms_config(ctx, store.as_ref(), &encryption)?;
        items
            .iter()
            .zip(&times)
            .map(|((meta, material), time)| {
                let mut record = kps::store::preview(meta, *material)?;
                if let Some(t) = time {
                    record.create_time = t.clone();
                }
                Ok(record)
            })
            .collect::<kps::Result<Vec<_>>>()?
    } else {
        let kdf = kdf_params(&args.kdf, Default::default())?;
        match &recipient_store {
            Some(store) => store_in(ctx, store, &items, &times, kdf)?,
            None => {
                let mut stored = Vec::new();
                ctx.with_new_or_existing_store(|store| {
                    store.audit_inserts_as(kps::team::Action::Import);
                    stored = store_in(ctx, store, &items, &times, kdf)?;
                    Ok(())
                })?;
                stored
            }
        }
    };
    let outcome = super::Outcome {
        batch: true,
        records,
        warnings,
        ..Default::default()
    };
    super::report::print(ctx, &outcome, args.dry_run)
}

/// The bundle file, or stdin for '-', refusing more than a bundle can be.
fn read_bundle(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let io_err = |source| kps::Error::InputIo {
        path: path.to_path_buf(),
        source,
    };
    let limit = bundle::MAX_BUNDLE as u64 + 1;
    let mut bytes = Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .map_err(io_err)?;
    }
    Ok(bytes)
}

/// Every name of the bundle the store has already: all listed, nothing
/// imported (as `import` treats an existing name).
fn refuse_clashes(store: &Store, items: &[(NewKeypair, Material<'_>)]) -> anyhow::Result<()> {
    let mut names = Vec::new();
    for (meta, _) in items {
        match store.get(&meta.name) {
            Err(kps::Error::NotFound(_)) => {}
            // A row that fails its checks holds the name all the same.
            Ok(_) | Err(kps::Error::IntegrityFailure { .. }) => names.push(meta.name.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    if names.is_empty() {
        Ok(())
    } else {
        Err(kps::Error::BundleClash { names }.into())
    }
}

pub(in crate::commands) fn store_in(
    ctx: &Context,
    store: &Store,
    items: &[(NewKeypair, Material<'_>)],
    times: &[Option<String>],
    kdf: kps::store::KdfParams,
) -> anyhow::Result<Vec<Keypair>> {
    refuse_clashes(store, items)?;
    let private: Vec<&Encryption> = items
        .iter()
        .filter(|(_, m)| matches!(m, Material::Private(_)))
        .map(|(meta, _)| &meta.encryption)
        .collect();
    for e in &private {
        require_kms_config(ctx, Some(store), e)?;
    }
    let protection = Protection::gather(ctx, store, private, kdf)?;
    store
        .insert_all_created(items, times, protection.sealers())
        .map_err(|failures| {
            // A name taken meanwhile by another process: the same refusal.
            let taken: Vec<String> = failures
                .iter()
                .filter_map(|(_, e)| match e {
                    kps::Error::AlreadyExists(name) => Some(name.clone()),
                    _ => None,
                })
                .collect();
            if taken.len() == failures.len() {
                return kps::Error::BundleClash { names: taken }.into();
            }
            match failures
                .into_iter()
                .find(|(_, e)| !matches!(e, kps::Error::AlreadyExists(_)))
            {
                Some((_, e)) => e.into(),
                None => anyhow::anyhow!("import failed"),
            }
        })
}
