//! `kps store copy --from SRC --to DST`: every keypair of one store into
//! another, each private key opened in SRC and sealed again for DST (a
//! personal store's identity, or a team's members), in one transaction at
//! DST. The stores may be of either kind and on either backend.

use super::{Context, with_openers_for};
use crate::cli::StoreCommand;
use crate::output;
use crate::passphrase::Sources;
use kps::keypair::{Keypair, NewKeypair};
use kps::store::Material;
use kps::team::Action;
use serde_json::json;
use std::path::PathBuf;

pub fn run(ctx: &Context, command: StoreCommand) -> anyhow::Result<()> {
    match command {
        StoreCommand::Copy {
            from,
            to,
            to_passphrase_file,
        } => copy(ctx, from, to, to_passphrase_file),
    }
}

/// The same options, on another store (and, for DST, its own passphrase).
fn on(
    ctx: &Context,
    store_dir: PathBuf,
    flag: &str,
    passphrase_file: Option<PathBuf>,
) -> anyhow::Result<Context> {
    let store_target = kps::store::postgres_target(&store_dir)?;
    super::refuse_password_on_command_line(&store_dir, store_target.as_ref(), flag)?;
    Ok(Context {
        store_dir,
        store_target,
        json: ctx.json,
        quiet: ctx.quiet,
        passphrases: Sources {
            file: passphrase_file.or_else(|| ctx.passphrases.file.clone()),
        },
        pin_file: ctx.pin_file.clone(),
        identity_store: ctx.identity_store.clone(),
    })
}

fn copy(
    ctx: &Context,
    from: PathBuf,
    to: PathBuf,
    to_passphrase_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let src_ctx = on(ctx, from, "--from", None)?;
    let dst_ctx = on(ctx, to, "--to", to_passphrase_file)?;
    let src = src_ctx.open_store()?;
    let mut keypairs: Vec<Keypair> = Vec::new();
    src.each(|k| {
        keypairs.push(k);
        Ok::<(), kps::Error>(())
    })?;
    let with_private: Vec<Keypair> = keypairs
        .iter()
        .filter(|k| k.has_private_key)
        .cloned()
        .collect();
    // Every private key opened before anything is written at DST; each
    // one handed out of a team store is recorded there first.
    let keys = with_openers_for(&src_ctx, &src, &with_private, |openers| {
        let mut keys = Vec::with_capacity(with_private.len());
        for k in &with_private {
            keys.push(src.private_key(&k.name, openers)?);
            src.record_read(Action::Export, &k.name)?;
        }
        Ok(keys)
    })?;
    let publics = keypairs
        .iter()
        .filter(|k| !k.has_private_key)
        .map(|k| src.public_key_of(k))
        .collect::<kps::Result<Vec<_>>>()?;
    let (mut private_iter, mut public_iter) = (keys.iter(), publics.iter());
    let mut items = Vec::with_capacity(keypairs.len());
    let mut times = Vec::with_capacity(keypairs.len());
    for k in &keypairs {
        let material = if k.has_private_key {
            Material::Private(private_iter.next().expect("one key per keypair with one"))
        } else {
            Material::Public(public_iter.next().expect("one key per public keypair"))
        };
        items.push((
            NewKeypair {
                name: k.name.clone(),
                description: k.description.clone(),
                user_id: k.user_id.clone(),
                encryption: k.encryption.clone(),
            },
            material,
        ));
        times.push(Some(k.create_time.clone()));
    }
    let mut stored = Vec::new();
    dst_ctx.with_new_or_existing_store(|dst| {
        dst.audit_inserts_as(Action::Import);
        stored =
            super::import::store_in_created(&dst_ctx, dst, &items, &times, Default::default())?;
        Ok(())
    })?;
    if ctx.json {
        output::print_json(&json!({
            "copied": stored.len(),
            "keypairs": stored.iter().map(output::keypair_json).collect::<Vec<_>>(),
        }))?;
    } else {
        ctx.status(&format!(
            "Copied {} keypair{} from {} to {}",
            stored.len(),
            if stored.len() == 1 { "" } else { "s" },
            kps::text::escape(&src_ctx.store_display()),
            kps::text::escape(&dst_ctx.store_display()),
        ))?;
    }
    Ok(())
}
