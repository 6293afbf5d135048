use super::{Context, kdf_params};
use crate::cli::PasswdArgs;
use crate::output;
use crate::passphrase;

pub fn run(ctx: &Context, args: PasswdArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    store.refuse_team("kps passwd")?;
    let wrapped = store
        .wrapped_identity()?
        .ok_or(kps::Error::NotInitialised)?;
    let kdf = kdf_params(&args.kdf, wrapped.kdf)?;
    let identity = ctx.unlock(&store)?;
    let new = passphrase::new_from(args.new_passphrase_file.as_deref())?;
    if args.rekey {
        store.rekey(&identity, &new, kdf)?;
    } else {
        store.change_passphrase(&identity, &new, kdf)?;
    }
    if ctx.json {
        let mut doc = output::store_json(&ctx.store_dir, &kdf);
        doc["rekeyed"] = serde_json::json!(args.rekey);
        output::print_json(&doc)?;
    } else {
        ctx.status(&format!(
            "{} store {}",
            if args.rekey {
                "Changed the passphrase and re-keyed every keypair of"
            } else {
                "Changed the passphrase of"
            },
            ctx.store_dir.display()
        ))?;
    }
    Ok(())
}
