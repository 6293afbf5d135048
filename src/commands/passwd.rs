use super::{Context, kdf_params};
use crate::cli::PasswdArgs;
use crate::output;
use crate::passphrase;

pub fn run(ctx: &Context, args: PasswdArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let wrapped = store
        .wrapped_identity()?
        .ok_or(kps::Error::NotInitialised)?;
    let kdf = kdf_params(&args.kdf, wrapped.kdf)?;
    let identity = wrapped.unwrap_with(&ctx.passphrases.current()?)?;
    let new = passphrase::new_from(args.new_passphrase_file.as_deref())?;
    store.change_passphrase(&identity, &new, kdf)?;
    if ctx.json {
        output::print_json(&output::store_json(&ctx.store_dir, &kdf))?;
    } else {
        ctx.status(&format!(
            "Changed the passphrase of store {}",
            ctx.store_dir.display()
        ))?;
    }
    Ok(())
}
