use super::{Context, with_openers, write_keys};
use crate::cli::RenameArgs;
use crate::output;
use kps::keypair::Encryption;
use kps::store::{KdfParams, Sealers};
use kps::text::escape;
use serde_json::json;

/// The name is in the sealed private key's associated data: the key is
/// opened with what protects it (passphrase or PIN) and sealed again under
/// the new name, with the row's new MAC, in one write.
pub fn run(ctx: &Context, args: RenameArgs) -> anyhow::Result<()> {
    kps::name::validate(&args.new_name)?;
    let store = ctx.open_store()?;
    let keypair = store.get(&args.name)?;
    // Refused before any passphrase or PIN is asked for; the write itself
    // decides a race for the name.
    match store.get(&args.new_name) {
        Ok(_) => return Err(kps::Error::AlreadyExists(args.new_name).into()),
        Err(kps::Error::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let renamed = if keypair.has_private_key {
        with_openers(ctx, &store, &keypair.encryption, |openers| {
            // For a default keypair the unlock just made pinned the store,
            // so this asks for nothing more; a kms keypair needs the row
            // key too (the passphrase only if the store is not pinned here).
            let keys = write_keys(ctx, &store, false, KdfParams::default())?;
            let sealers = Sealers {
                identity: keys.identity.as_ref(),
                kms: openers.kms,
                row_key: keys.row_key.as_ref(),
            };
            Ok(store.rename(&args.name, &args.new_name, openers, sealers)?)
        })?
    } else {
        let keys = write_keys(ctx, &store, false, KdfParams::default())?;
        store.rename(
            &args.name,
            &args.new_name,
            Default::default(),
            Sealers {
                row_key: keys.row_key.as_ref(),
                ..Default::default()
            },
        )?
    };
    if ctx.json {
        output::print_json(&json!({
            "renamed_from": args.name,
            "keypair": output::keypair_json(&renamed),
        }))?;
    } else {
        let how = match (&renamed.encryption, renamed.has_private_key) {
            (_, false) => "",
            (Encryption::Default, true) => "; its private key is sealed again under the new name",
            (Encryption::Kms { .. }, true) => {
                "; its private key is sealed again under the new name with the token"
            }
        };
        ctx.status(&format!(
            "Renamed keypair {} to {}{how}",
            escape(&args.name),
            escape(&renamed.name)
        ))?;
    }
    Ok(())
}
