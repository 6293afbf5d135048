use super::{
    Context, Protection, kdf_params, protection, require_kms_config, with_openers, write_keys,
};
use crate::cli::SetEncryptionArgs;
use crate::output;
use kps::text::escape;
use serde_json::json;

pub fn run(ctx: &Context, args: SetEncryptionArgs) -> anyhow::Result<()> {
    let encryption = protection(args.encryption, &args.kms_key)?;
    let kdf = kdf_params(&args.kdf, Default::default())?;
    let store = ctx.open_store()?;
    let keypair = store.get(&args.name)?;
    if !keypair.has_private_key {
        return Err(kps::Error::NoPrivateKey(keypair.name).into());
    }
    require_kms_config(ctx, Some(&store), &encryption)?;
    // Unlock what protects it now, then gather what protects it next (the
    // token is logged in to once even when both sides are kms).
    let updated = with_openers(ctx, &store, &keypair.encryption, |openers| {
        let reuse_kms = openers
            .kms
            .filter(|_| encryption != kps::keypair::Encryption::Default);
        let gathered;
        let keys;
        let sealers = match reuse_kms {
            Some(kms) => {
                if let kps::keypair::Encryption::Kms { key_name, key_id } = &encryption {
                    kms.key(key_name.as_deref(), key_id.as_deref())?;
                }
                keys = write_keys(ctx, &store, false, kdf)?;
                kps::store::Sealers {
                    identity: None,
                    kms: Some(kms),
                    row_key: keys.row_key.as_ref(),
                }
            }
            None => {
                gathered = Protection::gather(ctx, &store, [&encryption], kdf)?;
                gathered.sealers()
            }
        };
        Ok(store.set_encryption(&keypair.name, &encryption, openers, sealers)?)
    })?;
    if ctx.json {
        output::print_json(&json!({ "keypair": output::keypair_json(&updated) }))?;
    } else {
        let mut text = format!(
            "Keypair {} is now protected by encryption type {}",
            escape(&updated.name),
            updated.encryption.type_name()
        );
        if let (Some(n), Some(id)) = (
            updated.encryption.kms_key_name(),
            updated.encryption.kms_key_id(),
        ) {
            text.push_str(&format!(" (KMS key '{}', id {})", escape(n), escape(id)));
        }
        ctx.status(&text)?;
    }
    Ok(())
}
